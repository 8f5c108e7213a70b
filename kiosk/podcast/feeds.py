"""What a feed says: a section's or a book's published chapters as a podcast channel and its episodes.

Only what ``visibility`` lets visitors hear is in a feed, asked afresh on every request, so an
unpublished chapter leaves it at once. Columns are read as rows, not ORM objects: a feed of
1,000 chapters is built from one query.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Literal
from urllib.parse import urlsplit

from sqlalchemy import ColumnElement, select

from kiosk.extensions import db
from kiosk.library.visibility import BOOK_VISIBLE, SECTION_VISIBLE, TRACK_VISIBLE
from kiosk.models import Book, Reader, Section, Track

# The podcast namespace's own UUIDv5 namespace for podcast:guid (podcastindex.org, "guid" tag).
PODCAST_GUID_NAMESPACE = uuid.UUID("ead4c236-bf58-58c6-a2c6-a6b28d128cb6")
SECTION_FEED_LIMIT = 1000  # a section's newest chapters; podcast apps page no further back
LANGUAGE = "zh-cn"

Kind = Literal["book", "section"]


@dataclass(slots=True)
class Episode:
    """One chapter as a podcast item (slotted, not frozen: a feed makes a thousand of them per request)."""

    track_id: int
    title: str
    book_id: int
    book_title: str
    reader: str | None
    audio_key: str
    size_bytes: int
    mime_type: str
    duration_ms: int
    published_at: datetime
    number: int | None  # the episode number in a book's (serial) feed


@dataclass(frozen=True)
class Channel:
    """A feed's channel: a book (serial) or a section (episodic), with its episodes."""

    kind: Kind
    key: str  # names the feed among all feeds: "book-12", "section-jingdian-songdu"
    title: str
    description: str
    author: str
    readers: list[str]
    artwork_source: str  # what the artwork is drawn from: a cover key, or the section's look
    episodes: list[Episode] = field(default_factory=list)

    @property
    def serial(self) -> bool:
        """A book is heard in order; a section's newest chapter comes first."""
        return self.kind == "book"


def podcast_guid(feed_url: str) -> str:
    """podcast:guid: a UUIDv5 of the feed URL without its scheme and trailing slashes, as the namespace says."""
    parts = urlsplit(feed_url)
    bare = (parts.netloc + parts.path + (f"?{parts.query}" if parts.query else "")).rstrip("/")
    return str(uuid.uuid5(PODCAST_GUID_NAMESPACE, bare))


def site_name(base_url: str) -> str:
    """``base_url`` without its scheme and trailing slash, as guids are made from."""
    parts = urlsplit(base_url)
    return parts.netloc + parts.path.rstrip("/")


@lru_cache(maxsize=65_536)
def episode_guid(site: str, track_id: int) -> str:
    """A chapter's item guid (``site`` from ``site_name``): the same in every feed and for ever,
    whatever its title or audio becomes."""
    return str(uuid.uuid5(PODCAST_GUID_NAMESPACE, f"{site}/tracks/{track_id}"))


def book_channel(book_id: int, author: str) -> Channel | None:
    """A published book's feed: its published chapters in order, numbered; ``None`` if not published."""
    found = db.session.execute(
        select(Book.id, Book.title, Book.author, Book.description, Book.cover_key, Section.name, Section.colour)
        .join(Section, Section.id == Book.section_id)
        .where(Book.id == book_id, BOOK_VISIBLE)
    ).first()
    if found is None:
        return None
    rows = _episode_rows(Track.book_id == book_id, order=(Track.position, Track.id))
    episodes = [_episode(row, number) for number, row in enumerate(rows, start=1)]
    written_by = f"{found.author} · " if found.author else ""
    return Channel(
        kind="book", key=f"book-{found.id}", title=found.title,
        description=found.description or f"{written_by}{found.name}",
        author=author, readers=_distinct_readers(episodes),
        artwork_source=found.cover_key or f"section:{found.name}:{found.colour}:{found.title}",
        episodes=episodes,
    )


def section_channel(slug: str, author: str) -> Channel | None:
    """A published section's feed: its newest published chapters first; ``None`` if not published."""
    found = db.session.execute(
        select(Section.id, Section.slug, Section.name, Section.description, Section.colour)
        .where(Section.slug == slug, SECTION_VISIBLE)
    ).first()
    if found is None:
        return None
    in_section = Track.book_id.in_(select(Book.id).where(Book.section_id == found.id, BOOK_VISIBLE))
    rows = _episode_rows(in_section, order=(Track.created_at.desc(), Track.id.desc()), limit=SECTION_FEED_LIMIT)
    episodes = [_episode(row, None) for row in rows]
    return Channel(
        kind="section", key=f"section-{found.slug}", title=found.name,
        description=found.description or found.name, author=author, readers=_distinct_readers(episodes),
        artwork_source=f"section:{found.name}:{found.colour}", episodes=episodes,
    )


def _episode_rows(condition: ColumnElement[bool], *, order: tuple[Any, ...], limit: int | None = None) -> list[Any]:
    statement = (
        select(Track.id, Track.title, Track.book_id, Book.title.label("book_title"), Reader.name.label("reader"),
               Track.audio_key, Track.size_bytes, Track.mime_type, Track.duration_ms, Track.created_at)
        .join(Book, Book.id == Track.book_id)
        .outerjoin(Reader, Reader.id == Track.reader_id)
        .where(condition, TRACK_VISIBLE)
        .order_by(*order)
    )
    if limit is not None:
        statement = statement.limit(limit)
    return list(db.session.execute(statement))


def _episode(row: Any, number: int | None) -> Episode:
    created = row.created_at.astimezone(UTC) if row.created_at.tzinfo else row.created_at.replace(tzinfo=UTC)
    return Episode(
        track_id=row.id, title=row.title, book_id=row.book_id, book_title=row.book_title, reader=row.reader,
        audio_key=row.audio_key, size_bytes=row.size_bytes, mime_type=row.mime_type,
        duration_ms=row.duration_ms, published_at=created, number=number,
    )


def _distinct_readers(episodes: list[Episode]) -> list[str]:
    seen: dict[str, None] = {}
    for episode in episodes:
        if episode.reader:
            seen.setdefault(episode.reader)
    return list(seen)
