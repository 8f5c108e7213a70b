"""The background tasks: mastering takes and uploads, imports, re-masterings, sweeps and daily purges.

Every job is a leased job (``kiosk.jobs.lifecycle``): a task carries only the job's key,
claims the row (a no-op if another worker holds it or it is finished), and does the
area's work under a heartbeat. A sweep every minute (and every worker's start) queues
again the jobs no live worker is on, which is how work interrupted by a crash runs again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import TypeVar

from flask import current_app
from huey import crontab
from sqlalchemy.orm import InstrumentedAttribute

from kiosk.booth import originals, remaster, takes
from kiosk.ingest import batches, chapter_uploads, pictures
from kiosk.jobs import lifecycle, queue
from kiosk.jobs.queue import huey, in_app
from kiosk.library import trash
from kiosk.media import public_tree
from kiosk.models import ChapterUpload, ImportBatch, Recording, Remaster, utcnow
from kiosk.readalong import jobs as readalong_jobs  # registers the alignment task with every worker
from kiosk.readalong import texts as readalong_texts
from kiosk.storage import store

log = logging.getLogger(__name__)

RETRY_DELAY_S = 30
SCRATCH_AGE = timedelta(hours=6)  # longer than any upload or mastering run takes
K = TypeVar("K", int, str)


def _leased(key: InstrumentedAttribute[K], value: K, work: Callable[[K], None]) -> None:
    """Claim the job, then do its work while a heartbeat holds the lease."""
    if not lifecycle.claim(key, value):
        return
    log.info("%s %s: claimed", key, value)
    with lifecycle.heartbeat(key, value):
        work(value)


@huey.task(retries=lifecycle.MAX_ATTEMPTS, retry_delay=RETRY_DELAY_S)
def master_take(token: str) -> None:
    """Master a booth take (its failures that may pass raise, so Huey retries them)."""
    in_app(_leased, Recording.token, token, takes.process)


@huey.periodic_task(crontab(minute="*"))
def sweep_lost_jobs() -> None:
    """Queue again every job that was queued but lost, or whose worker died mid-job."""
    in_app(_requeue_lost)


@huey.on_startup()
def _sweep_on_start() -> None:
    in_app(_requeue_lost)
    in_app(_sweep_leftovers)
    strip_pictures_from_chapters()


@huey.task()
@huey.lock_task("strip-pictures")  # every worker thread's start queues it; one run at a time is enough
def strip_pictures_from_chapters() -> None:
    """Once per start: chapters mastered with the cover in their tag get a copy without it."""
    in_app(_strip_pictures)


def _strip_pictures() -> None:
    moved = pictures.strip_stored_pictures()
    if moved:
        log.warning("removed the picture from the tag of %d chapter file(s): new keys, the same audio", moved)


@huey.periodic_task(crontab(minute="23"))
def sweep_leftovers() -> None:
    """Hourly: remove what killed processes left (scratch, spools, half-moved files, row-less originals)."""
    in_app(_sweep_leftovers)


def _sweep_leftovers() -> None:
    waiting = {batches.batch_dir(token) for token in batches.unfinished_tokens()}
    freed_bytes = store().sweep_leftovers(SCRATCH_AGE.total_seconds(), keep=waiting)
    orphans = originals.purge_orphaned_originals(utcnow())
    if freed_bytes or orphans:
        log.warning("swept leftovers: %d bytes of scratch, %d row-less originals", freed_bytes, len(orphans))


def _requeue_lost() -> None:
    now = utcnow()
    for token in takes.lost_takes(now):
        master_take(token)
    for upload_id in chapter_uploads.lost_uploads(now):
        master_chapter_upload(upload_id)
    for batch_id in batches.lost_batches(now):
        import_batch(batch_id)
    for job_id in remaster.lost_remasters(now):
        remaster_take(job_id)
    for text_id in readalong_texts.lost_alignments(now):
        readalong_jobs.align_text(text_id)


def enqueue_take(token: str) -> None:
    """Queue a take for mastering (inline in immediate mode, as tests use)."""
    master_take(token)


def run_worker(workers: int) -> None:
    """Run a Huey consumer in this process until it is told to stop."""
    queue.init_app(current_app._get_current_object())  # type: ignore[attr-defined]
    consumer = huey.create_consumer(workers=workers, worker_type="thread", periodic=True, check_worker_health=True)
    consumer.run()


@huey.task(retries=1, retry_delay=RETRY_DELAY_S)
def remaster_take(job_id: int) -> None:
    """Master a take again with a librarian's settings."""
    in_app(_leased, Remaster.id, job_id, remaster.run_remaster)


def enqueue_remaster(job_id: int) -> None:
    """Queue a re-mastering request (inline in immediate mode, as tests use)."""
    remaster_take(job_id)


@huey.task(retries=1, retry_delay=RETRY_DELAY_S)
def import_batch(batch_id: int) -> None:
    """Import the files of a console upload (a re-run skips what was already imported)."""
    in_app(_leased, ImportBatch.id, batch_id, batches.run)


@huey.task()
def master_chapter_upload(upload_id: int) -> None:
    """Master (or keep) a librarian's uploaded recording and attach it to its book."""
    in_app(_leased, ChapterUpload.id, upload_id, chapter_uploads.process_upload)


def enqueue_chapter_upload(upload_id: int) -> None:
    """Queue a chapter upload for mastering (inline in immediate mode, as tests use)."""
    master_chapter_upload(upload_id)


# ---- daily purges, and the published-only tree that a front nginx serves -----------------------


@huey.periodic_task(crontab(minute="17", hour="3"))
def purge_expired_originals() -> None:
    """Daily: delete booth originals decided more than 30 days ago that nothing else needs."""
    in_app(_purge_originals)


def _purge_originals() -> None:
    originals.purge_expired_originals(utcnow())


@huey.periodic_task(crontab(minute="41", hour="3"))
def purge_trash_daily() -> None:
    """Daily: remove for good the books and chapters deleted more than 30 days ago."""
    in_app(_purge_trash)


def _purge_trash() -> None:
    report = trash.purge_trash(utcnow())
    log.info("trash purge: %d books, %d tracks, %d files", len(report.book_ids),
             len(report.track_ids), len(report.deleted_keys))


@huey.periodic_task(crontab(minute="*/10"))
def resync_public_media() -> None:
    """Repair the tree if a process died between a commit and its link or unlink."""
    in_app(public_tree.resync)
