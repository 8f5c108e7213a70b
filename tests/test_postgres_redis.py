"""What changes with PostgreSQL and Redis: the queue, rate limits, backups, locks, times, matching.

The whole suite runs on PostgreSQL and Redis when ``KIOSK_TEST_DATABASE_URL`` and
``KIOSK_TEST_REDIS_URL`` are set (``.ci/run`` sets them); the tests here prove the parts the
rest of the suite does not reach (a queue that is not inline, limits shared between processes,
restores across databases, several nodes upgrading at once). Tests that need a server carry
the ``postgres`` or ``redis`` marker and are deselected without one (tests/conftest.py); the
rest run on SQLite too. How long a redirect takes while the scans table is locked is
measured by ``bench/bench_give_up.py``, not asserted here.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from huey.storage import RedisStorage
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.pool import NullPool

from kiosk import create_app
from kiosk.accounts import auth
from kiosk.cli.setup import prepare_database
from kiosk.extensions import db
from kiosk.jobs import tasks
from kiosk.library import catalogue
from kiosk.models import Book, CodeTarget, Scan, Section
from recorder import synth
from tests.conftest import TEST_DATABASE_URL, TEST_REDIS_URL, server_database
from tests.factories import gen_book, gen_section, gen_track

PASSWORD = "correct horse battery"  # noqa: S105 - test fixture


def make_app(tmp_path: Path, database_url: str, **overrides: Any) -> Flask:
    """An application on ``database_url`` with its own data dir (not migrated)."""
    return create_app(
        {
            "TESTING": True,
            "KIOSK_DATA_DIR": tmp_path / "media",
            "SQLALCHEMY_DATABASE_URI": database_url,
            "SECRET_KEY": "test-secret",
            "KIOSK_JOBS_IMMEDIATE": True,
            **overrides,
        }
    )


def dispose(app: Flask) -> None:
    """Close an app's pooled connections (so its schema can be dropped)."""
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


# ---- the queue on Redis -----------------------------------------------------------------


@pytest.fixture
def queued_app(tmp_path: Path, database_url: str, redis_settings: dict[str, str]) -> Iterator[Flask]:
    """An app whose takes wait in the Redis queue for a worker (not mastered inline)."""
    app = make_app(tmp_path, database_url, KIOSK_JOBS_IMMEDIATE=False, **redis_settings)
    tasks.huey.flush()
    with app.app_context():
        prepare_database()
    yield app
    tasks.huey.flush()
    dispose(app)


@pytest.mark.redis
def test_a_take_waits_in_redis_until_a_worker_takes_it(queued_app: Flask, tmp_path: Path) -> None:
    assert isinstance(tasks.huey.storage, RedisStorage)
    take = synth.speechlike(tmp_path / "take.wav", duration_s=6, level_lufs=-24)
    with take.open("rb") as audio:
        response = queued_app.test_client().post(
            "/api/v1/recordings", data={"audio": (audio, "take.wav"), "reader_name": "李读者", "consent": "1"},
            content_type="multipart/form-data",
        )
    assert response.status_code == 202
    token = response.get_json()["token"]
    assert tasks.huey.pending_count() == 1  # in Redis, for any worker on any machine
    client = queued_app.test_client()
    assert client.get(f"/api/v1/recordings/{token}").get_json()["status"] == "queued"

    task = tasks.huey.dequeue()  # what a worker's consumer does
    assert task is not None
    with queued_app.app_context():
        tasks.huey.execute(task)
    assert tasks.huey.pending_count() == 0
    status = client.get(f"/api/v1/recordings/{token}").get_json()
    assert status["status"] == "done", status
    ranged = client.get(status["audio_url"], headers={"Range": "bytes=0-1023"})
    assert ranged.status_code == 206 and len(ranged.data) == 1024


# ---- rate limits on Redis ---------------------------------------------------------------


def failed_login(client: FlaskClient, name: str) -> int:
    response = client.post("/admin/login", data={"username": name, "password": "wrong"},
                           environ_base={"REMOTE_ADDR": "198.51.100.7"})
    return response.status_code


@pytest.mark.redis
def test_failed_logins_counted_on_one_node_stop_the_guesser_on_another(
    tmp_path: Path, database_url: str, redis_settings: dict[str, str]
) -> None:
    """Counters live in Redis: an app built afresh (a new process's limiter) sees them, and the
    guesser's address stays stopped there while the owner elsewhere still signs in."""
    first = make_app(tmp_path, database_url, RATELIMIT_ENABLED=True, **redis_settings)
    with first.app_context():
        prepare_database()
        auth.create_user("wang", PASSWORD)
        db.session.commit()
    for _ in range(5):
        assert failed_login(first.test_client(), "wang") == 200

    import redis

    keys = redis.Redis.from_url(TEST_REDIS_URL or "").keys(f"*{redis_settings['RATELIMIT_KEY_PREFIX']}*")
    assert keys, "the failures were not counted in Redis"

    second = make_app(tmp_path, database_url, RATELIMIT_ENABLED=True, **redis_settings)  # new limiter storage
    guesser = second.test_client().post(
        "/admin/login", data={"username": "wang", "password": PASSWORD}, environ_base={"REMOTE_ADDR": "198.51.100.7"}
    )
    assert guesser.status_code == 429
    owner = second.test_client().post(
        "/admin/login", data={"username": "wang", "password": PASSWORD}, environ_base={"REMOTE_ADDR": "203.0.113.9"}
    )
    assert owner.status_code == 302
    dispose(first)
    dispose(second)


