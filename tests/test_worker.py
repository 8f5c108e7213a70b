"""The background worker: a take interrupted by a killed worker is finished by the next one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from kiosk import create_app
from kiosk.cli.setup import prepare_database
from kiosk.extensions import db
from kiosk.models import Recording, TakeStatus
from recorder import synth

LEASE_S = 2.0


@pytest.fixture
def shared(tmp_path: Path) -> Iterator[tuple[Flask, dict[str, str]]]:
    """An app (queue on SQLite, not inline) and the environment a worker process needs to join it."""
    env = {
        **os.environ,
        "KIOSK_DATA_DIR": str(tmp_path / "media"),
        "KIOSK_DATABASE_URL": f"sqlite:///{tmp_path / 'kiosk.sqlite3'}",
        "KIOSK_SECRET_KEY": "test",
        "KIOSK_TAKE_LEASE_S": str(LEASE_S),
    }
    app = create_app(
        {
            "KIOSK_DATA_DIR": Path(env["KIOSK_DATA_DIR"]),
            "SQLALCHEMY_DATABASE_URI": env["KIOSK_DATABASE_URL"],
            "KIOSK_TAKE_LEASE_S": LEASE_S,
            "TESTING": True,
        }
    )
    with app.app_context():
        prepare_database()
    yield app, env
    with app.app_context():
        db.engine.dispose()


def start_worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    """``kiosk worker`` in its own process group (so ffmpeg dies with it)."""
    return subprocess.Popen(
        [sys.executable, "-m", "kiosk", "worker"], env=env, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


def take_status(app: Flask, token: str) -> TakeStatus:
    with app.app_context():
        db.session.expire_all()
        return db.session.scalar(db.select(Recording.status).where(Recording.token == token))


def wait_for(app: Flask, token: str, wanted: set[TakeStatus], timeout_s: float) -> TakeStatus:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        status = take_status(app, token)
        if status in wanted:
            return status
        time.sleep(0.1)
    raise AssertionError(f"take still {take_status(app, token)} after {timeout_s} s")


@pytest.mark.slow
def test_killed_worker_mid_job_is_finished_by_the_next(shared: tuple[Flask, dict[str, str]], tmp_path: Path) -> None:
    app, env = shared
    long_take = synth.speechlike(tmp_path / "long.wav", duration_s=600, level_lufs=-26)
    with long_take.open("rb") as audio:
        response = app.test_client().post(
            "/api/v1/recordings",
            data={"audio": (audio, "long.wav"), "reader_name": "李读者", "consent": "1"},
            content_type="multipart/form-data",
        )
    assert response.status_code == 202
    token = response.get_json()["token"]

    first = start_worker(env)
    try:
        wait_for(app, token, {TakeStatus.PROCESSING}, timeout_s=60)
        time.sleep(1.0)  # well into mastering
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
    assert take_status(app, token) is TakeStatus.PROCESSING  # interrupted mid-job

    time.sleep(LEASE_S + 0.5)  # the dead worker's lease runs out
    second = start_worker(env)
    try:
        assert wait_for(app, token, {TakeStatus.DONE, TakeStatus.FAILED}, timeout_s=240) is TakeStatus.DONE
    finally:
        os.killpg(second.pid, signal.SIGTERM)
        second.wait(timeout=30)
    status = app.test_client().get(f"/api/v1/recordings/{token}").get_json()
    assert abs(status["report"]["final_lufs"] + 18) <= 1
    with app.app_context():
        take = db.session.scalar(db.select(Recording).where(Recording.token == token))
        assert take.attempts == 2
