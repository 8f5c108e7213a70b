"""Catalogue models: sections of the wall, books, chapters (tracks), readers and QR codes."""

from __future__ import annotations

import enum
from datetime import UTC, datetime

from sqlalchemy import (
    Boolean,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kiosk.extensions import Base


def utcnow() -> datetime:
    """The current time, timezone-aware (stored as UTC on every database)."""
    return datetime.now(UTC)


class Section(Base):
    """One card of the audio wall."""

    __tablename__ = "sections"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    name_en: Mapped[str | None] = mapped_column(String(128))
    description: Mapped[str] = mapped_column(Text, default="")
    description_en: Mapped[str | None] = mapped_column(Text)
    position: Mapped[int] = mapped_column(Integer, default=0, index=True)
    colour: Mapped[str] = mapped_column(String(7), default="#8c2f1b")
    icon: Mapped[str] = mapped_column(String(8), default="")
    published: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    books: Mapped[list[Book]] = relationship(back_populates="section")


class Reader(Base):
    """A person whose voice is in the catalogue."""

    __tablename__ = "readers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    bio: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    tracks: Mapped[list[Track]] = relationship(back_populates="reader")


class Book(Base):
    """An audiobook: an ordered list of chapters in one section."""

    __tablename__ = "books"

    id: Mapped[int] = mapped_column(primary_key=True)
    section_id: Mapped[int] = mapped_column(ForeignKey("sections.id"), index=True)
    title: Mapped[str] = mapped_column(String(256))
    title_en: Mapped[str | None] = mapped_column(String(256))
    sort_key: Mapped[str] = mapped_column(String(512), default="", index=True)
    search_text: Mapped[str] = mapped_column(Text, default="")
    author: Mapped[str] = mapped_column(String(256), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    cover_key: Mapped[str | None] = mapped_column(String(128))
    cover_thumb_key: Mapped[str | None] = mapped_column(String(128))
    published: Mapped[bool] = mapped_column(Boolean, default=True)
    # In the trash since (no index: nearly every row is NULL, and SQLite would pick it over book_id)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )

    section: Mapped[Section] = relationship(back_populates="books")
    tracks: Mapped[list[Track]] = relationship(
        back_populates="book", order_by="(Track.position, Track.id)"
    )


class Track(Base):
    """One chapter of a book: a mastered, immutable audio file."""

    __tablename__ = "tracks"

    id: Mapped[int] = mapped_column(primary_key=True)
    book_id: Mapped[int] = mapped_column(ForeignKey("books.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(256))
    reader_id: Mapped[int | None] = mapped_column(ForeignKey("readers.id"), index=True)
    duration_ms: Mapped[int] = mapped_column(Integer)
    audio_key: Mapped[str] = mapped_column(String(128), index=True)  # shared by identical audio
    size_bytes: Mapped[int] = mapped_column(Integer)
    mime_type: Mapped[str] = mapped_column(String(64))
    loudness_lufs: Mapped[float | None] = mapped_column(Float)
    true_peak_dbtp: Mapped[float | None] = mapped_column(Float)
    source_sha256: Mapped[str | None] = mapped_column(String(64), index=True)  # bulk import: the file it came from
    published: Mapped[bool] = mapped_column(Boolean, default=True)
    # In the trash since (no index: nearly every row is NULL, and SQLite would pick it over book_id)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    book: Mapped[Book] = relationship(back_populates="tracks")
    reader: Mapped[Reader | None] = relationship(back_populates="tracks")


class CodeTarget(enum.StrEnum):
    """What a printed QR code can point at."""

    SECTION = "section"
    BOOK = "book"
    TRACK = "track"


class QrCode(Base):
    """A short code printed on the wall; it resolves forever, whatever its target becomes."""

    __tablename__ = "qr_codes"

    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    target_kind: Mapped[CodeTarget] = mapped_column(
        Enum(CodeTarget, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e])
    )
    section_id: Mapped[int | None] = mapped_column(ForeignKey("sections.id"), index=True)
    book_id: Mapped[int | None] = mapped_column(ForeignKey("books.id"), index=True)
    track_id: Mapped[int | None] = mapped_column(ForeignKey("tracks.id"), index=True)
    note: Mapped[str] = mapped_column(String(256), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    section: Mapped[Section | None] = relationship()
    book: Mapped[Book | None] = relationship()
    track: Mapped[Track | None] = relationship()
