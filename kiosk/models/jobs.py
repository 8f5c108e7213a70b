"""The columns every leased background job carries, and the one status type they share.

A job's row is the source of truth for its progress (the queue carries only its key);
``kiosk.jobs.lifecycle`` is the one place that moves a job from status to status.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import DateTime, Enum, Integer, Text
from sqlalchemy.orm import Mapped, mapped_column

from kiosk.models.catalogue import utcnow


class JobStatus(enum.StrEnum):
    """Where a job is. The first four are the booth API's ``status`` values (the contract)."""

    QUEUED = "queued"
    PROCESSING = "processing"
    DONE = "done"
    FAILED = "failed"
    SUPERSEDED = "superseded"  # ran to the end, but what it made was no longer wanted (a re-mastering)


FINAL = frozenset({JobStatus.DONE, JobStatus.FAILED, JobStatus.SUPERSEDED})
ACTIVE = (JobStatus.QUEUED, JobStatus.PROCESSING)


def str_enum(kind: type[enum.StrEnum]) -> Enum:
    """A ``StrEnum`` stored as its value in a plain ``VARCHAR(16)`` (no native enum, no CHECK)."""
    return Enum(kind, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e])


class LeasedJob:
    """Mixin: a job a worker claims with a lease, renews by heartbeat, and finishes once.

    ``lease_until`` is set while a worker holds the job; a ``processing`` job whose lease
    is past belongs to a worker that died. ``attempts`` counts claims. ``queued_at`` is when
    the job last entered the queue (a job still queued long after lost its queue message).
    """

    status: Mapped[JobStatus] = mapped_column(str_enum(JobStatus), default=JobStatus.QUEUED, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    queued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    error_message: Mapped[str | None] = mapped_column(Text)  # why it failed, in the library's language
