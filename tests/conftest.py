"""Shared fixtures: an app on a fresh data dir, its client and CLI runner, and real audio."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import imageio_ffmpeg
import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from kiosk import create_app
from kiosk.cli import prepare_database
from kiosk.extensions import db

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()


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


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    """An application on an empty data dir with the schema and default sections."""
    database_url = os.environ.get("KIOSK_TEST_DATABASE_URL") or f"sqlite:///{tmp_path / 'test.sqlite3'}"
    application = create_app(
        {
            "TESTING": True,
            "KIOSK_DATA_DIR": tmp_path / "media",
            "SQLALCHEMY_DATABASE_URI": database_url,
            "SECRET_KEY": "test-secret",
            "KIOSK_JOBS_IMMEDIATE": True,
        }
    )
    with application.app_context():
        if os.environ.get("KIOSK_TEST_DATABASE_URL"):
            db.drop_all()
            db.session.execute(db.text("DROP TABLE IF EXISTS alembic_version"))
            db.session.commit()
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
        from kiosk import auth

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
