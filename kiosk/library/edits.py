"""What librarians change in the catalogue: sections, books, chapters and readers.

Every change is made through one function here, which also adds its audit entry to the
session; the caller commits once, so the change and its record stand or fall together.
Chapter uploads are in ``chapter_uploads``, booth texts in ``booth_texts``, deleting and
restoring in ``trash``.
"""

from __future__ import annotations

import io
import re
import warnings
from dataclasses import dataclass
from typing import Any, cast

from flask_babel import lazy_gettext as _l
from PIL import Image
from sqlalchemy import ColumnElement, CursorResult, func, select, update

from kiosk.accounts import auth
from kiosk.extensions import db
from kiosk.library import catalogue, covers
from kiosk.library.changes import CatalogueError, apply_changes, renumber, reordered
from kiosk.library.sortkeys import normalise
from kiosk.models import Book, CodeTarget, Reader, Section, Track, User
from kiosk.storage import store

MIN_CONTRAST = 4.5  # WCAG AA for normal text: white text on the section's colour
MAX_COVER_BYTES = 20 * 1024 * 1024
HEX_COLOUR = re.compile(r"#[0-9a-f]{6}")
# AA-contrast colours (white text ≥ 4.5:1), including the nine default sections' colours.
PALETTE: tuple[tuple[str, Any], ...] = (
    ("#b3261e", _l("朱红")), ("#8c2f1b", _l("赭石")), ("#7a4a1f", _l("栗色")),
    ("#8a5a00", _l("琥珀")), ("#2e7d32", _l("松绿")), ("#00695c", _l("青碧")),
    ("#1d5c8c", _l("靛蓝")), ("#3949ab", _l("群青")), ("#6b3fa0", _l("紫罗兰")),
    ("#ad1457", _l("玫红")), ("#4e342e", _l("深棕")), ("#37474f", _l("石板灰")),
)


# ---- sections ---------------------------------------------------------------------------


def contrast_with_white(colour: str) -> float:
    """WCAG 2 contrast ratio of white text on ``colour`` (``#rrggbb``)."""

    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    luminance = 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)
    return 1.05 / (luminance + 0.05)


def check_colour(value: str) -> str:
    """The colour in canonical form, or ``CatalogueError`` when white text on it is hard to read."""
    colour = (value or "").strip().lower()
    if not HEX_COLOUR.fullmatch(colour):
        raise CatalogueError(_l("颜色须写成 #RRGGBB 的形式，例如 #1d5c8c。"), "colour")
    ratio = contrast_with_white(colour)
    if ratio < MIN_CONTRAST:
        shown = format(ratio, ".1f")  # outside the call: babel cannot extract f-strings in it
        raise CatalogueError(
            _l("白色文字在 %(colour)s 上的对比度只有 %(ratio)s:1，至少需要 4.5:1。请选更深的颜色。",
               colour=colour, ratio=shown),
            "colour",
        )
    return colour


def sections_in_order() -> list[Section]:
    """Every section, published or not, in wall order."""
    return list(db.session.scalars(select(Section).order_by(Section.position, Section.id)))


def book_counts() -> dict[int, int]:
    """How many books (not in the trash) each section holds."""
    rows = db.session.execute(
        select(Book.section_id, func.count(Book.id)).where(Book.deleted_at.is_(None))
        .group_by(Book.section_id)
    )
    return {section_id: count for section_id, count in rows}


def update_section(section: Section, actor: User, **values: Any) -> None:
    """Rename, describe, colour a section (its slug and printed codes never change)."""
    values["colour"] = check_colour(values.get("colour", section.colour))
    changed = apply_changes(section, **values)
    if changed:
        auth.audit("section_updated", actor=actor, target=section, changes=changed)


def move_section(section: Section, step: int, actor: User) -> None:
    """Move a section ``step`` places along the wall; positions stay 0, 1, 2, …"""
    ordered = sections_in_order()
    before = ordered.index(section)
    renumber(reordered(ordered, section, step), 0)
    auth.audit("section_moved", actor=actor, target=section, old=before, new=section.position)


def set_section_published(section: Section, published: bool, actor: User) -> None:
    """Show or hide a section's card (a hidden section hides its books too)."""
    if section.published != published:
        section.published = published
        auth.audit("section_published" if published else "section_hidden", actor=actor,
                   target=section)


# ---- books ------------------------------------------------------------------------------


@dataclass(frozen=True)
class BookRow:
    """A book as one line of the console's list."""

    id: int
    title: str
    author: str
    section_name: str
    published: bool
    chapter_count: int  # chapters not in the trash


@dataclass(frozen=True)
class BookListPage:
    """One page of the console's book list, and where it sits among the pages."""

    books: list[BookRow]
    number: int
    pages: int
    total: int


