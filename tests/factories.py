"""Small ``gen_*`` helpers that put catalogue rows (and real files) in place for tests."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from kiosk.extensions import db
from kiosk.library import catalogue
from kiosk.models import Book, CodeTarget, Section, Track
from kiosk.storage import store


def gen_section(slug: str = "jingdian-songdu") -> Section:
    """One of the default sections, by slug."""
    return db.session.scalars(select(Section).where(Section.slug == slug)).one()


def gen_book(title: str = "唐诗三首", *, section_slug: str = "jingdian-songdu", **fields: object) -> Book:
    """A published book (with its own QR code) in a default section."""
    book = Book(title=title, section=gen_section(section_slug), **fields)
    db.session.add(book)
    db.session.flush()
    catalogue.refresh_book_index(book)
    catalogue.issue_code(CodeTarget.BOOK, book.id)
    db.session.commit()
    return book


def gen_track(
    book: Book,
    audio: Path,
    *,
    title: str = "第一章",
    reader: str | None = "王晓明",
    duration_ms: int = 6000,
    published: bool = True,
) -> Track:
    """A chapter whose audio is a real file copied into the store."""
    key = store().put_file(audio, "audio", audio.suffix)
    position = len(book.tracks) + 1
    track = Track(
        book=book,
        position=position,
        title=title,
        reader=catalogue.reader_named(reader) if reader else None,
        duration_ms=duration_ms,
        audio_key=key,
        size_bytes=audio.stat().st_size,
        mime_type="audio/mpeg",
        published=published,
    )
    db.session.add(track)
    db.session.flush()
    catalogue.refresh_book_index(book)
    db.session.commit()
    return track
