"""Moderation models: a librarian's request to master a booth take again with other settings."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import DateTime, Enum, Float, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kiosk.extensions import db
from kiosk.models.accounts import User
from kiosk.models.catalogue import utcnow
from kiosk.models.recordings import Recording


class RemasterStatus(enum.StrEnum):
    """Where a re-mastering request is: waiting, running, applied, failed, or overtaken."""

    QUEUED = "queued"
    PROCESSING = "processing"
    DONE = "done"
    FAILED = "failed"
    SUPERSEDED = "superseded"  # the take was decided (or re-run again) before it finished


class RoomTone(enum.StrEnum):
    """How much room tone to keep around the speech."""

    STANDARD = "standard"
    MORE = "more"


class Remaster(db.Model):
    """Master a take again from its untouched original with another loudness target or room tone."""

    __tablename__ = "take_remasters"

    id: Mapped[int] = mapped_column(primary_key=True)
    recording_id: Mapped[int] = mapped_column(ForeignKey("recordings.id"), index=True)
    target_lufs: Mapped[float] = mapped_column(Float)
    room_tone: Mapped[RoomTone] = mapped_column(
        Enum(RoomTone, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e]),
        default=RoomTone.STANDARD,
    )
    status: Mapped[RemasterStatus] = mapped_column(
        Enum(RemasterStatus, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e]),
        default=RemasterStatus.QUEUED,
        index=True,
    )
    error_message: Mapped[str | None] = mapped_column(Text)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The key of the master it produced (kept even when superseded, for the audit trail).
    result_key: Mapped[str | None] = mapped_column(String(128))

    recording: Mapped[Recording] = relationship()
    requested_by: Mapped[User | None] = relationship()
