"""What librarians change in the catalogue: sections, books, chapters, readers, booth texts, trash.

Every change is made through one function here, which also adds its audit entry to the
session; the caller commits once, so the change and its record stand or fall together.
Deleting a book or a chapter only moves it to the trash (``deleted_at``); ``purge_trash``
removes what has been there longer than ``TRASH_DAYS``.
"""

from __future__ import annotations

import io
import logging
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from PIL import Image
from sqlalchemy import String, delete, exists, func, or_, select, update

from . import auth, catalogue, covers, ingest
from .extensions import db
from .models import (
    Book,
    BoothText,
    ChapterUpload,
    CodeTarget,
    Reader,
    Recording,
    Section,
    TakeStatus,
    Track,
    User,
    utcnow,
)
from .sortkeys import normalise
from .storage import store

log = logging.getLogger(__name__)

TRASH_DAYS = 30
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
ORIGINAL_SUFFIXES = {"mp3": "mp3", "wav": "wav", "flac": "flac", "ogg": "ogg", "mov": "m4a",
                     "matroska": "webm", "webm": "webm", "aac": "aac", "aiff": "aiff"}

Row = TypeVar("Row", Section, Track, BoothText)


class CatalogueError(ValueError):
    """A refused change: ``message`` for the librarian, ``field`` the input it concerns."""

    def __init__(self, message: object, field: str | None = None, status: int = 422) -> None:
        super().__init__(str(message))
        self.message = str(message)
        self.field = field
        self.status = status


def _changes(row: object, **values: Any) -> dict[str, list[Any]]:
    """Set ``values`` on ``row``; return ``{field: [old, new]}`` for what actually changed."""
    changed = {}
    for name, new in values.items():
        old = getattr(row, name)
        if old != new:
            setattr(row, name, new)
            changed[name] = [old, new]
    return changed


def _renumber(rows: Sequence[Row], start: int) -> None:
    """Give ``rows`` dense positions ``start, start+1, …`` in their current order."""
    for offset, row in enumerate(rows):
        row.position = start + offset


def _moved(rows: list[Row], item: Row, step: int) -> list[Row]:
    """``rows`` with ``item`` moved ``step`` places (clamped at the ends)."""
    index = rows.index(item)
    target = min(max(index + step, 0), len(rows) - 1)
    rows.insert(target, rows.pop(index))
    return rows


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
    changed = _changes(section, **values)
    if changed:
        auth.audit("section_updated", actor=actor, target=section, changes=changed)


def move_section(section: Section, step: int, actor: User) -> None:
    """Move a section ``step`` places along the wall; positions stay 0, 1, 2, …"""
    ordered = sections_in_order()
    before = ordered.index(section)
    _renumber(_moved(ordered, section, step), 0)
    auth.audit("section_moved", actor=actor, target=section, old=before, new=section.position)


def set_section_published(section: Section, published: bool, actor: User) -> None:
    """Show or hide a section's card (a hidden section hides its books too)."""
    if section.published != published:
        section.published = published
        auth.audit("section_published" if published else "section_hidden", actor=actor,
                   target=section)


# ---- books ------------------------------------------------------------------------------


def books_listing(section_id: int | None = None, query: str = "") -> list[Book]:
    """Books not in the trash, by section then pinyin, optionally filtered."""
    statement = select(Book).where(Book.deleted_at.is_(None))
    if section_id:
        statement = statement.where(Book.section_id == section_id)
    needle = normalise(query)
    if needle:
        escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        statement = statement.where(Book.search_text.like(f"%{escaped}%", escape="\\"))
    return list(db.session.scalars(statement.order_by(Book.section_id, Book.sort_key, Book.id)))


def create_book(section: Section, actor: User, **values: Any) -> Book:
    """A new, published book with its own QR code (flushed, not committed)."""
    book = catalogue.new_book(section, **values)
    code = catalogue.primary_code(CodeTarget.BOOK, book.id)
    auth.audit("book_created", actor=actor, target=book, title=book.title, section=section.slug,
               code=code)
    return book


def update_book(book: Book, section: Section, actor: User, **values: Any) -> None:
    """Edit a book's texts and move it to ``section``; its sort key and search text follow."""
    changed = _changes(book, **values)
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
    changed = _changes(track, title=title)
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
    _renumber(_moved(ordered, track, step), 1)
    auth.audit("track_moved", actor=actor, target=track, old=before, new=track.position)


def reorder_tracks(book: Book, track_ids: list[int], actor: User) -> None:
    """Put a book's chapters in the order of ``track_ids`` (which must name each exactly once)."""
    ordered = live_tracks(book)
    if sorted(track_ids) != sorted(t.id for t in ordered):
        raise CatalogueError(_l("章节列表已变化，请刷新页面后重试。"), status=409)
    by_id = {t.id: t for t in ordered}
    _renumber([by_id[i] for i in track_ids], 1)
    auth.audit("tracks_reordered", actor=actor, target=book, order=track_ids)