def books_listing(section_id: int | None = None, query: str = "", page: int = 1) -> BookListPage:
    """One page of the books not in the trash, by section then pinyin, optionally filtered.

    Three statements whatever the catalogue's size (a count, the page, its chapter counts):
    the unpaged list loaded every book's chapters, one query per book (2,006 statements and
    330 KB at 2,000 books).
    """
    condition = _listing_condition(section_id, query)
    total = db.session.scalar(select(func.count(Book.id)).where(condition)) or 0
    number, pages = catalogue.page_bounds(total, page, catalogue.BOOKS_PER_PAGE)
    rows = db.session.execute(
        select(Book.id, Book.title, Book.author, Section.name, Book.published)
        .join(Section, Book.section_id == Section.id)
        .where(condition)
        .order_by(Book.section_id, Book.sort_key, Book.id)
        .limit(catalogue.BOOKS_PER_PAGE)
        .offset((number - 1) * catalogue.BOOKS_PER_PAGE)
    ).all()
    chapters = _live_chapter_counts([row.id for row in rows])
    books = [BookRow(row.id, row.title, row.author, row.name, row.published, chapters.get(row.id, 0))
             for row in rows]
    return BookListPage(books=books, number=number, pages=pages, total=total)


def _listing_condition(section_id: int | None, query: str) -> ColumnElement[bool]:
    """Which books the console's list shows: not in the trash, in the section, matching the query."""
    condition: ColumnElement[bool] = Book.deleted_at.is_(None)
    if section_id:
        condition &= Book.section_id == section_id
    needle = normalise(query)
    if needle:
        # Visitors' index (title, author, public chapters' readers), or any reader of a live chapter.
        any_reader = select(Track.id).join(Reader, Track.reader_id == Reader.id).where(
            Track.book_id == Book.id, Track.deleted_at.is_(None),
            Reader.name.like(f"%{_like_escaped(query.strip())}%", escape="\\"))
        condition &= Book.search_text.like(f"%{_like_escaped(needle)}%", escape="\\") | any_reader.exists()
    return condition


def _like_escaped(text: str) -> str:
    """``text`` with LIKE's wildcards taken literally."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _live_chapter_counts(book_ids: list[int]) -> dict[int, int]:
    """How many chapters (not in the trash) each of ``book_ids`` has, in one grouped query."""
    rows = db.session.execute(
        select(Track.book_id, func.count(Track.id))
        .where(Track.book_id.in_(book_ids), Track.deleted_at.is_(None))
        .group_by(Track.book_id)
    )
    return {book_id: count for book_id, count in rows}


def create_book(section: Section, actor: User, **values: Any) -> Book:
    """A new, published book with its own QR code (flushed, not committed)."""
    book = catalogue.new_book(section, **values)
    code = catalogue.primary_code(CodeTarget.BOOK, book.id)
    auth.audit("book_created", actor=actor, target=book, title=book.title, section=section.slug,
               code=code)
    return book


def update_book(book: Book, section: Section, actor: User, **values: Any) -> None:
    """Edit a book's texts and move it to ``section``; its sort key and search text follow."""
    changed = apply_changes(book, **values)
    if changed:
        catalogue.refresh_book_index(book)
        auth.audit("book_updated", actor=actor, target=book, changes=changed)
    if book.section_id != section.id:
        old = book.section.slug
        book.section = section
        auth.audit("book_moved", actor=actor, target=book, old=old, new=section.slug)


def _check_image_size(data: bytes) -> None:
    """Refuse an image whose header claims more pixels than a cover may have (before decoding)."""
    too_big = CatalogueError(_l("图片的像素太多了（超过 4000 万像素），请缩小后再上传。"), "cover", 413)
    try:
        with warnings.catch_warnings():  # the size is judged just below, not by a warning
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                width, height = probe.size
    except Image.DecompressionBombError as error:
        raise too_big from error
    except (OSError, ValueError) as error:
        raise CatalogueError(_l("这不是可以识别的图片。请上传 JPEG、PNG 或 WebP 格式的封面。"),
                             "cover", 415) from error
    if width * height > covers.MAX_SOURCE_PIXELS:
        raise too_big


def set_cover(book: Book, data: bytes, actor: User) -> None:
    """Decode, resize and re-encode an uploaded cover; the upload itself is never kept."""
    if len(data) > MAX_COVER_BYTES:
        raise CatalogueError(_l("图片文件太大了，最大 20 MB。"), "cover", 413)
    _check_image_size(data)
    try:
        images = covers.renditions(data)
    except covers.CoverError as error:
        raise CatalogueError(_l("这不是可以识别的图片。请上传 JPEG、PNG 或 WebP 格式的封面。"),
                             "cover", 415) from error
    old = book.cover_key
    book.cover_key = store().put_bytes(images.large_jpeg, "covers", "jpg")
    book.cover_thumb_key = store().put_bytes(images.thumb_jpeg, "covers", "jpg")
    auth.audit("book_cover_set", actor=actor, target=book, old=old, new=book.cover_key)


