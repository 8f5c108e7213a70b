"""Catalogue queries and changes: what visitor pages, the API and the CLI ask for.

Queries return plain dataclasses, so templates and JSON never touch ORM objects, and
show visitors only what ``visibility`` says they may see.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, event, func, inspect, select
from sqlalchemy.orm import Session, selectinload

from kiosk.extensions import db
from kiosk.library import codes
from kiosk.library.sortkeys import normalise, search_text, sort_key
from kiosk.library.visibility import BOOK_VISIBLE, SECTION_VISIBLE, TRACK_VISIBLE
from kiosk.models import Book, CodeTarget, QrCode, Reader, Section, Track

SEARCH_LIMIT = 50
BOOKS_PER_PAGE = 48  # a section page stays small (≈ 20 KB) however big the section grows


DEFAULT_SECTIONS: tuple[tuple[str, str, str, str, str], ...] = (
    # slug, name, English name, description, colour
    ("zhongguo-jingshen", "中国精神", "The Chinese Spirit", "家国情怀与时代楷模的故事", "#b3261e"),
    ("fenghuo-jiyi", "烽火记忆", "Memories of War", "抗战岁月与英雄往事", "#7a4a1f"),
    ("qianyan-jiedu", "前沿解读", "Frontiers Explained", "科技与社会前沿的通俗解读", "#1d5c8c"),
    ("jingdian-songdu", "经典诵读", "Classics Read Aloud", "古诗文与经典名篇诵读", "#6b3fa0"),
    ("sanjin-wenhua", "三晋文化", "Culture of Shanxi", "山西的历史、风物与非遗", "#8a5a00"),
    ("tongsheng-tongqu", "童声童趣", "Children's Voices", "孩子们朗读的故事与童谣", "#2e7d32"),
    ("mingjia-mingpian", "名家名篇", "Great Writers", "现当代名家散文与小说选读", "#4e342e"),
    ("kepu-tiandi", "科普天地", "World of Science", "生活中的科学知识", "#00695c"),
    ("jiankang-shenghuo", "健康生活", "Healthy Living", "养生保健与健康常识", "#ad1457"),
)


@dataclass(frozen=True)
class SectionCard:
    """A section as a tile on the wall."""

    id: int
    slug: str
    name: str
    name_en: str | None
    description: str
    colour: str
    icon: str
    book_count: int


@dataclass(frozen=True)
class BookSummary:
    """A book as listed in a section or in search results."""

    id: int
    title: str
    title_en: str | None
    author: str
    readers: list[str]
    cover_key: str | None
    cover_thumb_key: str | None
    duration_ms: int
    track_count: int
    section_slug: str
    section_name: str


@dataclass(frozen=True)
class BookPage:
    """One page of a section's books, and where it sits among the pages."""

    books: list[BookSummary]
    number: int
    pages: int
    total: int


@dataclass(frozen=True)
class TrackView:
    """A chapter with everything the player needs."""

    id: int
    book_id: int
    position: int
    title: str
    reader: str | None
    duration_ms: int
    audio_key: str
    mime_type: str
    size_bytes: int


@dataclass(frozen=True)
class BookDetail:
    """A book page: the book and its published chapters in order."""

    summary: BookSummary
    description: str
    tracks: list[TrackView] = field(default_factory=list)


@dataclass(frozen=True)
class TrackDetail:
    """The player page: a chapter, its book, its neighbours and all its book's chapters."""

    track: TrackView
    book: BookSummary
    previous_id: int | None
    next_id: int | None
    chapters: list[TrackView] = field(default_factory=list)


# ---- queries -------------------------------------------------------------------------