def set_track_published(track: Track, published: bool, actor: User) -> None:
    """Publish or unpublish a chapter."""
    if track.published != published:
        track.published = published
        auth.audit("track_published" if published else "track_unpublished", actor=actor,
                   target=track)


def upload_refusal(error: ingest.RecorderError) -> CatalogueError:
    """Why an uploaded recording is refused, in words and an HTTP status."""
    refusals = {
        "not_audio": (415, gettext("这不是可以识别的音频文件。请上传 WAV、FLAC、MP3、M4A、OGG 或 WebM 录音。")),
        "too_large": (413, gettext("文件太大了，最大 300 MB。")),
        "too_long": (422, gettext("录音太长了，最长 90 分钟。")),
    }
    status, message = refusals.get(error.code, (422, error.message_zh))
    return CatalogueError(message, "audio", status)


def queue_upload(
    book: Book, source: Path, *, original_name: str, title: str, reader_name: str,
    keep_as_is: bool, actor: User, replace: Track | None = None,
) -> ChapterUpload:
    """Check an uploaded recording, keep it as an original, and record the job to master it.

    Only cheap checks happen here (a probe of the content); measuring and mastering run in
    the job queue, so a long chapter never holds a web worker. The caller commits, then
    queues ``process_upload(upload.id)``.
    """
    try:
        probed = ingest.probe_upload(source)
    except ingest.RecorderError as error:
        raise upload_refusal(error) from error
    if probed.duration_s is not None and probed.duration_s > ingest.house_preset().max_duration_s:
        raise CatalogueError(gettext("录音太长了，最长 90 分钟。"), "audio")
    key = store().adopt(source, "originals", ORIGINAL_SUFFIXES.get(probed.demuxer, "bin"))
    upload = ChapterUpload(
        book=book, replace_track_id=replace.id if replace else None, user_id=actor.id,
        title=title, reader_name=reader_name, keep_as_is=keep_as_is, original_key=key,
        original_name=original_name[:256], status=TakeStatus.QUEUED, note="",
    )
    db.session.add(upload)
    db.session.flush()
    auth.audit("track_upload_received", actor=actor, target=upload, book=book.id,
               replace=replace.id if replace else None, keep=keep_as_is, original=key)
    return upload


def pending_uploads(book: Book) -> list[ChapterUpload]:
    """Uploads of ``book`` still being processed, or finished in the last day (newest first)."""
    since = utcnow() - timedelta(days=1)
    return list(db.session.scalars(
        select(ChapterUpload)
        .where(ChapterUpload.book_id == book.id,
               or_(ChapterUpload.finished_at.is_(None), ChapterUpload.finished_at >= since))
        .order_by(ChapterUpload.id.desc())
    ))


def _claim_upload(upload_id: int) -> bool:
    """Mark a queued upload as being processed; only one worker wins."""
    claimed = db.session.execute(
        update(ChapterUpload)
        .where(ChapterUpload.id == upload_id, ChapterUpload.status == TakeStatus.QUEUED)
        .values(status=TakeStatus.PROCESSING)
    ).rowcount
    db.session.commit()
    return claimed == 1


def _keep_refused_note(level: ingest.SourceLevel) -> str:
    """Why a file could not be kept as it is (it is mastered instead)."""
    if level.codec != "mp3":
        return gettext("只有 MP3 文件可以保持原样；已按馆藏标准重新处理。")
    values = {"lufs": format(level.integrated_lufs, ".1f"), "peak": format(level.true_peak_dbtp, ".1f"),
              "target": format(ingest.house_preset().target_lufs, ".0f")}
    return gettext(
        "文件的响度为 %(lufs)s LUFS、真峰值 %(peak)s dBTP，不符合标准"
        "(%(target)s ±1 LUFS，真峰值不高于 −1 dBTP)，已按馆藏标准重新处理。",
        **values,
    )


def _audio_for(upload: ChapterUpload, source: Path, track_number: int) -> ingest.StoredAudio:
    """The stored audio for an upload: kept unchanged when asked and up to standard, else mastered."""
    if upload.keep_as_is:
        level = ingest.measure_source(source)
        if level.meets_standard:
            upload.note = gettext("文件已符合标准，保持原样。")
            return ingest.keep_into_store(source, level)
        upload.note = _keep_refused_note(level)
    tags = ingest.TrackTags(
        title=upload.title, artist=upload.reader_name, album=upload.book.title,
        genre=upload.book.section.name, track_number=track_number,
    )
    return ingest.master_into_store(source, tags)