# ---- backups across databases -----------------------------------------------------------


def catalogue_of(client: FlaskClient) -> list[tuple[str, list[tuple[str, bytes]]]]:
    """Every visible book with its chapters' titles and audio bytes."""
    result = []
    for section in client.get("/api/v1/sections").get_json()["sections"]:
        for book in client.get(f"/api/v1/sections/{section['slug']}").get_json()["books"]:
            tracks = client.get(f"/api/v1/books/{book['id']}").get_json()["book"]["tracks"]
            result.append((book["title"], [(t["title"], client.get(t["audio_url"]).data) for t in tracks]))
    return sorted(result)


def fill(app: Flask, sample_mp3: Path) -> None:
    with app.app_context():
        book = gen_book("边城", author="沈从文", title_en="Border Town")
        gen_track(book, sample_mp3, title="第一章", reader="林静")
        gen_track(book, sample_mp3, title="第二章", reader="林静")
        gen_track(gen_book("春", section_slug="mingjia-mingpian"), sample_mp3, title="盼望着")
        auth.create_user("wang", PASSWORD)
        db.session.commit()


def restore_into(app: Flask, archive: Path) -> None:
    with app.app_context():
        prepare_database()
    result = app.test_cli_runner().invoke(args=["restore", str(archive)])
    assert result.exit_code == 0, result.output


def check_restored(restored: Flask, before: list[Any]) -> None:
    """Same catalogue; new rows get fresh ids (sequences moved past the restored ones)."""
    assert catalogue_of(restored.test_client()) == before
    with restored.app_context():
        highest = db.session.scalar(select(func.max(Book.id)))
        added = gen_book("新书")
        assert added.id > highest
        user = auth.create_user("li", PASSWORD)
        db.session.commit()
        assert user.id is not None
        created = db.session.scalar(select(Book.created_at).where(Book.title == "边城"))
        aware = created if created.tzinfo else created.replace(tzinfo=UTC)
        assert abs((datetime.now(UTC) - aware).total_seconds()) < 600  # times kept in UTC both ways


@pytest.mark.postgres
def test_backup_and_restore_on_postgresql(app: Flask, client: FlaskClient, sample_mp3: Path, tmp_path: Path) -> None:
    fill(app, sample_mp3)
    before = catalogue_of(client)
    archive = tmp_path / "pg.tar.gz"
    result = app.test_cli_runner().invoke(args=["backup", "-o", str(archive)])
    assert result.exit_code == 0, result.output
    with server_database(TEST_DATABASE_URL or "") as other_url:
        restored = make_app(tmp_path / "restored", other_url)
        try:
            restore_into(restored, archive)
            check_restored(restored, before)
        finally:
            dispose(restored)


@pytest.mark.postgres
def test_a_sqlite_library_moves_to_postgresql_and_back(
    app: Flask, client: FlaskClient, sample_mp3: Path, tmp_path: Path
) -> None:
    """The row dump restores across engines: SQLite → PostgreSQL, PostgreSQL → SQLite."""
    small = make_app(tmp_path / "small", f"sqlite:///{tmp_path / 'small.sqlite3'}")
    with small.app_context():
        prepare_database()
    fill(small, sample_mp3)
    before = catalogue_of(small.test_client())
    from_sqlite = tmp_path / "from-sqlite.tar"
    assert small.test_cli_runner().invoke(args=["backup", "-o", str(from_sqlite)]).exit_code == 0
    dispose(small)

    restore_into(app, from_sqlite)  # the fixture's app is on PostgreSQL
    check_restored(app, before)

    from_postgres = tmp_path / "from-postgres.tar"
    assert app.test_cli_runner().invoke(args=["backup", "-o", str(from_postgres)]).exit_code == 0
    back = make_app(tmp_path / "back", f"sqlite:///{tmp_path / 'back.sqlite3'}")
    restore_into(back, from_postgres)
    assert catalogue_of(back.test_client()) == catalogue_of(client)
    dispose(back)


# ---- several nodes at once --------------------------------------------------------------


