"""deploy/nginx.conf in front of the app: nginx sends every byte, unpublishing is instant.

Published media comes straight from the published-only tree (kiosk/media/public_tree.py) with
no app round-trip; anything else is asked of the app, which hands published files back to
nginx with X-Accel-Redirect.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.serving import make_server

from bench.common import NGINX, render_deploy_nginx
from kiosk.extensions import db
from kiosk.media import public_tree
from kiosk.models import Book, Track
from tests.factories import gen_book, gen_track
from tests.helpers import free_port, port_open, require_tool, wait_until

ACCEL_PREFIX = "/_media/"
NGINX_START_TIMEOUT_S = 10.0


@pytest.fixture
def nginx() -> str:
    """Debian's nginx binary: skipped without it (failed under CI, which installs it)."""
    require_tool("nginx", os.access(NGINX, os.X_OK), f"apt-get install nginx, for {NGINX}")
    return NGINX


needs_nginx = pytest.mark.usefixtures("nginx")


@pytest.fixture
def accel_app(app: Flask) -> Flask:
    """The app in X-Accel-Redirect mode, as deploy/nginx.conf expects it."""
    app.config["KIOSK_ACCEL_REDIRECT"] = ACCEL_PREFIX
    return app


@pytest.fixture
def published(accel_app: Flask, sample_mp3: Path) -> tuple[int, str]:
    """A published chapter's id and media key."""
    with accel_app.app_context():
        track = gen_track(gen_book(), sample_mp3)
        return track.id, track.audio_key


def unpublish_track(app: Flask, track_id: int) -> None:
    """What the console does: the track is no longer published (one commit)."""
    with app.app_context():
        db.session.get(Track, track_id).published = False  # type: ignore[union-attr]
        db.session.commit()


