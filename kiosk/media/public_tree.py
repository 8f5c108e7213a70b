"""The published-only tree: hard links to exactly the files visitors may fetch.

A front nginx cannot ask the database whether a chapter is still published, and asking
the app on every media request (X-Accel-Redirect) costs most of nginx's speed. So the app
keeps ``<store>/public/<key>``: a hard link (no copy) for every file visitors may fetch
(``visibility``: a visible chapter's audio, a visible book's covers), and nothing else. deploy/nginx.conf serves
``/media/<key>`` from this tree and hands whatever is absent to the app, which answers
from the database as always.

The tree follows the catalogue through the ORM: any flush that changes what visitors may
see (publication, trash, a replaced file, a moved book, a hidden section: every field
``visibility`` reads or keeps keys in) records the keys it touches, and right after the
commit those keys are linked or unlinked, before the librarian's request returns. So
unpublishing is a 404 at nginx's next request. Changes are applied under a lock and from
what the database holds after the commit, so two racing commits cannot leave a stale
link. A full resync at start-up and every ten minutes (``resync``) repairs anything a
crash between commit and unlink left behind.

A file missing from the tree costs speed only (nginx asks the app); a file wrongly
present would be served, so every failure to unlink is logged as an error.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import has_app_context
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from kiosk.extensions import db
from kiosk.library import visibility
from kiosk.models import Book, Section
from kiosk.storage import KEY_PATTERN, FileStore, store, validate_key

log = logging.getLogger(__name__)

TREE_DIR = "public"
LOCK_FILE = ".public.lock"  # beside the tree, never inside it: nginx serves only key-shaped paths
LOCK_POLL_S = 0.005
LOCK_WAIT_S = 60.0  # flock is released when its holder dies, so only a hung process is waited out
PENDING = "kiosk_public_media_pending"  # the session.info entry holding a transaction's changes



@dataclass
class Pending:
    """What one transaction changed that may change what visitors can fetch."""

    keys: set[str] = field(default_factory=set)
    book_ids: set[int] = field(default_factory=set)
    section_ids: set[int] = field(default_factory=set)

    def __bool__(self) -> bool:
        return bool(self.keys or self.book_ids or self.section_ids)


@dataclass(frozen=True)
class SyncReport:
    """What a reconciliation did."""

    published: int
    linked: int
    removed: int
    missing: int  # published, but the store has no file to link


class PublicTree:
    """``<store>/public``: the tree itself, as files (no database here)."""

    def __init__(self, media_store: FileStore) -> None:
        self.store = media_store
        self.root = media_store.root / TREE_DIR

    def path(self, key: str) -> Path:
        """Where ``key`` is linked when published; keys are validated, so no traversal."""
        validate_key(key)
        return self.root / key

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """One reconciliation at a time on this store (flock: across processes and NFS clients).

        The lock is polled rather than waited for: a blocking flock would stop a gevent
        worker's every other connection, while ``time.sleep`` there only pauses this one.
        """
        self.store.root.mkdir(parents=True, exist_ok=True)
        with (self.store.root / LOCK_FILE).open("a") as handle:
            deadline = time.monotonic() + LOCK_WAIT_S
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"{LOCK_FILE} held for over {LOCK_WAIT_S} s") from None
                    time.sleep(LOCK_POLL_S)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def link(self, key: str) -> bool:
        """Publish the store's file for ``key``; False when the store has no such file."""
        target = self.path(key)
        source = self.store.path(key)
        try:
            source_stat = source.stat()
        except FileNotFoundError:
            return False
        with contextlib.suppress(FileNotFoundError):
            if target.stat().st_ino == source_stat.st_ino:
                return True
        target.parent.mkdir(parents=True, exist_ok=True)
        staged = target.with_name(f".incoming-{os.getpid()}-{target.name}")
        staged.unlink(missing_ok=True)
        os.link(source, staged)
        os.replace(staged, target)  # atomic: nginx sees the old link or the new, never neither
        return True

    def unlink(self, key: str) -> bool:
        """Withdraw ``key``; True if it was there."""
        try:
            self.path(key).unlink()
        except FileNotFoundError:
            return False
        return True

    def present_keys(self) -> set[str]:
        """Every key linked in the tree now (stray names are ignored, never served)."""
        if not self.root.is_dir():
            return set()
        keys: set[str] = set()
        for folder, _dirs, files in os.walk(self.root):
            relative = Path(folder).relative_to(self.root)
            keys.update(key for name in files if KEY_PATTERN.fullmatch(key := f"{relative.as_posix()}/{name}"))
        return keys

    def apply(self, candidates: Iterable[str], visible: set[str]) -> SyncReport:
        """Link every candidate in ``visible`` and unlink every other one."""
        linked = removed = missing = published = 0
        for key in sorted(set(candidates)):
            if key in visible:
                published += 1
                if not self.path(key).exists():
                    if self.link(key):
                        linked += 1
                    else:
                        missing += 1
                        log.error("published file missing from the store: key=%s", key)
            elif self.unlink(key):
                removed += 1
        return SyncReport(published=published, linked=linked, removed=removed, missing=missing)


