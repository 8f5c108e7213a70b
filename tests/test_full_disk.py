"""A full disk fails nothing for good: the take waits, in the right words, and is mastered once space returns.

Reproduces the probe: on a full disk a valid take failed as 这不是可以识别的音频文件 and stayed
failed after space was freed. Here the data dir is a small tmpfs that is really filled.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from kiosk import create_app
from kiosk.booth import takes
from kiosk.cli.setup import prepare_database
from kiosk.extensions import db
from kiosk.jobs import lifecycle
from kiosk.models import JobStatus, Recording
from recorder import synth
from tests.helpers import require_tool

TMPFS_BYTES = 24 * 1024 * 1024


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 24 MiB filesystem of its own (tmpfs), unmounted afterwards."""
    require_tool("root, to mount a small tmpfs", os.geteuid() == 0 and shutil.which("mount") is not None)
    mount_point = tmp_path / "small-disk"
    mount_point.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={TMPFS_BYTES}", "tmpfs", str(mount_point)], check=True)
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


@pytest.fixture
def app_on_small_disk(small_disk: Path, tmp_path: Path) -> Iterator[Flask]:
    application = create_app({
        "TESTING": True, "KIOSK_DATA_DIR": small_disk / "media", "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'kiosk.sqlite3'}",  # the database is elsewhere
        "KIOSK_JOBS_IMMEDIATE": True,
    })
    with application.app_context():
        prepare_database()
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


def fill(folder: Path) -> Path:
    """Write until the disk is full; the file that filled it."""
    filler = folder / "filler.bin"
    block = b"\0" * (1024 * 1024)
    with filler.open("wb") as handle:
        try:
            while True:
                handle.write(block)
                handle.flush()
        except OSError:
            pass
    return filler


def submitted_take(tmp_path: Path) -> str:
    """A volunteer's take accepted at the booth (in an app context): its token."""
    take_wav = synth.speechlike(tmp_path / "take.wav", duration_s=6, level_lufs=-24, pad_head_s=1, pad_tail_s=1)
    spool = takes.store().scratch_dir() / "upload.wav"
    shutil.copyfile(take_wav, spool)
    return takes.submit(spool, takes.validate_form("李读者", "1", "")).token


def test_a_take_on_a_full_disk_waits_and_is_mastered_when_space_returns(
    app_on_small_disk: Flask, tmp_path: Path
) -> None:
    with app_on_small_disk.app_context():
        token = submitted_take(tmp_path)
        filler = fill(Path(app_on_small_disk.config["KIOSK_DATA_DIR"]))

        assert lifecycle.claim(Recording.token, token)
        takes.process(token)
        db.session.expire_all()
        take = takes.by_token(token)
        assert take is not None
        assert take.status is JobStatus.QUEUED  # waiting, not failed
        assert take.attempts == 0  # a full disk spends no attempt
        assert take.error_code is None

        filler.unlink()
        assert lifecycle.claim(Recording.token, token)
        takes.process(token)
        db.session.expire_all()
        take = takes.by_token(token)
        assert take is not None and take.status is JobStatus.DONE
        assert takes.store().exists(take.mastered_key)


def test_the_volunteer_is_told_the_take_is_waiting_not_that_it_is_not_audio(
    app_on_small_disk: Flask, tmp_path: Path
) -> None:
    with app_on_small_disk.app_context():
        token = submitted_take(tmp_path)
        fill(Path(app_on_small_disk.config["KIOSK_DATA_DIR"]))
        assert lifecycle.claim(Recording.token, token)
        takes.process(token)
    status = app_on_small_disk.test_client().get(f"/api/v1/recordings/{token}").get_json()
    assert status["status"] == "queued"
    assert "不是可以识别的音频" not in str(status)
