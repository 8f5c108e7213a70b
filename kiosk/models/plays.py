"""Listening statistics: one aggregated row per play, reported by the player's beacon.

A "play" is one chapter listened to on one page load; the player names it with a random id
so its periodic reports merge into one row. Nothing about the listener is stored.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, Float, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .catalogue import Track, utcnow


class Play(db.Model):
    """One chapter listened to once: when it started, how long, how far, and whether it ended."""

    __tablename__ = "plays"

    id: Mapped[int] = mapped_column(primary_key=True)
    play_id: Mapped[str] = mapped_column(String(64), unique=True)
    track_id: Mapped[int] = mapped_column(ForeignKey("tracks.id"), index=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    seconds_listened: Mapped[float] = mapped_column(Float, default=0.0)
    max_position_s: Mapped[float] = mapped_column(Float, default=0.0)
    completed: Mapped[bool] = mapped_column(Boolean, default=False)

    track: Mapped[Track] = relationship()
