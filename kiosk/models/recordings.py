"""Booth recordings: a volunteer's take, from upload through mastering to a librarian's decision."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Enum, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kiosk.extensions import db
from kiosk.models.catalogue import Track, utcnow


class TakeStatus(enum.StrEnum):
    """Where a take is in processing (the contract's ``status`` values)."""

    QUEUED = "queued"
    PROCESSING = "processing"
    DONE = "done"
    FAILED = "failed"


class Decision(enum.StrEnum):
    """The librarians' decision on a processed take."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


def _str_enum(kind: type[enum.StrEnum]) -> Enum:
    return Enum(kind, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e])


class BoothText(db.Model):
    """A text the librarians offer for reading aloud at the booth's teleprompter."""

    __tablename__ = "booth_texts"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(256))
    author: Mapped[str] = mapped_column(String(256), default="")
    body: Mapped[str] = mapped_column(Text)
    position: Mapped[int] = mapped_column(Integer, default=0)
    published: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Recording(db.Model):
    """One take submitted at the booth (or uploaded from home)."""

    __tablename__ = "recordings"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    reader_name: Mapped[str] = mapped_column(String(64))
    consent: Mapped[bool] = mapped_column(Boolean)
    licence: Mapped[str] = mapped_column(String(128))
    text_id: Mapped[int | None] = mapped_column(ForeignKey("booth_texts.id"))
    title: Mapped[str] = mapped_column(String(256))
    original_key: Mapped[str] = mapped_column(String(128))
    original_format: Mapped[str] = mapped_column(String(64), default="")
    original_size_bytes: Mapped[int] = mapped_column(Integer)
    status: Mapped[TakeStatus] = mapped_column(_str_enum(TakeStatus), default=TakeStatus.QUEUED, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(Text)
    report: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    mastered_key: Mapped[str | None] = mapped_column(String(128))
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    size_bytes: Mapped[int | None] = mapped_column(Integer)
    loudness_lufs: Mapped[float | None] = mapped_column()
    true_peak_dbtp: Mapped[float | None] = mapped_column()
    decision: Mapped[Decision | None] = mapped_column(_str_enum(Decision), index=True)
    decision_reason: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    track_id: Mapped[int | None] = mapped_column(ForeignKey("tracks.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    processed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    text: Mapped[BoothText | None] = relationship()
    track: Mapped[Track | None] = relationship()
