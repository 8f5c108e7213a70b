"""Jobs whose worker died (or whose queue message was lost) are finished by the next sweep.

The worker's sweep (``sweep_lost_jobs``, every minute and at every worker's start) is run
here in immediate mode, so the job it queues again runs inline; the result is read back
through HTTP as the volunteer and the librarian see it, and the audio measured with ffmpeg.
"""

from __future__ import annotations

import secrets
import subprocess
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import imageio_ffmpeg
import pytest
from flask import Flask
from flask.testing import FlaskClient

from kiosk.booth import remaster, takes
from kiosk.extensions import db
from kiosk.ingest import batches, chapter_uploads
from kiosk.jobs import lifecycle, tasks
from kiosk.models import ChapterUpload, ImportBatch, JobStatus, Recording, Remaster, utcnow
from kiosk.storage import store
from recorder import synth
from tests.factories import gen_book, gen_section

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()
DEAD_LEASE = timedelta(minutes=5)  # a lease that ran out five minutes ago


@pytest.fixture
def original(app: Flask, tmp_path: Path) -> str:
    """Six seconds of speech-like audio at -26 LUFS, kept in the store as an original."""
    wav = synth.speechlike(tmp_path / "take.wav", duration_s=6, level_lufs=-26)
    with app.app_context():
        return store().adopt(wav, "originals", "wav")


def abandoned(attempts: int = 1) -> dict[str, Any]:
    """The columns of a job whose worker died mid-way."""
    return {"status": JobStatus.PROCESSING, "attempts": attempts, "lease_until": utcnow() - DEAD_LEASE}


def loudness_lufs(mp3: bytes, tmp_path: Path) -> float:
    """Integrated loudness, measured independently with ffmpeg's ebur128."""
    path = tmp_path / "served.mp3"
    path.write_bytes(mp3)
    proc = subprocess.run(
        [FFMPEG, "-nostdin", "-hide_banner", "-i", str(path), "-af", "ebur128", "-f", "null", "-"],
        capture_output=True, text=True, check=True,
    )
    summary = proc.stderr[proc.stderr.rfind("Summary:"):]
    return float(summary.split("I:")[1].split("LUFS")[0])


def add_take(original_key: str, **job: Any) -> str:
    take = Recording(token=secrets.token_urlsafe(12), reader_name="李读者", consent=True,
                     licence="CC BY 4.0", title="自由朗读", original_key=original_key, original_size_bytes=1, **job)
    db.session.add(take)
    db.session.commit()
    return take.token


def test_a_take_whose_worker_died_is_mastered_by_the_sweep(
    app: Flask, client: FlaskClient, original: str, tmp_path: Path
) -> None:
    with app.app_context():
        token = add_take(original, **abandoned())
    assert client.get(f"/api/v1/recordings/{token}").get_json()["status"] == "processing"

    tasks.sweep_lost_jobs.call_local()

    status = client.get(f"/api/v1/recordings/{token}").get_json()
    assert status["status"] == "done"
    audio = client.get(status["audio_url"])
    assert audio.status_code == 200
    assert abs(loudness_lufs(audio.data, tmp_path) + 18) <= 1
    with app.app_context():
        assert db.session.scalar(db.select(Recording.attempts).where(Recording.token == token)) == 2


def test_a_take_that_killed_its_worker_every_time_is_given_up(app: Flask, client: FlaskClient, original: str) -> None:
    with app.app_context():
        token = add_take(original, **abandoned(attempts=lifecycle.MAX_ATTEMPTS))

    tasks.sweep_lost_jobs.call_local()

    status = client.get(f"/api/v1/recordings/{token}").get_json()
    assert status["status"] == "failed"
    assert status["message"] == takes.PROCESSING_FAILED_MESSAGE and status["error"] == "processing_failed"
    assert status["audio_url"] is None


def test_a_take_whose_queue_message_was_lost_is_mastered_by_the_sweep(
    app: Flask, client: FlaskClient, original: str
) -> None:
    with app.app_context():
        token = add_take(original, queued_at=utcnow() - lifecycle.LOST_AFTER - timedelta(seconds=1))
    tasks.sweep_lost_jobs.call_local()
    assert client.get(f"/api/v1/recordings/{token}").get_json()["status"] == "done"


def test_a_chapter_upload_whose_worker_died_becomes_a_chapter(
    app: Flask, client: FlaskClient, original: str, tmp_path: Path
) -> None:
    with app.app_context():
        book = gen_book()
        db.session.add(ChapterUpload(book=book, title="第二章", reader_name="王老师", original_key=original,
                                     **abandoned()))
        db.session.commit()
        book_id = book.id

    tasks.sweep_lost_jobs.call_local()

    chapters = client.get(f"/api/v1/books/{book_id}").get_json()["book"]["tracks"]
    assert [c["title"] for c in chapters] == ["第二章"]
    assert abs(loudness_lufs(client.get(chapters[0]["audio_url"]).data, tmp_path) + 18) <= 1


def gen_batch() -> ImportBatch:
    return ImportBatch(token=secrets.token_hex(8), section=gen_section(), files=[], **abandoned(lifecycle.MAX_ATTEMPTS))


def gen_remaster() -> Remaster:
    take = Recording(token=secrets.token_urlsafe(12), reader_name="甲", consent=True, licence="CC BY 4.0", title="读",
                     original_key="originals/ab/" + "a" * 32 + ".wav", original_size_bytes=1)
    db.session.add(take)
    db.session.flush()
    return Remaster(recording_id=take.id, target_lufs=-18.0, **abandoned(lifecycle.MAX_ATTEMPTS))


@pytest.mark.parametrize(
    ("make", "lost"),
    [(gen_batch, batches.lost_batches), (gen_remaster, remaster.lost_remasters)],
    ids=["import batch", "remaster"],
)
def test_an_import_or_remaster_out_of_attempts_is_failed_with_a_reason(
    app: Flask, make: Callable[[], ImportBatch | Remaster], lost: Callable[[datetime], list[int]]
) -> None:
    with app.app_context():
        job = make()
        db.session.add(job)
        db.session.commit()
        assert lost(utcnow()) == []
        db.session.refresh(job)
        assert job.status is JobStatus.FAILED and job.error_message and job.finished_at is not None


def test_the_sweep_leaves_a_live_upload_alone(app: Flask) -> None:
    with app.app_context():
        upload = ChapterUpload(book=gen_book(), title="第一章", original_key="originals/ab/" + "a" * 32 + ".wav",
                               status=JobStatus.PROCESSING, attempts=1, lease_until=utcnow() + timedelta(minutes=1))
        db.session.add(upload)
        db.session.commit()
        assert chapter_uploads.lost_uploads(utcnow()) == []
        assert lifecycle.claim(ChapterUpload.id, upload.id) is False  # a live worker holds it