def test_published_media_is_handed_to_nginx(client: FlaskClient, published: tuple[int, str]) -> None:
    _, key = published
    response = client.get(f"/media/{key}", headers={"Range": "bytes=0-1"})
    assert response.status_code == 200
    assert response.headers["X-Accel-Redirect"] == ACCEL_PREFIX + key
    assert response.headers["Content-Type"] == "audio/mpeg"
    assert "immutable" in response.headers["Cache-Control"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.data == b""


def test_unpublishing_stops_the_hand_off_at_once(
    accel_app: Flask, client: FlaskClient, published: tuple[int, str]
) -> None:
    track_id, key = published
    assert "X-Accel-Redirect" in client.get(f"/media/{key}").headers
    unpublish_track(accel_app, track_id)
    response = client.get(f"/media/{key}")
    assert response.status_code == 404
    assert "X-Accel-Redirect" not in response.headers


def test_book_in_the_trash_stops_the_hand_off(
    accel_app: Flask, client: FlaskClient, published: tuple[int, str]
) -> None:
    _, key = published
    with accel_app.app_context():
        from datetime import UTC, datetime

        for book in db.session.scalars(db.select(Book)):
            book.deleted_at = datetime.now(UTC)
        db.session.commit()
    response = client.get(f"/media/{key}")
    assert response.status_code == 404
    assert "X-Accel-Redirect" not in response.headers


# ---- against a real nginx with deploy/nginx.conf ----------------------------------------------


@contextlib.contextmanager
def _app_server(app: Flask, seen: list[str] | None = None) -> Iterator[int]:
    """The app on a loopback port in a thread (werkzeug's threaded server); paths it got go in ``seen``."""

    def counting(environ: dict[str, Any], start_response: Any) -> Any:
        if seen is not None:
            seen.append(environ["PATH_INFO"])
        return app(environ, start_response)

    server = make_server("127.0.0.1", 0, counting, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_port
    finally:
        server.shutdown()
        thread.join(timeout=10)


def _error_log(workdir: Path) -> str:
    """The end of nginx's error log, for a failure message."""
    log = workdir / "error.log"
    return log.read_text(errors="replace")[-3000:] if log.exists() else "(no error.log)"


@contextlib.contextmanager
def _nginx(conf: Path, workdir: Path, port: int) -> Iterator[None]:
    """nginx in the foreground with ``conf``, accepting on ``port``; stopped at the end."""
    argv = [NGINX, "-p", str(workdir), "-c", str(conf), "-e", str(workdir / "error.log"), "-g", "daemon off;"]
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)

    def listening() -> bool:
        if process.poll() is not None:
            pytest.fail(f"nginx exited with {process.returncode}:\n{_error_log(workdir)}")
        return port_open(port)

    try:
        wait_until(listening, NGINX_START_TIMEOUT_S, f"nginx to accept on 127.0.0.1:{port}",
                   details=lambda: _error_log(workdir))
        yield
    finally:
        process.terminate()
        process.wait(timeout=10)


def _get(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    """One request through nginx: status, headers, body."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


@pytest.fixture
def app_saw() -> list[str]:
    """The paths of the requests that reached the app behind nginx."""
    return []


@pytest.fixture
def front(nginx: str, accel_app: Flask, tmp_path: Path, app_saw: list[str]) -> Iterator[int]:
    """deploy/nginx.conf on a loopback port, in front of the app: the port to ask."""
    port = free_port()
    with _app_server(accel_app, app_saw) as app_port:
        workdir = tmp_path / "nginx"
        conf = render_deploy_nginx(Path(accel_app.config["KIOSK_DATA_DIR"]), app_port, port, workdir)
        with _nginx(conf, workdir, port):
            yield port


@needs_nginx
def test_deploy_config_passes_nginx_t(tmp_path: Path) -> None:
    conf = render_deploy_nginx(tmp_path / "media", 8000, free_port(), tmp_path / "nginx")
    done = subprocess.run(
        [NGINX, "-t", "-p", str(tmp_path / "nginx"), "-c", str(conf), "-e", str(tmp_path / "nginx" / "error.log")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "test is successful" in done.stderr


@needs_nginx
def test_nginx_sends_exact_ranges_then_stops_at_once_on_unpublish(
    accel_app: Flask, front: int, published: tuple[int, str], sample_mp3: Path, app_saw: list[str]
) -> None:
    track_id, key = published
    body = sample_mp3.read_bytes()
    status, headers, data = _get(front, f"/media/{key}", {"Range": "bytes=100-1099"})
    assert app_saw == []  # from the published-only tree: the app was not asked
    assert status == 206
    assert data == body[100:1100]
    assert headers["Content-Range"] == f"bytes 100-1099/{len(body)}"
    assert headers["Content-Type"] == "audio/mpeg"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert "immutable" in headers["Cache-Control"]
    assert "X-Accel-Redirect" not in headers
    unpublish_track(accel_app, track_id)
    status, headers, _ = _get(front, f"/media/{key}", {"Range": "bytes=100-1099"})
    assert status == 404


@needs_nginx
@pytest.mark.parametrize("path", ["/_media/{key}", "/_media/kiosk.sqlite3", "/_media/secret_key", "/_media/../{key}"])
def test_internal_location_is_not_reachable_directly(front: int, published: tuple[int, str], path: str) -> None:
    _, key = published
    status, _, data = _get(front, path.format(key=key))
    assert status in (400, 404)
    assert b"ID3" not in data[:10]


@needs_nginx
def test_pages_pass_through_nginx(front: int, published: tuple[int, str]) -> None:
    status, headers, _ = _get(front, "/sections/jingdian-songdu")
    assert status == 200
    assert headers["Content-Type"].startswith("text/html")


@needs_nginx
def test_a_file_missing_from_the_tree_is_asked_of_the_app_and_still_sent_by_nginx(
    accel_app: Flask, front: int, published: tuple[int, str], sample_mp3: Path, app_saw: list[str]
) -> None:
    track_id, key = published
    (Path(accel_app.config["KIOSK_DATA_DIR"]) / public_tree.TREE_DIR / key).unlink()  # e.g. after a crash
    body = sample_mp3.read_bytes()
    status, headers, data = _get(front, f"/media/{key}", {"Range": "bytes=0-99"})
    assert (status, data) == (206, body[:100])
    assert app_saw == [f"/media/{key}"]  # the app checked it and handed the file back
    assert headers["Content-Type"] == "audio/mpeg"
    assert "immutable" in headers["Cache-Control"]
    unpublish_track(accel_app, track_id)
    assert _get(front, f"/media/{key}")[0] == 404


@needs_nginx
@pytest.mark.parametrize("path", ["/media/public/{key}", "/public/{key}", "/kiosk.sqlite3", "/media/kiosk.sqlite3",
                                  "/secret_key", "/media/.public.lock"])
def test_the_store_beside_the_tree_is_not_served(front: int, published: tuple[int, str], path: str) -> None:
    _, key = published
    status, _, data = _get(front, path.format(key=key))
    assert status == 404
    assert b"ID3" not in data[:10]
    assert b"SQLite" not in data[:16]
