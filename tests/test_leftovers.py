"""Nothing a killed process left stays for good: old scratch, spools, half-moved files, row-less originals.

Reproduces the probe: a killed run left 107 MB of scratch, a killed upload its spool, and a
kill just after the last byte an original with no row. The hourly sweep (and every worker
start) removes them once they are old enough that no live request can still want them.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from flask import Flask

from kiosk.extensions import db
from kiosk.jobs import tasks
from kiosk.models import ImportBatch, JobStatus, Recording, Section
from kiosk.storage import store

SEVEN_HOURS_S = 7 * 3600


def aged(path: Path, seconds: float) -> Path:
    """Make ``path`` (and what it holds) look untouched for ``seconds``."""
    when = time.time() - seconds
    for item in [path, *path.rglob("*")] if path.is_dir() else [path]:
        os.utime(item, (when, when), follow_symlinks=False)
    return path


def write(path: Path, size: int = 4096) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(os.urandom(size))
    return path


def test_old_scratch_goes_and_what_is_still_wanted_stays(app: Flask) -> None:
    with app.app_context():
        scratch = store().scratch_dir()
        old_spool = aged(write(scratch / ".upload-killed"), SEVEN_HOURS_S)
        old_work = aged(write(scratch / "master-abc" / "decoded.wav", 1_000_000).parent, SEVEN_HOURS_S)
        fresh_spool = write(scratch / ".upload-streaming-now")
        section = db.session.query(Section).first()
        assert section is not None
        db.session.add(ImportBatch(token="waiting", section_id=section.id, files=[]))  # noqa: S106 - not a secret
        db.session.commit()
        waiting_batch = aged(write(scratch / "imports" / "waiting" / "0-a.mp3").parent, SEVEN_HOURS_S)
        abandoned_batch = aged(write(scratch / "imports" / "gone" / "0-a.mp3").parent, SEVEN_HOURS_S)
        half_moved = aged(write(store().root / "audio" / "ab" / ".incoming-123-abcd.mp3"), SEVEN_HOURS_S)

        tasks._sweep_leftovers()

    assert not old_spool.exists() and not old_work.exists() and not abandoned_batch.exists()
    assert not half_moved.exists()
    assert fresh_spool.exists() and waiting_batch.exists()


def test_an_original_no_row_names_is_removed_once_old(app: Flask, tmp_path: Path) -> None:
    with app.app_context():
        orphan_key = store().adopt(write(tmp_path / "orphan.wav"), "originals", "wav")
        young_key = store().adopt(write(tmp_path / "young.wav"), "originals", "wav")
        # A take's original (its row names it) is never an orphan, however old.
        owned_key = store().adopt(write(tmp_path / "owned.wav", 2048), "originals", "wav")
        db.session.add(Recording(token="t" * 24, reader_name="李读者", consent=True, licence="CC BY 4.0",
                                 title="自由朗读", original_key=owned_key, original_format="wav",
                                 original_size_bytes=2048, status=JobStatus.QUEUED))
        db.session.commit()
        for key in (orphan_key, owned_key):
            aged(store().path(key), 2 * 3600)

        tasks._sweep_leftovers()

        assert not store().exists(orphan_key)
        assert store().exists(young_key)  # may belong to a request committing right now
        assert store().exists(owned_key)
