"""The trash: deleting and restoring books and chapters, and purging what has been there too long.

Deleting only sets ``deleted_at``, so visitors stop seeing the row at once and an admin can
restore it; ``purge_trash`` removes what has been there longer than ``TRASH_DAYS``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import String, delete, exists, or_, select, update

from kiosk.accounts import auth
from kiosk.extensions import db
from kiosk.library.changes import CatalogueError, renumber
from kiosk.library.edits import live_tracks
from kiosk.models import Book, ChapterUpload, Track, User, utcnow
from kiosk.storage import store

TRASH_DAYS = 30


@dataclass(frozen=True)
class TrashListing:
    """What can still be restored."""

    books: list[Book]
    tracks: list[Track]


@dataclass(frozen=True)
class PurgeReport:
    """What ``purge_trash`` removed for good."""

    book_ids: list[int]
    track_ids: list[int]
    deleted_keys: list[str]


def trash_book(book: Book, actor: User) -> None:
    """Move a book (and so all its chapters) to the trash: visitors stop seeing it at once."""
    if book.deleted_at is None:
        book.deleted_at = utcnow()
        auth.audit("book_deleted", actor=actor, target=book, title=book.title)


def trash_track(track: Track, actor: User) -> None:
    """Move a chapter to the trash; the remaining chapters are numbered 1, 2, 3, … again."""
    if track.deleted_at is None:
        track.deleted_at = utcnow()
        renumber(live_tracks(track.book), 1)
        auth.audit("track_deleted", actor=actor, target=track, title=track.title)


def restore_book(book: Book, actor: User) -> None:
    """Take a book out of the trash, as it was."""
    if book.deleted_at is not None:
        book.deleted_at = None
        auth.audit("book_restored", actor=actor, target=book)


def restore_track(track: Track, actor: User) -> None:
    """Take a chapter out of the trash; it goes back to the place it had."""
    if track.book.deleted_at is not None:
        raise CatalogueError(_l("这一章所在的书也在回收站里，请先恢复那本书。"), status=409)
    if track.deleted_at is not None:
        others = live_tracks(track.book)
        others.insert(min(max(track.position - 1, 0), len(others)), track)
        track.deleted_at = None
        renumber(others, 1)
        auth.audit("track_restored", actor=actor, target=track, position=track.position)


def trash_listing(now: datetime) -> TrashListing:
    """Books and chapters deleted in the last ``TRASH_DAYS`` days, newest first."""
    since = now - timedelta(days=TRASH_DAYS)
    books = db.session.scalars(
        select(Book).where(Book.deleted_at >= since).order_by(Book.deleted_at.desc())
    )
    tracks = db.session.scalars(
        select(Track).where(Track.deleted_at >= since).order_by(Track.deleted_at.desc())
    )
    return TrashListing(books=list(books), tracks=list(tracks))


def _key_columns() -> list[Any]:
    """Every string column of every table that may hold a media-store key."""
    return [
        column for table in db.metadata.tables.values() for column in table.columns
        if column.name.endswith("_key") and column.name != "sort_key"
        and isinstance(column.type, String)
    ]


def key_in_use(key: str) -> bool:
    """Whether any row still names ``key`` (audio keys are shared by identical recordings)."""
    return any(
        db.session.scalar(select(exists().where(column == key))) for column in _key_columns()
    )


def _detach(table_name: str, ids: list[int]) -> None:
    """Null (or, where required, delete) the rows of other tables that point at ``ids``."""
    for table in db.metadata.tables.values():
        for fk in table.foreign_keys:
            if fk.column.table.name != table_name or fk.parent.table.name == table_name:
                continue
            if (table_name, fk.parent.table.name) in (("books", "tracks"),):
                continue  # a purged book's chapters are purged themselves
            where = fk.parent.in_(ids)
            if fk.parent.nullable:
                db.session.execute(update(table).where(where).values({fk.parent.name: None}))
            else:  # no such column today (plays outlive their chapter): a row that cannot be kept
                db.session.execute(delete(table).where(where))


def _uploads_to_purge(book_ids: list[int], cutoff: datetime) -> list[ChapterUpload]:
    """Uploads of purged books, and finished uploads older than the trash period."""
    return list(db.session.scalars(select(ChapterUpload).where(or_(
        ChapterUpload.book_id.in_(book_ids), ChapterUpload.finished_at < cutoff,
    ))))


def purge_trash(now: datetime) -> PurgeReport:
    """Remove for good what was deleted more than ``TRASH_DAYS`` days before ``now``.

    Rows go in one transaction; then a media file is deleted only if no row anywhere still
    names its key (identical recordings share a key). QR codes stay and show "updating".
    """
    cutoff = now - timedelta(days=TRASH_DAYS)
    books = list(db.session.scalars(select(Book).where(Book.deleted_at < cutoff)))
    book_ids = [b.id for b in books]
    tracks = list(db.session.scalars(
        select(Track).where(or_(Track.deleted_at < cutoff, Track.book_id.in_(book_ids)))
    ))
    uploads = _uploads_to_purge(book_ids, cutoff)
    keys = {t.audio_key for t in tracks} | {u.original_key for u in uploads}
    keys |= {k for b in books for k in (b.cover_key, b.cover_thumb_key) if k}
    for model, ids in ((ChapterUpload, [u.id for u in uploads]), (Track, [t.id for t in tracks]),
                       (Book, book_ids)):
        _detach(model.__tablename__, ids)
        db.session.execute(delete(model).where(model.id.in_(ids)))
    db.session.expire_all()
    unused = sorted(key for key in keys if not key_in_use(key))
    report = PurgeReport(book_ids, [t.id for t in tracks], unused)
    if books or tracks or uploads:
        auth.audit("trash_purged", target_kind="trash", books=report.book_ids,
                   tracks=report.track_ids, files=len(unused), uploads=len(uploads))
    db.session.commit()
    for key in unused:  # after the commit: a rolled-back purge never loses a file
        store().delete(key)
    return report
