"""The background tasks: mastering takes and uploads, imports, sweeps and daily purges.

Tasks carry only a take's token; the database row says what is left to do.
A periodic sweep (and every worker's start) re-queues takes that no live worker
is on, which is how a job interrupted by a crash or restart runs again.
"""

from __future__ import annotations

import logging
import threading

from flask import Flask, current_app
from huey import crontab

from kiosk.booth import takes
from kiosk.jobs import queue
from kiosk.jobs.queue import huey, in_app

log = logging.getLogger(__name__)

RETRY_DELAY_S = 30


@huey.task(retries=takes.MAX_ATTEMPTS, retry_delay=RETRY_DELAY_S)
def master_take(token: str) -> None:
    """Claim a take and master it (a no-op if another worker holds it or it is finished)."""
    in_app(_master_claimed, token)


def _master_claimed(token: str) -> None:
    if not takes.claim(token):
        return
    log.info("mastering take %s", token)
    heartbeat = _Heartbeat(current_app._get_current_object(), token)  # type: ignore[attr-defined]
    heartbeat.start()
    try:
        takes.process(token)
    finally:
        heartbeat.stop()


class _Heartbeat(threading.Thread):
    """Renews a take's lease while it is mastered, so only a dead worker's lease runs out."""

    def __init__(self, app: Flask, token: str) -> None:
        super().__init__(name=f"lease-{token[:8]}", daemon=True)
        self.app = app
        self.token = token
        self.stopped = threading.Event()

    def run(self) -> None:
        with self.app.app_context():
            interval_s = takes.lease().total_seconds() / 3
            while not self.stopped.wait(interval_s):
                try:
                    takes.renew_lease(self.token)
                except Exception:
                    log.warning("could not renew the lease of take %s", self.token, exc_info=True)

    def stop(self) -> None:
        self.stopped.set()


@huey.periodic_task(crontab(minute="*"))
def sweep_unfinished() -> None:
    """Re-queue takes that were queued but lost, or whose worker died mid-job."""
    in_app(_requeue_unfinished)


@huey.on_startup()
def _sweep_on_start() -> None:
    in_app(_requeue_unfinished)


def _requeue_unfinished() -> None:
    for token in takes.unfinished_tokens():
        master_take(token)


def enqueue_take(token: str) -> None:
    """Queue a take for mastering (inline in immediate mode, as tests use)."""
    master_take(token)


def run_worker(workers: int) -> None:
    """Run a Huey consumer in this process until it is told to stop."""
    queue.init_app(current_app._get_current_object())  # type: ignore[attr-defined]
    consumer = huey.create_consumer(workers=workers, worker_type="thread", periodic=True, check_worker_health=True)
    consumer.run()


# ---- moderation: mastering a take again, deleting expired originals ------------------------
# (imported where used: this block was appended, and moderation is only needed by these tasks)


@huey.task(retries=1, retry_delay=RETRY_DELAY_S)
def remaster_take(job_id: int) -> None:
    """Master a take again with a librarian's settings (a no-op once the request is claimed)."""
    from kiosk.booth import remaster

    in_app(remaster.run_remaster, job_id)


def enqueue_remaster(job_id: int) -> None:
    """Queue a re-mastering request (inline in immediate mode, as tests use)."""
    remaster_take(job_id)


@huey.periodic_task(crontab(minute="*/10"))
def sweep_remasters() -> None:
    """Queue again re-mastering requests whose job was lost; fail those whose worker died."""
    in_app(_requeue_remasters)


def _requeue_remasters() -> None:
    from kiosk.booth import remaster
    from kiosk.models import utcnow

    for job_id in remaster.lost_remasters(utcnow()):
        remaster_take(job_id)


@huey.periodic_task(crontab(minute="17", hour="3"))
def purge_expired_originals() -> None:
    """Daily: delete booth originals decided more than 30 days ago that nothing else needs."""
    in_app(_purge_originals)


def _purge_originals() -> None:
    from kiosk.booth import originals
    from kiosk.models import utcnow

    originals.purge_expired_originals(utcnow())


@huey.task(retries=1, retry_delay=RETRY_DELAY_S)
def import_batch(batch_id: int) -> None:
    """Import the files of a console upload (a re-run skips what was already imported)."""
    from kiosk.ingest import batches

    in_app(batches.run, batch_id)


@huey.task()
def master_chapter_upload(upload_id: int) -> None:
    """Master (or keep) a librarian's uploaded recording and attach it to its book."""
    from kiosk.ingest import chapter_uploads

    in_app(chapter_uploads.process_upload, upload_id)


def enqueue_chapter_upload(upload_id: int) -> None:
    """Queue a chapter upload for mastering (inline in immediate mode, as tests use)."""
    master_chapter_upload(upload_id)


@huey.periodic_task(crontab(minute="41", hour="3"))
def purge_trash_daily() -> None:
    """Daily: remove for good the books and chapters deleted more than 30 days ago."""
    in_app(_purge_trash)


def _purge_trash() -> None:
    from kiosk.library import trash
    from kiosk.models import utcnow

    report = trash.purge_trash(utcnow())
    log.info("trash purge: %d books, %d tracks, %d files", len(report.book_ids),
             len(report.track_ids), len(report.deleted_keys))


@huey.periodic_task(crontab(minute="*/5"))
def sweep_lost_uploads_and_imports() -> None:
    """Queue again librarians' uploads and imports whose job was lost or whose worker died."""
    in_app(_requeue_uploads_and_imports)


def _requeue_uploads_and_imports() -> None:
    from kiosk.ingest import batches, chapter_uploads
    from kiosk.models import utcnow

    now = utcnow()
    for upload_id in chapter_uploads.lost_uploads(now):
        master_chapter_upload(upload_id)
    for batch_id in batches.lost_batches(now):
        import_batch(batch_id)


# ---- the published-only tree that a front nginx serves --------------------------------------


@huey.periodic_task(crontab(minute="*/10"))
def resync_public_media() -> None:
    """Repair the tree if a process died between a commit and its link or unlink."""
    from kiosk.media import public_tree

    in_app(public_tree.resync)