def set_book_published(book: Book, published: bool, actor: User) -> None:
    """Publish or unpublish a book."""
    if book.published != published:
        book.published = published
        auth.audit("book_published" if published else "book_unpublished", actor=actor,
                   target=book)


# ---- chapters ---------------------------------------------------------------------------


def live_tracks(book: Book) -> list[Track]:
    """A book's chapters that are not in the trash, in order."""
    return [t for t in book.tracks if t.deleted_at is None]


def update_track(track: Track, title: str, reader_name: str, actor: User) -> None:
    """Rename a chapter and set its reader (a new name makes a new reader)."""
    reader = catalogue.reader_named(reader_name) if reader_name.strip() else None
    changed = apply_changes(track, title=title)
    if track.reader_id != (reader.id if reader else None):
        changed["reader"] = [track.reader.name if track.reader else None,
                             reader.name if reader else None]
        track.reader = reader
    if changed:
        catalogue.refresh_book_index(track.book)
        auth.audit("track_updated", actor=actor, target=track, changes=changed)


def move_track(track: Track, step: int, actor: User) -> None:
    """Move a chapter ``step`` places; the book's chapters are numbered 1, 2, 3, … again."""
    ordered = live_tracks(track.book)
    before = ordered.index(track) + 1
    renumber(reordered(ordered, track, step), 1)
    auth.audit("track_moved", actor=actor, target=track, old=before, new=track.position)


def reorder_tracks(book: Book, track_ids: list[int], actor: User) -> None:
    """Put a book's chapters in the order of ``track_ids`` (which must name each exactly once)."""
    ordered = live_tracks(book)
    if sorted(track_ids) != sorted(t.id for t in ordered):
        raise CatalogueError(_l("章节列表已变化，请刷新页面后重试。"), status=409)
    by_id = {t.id: t for t in ordered}
    renumber([by_id[i] for i in track_ids], 1)
    auth.audit("tracks_reordered", actor=actor, target=book, order=track_ids)


def set_track_published(track: Track, published: bool, actor: User) -> None:
    """Publish or unpublish a chapter."""
    if track.published != published:
        track.published = published
        auth.audit("track_published" if published else "track_unpublished", actor=actor,
                   target=track)

# ---- readers ----------------------------------------------------------------------------


def readers_listing() -> list[tuple[Reader, int]]:
    """Every reader with how many chapters (not in the trash) carry their voice."""
    counts = (
        select(Track.reader_id, func.count(Track.id).label("n"))
        .where(Track.deleted_at.is_(None)).group_by(Track.reader_id).subquery()
    )
    rows = db.session.execute(
        select(Reader, func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.reader_id == Reader.id).order_by(Reader.name)
    )
    return [(reader, int(count)) for reader, count in rows]


def _books_read_by(reader: Reader) -> list[Book]:
    """The books with a chapter read by ``reader``."""
    return list(db.session.scalars(
        select(Book).where(Book.id.in_(select(Track.book_id).where(Track.reader_id == reader.id)))
    ))


def update_reader(reader: Reader, name: str, bio: str, actor: User) -> None:
    """Edit a reader's display name and bio; a name already taken is refused (merge instead)."""
    clean = name.strip()
    other = db.session.scalar(select(Reader).where(Reader.name == clean, Reader.id != reader.id))
    if other is not None:
        raise CatalogueError(_l("已有名为“%(name)s”的朗读者。如果是同一个人，请使用“合并”。",
                                name=clean), "name")
    changed = apply_changes(reader, name=clean, bio=bio)
    if changed:
        if "name" in changed:
            for book in _books_read_by(reader):
                catalogue.refresh_book_index(book)
        auth.audit("reader_updated", actor=actor, target=reader, changes=changed)


def merge_readers(duplicate: Reader, keep: Reader, actor: User) -> int:
    """Move every chapter of ``duplicate`` to ``keep`` and delete ``duplicate``; returns the count."""
    if duplicate.id == keep.id:
        raise CatalogueError(_l("不能把朗读者合并到自己。"), "target")
    books = _books_read_by(duplicate)
    moved = cast(CursorResult[Any], db.session.execute(
        update(Track).where(Track.reader_id == duplicate.id).values(reader_id=keep.id)
    )).rowcount
    auth.audit("readers_merged", actor=actor, target=keep, merged=duplicate.name,
               merged_id=duplicate.id, tracks=moved)
    db.session.delete(duplicate)
    db.session.flush()
    db.session.expire_all()
    for book in books:
        catalogue.refresh_book_index(book)
    return moved