@pytest.mark.postgres
def test_nodes_starting_together_migrate_once(tmp_path: Path, database_url: str) -> None:
    """Four ``kiosk serve`` starting at once on an empty database: one migrates, none fails."""
    apps = [make_app(tmp_path / f"node{n}", database_url) for n in range(4)]
    errors: list[BaseException] = []

    def start(app: Flask) -> None:
        try:
            with app.app_context():
                prepare_database()
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=start, args=(app,)) for app in apps]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a node is still migrating after 120 s"
    assert errors == []
    with apps[0].app_context():
        assert db.session.scalar(select(func.count()).select_from(Section)) == len(catalogue.DEFAULT_SECTIONS)
    for app in apps:
        dispose(app)


def scans_stored(app: Flask) -> int:
    """How many scans the database holds."""
    with app.app_context():
        return int(db.session.scalar(select(func.count()).select_from(Scan)) or 0)


@pytest.mark.postgres
def test_a_locked_scans_table_does_not_hold_up_the_redirect(
    app: Flask, client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    """PostgreSQL's counterpart of the SQLite lock test: the scan gives up after its lock wait.

    The lock is held by this thread until the redirect has come back, so the redirect can
    only come back by giving up on the scan (waiting for the lock would never end).
    """
    with app.app_context():
        code = catalogue.primary_code(CodeTarget.SECTION, gen_section().id)
        url = app.config["SQLALCHEMY_DATABASE_URI"]
    locker = create_engine(url, poolclass=NullPool)
    with locker.connect() as connection:
        connection.execute(text("LOCK TABLE scans IN ACCESS EXCLUSIVE MODE"))  # e.g. a long maintenance
        with caplog.at_level("WARNING", logger="kiosk.insights.scans"):
            response = client.get(f"/Q/{code}")
        connection.rollback()
    locker.dispose()
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/sections/jingdian-songdu")
    assert any("not recorded" in record.getMessage() for record in caplog.records)
    assert scans_stored(app) == 0  # given up, not queued behind the lock
    client.get(f"/Q/{code}")
    assert scans_stored(app) == 1


# ---- portable behaviour (both databases) ------------------------------------------------


def test_times_come_back_as_the_same_instant(app: Flask) -> None:
    """Aware UTC on PostgreSQL (whatever the server's zone), naive UTC on SQLite: one instant."""
    moment = datetime(2025, 1, 28, 23, 30, 15, 123456, tzinfo=UTC)  # already the 29th in Beijing
    with app.app_context():
        book = gen_book("除夕")
        book.deleted_at = moment
        db.session.commit()
        db.session.expire_all()
        loaded = db.session.get(Book, book.id).deleted_at
        if db.engine.dialect.name == "postgresql":
            assert loaded.utcoffset().total_seconds() == 0
        assert (loaded if loaded.tzinfo else loaded.replace(tzinfo=UTC)) == moment
        earlier = db.session.scalar(select(func.count()).select_from(Book).where(Book.deleted_at < moment))
        later = db.session.scalar(select(func.count()).select_from(Book).where(Book.deleted_at <= moment))
        assert (earlier, later) == (0, 1)


def test_search_folds_case_and_escapes_wildcards(app: Flask, client: FlaskClient, sample_mp3: Path) -> None:
    """LIKE is case-sensitive on PostgreSQL: matching relies on folded text on both sides."""
    with app.app_context():
        gen_track(gen_book("Little Prince", author="Saint-Exupéry"), sample_mp3)
        gen_track(gen_book("100% 中国", author="张三_李四"), sample_mp3)

    def found(query: str) -> list[str]:
        return [b["title"] for b in client.get("/api/v1/search", query_string={"q": query}).get_json()["books"]]

    assert found("little PRINCE") == ["Little Prince"]
    assert found("ＬＩＴＴＬＥ") == ["Little Prince"]  # full-width, as Chinese keyboards type it
    assert found("EXUPÉRY") == ["Little Prince"]
    assert found("%") == ["100% 中国"]
    assert found("_") == ["100% 中国"]
    assert found("三_李") == ["100% 中国"]


def test_large_files_fit(app: Flask, sample_mp3: Path) -> None:
    """Sizes up to the 300 MB upload limit fit the integer columns on every database."""
    with app.app_context():
        track = gen_track(gen_book("长篇"), sample_mp3)
        track.size_bytes = 300 * 1024 * 1024
        db.session.commit()
        db.session.expire_all()
        assert db.session.get(type(track), track.id).size_bytes == 300 * 1024 * 1024


def test_status_values_fit_their_columns(app: Flask) -> None:
    """Every enum value fits its column: PostgreSQL refuses what SQLite would silently keep."""
    from sqlalchemy import Enum

    too_long = [
        f"{table.name}.{column.name}"
        for table in db.metadata.sorted_tables
        for column in table.columns
        if isinstance(column.type, Enum) and column.type.length
        and max(len(value) for value in column.type.enums) > column.type.length
    ]
    assert too_long == []
