"""Bulk import: audio files (or folders of them) into one section, read by their own tags.

Files are grouped into books by album tag (else by folder), ordered by track number then
natural file name, mastered only when they miss the house standard, and identified by the
SHA-256 of the source file, so running the same import twice adds nothing the second time.
Each book is written in one transaction; a file that fails is skipped with its reason.
A ``.txt`` beside an audio file with the same name (``01.mp3`` + ``01.txt``) is that
chapter's text, for read-along: attached in the book's transaction, aligned by the queue after.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlalchemy import or_, select

from kiosk.accounts import auth
from kiosk.extensions import db
from kiosk.ingest import mastering
from kiosk.library import catalogue, covers
from kiosk.models import Book, Section, Track, User
from kiosk.readalong import jobs as readalong_jobs
from kiosk.readalong import texts as readalong_texts
from kiosk.storage import content_key, file_sha256, store

AUDIO_SUFFIXES = frozenset({".mp3", ".m4a", ".m4b", ".mp4", ".aac", ".flac", ".ogg", ".oga", ".opus", ".wav"})
TITLE_MAX_CHARS = 256
READER_MAX_CHARS = 128

Progress = Callable[[int], None]


class Outcome(StrEnum):
    """What became of one file."""

    MASTERED = "mastered"
    KEPT = "kept"
    SKIPPED = "skipped"


class SkipReason(StrEnum):
    """Why a file was skipped."""

    NOT_AUDIO = "not_audio"
    UNREADABLE = "unreadable"
    DUPLICATE = "duplicate"
    LINK = "link"
    FAILED = "failed"


@dataclass(frozen=True)
class Source:
    """A file to import: where it is, how to name it in the report, and its folder's name."""

    path: Path
    name: str
    folder_title: str


@dataclass
class Entry:
    """One line of the report."""

    name: str
    outcome: Outcome
    reason: SkipReason | None = None
    detail: str = ""
    book: str = ""
    track_id: int | None = None


@dataclass
class ImportReport:
    """Everything an import did, file by file."""

    entries: list[Entry] = field(default_factory=list)
    books_created: int = 0
    texts_attached: int = 0

    def count(self, outcome: Outcome) -> int:
        """How many files had ``outcome``."""
        return sum(1 for entry in self.entries if entry.outcome == outcome)

    @property
    def imported(self) -> int:
        """Files that became chapters (mastered or kept)."""
        return self.count(Outcome.MASTERED) + self.count(Outcome.KEPT)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form (stored with a console batch)."""
        return {"books_created": self.books_created, "entries": [asdict(e) for e in self.entries]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ImportReport:
        """The report stored by ``to_dict``."""
        entries = [
            Entry(**{**e, "outcome": Outcome(e["outcome"]), "reason": e["reason"] and SkipReason(e["reason"])})
            for e in data.get("entries", [])
        ]
        return cls(entries=entries, books_created=int(data.get("books_created", 0)))


@dataclass
class _Candidate:
    """A readable, new audio file and what its tags say."""

    source: Source
    sha256: str
    tags: mastering.SourceTags
    entry: Entry


# ---- finding files ---------------------------------------------------------------------------


def natural_key(name: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key in which "第2章" comes before "第10章"."""
    parts = re.split(r"(\d+)", name)
    return tuple((0, int(part)) if part.isdigit() else (1, part.casefold()) for part in parts if part)


def collect(paths: Iterable[Path]) -> tuple[list[Source], list[Entry]]:
    """Every file under ``paths`` (folders walked recursively, links never followed)."""
    sources: list[Source] = []
    skipped: list[Entry] = []
    for root in paths:
        if root.is_symlink():
            skipped.append(Entry(root.name, Outcome.SKIPPED, SkipReason.LINK))
        elif root.is_dir():
            _walk(root, sources, skipped)
        elif root.is_file():
            sources.append(Source(root, root.name, root.resolve().parent.name))
    return [s for s in sources if not is_chapter_text(s.path)], skipped


def is_chapter_text(path: Path) -> bool:
    """Whether ``path`` is the ``.txt`` text of an audio file beside it (not a file to import)."""
    return path.suffix.lower() == ".txt" and any(
        path.with_suffix(suffix).is_file() or path.with_suffix(suffix.upper()).is_file()
        for suffix in AUDIO_SUFFIXES
    )


