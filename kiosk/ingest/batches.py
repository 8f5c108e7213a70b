"""Console imports: uploaded files wait in the store's scratch space until the worker imports them.

Mastering many files would hold a web worker for minutes, so the upload only links the
spooled files into a batch folder and queues a job (a leased job, see ``kiosk.jobs.lifecycle``);
the console's batch page refreshes itself until the job has written its report. A re-run
(after a crash) is harmless: the importer skips every file it already imported.
"""

from __future__ import annotations

import logging
import re
import secrets
import shutil
from datetime import datetime
from pathlib import Path
from typing import Any

from flask_babel import gettext
from sqlalchemy import select

from kiosk.extensions import db
from kiosk.ingest import importer
from kiosk.jobs import lifecycle
from kiosk.models import ImportBatch, JobStatus, Section, User
from kiosk.storage import store

log = logging.getLogger(__name__)

MAX_FILES = 200  # per upload; the request body is capped by uploads.MAX_UPLOAD_BYTES as well
NAME_MAX_CHARS = 200
RECENT = 10
_SUFFIX = re.compile(r"\.[a-z0-9]{1,5}")


def batch_dir(token: str) -> Path:
    """Where a batch's uploaded files wait (inside the store's scratch directory)."""
    return store().scratch_dir() / "imports" / token


def shown_name(filename: str) -> str:
    """The uploaded file's own name, without any folder a client may have sent."""
    return filename.replace("\\", "/").rsplit("/", 1)[-1].strip()[:NAME_MAX_CHARS] or "?"


def _stored_name(index: int, filename: str) -> str:
    """A safe name in the batch folder: a counter and the original suffix (if it looks like one)."""
    suffix = Path(shown_name(filename)).suffix.lower()
    return f"{index:04d}{suffix if _SUFFIX.fullmatch(suffix) else ''}"


def _place(spooled: Path, target: Path) -> None:
    """Hard-link the spooled upload into the batch (a copy if linking is impossible)."""
    try:
        target.hardlink_to(spooled)
    except OSError:
        shutil.copyfile(spooled, target)


def create(
    section: Section, uploads: list[tuple[Path, str]], fallback_title: str, actor: User, *, publish: bool = True,
) -> ImportBatch:
    """Keep the spooled ``uploads`` (path, file name) in a new batch (flushed; the caller commits)."""
    token = secrets.token_hex(16)
    folder = batch_dir(token)
    folder.mkdir(parents=True)
    files = []
    for index, (spooled, filename) in enumerate(uploads, start=1):
        stored = _stored_name(index, filename)
        _place(spooled, folder / stored)
        files.append({"stored": stored, "name": shown_name(filename)})
    batch = ImportBatch(token=token, section=section, created_by=actor.id, files=files, publish=publish,
                        fallback_title=fallback_title.strip()[: importer.TITLE_MAX_CHARS])
    db.session.add(batch)
    db.session.flush()
    return batch


def _sources(batch: ImportBatch) -> list[importer.Source]:
    """The batch's files as import sources (untagged files go to the fallback title, else their own)."""
    folder = batch_dir(batch.token)
    return [
        importer.Source(folder / f["stored"], f["name"], batch.fallback_title or Path(f["name"]).stem)
        for f in batch.files
        if (folder / f["stored"]).is_file()
    ]


def lost_batches(now: datetime) -> list[int]:
    """Batches no live worker is on, to queue again (those out of attempts are failed)."""
    return lifecycle.lost(ImportBatch.id, now, gave_up=gettext("导入中断了多次，请重新上传。"))


def unfinished_tokens() -> list[str]:
    """Tokens of batches whose files still wait in scratch (queued or being imported)."""
    return list(db.session.scalars(
        select(ImportBatch.token).where(ImportBatch.status.in_((JobStatus.QUEUED, JobStatus.PROCESSING)))))


def run(batch_id: int) -> None:
    """The job, on a claimed batch: import its files and store the report."""
    batch = db.session.get(ImportBatch, batch_id)
    if batch is None or batch.status is not JobStatus.PROCESSING:
        return
    actor = db.session.get(User, batch.created_by) if batch.created_by else None
    try:
        report = importer.import_sources(
            _sources(batch), batch.section, actor=actor, via="web", publish=batch.publish,
            progress=lambda done: _progress(batch_id, done),
        )
    except Exception as error:
        log.exception("import batch %s failed", batch_id)
        db.session.rollback()
        _fail(batch_id, type(error).__name__)
        return
    _finish(batch_id, report.to_dict())


def _progress(batch_id: int, done: int) -> None:
    """Note how many files are finished, for the page that waits."""
    batch = db.session.get(ImportBatch, batch_id)
    if batch is not None:
        batch.done_files = done
        db.session.commit()


def _finish(batch_id: int, report: dict[str, Any]) -> None:
    """Store the report, and remove the uploaded files."""
    batch = db.session.get(ImportBatch, batch_id)
    if batch is not None:
        lifecycle.finish(batch)
        batch.done_files, batch.report = len(batch.files), report
        db.session.commit()
        shutil.rmtree(batch_dir(batch.token), ignore_errors=True)


def _fail(batch_id: int, reason: str) -> None:
    """Record the failure (the page says what to do), and remove the uploaded files."""
    batch = db.session.get(ImportBatch, batch_id)
    if batch is not None:
        lifecycle.fail(batch, reason)
        db.session.commit()
        shutil.rmtree(batch_dir(batch.token), ignore_errors=True)


def recent() -> list[ImportBatch]:
    """The latest batches, newest first."""
    return list(db.session.scalars(select(ImportBatch).order_by(ImportBatch.id.desc()).limit(RECENT)))
