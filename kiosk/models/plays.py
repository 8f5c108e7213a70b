"""Listening statistics: one aggregated row per play, reported by the player's beacon.

A "play" is one chapter listened to on one page load; the player names it with a random id
so its periodic reports merge into one row. Nothing about the listener is stored.
Rows outlive their chapter: statistics of a past period never change when the trash is purged.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, Float, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kiosk.extensions import Base
from kiosk.models.catalogue import Track, utcnow


class Play(Base):
    """One chapter listened to once: when it started, how long, how far, and whether it ended."""

    __tablename__ = "plays"

    id: Mapped[int] = mapped_column(primary_key=True)
    play_id: Mapped[str] = mapped_column(String(64), unique=True)
    # NULL once the chapter is purged from the trash: the listening happened, so it still
    # counts in its section (kept from the first report) and in the totals.
    track_id: Mapped[int | None] = mapped_column(ForeignKey("tracks.id"), index=True)
    section_id: Mapped[int | None] = mapped_column(ForeignKey("sections.id"), index=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    seconds_listened: Mapped[float] = mapped_column(Float, default=0.0)
    max_position_s: Mapped[float] = mapped_column(Float, default=0.0)
    completed: Mapped[bool] = mapped_column(Boolean, default=False)

    track: Mapped[Track | None] = relationship()
