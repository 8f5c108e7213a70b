"""A write that holds SQLite must not freeze visitors, and a write that cannot wait is a 503, never a 500.

Reproduces the probe's finding: with a write transaction held for 20 s, pages took seconds
and a play report got a 500. Here another connection holds SQLite's write lock while the
app serves; the app gives up on its own writes at once (as under a gevent worker) and says so.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from kiosk import config, create_app
from kiosk.cli.setup import prepare_database
from kiosk.extensions import db
from kiosk.library import catalogue
from kiosk.models import CodeTarget, Section
from tests.conftest import AuthActions
from tests.factories import gen_book, gen_track

pytestmark = pytest.mark.sqlite_only


@pytest.fixture
def busy_app(tmp_path: Path, sample_mp3: Path) -> Iterator[Flask]:
    """An app on a SQLite file whose writes wait 50 ms for a lock, as under gevent, with one book."""
    application = create_app({
        "TESTING": True, "KIOSK_DATA_DIR": tmp_path / "media", "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'busy.sqlite3'}",
        "KIOSK_SQLITE_BUSY_TIMEOUT_S": config.SQLITE_COOPERATIVE_BUSY_TIMEOUT_S, "KIOSK_JOBS_IMMEDIATE": True,
    })
    with application.app_context():
        prepare_database()
        book = gen_book()
        gen_track(book, sample_mp3)
        db.session.commit()
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


@contextmanager
def held_write_lock(app: Flask) -> Iterator[None]:
    """Another process's long write: SQLite's write lock taken and held."""
    path = app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///")
    with closing(sqlite3.connect(path, isolation_level=None)) as other:
        other.execute("BEGIN IMMEDIATE")
        other.execute("UPDATE sections SET position = position")
        try:
            yield
        finally:
            other.execute("ROLLBACK")


def ids(app: Flask) -> tuple[str, int, str]:
    with app.app_context():
        section = db.session.query(Section).filter_by(slug="jingdian-songdu").one()
        book = section.books[0]
        code = catalogue.primary_code(CodeTarget.SECTION, section.id) or ""
        return section.slug, book.tracks[0].id, code


def beacon(client: FlaskClient, track_id: int) -> int:
    body = {"plays": [{"track_id": track_id, "play_id": "page0001-1", "seconds": 3, "max_position_s": 3,
                       "completed": False}]}
    return client.post("/api/v1/plays", data=json.dumps(body), content_type="text/plain").status_code


def test_visitors_read_while_a_write_is_held(busy_app: Flask) -> None:
    slug, track_id, _code = ids(busy_app)
    client = busy_app.test_client()
    with held_write_lock(busy_app):
        assert client.get("/").status_code == 200
        assert client.get(f"/sections/{slug}").status_code == 200
        assert client.get(f"/tracks/{track_id}").status_code == 200
        assert client.get("/api/v1/sections").status_code == 200


def test_a_play_report_that_cannot_be_written_is_a_503_not_a_500(busy_app: Flask) -> None:
    _slug, track_id, _code = ids(busy_app)
    client = busy_app.test_client()
    with held_write_lock(busy_app):
        response_status = beacon(client, track_id)
    assert response_status == 503
    assert beacon(client, track_id) in (202, 204)  # once the write is done, reports count again


def test_a_scan_during_a_held_write_still_takes_the_visitor_there(busy_app: Flask) -> None:
    slug, _track_id, code = ids(busy_app)
    if not code:
        pytest.fail("no printed code for the section")
    with held_write_lock(busy_app):
        response = busy_app.test_client().get(f"/q/{code}")
    assert response.status_code in (301, 302, 303)
    assert response.headers["Location"].endswith(f"/sections/{slug}")


def test_a_librarians_edit_during_a_held_write_is_a_503_with_words(busy_app: Flask) -> None:
    client = busy_app.test_client()
    AuthActions(busy_app, client).login()
    with busy_app.app_context():
        section_id = db.session.query(Section).filter_by(slug="jingdian-songdu").one().id
    with held_write_lock(busy_app):
        response = client.post(f"/admin/sections/{section_id}/published", data={"published": "0"})
    assert response.status_code == 503
    assert "请稍后再试" in response.get_data(as_text=True)
    assert response.headers["Retry-After"]


def test_under_a_gevent_worker_sqlite_gives_up_at_once_and_elsewhere_waits() -> None:
    """The gevent worker's event loop cannot switch while SQLite waits in C: there it must not wait."""
    script = ("from gevent import monkey; monkey.patch_all()\n"
              "from kiosk import config\n"
              "print(config.engine_options('sqlite:///x.sqlite3')['connect_args']['timeout'])")
    patched = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60)
    assert float(patched.stdout) == config.SQLITE_COOPERATIVE_BUSY_TIMEOUT_S
    assert config.engine_options("sqlite:///x.sqlite3")["connect_args"]["timeout"] == config.SQLITE_BUSY_TIMEOUT_S
