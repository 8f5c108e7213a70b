"""What an export holds: a published book (or a section's published books in visitor order), its published
chapters in order, and their files in the store."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import ColumnElement, select

from kiosk.extensions import db
from kiosk.library.visibility import BOOK_VISIBLE, SECTION_VISIBLE, TRACK_VISIBLE
from kiosk.models import Book, Reader, Section, Track
from kiosk.readalong import texts
from kiosk.storage import store


@dataclass(frozen=True)
class TimedSentence:
    """A sentence of a chapter's text, where its reading starts in the chapter's audio (read-along)."""

    text: str
    paragraph: int
    start_ms: int


@dataclass(frozen=True)
class Chapter:
    """One published chapter and the stored MP3 it is, with its text in time where read-along has it."""

    number: int
    title: str
    reader: str | None
    duration_ms: int
    path: Path
    size_bytes: int
    sentences: tuple[TimedSentence, ...] = ()


@dataclass(frozen=True)
class ExportedBook:
    """A book as exports see it."""

    id: int
    title: str
    author: str
    section: str
    created_on: str  # yyyy-mm-dd, DAISY's dc:date
    chapters: list[Chapter] = field(default_factory=list)
    cover: Path | None = None  # its cover JPEG in the store (chapters' MP3s carry no picture)

    @property
    def readers(self) -> list[str]:
        """Its readers, in the order they first read."""
        return list(dict.fromkeys(c.reader for c in self.chapters if c.reader))

    @property
    def duration_ms(self) -> int:
        """All its chapters together."""
        return sum(c.duration_ms for c in self.chapters)


@dataclass(frozen=True)
class ExportedSection:
    """A section as exports see it: its published books that have published chapters, in visitor order."""

    slug: str
    name: str
    books: list[ExportedBook] = field(default_factory=list)


def published_book(book_id: int) -> ExportedBook | None:
    """The book with its published chapters, if visitors may see it and it has any."""
    found = _books(Book.id == book_id)
    return found[0] if found else None


def published_section(slug: str) -> ExportedSection | None:
    """The section with its books as the section page orders them, or ``None`` if visitors may not see it.

    Its ``books`` are empty when no published book in it has a published chapter.
    """
    found = db.session.execute(select(Section.id, Section.name).where(Section.slug == slug, SECTION_VISIBLE)).first()
    if found is None:
        return None
    return ExportedSection(slug, found.name, _books(Book.section_id == found.id))


def _books(condition: ColumnElement[bool]) -> list[ExportedBook]:
    """The visible books meeting ``condition`` in visitor order (pinyin), each with its published chapters;
    books without any are left out. Two queries, however many books."""
    found = db.session.execute(
        select(Book.id, Book.title, Book.author, Book.created_at, Book.cover_key, Section.name)
        .join(Section, Section.id == Book.section_id).where(condition, BOOK_VISIBLE).order_by(Book.sort_key, Book.id)
    ).all()
    if not found:
        return []
    rows = db.session.execute(
        select(Track.book_id, Track.id, Track.title, Reader.name, Track.duration_ms, Track.audio_key)
        .outerjoin(Reader, Reader.id == Track.reader_id)
        .where(Track.book_id.in_([row.id for row in found]), TRACK_VISIBLE)
        .order_by(Track.book_id, Track.position, Track.id)
    ).all()
    aligned = texts.aligned_track_ids([row.id for row in rows])
    chapters: dict[int, list[Chapter]] = {}
    for book_id, track_id, title, reader, duration_ms, key in rows:
        path = store().path(key)
        of_book = chapters.setdefault(book_id, [])
        # The size on disk, not the catalogue's: a sized ZIP must announce exactly what it sends.
        of_book.append(Chapter(len(of_book) + 1, title, reader, duration_ms, path, path.stat().st_size,
                               timed_sentences(track_id) if track_id in aligned else ()))
    return [ExportedBook(row.id, row.title, row.author, row.name, row.created_at.date().isoformat(), chapters[row.id],
                         _cover(row.cover_key))
            for row in found if row.id in chapters]


def _cover(key: str | None) -> Path | None:
    """The stored cover's path, if the book has one and it is there."""
    return store().path(key) if key and store().exists(key) else None


def timed_sentences(track_id: int) -> tuple[TimedSentence, ...]:
    """A chapter's sentences with their start in its present audio, or none if it has no current timing."""
    transcript = texts.transcript(track_id)
    if transcript is None or transcript.cues is None or len(transcript.cues) != len(transcript.sentences):
        return ()
    return tuple(TimedSentence(sentence.text, sentence.paragraph, round(cue[0] * 1000))
                 for sentence, cue in zip(transcript.sentences, transcript.cues, strict=True))