def tree() -> PublicTree:
    """The current application's published-only tree."""
    return PublicTree(store())


def reconcile(keys: Iterable[str] = (), book_ids: Iterable[int] = (), section_ids: Iterable[int] = ()) -> SyncReport:
    """Bring the given keys, and everything under the given books and sections, in line with the database."""
    public = tree()
    with public.locked(), db.engine.connect() as connection:
        candidates = _store_keys_only(set(keys) | visibility.keys_under(connection, book_ids, section_ids))
        visible = visibility.fetchable_keys(connection, candidates)
        return public.apply(candidates, visible)


def resync() -> SyncReport:
    """Make the whole tree match the database: every published file linked, nothing else."""
    public = tree()
    with public.locked(), db.engine.connect() as connection:
        visible = _store_keys_only(visibility.all_fetchable_keys(connection))
        return public.apply(visible | public.present_keys(), visible)


def _store_keys_only(keys: set[str]) -> set[str]:
    """``keys`` without values this store never hands out (a row edited by hand), which are logged."""
    valid = {key for key in keys if KEY_PATTERN.fullmatch(key)}
    for key in sorted(keys - valid):
        log.warning("a published row names %r, which is not a media key: not linked", key)
    return valid


# ---- following the catalogue's commits --------------------------------------------------


def _changed(instance: Any, fields: Iterable[str]) -> bool:
    """Whether any of ``fields`` changed in this flush."""
    attrs = inspect(instance).attrs
    return any(attrs[name].history.has_changes() for name in fields)


def _keys_held(instance: Any, fields: Iterable[str]) -> set[str]:
    """Every key ``fields`` held before this flush or hold now (the old file must go, the new come)."""
    attrs = inspect(instance).attrs
    keys: set[str] = set()
    for name in fields:
        history = attrs[name].history
        keys.update(v for v in (*history.added, *history.unchanged, *history.deleted) if isinstance(v, str))
    return keys


def _record(pending: Pending, instance: object, *, deleted: bool) -> None:
    """Note what ``instance``'s flush may change in the tree.

    Its own files' keys (old and new) always; a book's or a section's id too, since its
    change reaches every file under it.
    """
    model = type(instance)
    state_fields = visibility.STATE_FIELDS.get(model)
    if state_fields is None:
        return
    key_fields = visibility.key_fields(model)
    if not deleted and not _changed(instance, (*state_fields, *key_fields)):
        return
    pending.keys.update(_keys_held(instance, key_fields))
    if isinstance(instance, Book):
        pending.book_ids.add(instance.id)
    elif isinstance(instance, Section):
        pending.section_ids.add(instance.id)


def _after_flush(session: Session, _context: object) -> None:
    """Runs after the SQL of a flush, while the flushed objects still carry their history."""
    pending: Pending = session.info.setdefault(PENDING, Pending())
    for instance in (*session.new, *session.dirty):
        _record(pending, instance, deleted=False)
    for instance in session.deleted:
        _record(pending, instance, deleted=True)


def _after_commit(session: Session) -> None:
    pending: Pending | None = session.info.pop(PENDING, None)
    if not pending or not has_app_context():
        return
    try:
        report = reconcile(pending.keys, pending.book_ids, pending.section_ids)
    except Exception:  # the commit stands, so the request must not fail; the periodic resync repairs
        log.exception("published-only tree NOT updated after a commit: keys=%s books=%s sections=%s",
                      sorted(pending.keys), sorted(pending.book_ids), sorted(pending.section_ids))
        return
    if report.linked or report.removed:
        log.info("published-only tree: %d linked, %d removed", report.linked, report.removed)


def _after_rollback(session: Session) -> None:
    session.info.pop(PENDING, None)


def install() -> None:
    """Follow every ORM session's commits (once per process; calling again does nothing)."""
    if not event.contains(Session, "after_flush", _after_flush):
        event.listen(Session, "after_flush", _after_flush)
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_rollback", _after_rollback)
