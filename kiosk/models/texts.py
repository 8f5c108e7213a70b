"""Chapter texts for read-along: the words a chapter reads, its sentences, and their timing in the master."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kiosk.extensions import Base
from kiosk.models.catalogue import Track, utcnow
from kiosk.models.jobs import LeasedJob


class ChapterText(LeasedJob, Base):
    """The text of one chapter; aligning it to the chapter's audio is a leased job.

    ``sentences`` is the text split as a reader would (``kiosk.readalong.sentences``), each
    ``{"text": ..., "paragraph": n}``. ``cues`` holds one ``[start_s, end_s]`` per sentence,
    measured in the audio whose key is ``aligned_audio_key``: when the chapter's audio is
    replaced the timings are stale until aligned again. The job's ``error_message`` says why a
    chapter has no timing (no aligner installed, a failed alignment).
    """

    __tablename__ = "chapter_texts"

    id: Mapped[int] = mapped_column(primary_key=True)
    track_id: Mapped[int] = mapped_column(ForeignKey("tracks.id"), unique=True)
    body: Mapped[str] = mapped_column(Text)
    sentences: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    source: Mapped[str] = mapped_column(String(16))  # booth, console, import, demo
    cues: Mapped[list[list[float]] | None] = mapped_column(JSON)
    aligned_audio_key: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)

    track: Mapped[Track] = relationship()