def _attach(upload: ChapterUpload, audio: ingest.StoredAudio, actor: User | None) -> Track:
    """Make the stored audio a new chapter, or the new audio of the chapter it replaces."""
    target = db.session.get(Track, upload.replace_track_id) if upload.replace_track_id else None
    if target is None:
        track = ingest.add_chapter(upload.book, upload.title, upload.reader_name, audio)
        auth.audit("track_created", actor=actor, target=track, book=upload.book_id,
                   key=audio.key, upload=upload.id)
        return track
    old_key = target.audio_key
    target.audio_key, target.duration_ms = audio.key, audio.duration_ms
    target.size_bytes, target.mime_type = audio.size_bytes, ingest.MP3_MIME
    target.loudness_lufs, target.true_peak_dbtp = audio.loudness_lufs, audio.true_peak_dbtp
    auth.audit("track_audio_replaced", actor=actor, target=target, old=old_key, new=audio.key,
               upload=upload.id)
    return target


def process_upload(upload_id: int) -> None:
    """The job: master (or keep) an uploaded recording and attach it, in one commit."""
    if not _claim_upload(upload_id):
        return
    upload = db.session.get(ChapterUpload, upload_id)
    if upload is None:
        return
    actor = db.session.get(User, upload.user_id) if upload.user_id else None
    replaced = db.session.get(Track, upload.replace_track_id) if upload.replace_track_id else None
    number = replaced.position if replaced else len(live_tracks(upload.book)) + 1
    try:
        audio = _audio_for(upload, store().path(upload.original_key), number)
    except ingest.RecorderError as error:
        _fail_upload(upload_id, upload_refusal(error).message)
        return
    except Exception:  # a crash of ours, a full disk: say so on the book page, keep the original
        log.exception("processing chapter upload %s failed", upload_id)
        _fail_upload(upload_id, gettext("处理录音时出错，请重新上传或联系管理员。"))
        return
    upload.track = _attach(upload, audio, actor)
    upload.status, upload.finished_at = TakeStatus.DONE, utcnow()
    db.session.commit()


def _fail_upload(upload_id: int, message: str) -> None:
    """Record why an upload failed (its original stays in the store for the trash period)."""
    db.session.rollback()
    upload = db.session.get(ChapterUpload, upload_id)
    if upload is None:
        return
    upload.status, upload.error_message, upload.finished_at = TakeStatus.FAILED, message, utcnow()
    auth.audit("track_upload_failed", target=upload, reason=message)
    db.session.commit()


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
    changed = _changes(reader, name=clean, bio=bio)
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
    moved = db.session.execute(
        update(Track).where(Track.reader_id == duplicate.id).values(reader_id=keep.id)
    ).rowcount
    auth.audit("readers_merged", actor=actor, target=keep, merged=duplicate.name,
               merged_id=duplicate.id, tracks=moved)
    db.session.delete(duplicate)
    db.session.flush()
    db.session.expire_all()
    for book in books:
        catalogue.refresh_book_index(book)
    return moved


# ---- booth texts ------------------------------------------------------------------------


def texts_in_order() -> list[BoothText]:
    """Every booth text in teleprompter order."""
    return list(db.session.scalars(select(BoothText).order_by(BoothText.position, BoothText.id)))


def create_text(actor: User, **values: Any) -> BoothText:
    """A new booth text, last in the list."""
    last = db.session.scalar(select(func.max(BoothText.position)))
    text = BoothText(position=(last if last is not None else -1) + 1, **values)
    db.session.add(text)
    db.session.flush()
    auth.audit("text_created", actor=actor, target=text, title=text.title)
    return text


def update_text(text: BoothText, actor: User, **values: Any) -> None:
    """Edit a booth text."""
    changed = _changes(text, **values)
    if changed:
        shown = {k: v if k != "body" else [len(v[0]), len(v[1])] for k, v in changed.items()}
        auth.audit("text_updated", actor=actor, target=text, changes=shown)


def move_text(text: BoothText, step: int, actor: User) -> None:
    """Move a booth text ``step`` places in the teleprompter's list."""
    _renumber(_moved(texts_in_order(), text, step), 0)
    auth.audit("text_moved", actor=actor, target=text, new=text.position)


def set_text_published(text: BoothText, published: bool, actor: User) -> None:
    """Offer or withdraw a booth text."""
    if text.published != published:
        text.published = published
        auth.audit("text_published" if published else "text_hidden", actor=actor, target=text)


def delete_text(text: BoothText, actor: User) -> None:
    """Delete a booth text that no take was read from (those can only be hidden)."""
    if db.session.scalar(select(exists().where(Recording.text_id == text.id))):
        raise CatalogueError(_l("已有录音读过这篇文本，不能删除；可以改为隐藏。"), status=409)
    auth.audit("text_deleted", actor=actor, target=text, title=text.title)
    db.session.delete(text)


# ---- trash ------------------------------------------------------------------------------


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
        _renumber(live_tracks(track.book), 1)
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
        _renumber(others, 1)
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
            else:  # e.g. play statistics of a purged chapter
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