def text_beside(audio: Path) -> Path | None:
    """The ``.txt`` with the same name as ``audio``, if there is one."""
    for suffix in (".txt", ".TXT"):
        candidate = audio.with_suffix(suffix)
        if candidate.is_file() and not candidate.is_symlink():
            return candidate
    return None


def _walk(root: Path, sources: list[Source], skipped: list[Entry]) -> None:
    """Add the files below ``root``; their display names are relative to what was passed."""
    top = root.resolve()
    for folder, dirs, files in os.walk(top, followlinks=False):
        dirs.sort(key=natural_key)
        for name in sorted(files, key=natural_key):
            path = Path(folder) / name
            shown = f"{top.name}/{path.relative_to(top).as_posix()}"
            if path.is_symlink() or not path.is_file():
                skipped.append(Entry(shown, Outcome.SKIPPED, SkipReason.LINK))
            else:
                sources.append(Source(path, shown, Path(folder).name))


# ---- importing ---------------------------------------------------------------------------


def import_sources(
    sources: list[Source], section: Section, *, actor: User | None = None, via: str = "cli",
    progress: Progress | None = None, publish: bool = True,
) -> ImportReport:
    """Import ``sources`` into ``section``; one transaction per book. Never raises for a bad file.

    With ``publish`` off nothing imported becomes visible: new books are created unpublished
    (publishing one later shows all its chapters), and chapters added to an existing book
    are unpublished one by one.
    """
    report = ImportReport()
    tick = _Ticker(progress)
    candidates = _screen(sources, report, tick)
    for title, group in _group(candidates).items():
        _import_book(title, group, section, report, tick, actor=actor, via=via, publish=publish)
    return report


class _Ticker:
    """Counts finished files and tells ``progress`` (the console shows it while it waits)."""

    def __init__(self, progress: Progress | None) -> None:
        self.done = 0
        self.progress = progress

    def __call__(self) -> None:
        self.done += 1
        if self.progress is not None:
            self.progress(self.done)


def _screen(sources: list[Source], report: ImportReport, tick: _Ticker) -> list[_Candidate]:
    """Skip non-audio, unreadable and already-imported files; read the tags of the rest."""
    seen: set[str] = set()
    candidates = []
    for source in sources:
        entry = Entry(source.name, Outcome.SKIPPED)
        report.entries.append(entry)
        candidate = _screen_one(source, entry, seen)
        if candidate is None:
            tick()
        else:
            candidates.append(candidate)
    return candidates


def _screen_one(source: Source, entry: Entry, seen: set[str]) -> _Candidate | None:
    """A candidate for ``source``, or ``None`` with the reason written into ``entry``."""
    if source.path.suffix.lower() not in AUDIO_SUFFIXES:
        entry.reason = SkipReason.NOT_AUDIO
        return None
    digest = file_sha256(source.path)
    if digest in seen or _already_imported(digest):
        entry.reason = SkipReason.DUPLICATE
        return None
    seen.add(digest)
    try:
        tags = mastering.read_source_tags(source.path)
    except mastering.RecorderError as error:
        entry.reason, entry.detail = SkipReason.UNREADABLE, error.message_zh
        return None
    return _Candidate(source, digest, tags, entry)


def _already_imported(digest: str) -> bool:
    """Whether a chapter (in the catalogue or the trash) came from this file, or *is* this MP3."""
    same = or_(Track.source_sha256 == digest, Track.audio_key == content_key("audio", digest, "mp3"))
    return db.session.scalar(select(Track.id).where(same).limit(1)) is not None


def _group(candidates: list[_Candidate]) -> dict[str, list[_Candidate]]:
    """Books by album tag (else folder name), chapters by track number then file name."""
    books: dict[str, list[_Candidate]] = {}
    for candidate in candidates:
        title = (candidate.tags.album or candidate.source.folder_title or candidate.source.path.stem).strip()
        books.setdefault(title[:TITLE_MAX_CHARS], []).append(candidate)
    for group in books.values():
        group.sort(key=_chapter_order)
    return books


def _chapter_order(candidate: _Candidate) -> tuple[bool, int, tuple[tuple[int, int | str], ...]]:
    """Numbered chapters first, by number; then by natural file name."""
    number = candidate.tags.track_number
    return number is None, number or 0, natural_key(candidate.source.path.name)


