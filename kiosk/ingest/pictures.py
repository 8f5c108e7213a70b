"""Chapters' MP3s without a picture in their tag: on the import's keep path, and for older masters.

A picture in the ID3 tag holds Chromium's ``<audio>`` back for seconds on a slow line (see
``recorder.tags``), so the store's chapter audio carries none. Files kept as they are lose only
the picture: every other frame and every audio byte stay (checked before a row is changed).
Masters made before this (with the book's cover in their tag) get a copy without it under a new
key, since keys name content and ``/media/`` URLs are immutable; the rows that named the old file
move to the new one in one transaction, and the old file goes only when no row names it any more.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from mutagen import MutagenError
from sqlalchemy import select, update

from kiosk.extensions import db
from kiosk.models import ChapterText, Recording, Remaster, Track
from kiosk.storage import HASH_CHUNK_BYTES, store, write_atomically
from recorder import tags

log = logging.getLogger(__name__)

# In the data dir once every chapter's MP3 is without a picture: nothing the kiosk writes adds
# one again, so later starts do not read every chapter's tag (100,000 files on a city's disk).
# A restore goes into an empty data dir, so restored masters are looked at once more.
DONE_MARKER = ".chapter-pictures-stripped"


class PictureStripError(RuntimeError):
    """Removing the picture changed something besides the tag (the file is left alone)."""


@dataclass(frozen=True)
class StrippedFile:
    """A stored copy of an MP3 without pictures in its tag."""

    key: str
    size_bytes: int


def store_without_pictures(source: Path) -> StrippedFile:
    """Store a copy of the MP3 at ``source`` with the pictures left out of its tag; ``source`` is only read.

    Raises:
        PictureStripError: the copy's audio differs from the source's (it is not stored).
    """
    scratch = store().scratch_dir()
    fd, tmp_name = tempfile.mkstemp(dir=scratch, prefix="nopicture-", suffix=".mp3")
    copy = Path(tmp_name)
    try:
        with open(fd, "wb") as out, source.open("rb") as src:
            shutil.copyfileobj(src, out, HASH_CHUNK_BYTES)
        tags.strip_pictures(copy)
        if _audio_digest(copy) != _audio_digest(source):
            raise PictureStripError(f"{source}: audio changed when its pictures were removed")
        return StrippedFile(key=store().adopt(copy, "audio", "mp3"), size_bytes=copy.stat().st_size)
    finally:
        copy.unlink(missing_ok=True)


def _audio_digest(path: Path) -> str:
    """SHA-256 of everything after the file's ID3v2 tag (the audio frames, and an ID3v1 tag if any)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        handle.seek(tags.audio_offset(path))
        while chunk := handle.read(HASH_CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def keys_with_pictures() -> list[str]:
    """Chapters' audio keys (trash included) whose stored file has a picture in its tag."""
    keys = db.session.scalars(select(Track.audio_key).distinct()).all()
    return [key for key in keys if store().exists(key) and tags.has_pictures(store().path(key))]


def strip_stored_pictures() -> int:
    """Give every chapter whose MP3 has a picture in its tag a copy without it; how many files moved.

    Idempotent and safe to interrupt: each file is one transaction, and a crash between the
    commit and the old file's removal leaves only an unnamed file behind. Once a pass leaves no
    picture behind, ``DONE_MARKER`` says so and later calls read nothing.
    """
    marker = store().root / DONE_MARKER
    if marker.exists():
        return 0
    moved, kept = 0, 0
    for old_key in keys_with_pictures():
        try:
            stripped = store_without_pictures(store().path(old_key))
        except (PictureStripError, OSError, MutagenError) as error:
            log.error("kept %s with its picture: %s", old_key, error)
            kept += 1
            continue
        _rename_key(old_key, stripped)
        db.session.commit()
        moved += 1
        if not _named_anywhere(old_key):
            store().delete(old_key)
        log.info("chapter audio %s → %s: picture removed from its tag", old_key, stripped.key)
    if not kept:
        write_atomically(marker, "every chapter's MP3 is without a picture in its tag (kiosk/ingest/pictures.py)\n")
    return moved


def _rename_key(old_key: str, new: StrippedFile) -> None:
    """Point every row that names ``old_key`` at the copy (same audio, so alignments stay valid).

    Chapters change through the ORM, so the published-only tree follows the commit (its hook
    sees the objects' history; a bulk UPDATE would leave it to the ten-minute resync).
    """
    for track in db.session.scalars(select(Track).where(Track.audio_key == old_key)):
        track.audio_key, track.size_bytes = new.key, new.size_bytes
    db.session.execute(update(ChapterText).where(ChapterText.aligned_audio_key == old_key)
                       .values(aligned_audio_key=new.key))
    db.session.execute(update(Recording).where(Recording.mastered_key == old_key).values(mastered_key=new.key))
    db.session.execute(update(Remaster).where(Remaster.result_key == old_key).values(result_key=new.key))


def _named_anywhere(key: str) -> bool:
    """Whether any row still names ``key`` (one written between the scan and the commit)."""
    columns = (Track.audio_key, ChapterText.aligned_audio_key, Recording.mastered_key,
               Recording.original_key, Remaster.result_key)
    return any(db.session.scalar(select(column).where(column == key).limit(1)) is not None for column in columns)
