"""Booth originals: their MIME type, how long they are kept after a decision, and deleting expired ones."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import aliased

from kiosk.accounts import auth
from kiosk.extensions import db
from kiosk.models import Book, ChapterUpload, Decision, Recording, Track
from kiosk.storage import store

log = logging.getLogger(__name__)

KEEP_ORIGINALS = timedelta(days=30)  # after a decision; the trash period
# An original with no row is what a process killed between storing it and committing its row
# left; after this long no request that might still commit one is alive.
ORPHAN_AGE = timedelta(hours=1)
# The suffix an original is stored under (see takes.ORIGINAL_SUFFIXES) → its MIME type.
ORIGINAL_MIME = {
    "mp3": "audio/mpeg", "wav": "audio/wav", "flac": "audio/flac", "ogg": "audio/ogg",
    "m4a": "audio/mp4", "mp4": "audio/mp4", "webm": "audio/webm", "aac": "audio/aac",
    "caf": "audio/x-caf", "aiff": "audio/aiff",
}


def mime(key: str) -> str:
    """The MIME type of an original, from the suffix it was stored under (judged by probing)."""
    return ORIGINAL_MIME.get(key.rpartition(".")[2].lower(), "application/octet-stream")


def kept_until(row: Recording) -> datetime | None:
    """When a decided take's original may be deleted (``None`` while undecided)."""
    if row.decided_at is None or row.decision not in (Decision.APPROVED, Decision.REJECTED):
        return None
    return row.decided_at + KEEP_ORIGINALS


def present(row: Recording) -> bool:
    """Whether the take's original is still in the store."""
    return store().exists(row.original_key)


def expired_originals(now: datetime) -> list[str]:
    """Keys of originals whose every take was decided more than 30 days before ``now``.

    A key (content-addressed: the same upload twice is one file) is kept while any other
    take needs it — undecided, or decided within the period — or any catalogue row names it.
    """
    cutoff = now - KEEP_ORIGINALS
    other = aliased(Recording)
    still_needed = exists().where(
        other.original_key == Recording.original_key,
        or_(other.decided_at.is_(None), other.decided_at >= cutoff,
            other.decision.is_(None), other.decision == Decision.PENDING),
    )
    key = Recording.original_key
    in_catalogue = or_(
        exists().where(Track.audio_key == key),
        exists().where(or_(Book.cover_key == key, Book.cover_thumb_key == key)),
    )
    keys = db.session.scalars(
        select(key).distinct().where(
            Recording.decision.in_((Decision.APPROVED, Decision.REJECTED)),
            Recording.decided_at < cutoff, ~still_needed, ~in_catalogue,
        )
    )
    return [key for key in keys if store().exists(key)]


def purge_expired_originals(now: datetime) -> list[str]:
    """Delete the original files ``expired_originals`` names, auditing each; returns the keys."""
    keys = expired_originals(now)
    for key in keys:
        store().delete(key)
        auth.audit("original_deleted", target_kind="originals", target_id=key[-64:])
        log.info("deleted expired original %s", key)
    db.session.commit()
    return keys


def orphaned_originals(now: datetime) -> list[str]:
    """Keys of stored originals that no take or chapter upload names, older than ``ORPHAN_AGE``."""
    cutoff_s = (now - ORPHAN_AGE).replace(tzinfo=UTC).timestamp()
    named = set(db.session.scalars(select(Recording.original_key))) | set(
        db.session.scalars(select(ChapterUpload.original_key)))
    return [key for key, path in store().files("originals")
            if key not in named and path.stat().st_mtime < cutoff_s]


def purge_orphaned_originals(now: datetime) -> list[str]:
    """Delete the originals ``orphaned_originals`` names (nothing refers to them), logging each."""
    keys = orphaned_originals(now)
    for key in keys:
        store().delete(key)
        log.warning("deleted original %s: no take or upload names it", key)
    return keys
