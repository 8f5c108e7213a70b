"""Booth recordings: a volunteer's take, from upload through mastering to a librarian's decision."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kiosk.extensions import Base
from kiosk.models.catalogue import Track, utcnow
from kiosk.models.jobs import LeasedJob, str_enum


class Decision(enum.StrEnum):
    """The librarians' decision on a processed take."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class BoothText(Base):
    """A text the librarians offer for reading aloud at the booth's teleprompter."""

    __tablename__ = "booth_texts"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(256))
    author: Mapped[str] = mapped_column(String(256), default="")
    body: Mapped[str] = mapped_column(Text)
    position: Mapped[int] = mapped_column(Integer, default=0)
    published: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Recording(LeasedJob, Base):
    """One take submitted at the booth (or uploaded from home); mastering it is a leased job."""

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
    error_code: Mapped[str | None] = mapped_column(String(64))
    report: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    mastered_key: Mapped[str | None] = mapped_column(String(128))
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    size_bytes: Mapped[int | None] = mapped_column(Integer)
    loudness_lufs: Mapped[float | None] = mapped_column()
    true_peak_dbtp: Mapped[float | None] = mapped_column()
    decision: Mapped[Decision | None] = mapped_column(str_enum(Decision), index=True)
    decision_reason: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    track_id: Mapped[int | None] = mapped_column(ForeignKey("tracks.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    # The job's end is the column takes always had (``processed_at``): old rows and backups read as they are.
    finished_at: Mapped[datetime | None] = mapped_column("processed_at", DateTime(timezone=True))

    text: Mapped[BoothText | None] = relationship()
    track: Mapped[Track | None] = relationship()
