"""Moderation models: a librarian's request to master a booth take again with other settings."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import DateTime, Float, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kiosk.extensions import Base
from kiosk.models.accounts import User
from kiosk.models.catalogue import utcnow
from kiosk.models.jobs import LeasedJob, str_enum
from kiosk.models.recordings import Recording


class RoomTone(enum.StrEnum):
    """How much room tone to keep around the speech."""

    STANDARD = "standard"
    MORE = "more"


class Remaster(LeasedJob, Base):
    """Master a take again from its untouched original with another loudness target or room tone.

    Its job ends ``done`` (applied), ``failed``, or ``superseded``: the take was decided
    before the result was ready, so the librarian's decision stands on what they heard.
    """

    __tablename__ = "take_remasters"

    id: Mapped[int] = mapped_column(primary_key=True)
    recording_id: Mapped[int] = mapped_column(ForeignKey("recordings.id"), index=True)
    target_lufs: Mapped[float] = mapped_column(Float)
    room_tone: Mapped[RoomTone] = mapped_column(str_enum(RoomTone), default=RoomTone.STANDARD)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # The key of the master it produced (kept even when superseded, for the audit trail).
    result_key: Mapped[str | None] = mapped_column(String(128))

    recording: Mapped[Recording] = relationship()
    requested_by: Mapped[User | None] = relationship()