def _import_book(
    title: str, group: list[_Candidate], section: Section, report: ImportReport, tick: _Ticker, *,
    actor: User | None, via: str, publish: bool,
) -> None:
    """Master (or keep) each file, then write the book and its chapters in one transaction."""
    cover = _cover(group)
    ready = []
    for candidate in group:
        audio = _audio_for(candidate, title, section)
        if audio is not None:
            ready.append((candidate, audio))
        tick()
    if not ready:
        return
    try:
        book, created = _book(title, section, publish)
        if cover is not None and book.cover_key is None:
            book.cover_key = store().put_bytes(cover.large_jpeg, "covers", "jpg")
            book.cover_thumb_key = store().put_bytes(cover.thumb_jpeg, "covers", "jpg")
        texts = [_add(book, candidate, audio, published=publish or created) for candidate, audio in ready]
        db.session.flush()
        auth.audit("book_imported", actor=actor, target=book, via=via, chapters=len(ready), created=created,
                   published=publish)
        db.session.commit()
    except Exception as error:  # one book failing must not stop the others
        db.session.rollback()
        for candidate, _audio in ready:
            candidate.entry.outcome, candidate.entry.reason = Outcome.SKIPPED, SkipReason.FAILED
            candidate.entry.detail, candidate.entry.track_id = type(error).__name__, None
        return
    report.books_created += int(created)
    attached = [text_id for text_id in texts if text_id is not None]
    report.texts_attached += len(attached)
    for text_id in attached:
        readalong_jobs.queue_alignment(text_id)


def _audio_for(candidate: _Candidate, title: str, section: Section) -> mastering.StoredAudio | None:
    """The file in the store, kept as it is or mastered; ``None`` (entry says why) on failure."""
    entry, path = candidate.entry, candidate.source.path
    try:
        level = mastering.measure_source(path)
        if level.meets_standard:
            audio, entry.outcome = mastering.keep_into_store(path, level), Outcome.KEPT
        else:
            tags = _tags(candidate, title, section)
            audio, entry.outcome = mastering.master_into_store(path, tags), Outcome.MASTERED
    except mastering.RecorderError as error:
        entry.outcome, entry.reason, entry.detail = Outcome.SKIPPED, SkipReason.UNREADABLE, error.message_zh
        return None
    entry.book = title
    return audio


def _tags(candidate: _Candidate, title: str, section: Section) -> mastering.TrackTags:
    """The ID3 tags of a mastered chapter (its cover goes to the book, not into the tag)."""
    return mastering.TrackTags(
        title=_chapter_title(candidate), artist=candidate.tags.artist[:READER_MAX_CHARS], album=title,
        genre=section.name, track_number=candidate.tags.track_number,
    )


def _chapter_title(candidate: _Candidate) -> str:
    """The title tag, else the file name without its suffix."""
    return (candidate.tags.title or candidate.source.path.stem)[:TITLE_MAX_CHARS]


def _cover(group: list[_Candidate]) -> covers.CoverImages | None:
    """The first embedded cover of the book's files that decodes as an image."""
    for candidate in group:
        if candidate.tags.cover:
            try:
                return covers.renditions(candidate.tags.cover)
            except covers.CoverError:
                continue
    return None


def _book(title: str, section: Section, publish: bool) -> tuple[Book, bool]:
    """The section's live book of this title, or a new one (published or not); and whether it was created."""
    found = db.session.scalar(
        select(Book).where(Book.section_id == section.id, Book.title == title, Book.deleted_at.is_(None))
        .order_by(Book.id).limit(1)
    )
    if found is not None:
        return found, False
    return catalogue.new_book(section, title, published=publish), True


def _add(book: Book, candidate: _Candidate, audio: mastering.StoredAudio, *, published: bool) -> int | None:
    """Append one chapter (with its text, if a .txt is beside it); the text's id, to align after the commit."""
    reader = candidate.tags.artist[:READER_MAX_CHARS]
    track = mastering.add_chapter(book, _chapter_title(candidate), reader, audio, published=published)
    track.source_sha256 = candidate.sha256
    candidate.entry.track_id = track.id
    beside = text_beside(candidate.source.path)
    if beside is None:
        return None
    try:
        text = readalong_texts.attach_file(track, beside.name, beside.read_bytes(), "import")
    except (readalong_texts.TextRefused, OSError) as error:  # the chapter is imported all the same
        candidate.entry.detail = getattr(error, "message", str(error))
        return None
    return text.id


def section_by_slug(slug: str) -> Section | None:
    """The section with this slug, or ``None``."""
    return db.session.scalar(select(Section).where(Section.slug == slug))
