"""Chapter uploads: a librarian's professional recording on its way into a book (or a chapter)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kiosk.extensions import Base
from kiosk.models.catalogue import Book, Track, utcnow
from kiosk.models.jobs import LeasedJob


class ChapterUpload(LeasedJob, Base):
    """One uploaded file, kept as an original until it is mastered (or kept) and attached.

    ``replace_track_id`` set: the result replaces that chapter's audio (under a new key);
    otherwise it becomes a new chapter of ``book_id``. ``note`` says what was decided
    (e.g. why "keep as it is" was refused); ``error_message`` why the upload failed.
    """

    __tablename__ = "chapter_uploads"
    __table_args__ = (Index("ix_chapter_uploads_finished_at", "finished_at"),)  # the book page: the last day's

    id: Mapped[int] = mapped_column(primary_key=True)
    book_id: Mapped[int] = mapped_column(ForeignKey("books.id"), index=True)
    replace_track_id: Mapped[int | None] = mapped_column(ForeignKey("tracks.id"))
    track_id: Mapped[int | None] = mapped_column(ForeignKey("tracks.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(String(256))
    reader_name: Mapped[str] = mapped_column(String(128), default="")
    keep_as_is: Mapped[bool] = mapped_column(Boolean, default=False)
    original_key: Mapped[str] = mapped_column(String(128))
    original_name: Mapped[str] = mapped_column(String(256), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    book: Mapped[Book] = relationship()
    track: Mapped[Track | None] = relationship(foreign_keys=[track_id])
