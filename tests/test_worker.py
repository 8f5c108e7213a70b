"""The background worker: a take interrupted by a killed worker is finished by the next one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask

from kiosk import create_app
from kiosk.cli.setup import prepare_database
from kiosk.extensions import db
from kiosk.models import JobStatus, Recording, utcnow
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


def take_row(app: Flask, token: str) -> tuple[JobStatus, datetime | None]:
    """The take's status and lease, read afresh from the database."""
    with app.app_context():
        db.session.expire_all()
        status, lease_until = db.session.execute(
            db.select(Recording.status, Recording.lease_until).where(Recording.token == token)
        ).one()
    if lease_until is not None and lease_until.tzinfo is None:  # SQLite keeps no zone; we store UTC
        lease_until = lease_until.replace(tzinfo=UTC)
    return status, lease_until


def wait_until(app: Flask, token: str, wanted: Callable[[JobStatus, datetime | None], bool],
               what: str, timeout_s: float) -> tuple[JobStatus, datetime | None]:
    """Poll the take's row until ``wanted`` holds; fail the test when the deadline passes first."""
    deadline = time.monotonic() + timeout_s
    while True:
        row = take_row(app, token)
        if wanted(*row):
            return row
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout_s} s; the take is {row}")
        time.sleep(0.1)


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
        _, claimed_until = wait_until(app, token, lambda status, _: status is JobStatus.PROCESSING,
                                      "the first worker claims the take", timeout_s=60)
        assert claimed_until is not None
        wait_until(app, token, lambda _, until: until is not None and until > claimed_until,
                   "the first worker's heartbeat renews its lease mid-mastering", timeout_s=30)
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
    assert take_row(app, token)[0] is JobStatus.PROCESSING  # interrupted mid-job

    wait_until(app, token, lambda _, until: until is not None and until < utcnow(),
               "the dead worker's lease runs out", timeout_s=LEASE_S * 5)
    second = start_worker(env)
    try:
        status, _ = wait_until(app, token, lambda status, _: status in (JobStatus.DONE, JobStatus.FAILED),
                               "the second worker finishes the take", timeout_s=240)
        assert status is JobStatus.DONE
    finally:
        os.killpg(second.pid, signal.SIGTERM)
        second.wait(timeout=30)
    status = app.test_client().get(f"/api/v1/recordings/{token}").get_json()
    assert status["status"] == "done"
    assert abs(status["report"]["final_lufs"] + 18) <= 1
    with app.app_context():
        take = db.session.scalar(db.select(Recording).where(Recording.token == token))
        assert take.attempts == 2
