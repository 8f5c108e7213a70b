"""Shared fixtures: an app on a fresh data dir, its client and CLI runner, and real audio."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import imageio_ffmpeg
import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import create_engine, make_url
from sqlalchemy.pool import NullPool

from kiosk import create_app
from kiosk.cli.setup import prepare_database
from kiosk.extensions import db

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()

# A real database server and Redis for the whole suite, when set (``.ci/run`` sets both):
# e.g. postgresql+psycopg://kiosk@127.0.0.1:5433/kiosk_test and redis://127.0.0.1:6390/0.
TEST_DATABASE_URL = os.environ.get("KIOSK_TEST_DATABASE_URL") or None
TEST_REDIS_URL = os.environ.get("KIOSK_TEST_REDIS_URL") or None


def make_audio(path: Path, *, seconds: float = 6.0, source: str = "sine=frequency=440") -> Path:
    """Encode ``seconds`` of an ffmpeg lavfi source to ``path`` (format by suffix)."""
    subprocess.run(
        [FFMPEG, "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi",
         "-i", f"{source}:duration={seconds}", "-ac", "1", "-ar", "44100", str(path)],
        check=True,
    )
    return path


@pytest.fixture(scope="session")
def sample_mp3(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 6-second MP3, made once per test session."""
    return make_audio(tmp_path_factory.mktemp("audio") / "tone.mp3")


@contextmanager
def server_database(base_url: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL schema on the test server; yields a URL whose connections use it.

    The schema is the first on every connection's ``search_path`` (a libpq ``options``
    parameter, so subprocesses given the URL land in it too), and is dropped afterwards.
    Other servers get everything dropped instead.
    """
    url = make_url(base_url)
    if url.get_backend_name() != "postgresql":
        yield _emptied(base_url)
        return
    schema = f"kiosk_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url, poolclass=NullPool)
    with admin.begin() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    try:
        query = {"options": f"-c search_path={schema}", "application_name": schema}
        yield url.update_query_dict(query).render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            # Connections a test left open (its own engines, a subprocess) would block the drop.
            connection.exec_driver_sql(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s", (schema,)
            )
            connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


def _emptied(base_url: str) -> str:
    """Drop every table of a non-PostgreSQL test server (slow, but any server will do)."""
    from sqlalchemy import MetaData

    engine = create_engine(base_url, poolclass=NullPool)
    metadata = MetaData()
    metadata.reflect(engine)
    metadata.drop_all(engine)
    engine.dispose()
    return base_url


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    """A private, empty database: SQLite in ``tmp_path``, or a fresh schema on the test server."""
    if TEST_DATABASE_URL is None:
        yield f"sqlite:///{tmp_path / 'test.sqlite3'}"
        return
    with server_database(TEST_DATABASE_URL) as url:
        yield url


@pytest.fixture
def redis_settings() -> Iterator[dict[str, str]]:
    """App settings putting rate limits (and the queue) on the test Redis under a private prefix."""
    if TEST_REDIS_URL is None:
        yield {}
        return
    prefix = f"kiosk-test-{uuid.uuid4().hex[:12]}"
    yield {"KIOSK_REDIS_URL": TEST_REDIS_URL, "RATELIMIT_KEY_PREFIX": prefix}
    import redis

    client = redis.Redis.from_url(TEST_REDIS_URL)
    try:
        keys = list(client.scan_iter(match=f"*{prefix}*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture
def app(tmp_path: Path, database_url: str, redis_settings: dict[str, str]) -> Iterator[Flask]:
    """An application on an empty data dir with the schema and default sections."""
    application = create_app(
        {
            "TESTING": True,
            "KIOSK_DATA_DIR": tmp_path / "media",
            "SQLALCHEMY_DATABASE_URI": database_url,
            "SECRET_KEY": "test-secret",
            "KIOSK_JOBS_IMMEDIATE": True,
            **redis_settings,
        }
    )
    with application.app_context():
        prepare_database()
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client speaking real HTTP semantics to the app."""
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    """The app's CLI runner."""
    return app.test_cli_runner()


class AuthActions:
    """Sign a test client in as a fresh librarian or admin (flaskr's ``auth`` fixture)."""

    password = "correct horse battery staple"  # noqa: S105 - test fixture

    def __init__(self, app: Flask, client: FlaskClient) -> None:
        self.app = app
        self.client = client

    def login(self, role: str = "librarian", username: str | None = None) -> FlaskClient:
        """Create the account if needed and sign ``self.client`` in with it."""
        from kiosk.accounts import auth

        name = username or f"test-{role}"
        with self.app.app_context():
            if auth.find_user(name) is None:
                auth.create_user(name, self.password, role, via="test")
                db.session.commit()
        response = self.client.post("/admin/login", data={"username": name, "password": self.password})
        assert response.status_code == 302, response.get_data(as_text=True)
        return self.client

    def logout(self) -> None:
        """Sign out."""
        self.client.post("/admin/logout")


@pytest.fixture
def auth(app: Flask, client: FlaskClient) -> AuthActions:
    """Log ``client`` in and out of the console."""
    return AuthActions(app, client)
