"""The one lifecycle of a leased background job: claim, heartbeat, finish or retry, recover.

Any model with the ``LeasedJob`` columns is a job; the queue carries only its key (an id,
or a take's token), and these functions name the job by its key column and value, e.g.
``claim(Recording.token, token)`` or ``lost(ChapterUpload.id, now)``.

A worker *claims* a job (one winner), holds it with a lease that its ``heartbeat`` renews,
and ends it ``done``, ``failed`` or ``superseded``; those are final. A job whose worker
died (crash, restart, a node gone) keeps ``processing`` with a lease that runs out, and
``lost`` hands it back to be queued again, up to ``MAX_ATTEMPTS`` claims. So every job
must be safe to run again (the store is content-addressed; importers skip what they have).

``claim``, ``renew`` and ``lost`` are the races between workers: each is one conditional
UPDATE and commits. ``finish``, ``fail``, ``requeue`` and ``retry_or_fail`` change a
loaded row and leave the commit to the caller, so a job's result and its end are one commit.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any, TypeVar, cast

from flask import Flask, current_app
from sqlalchemy import ColumnElement, CursorResult, Executable, or_, select, update
from sqlalchemy.orm import InstrumentedAttribute

from kiosk.extensions import db
from kiosk.models import utcnow
from kiosk.models.jobs import FINAL, JobStatus, LeasedJob

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3  # claims of one job before it is failed (a crash each time is no passing accident)
LOST_AFTER = timedelta(minutes=2)  # still queued this long after queueing: its queue message was lost

K = TypeVar("K", int, str)


class JobStateError(RuntimeError):
    """A final job was asked to change: done, failed and superseded are for ever."""


def lease() -> timedelta:
    """How long a claim lasts without a heartbeat (``KIOSK_TAKE_LEASE_S``; the name is historical)."""
    return timedelta(seconds=float(current_app.config["KIOSK_TAKE_LEASE_S"]))


def _model(key: InstrumentedAttribute[Any]) -> type[LeasedJob]:
    """The job model a key column belongs to."""
    model = key.class_
    if not (isinstance(model, type) and issubclass(model, LeasedJob)):
        raise TypeError(f"{key} is not a column of a LeasedJob model")
    return model


def _abandoned(model: type[LeasedJob], now: datetime) -> ColumnElement[bool]:
    """Processing, but its lease is past (its worker died, or was silent for a whole lease)."""
    return (model.status == JobStatus.PROCESSING) & or_(model.lease_until.is_(None), model.lease_until < now)


def _changed(statement: Executable) -> int:
    """Run an UPDATE and commit it; how many rows it changed."""
    result = cast(CursorResult[Any], db.session.execute(statement.execution_options(synchronize_session=False)))
    db.session.commit()
    return result.rowcount


def claim(key: InstrumentedAttribute[K], value: K) -> bool:
    """Take a queued (or abandoned) job for this worker, with a fresh lease; one winner only."""
    model, now = _model(key), utcnow()
    return _changed(
        update(model)
        .where(key == value, model.attempts < MAX_ATTEMPTS,
               or_(model.status == JobStatus.QUEUED, _abandoned(model, now)))
        .values(status=JobStatus.PROCESSING, lease_until=now + lease(), attempts=model.attempts + 1)
    ) == 1


def renew(key: InstrumentedAttribute[K], value: K) -> bool:
    """Extend the lease of a job being processed; False once it is no longer processing."""
    model = _model(key)
    return _changed(
        update(model).where(key == value, model.status == JobStatus.PROCESSING).values(lease_until=utcnow() + lease())
    ) == 1


@contextmanager
def heartbeat(key: InstrumentedAttribute[K], value: K) -> Iterator[None]:
    """Renew the job's lease every third of a lease while the block runs, from a thread of its own.

    So only a dead worker's lease runs out, however long the work takes (an hour of audio,
    two hundred files). The thread has its own app context, hence its own session.
    """
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    stop = threading.Event()
    beat = threading.Thread(target=_beat, args=(app, key, value, stop), name=f"lease-{value}"[:24], daemon=True)
    beat.start()
    try:
        yield
    finally:
        stop.set()
        beat.join(timeout=lease().total_seconds())


def _beat(app: Flask, key: InstrumentedAttribute[K], value: K, stop: threading.Event) -> None:
    with app.app_context():
        interval_s = lease().total_seconds() / 3
        while not stop.wait(interval_s):
            try:
                if not renew(key, value):
                    return  # finished, or given up: nothing left to hold
            except Exception:  # a busy database: the next beat tries again, well within the lease
                db.session.rollback()
                log.warning("could not renew the lease of %s %s", key, value, exc_info=True)


def _end(job: LeasedJob, status: JobStatus) -> None:
    if job.status in FINAL:
        raise JobStateError(f"{type(job).__name__} is already {job.status}, cannot become {status}")
    job.status = status
    job.lease_until = None
    job.finished_at = utcnow()


def finish(job: LeasedJob, status: JobStatus = JobStatus.DONE) -> None:
    """End the job successfully: ``done``, or ``superseded`` when its result was not wanted any more."""
    if status not in (JobStatus.DONE, JobStatus.SUPERSEDED):
        raise ValueError(f"a job finishes done or superseded, not {status}")
    _end(job, status)
    job.error_message = None


def fail(job: LeasedJob, message: str) -> None:
    """End the job as failed, saying why (in the library's language: people read it)."""
    _end(job, JobStatus.FAILED)
    job.error_message = message


def requeue(job: LeasedJob) -> None:
    """Put the job back in the queue (the caller queues its message again, or a retry does)."""
    if job.status in FINAL:
        raise JobStateError(f"{type(job).__name__} is already {job.status}, cannot be queued again")
    job.status = JobStatus.QUEUED
    job.lease_until = None
    job.queued_at = utcnow()


def wait_for_room(job: LeasedJob) -> None:
    """Queue the job again without spending an attempt: the disk is full, not the job at fault.

    The sweep queues it again (``lost``) while space stays short, and it runs once space returns.
    """
    requeue(job)
    job.attempts = max(0, job.attempts - 1)


def retry_or_fail(job: LeasedJob, message: str) -> JobStatus:
    """After a failure that may pass (a crash of ffmpeg, a full disk): queue again, but not for ever."""
    if job.attempts >= MAX_ATTEMPTS:
        fail(job, message)
    else:
        requeue(job)
    return job.status


def lost(key: InstrumentedAttribute[K], now: datetime, *, gave_up: str, **failed: Any) -> list[K]:
    """The keys of jobs no live worker is on, to queue again: queued long ago, or abandoned.

    An abandoned job that has had all its attempts is failed here instead, with the message
    ``gave_up`` (and any other ``failed`` column values), so it never stays ``processing``.
    """
    model = _model(key)
    _changed(
        update(model)
        .where(_abandoned(model, now), model.attempts >= MAX_ATTEMPTS)
        .values(status=JobStatus.FAILED, lease_until=None, finished_at=now, error_message=gave_up, **failed)
    )
    waiting = (model.status == JobStatus.QUEUED) & (model.queued_at < now - LOST_AFTER)
    return list(db.session.scalars(select(key).where(or_(waiting, _abandoned(model, now)))))