def page_bounds(total: int, requested: int, per_page: int) -> tuple[int, int]:
    """The page to show (``requested`` clamped into range) and how many pages ``total`` items fill."""
    pages = max(1, -(-total // per_page))
    return min(max(requested, 1), pages), pages


def wall() -> list[SectionCard]:
    """Published sections in wall order, with how many published books each holds."""
    counts = (
        select(Book.section_id, func.count(Book.id).label("n"))
        .where(BOOK_VISIBLE)
        .group_by(Book.section_id)
        .subquery()
    )
    rows = db.session.execute(
        select(Section, func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.section_id == Section.id)
        .where(SECTION_VISIBLE)
        .order_by(Section.position, Section.id)
    ).all()
    return [_section_card(section, count) for section, count in rows]


def section(slug: str, page: int = 1) -> tuple[SectionCard, BookPage] | None:
    """A published section and one page of its published books in pinyin order, or ``None``."""
    found = db.session.scalar(
        select(Section).where(Section.slug == slug, SECTION_VISIBLE)
    )
    if found is None:
        return None
    in_section = Book.section_id == found.id
    total = db.session.scalar(select(func.count(Book.id)).where(in_section, BOOK_VISIBLE)) or 0
    number, pages = page_bounds(total, page, BOOKS_PER_PAGE)
    books = _published_books(in_section, limit=BOOKS_PER_PAGE, offset=(number - 1) * BOOKS_PER_PAGE)
    return _section_card(found, total), BookPage(books=books, number=number, pages=pages, total=total)


def search(query: str) -> list[BookSummary]:
    """Published books whose title, author or reader matches ``query`` (characters or pinyin)."""
    needle = normalise(query)
    if not needle:
        return []
    escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return _published_books(Book.search_text.like(f"%{escaped}%", escape="\\"), limit=SEARCH_LIMIT)


def book(book_id: int) -> BookDetail | None:
    """A published book with its published chapters, or ``None``."""
    found = db.session.scalar(select(Book).where(Book.id == book_id, BOOK_VISIBLE))
    if found is None:
        return None
    tracks = [_track_view(t) for t in _visible_tracks(book_id)]
    return BookDetail(summary=_summaries([found])[0], description=found.description, tracks=tracks)


def track(track_id: int) -> TrackDetail | None:
    """A published chapter with its book and neighbouring chapters, or ``None``."""
    found = db.session.scalar(select(Track).where(Track.id == track_id, TRACK_VISIBLE))
    if found is None:
        return None
    siblings = _visible_tracks(found.book_id)
    index = siblings.index(found)
    return TrackDetail(
        track=_track_view(found),
        book=_summaries([found.book])[0],
        previous_id=siblings[index - 1].id if index > 0 else None,
        next_id=siblings[index + 1].id if index + 1 < len(siblings) else None,
        chapters=[_track_view(t) for t in siblings],
    )


def resolve_code(code: str) -> QrCode | None:
    """The QR code row for a scanned ``code``, whatever its target's state."""
    canonical = codes.normalise_code(code)
    return db.session.get(QrCode, canonical) if canonical else None


def primary_code(kind: CodeTarget, target_id: int) -> str | None:
    """The oldest code pointing at a target: the one printed on its card."""
    column = {
        CodeTarget.SECTION: QrCode.section_id,
        CodeTarget.BOOK: QrCode.book_id,
        CodeTarget.TRACK: QrCode.track_id,
    }[kind]
    return db.session.scalar(
        select(QrCode.code)
        .where(QrCode.target_kind == kind, column == target_id)
        .order_by(QrCode.created_at, QrCode.code)
        .limit(1)
    )


# ---- changes (callers commit) ----------------------------------------------------------


def ensure_default_sections() -> int:
    """Create any of the nine default sections that are missing; return how many were made."""
    existing = set(db.session.scalars(select(Section.slug)))
    made = 0
    for position, (slug, name, name_en, description, colour) in enumerate(DEFAULT_SECTIONS):
        if slug in existing:
            continue
        new = Section(
            slug=slug,
            name=name,
            name_en=name_en,
            description=description,
            colour=colour,
            position=position,
        )
        db.session.add(new)
        db.session.flush()
        issue_code(CodeTarget.SECTION, new.id)
        made += 1
    return made


def new_book(section_row: Section, title: str, **fields: object) -> Book:
    """A book in ``section_row`` with its own printed code and a fresh index (flushed, not committed).

    Every way a book comes into being (console, booth approval, import, demo) goes through
    here, so every book has a QR code for its shelf label from the start.
    """
    book_row = Book(section=section_row, title=title, **fields)
    db.session.add(book_row)
    db.session.flush()
    refresh_book_index(book_row)
    issue_code(CodeTarget.BOOK, book_row.id)
    return book_row


def issue_code(kind: CodeTarget, target_id: int, note: str = "") -> str:
    """Create a new unused code pointing at a target and return it."""
    while True:
        code = codes.new_code()
        if db.session.get(QrCode, code) is None:
            break
    qr = QrCode(code=code, target_kind=kind, note=note)
    setattr(qr, f"{kind.value}_id", target_id)
    db.session.add(qr)
    db.session.flush()
    return code


def reader_named(name: str) -> Reader:
    """The reader with this display name, created if new."""
    clean = name.strip()
    found = db.session.scalar(select(Reader).where(Reader.name == clean))
    if found is None:
        found = Reader(name=clean)
        db.session.add(found)
        db.session.flush()
    return found


def refresh_book_index(target: Book) -> None:
    """Recompute a book's pinyin sort key and search text (title, author, readers of its public chapters).

    A reader of an unpublished or deleted chapter is not in it: visitors must not find a book
    through a recording they cannot hear. (The console also searches every reader's name.)
    """
    readers = {t.reader.name for t in target.tracks
               if t.reader is not None and t.published and t.deleted_at is None}
    target.sort_key = sort_key(target.title)
    target.search_text = search_text([target.title, target.title_en or "", target.author, *sorted(readers)])


INDEXED_TRACK_FIELDS = ("published", "deleted_at", "reader_id", "book_id")


def _reindex_changed_books(session: Session, _context: object, _instances: object) -> None:
    """before_flush: a chapter published, hidden, deleted, restored, moved or re-read changes its book's index."""
    books = {row.book for row in (*session.new, *session.dirty, *session.deleted)
             if isinstance(row, Track) and row.book is not None and _index_may_change(session, row)}
    for book_row in books:
        refresh_book_index(book_row)


def _index_may_change(session: Session, row: Track) -> bool:
    if row in session.new or row in session.deleted:
        return True
    return any(inspect(row).attrs[name].history.has_changes() for name in INDEXED_TRACK_FIELDS)


def install() -> None:
    """Keep every book's search index in step with its chapters, whichever code changes them."""
    if not event.contains(Session, "before_flush", _reindex_changed_books):
        event.listen(Session, "before_flush", _reindex_changed_books)


# ---- helpers ---------------------------------------------------------------------------


def _visible_tracks(book_id: int) -> list[Track]:
    """A book's chapters that visitors may play, in order, with their readers."""
    return list(db.session.scalars(
        select(Track)
        .where(Track.book_id == book_id, TRACK_VISIBLE)
        .options(selectinload(Track.reader))
        .order_by(Track.position, Track.id)
    ))


def _published_books(condition: ColumnElement[bool], *, limit: int, offset: int = 0) -> list[BookSummary]:
    books = db.session.scalars(
        select(Book)
        .where(condition, BOOK_VISIBLE)
        .options(selectinload(Book.section))
        .order_by(Book.sort_key, Book.id)
        .limit(limit)
        .offset(offset)
    ).all()
    return _summaries(books)


def _summaries(books: Sequence[Book]) -> list[BookSummary]:
    """Summaries of ``books`` from two grouped queries, never loading their chapters.

    Loading every chapter to count them cost 0.9 s for a section of 1,100 books.
    """
    ids = [b.id for b in books]
    totals = {
        book_id: (count, duration_ms)
        for book_id, count, duration_ms in db.session.execute(
            select(Track.book_id, func.count(Track.id), func.coalesce(func.sum(Track.duration_ms), 0))
            .where(Track.book_id.in_(ids), TRACK_VISIBLE)
            .group_by(Track.book_id)
        )
    }
    readers: dict[int, list[str]] = {book_id: [] for book_id in ids}
    for book_id, name in db.session.execute(
        select(Track.book_id, Reader.name)
        .join(Reader, Track.reader_id == Reader.id)
        .where(Track.book_id.in_(ids), TRACK_VISIBLE)
        .order_by(Track.book_id, Track.position, Track.id)
    ):
        if name not in readers[book_id]:
            readers[book_id].append(name)
    return [_book_summary(b, *totals.get(b.id, (0, 0)), readers[b.id]) for b in books]


def _section_card(section_row: Section, book_count: int) -> SectionCard:
    return SectionCard(
        id=section_row.id,
        slug=section_row.slug,
        name=section_row.name,
        name_en=section_row.name_en,
        description=section_row.description,
        colour=section_row.colour,
        icon=section_row.icon,
        book_count=int(book_count),
    )


def _book_summary(book_row: Book, track_count: int, duration_ms: int, readers: list[str]) -> BookSummary:
    return BookSummary(
        id=book_row.id,
        title=book_row.title,
        title_en=book_row.title_en,
        author=book_row.author,
        readers=readers,
        cover_key=book_row.cover_key,
        cover_thumb_key=book_row.cover_thumb_key,
        duration_ms=int(duration_ms),
        track_count=int(track_count),
        section_slug=book_row.section.slug,
        section_name=book_row.section.name,
    )


def _track_view(track_row: Track) -> TrackView:
    return TrackView(
        id=track_row.id,
        book_id=track_row.book_id,
        position=track_row.position,
        title=track_row.title,
        reader=track_row.reader.name if track_row.reader else None,
        duration_ms=track_row.duration_ms,
        audio_key=track_row.audio_key,
        mime_type=track_row.mime_type,
        size_bytes=track_row.size_bytes,
    )
