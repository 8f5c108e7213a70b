"""The media store: immutable files addressed by backend-neutral keys.

The database keeps a key such as ``audio/3f/3fa9…c1.mp3``, never a path or a URL.
Only the filesystem backend exists today; an object-store backend would
implement the same few methods.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
import time
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import BinaryIO

from flask import Flask, current_app

KEY_PATTERN = re.compile(r"^(audio|covers|originals)/[0-9a-f]{2}/[0-9a-f]{16,64}\.[a-z0-9]{2,5}$")
HASH_CHUNK_BYTES = 1024 * 1024


class InvalidKeyError(ValueError):
    """A key that the store never hands out (and so must not be looked up)."""


def content_key(kind: str, digest_hex: str, suffix: str) -> str:
    """The key of content with SHA-256 ``digest_hex``; new content gets a new key."""
    key = f"{kind}/{digest_hex[:2]}/{digest_hex[:32]}.{suffix.lstrip('.').lower()}"
    validate_key(key)
    return key


def validate_key(key: str) -> None:
    """Refuse anything that is not a key this store could have made."""
    if not KEY_PATTERN.fullmatch(key):
        raise InvalidKeyError(key)


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(HASH_CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


class FileStore:
    """Media on the local filesystem (or a shared mount) under one root."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, key: str) -> Path:
        """The file behind ``key``; the key is validated, so no traversal is possible."""
        validate_key(key)
        return self.root / key

    def validate_relative(self, relative: str) -> None:
        """Refuse a path (from an archive) that is not a key this store could have made."""
        validate_key(relative)

    def exists(self, key: str) -> bool:
        """Whether the file behind ``key`` is present."""
        return self.path(key).is_file()

    def open(self, key: str) -> BinaryIO:
        """Open the file behind ``key`` for reading."""
        return self.path(key).open("rb")

    def put_file(self, source: Path, kind: str, suffix: str) -> str:
        """Copy ``source`` into the store atomically and return its content key."""
        key = content_key(kind, file_sha256(source), suffix)
        target = self.path(key)
        if target.exists():
            return key
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as out, source.open("rb") as src:
                shutil.copyfileobj(src, out, HASH_CHUNK_BYTES)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(tmp_name, 0o644)
            os.replace(tmp_name, target)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
        return key

    def adopt(self, source: Path, kind: str, suffix: str) -> str:
        """Move a finished temporary file on the store's filesystem into place, atomically.

        The file is hard-linked under its content key (no copy: a 1 GiB upload costs a
        hash, not a second write); ``source`` itself is left for its owner to remove.
        """
        key = content_key(kind, file_sha256(source), suffix)
        target = self.path(key)
        if target.exists():
            return key
        target.parent.mkdir(parents=True, exist_ok=True)
        staged = target.with_name(f".incoming-{os.getpid()}-{target.name}")
        staged.unlink(missing_ok=True)
        os.link(source, staged)
        os.chmod(staged, 0o644)
        os.replace(staged, target)
        return key

    def files(self, kind: str) -> Iterator[tuple[str, Path]]:
        """Every stored file of ``kind`` (``originals``, ``audio`` …) as (key, path)."""
        base = self.root / kind
        if base.is_dir():
            for path in base.rglob("*"):
                if path.is_file() and not path.name.startswith("."):
                    yield path.relative_to(self.root).as_posix(), path

    def sweep_leftovers(self, older_than_s: float, keep: Collection[Path] = ()) -> int:
        """Remove scratch entries and half-moved files untouched for ``older_than_s``; bytes freed.

        What a killed process leaves: upload spools, the pipeline's working folders, and
        ``.incoming-`` links that never reached their name. ``keep`` names scratch entries still
        wanted (import batches waiting for the worker).
        """
        cutoff = time.time() - older_than_s
        scratch = self.root / "tmp"
        candidates = [*scratch.iterdir()] if scratch.is_dir() else []
        imports = scratch / "imports"
        if imports.is_dir():
            candidates = [p for p in candidates if p != imports] + [*imports.iterdir()]
        candidates += [p for p in self.root.glob("*/??/.incoming-*")]
        freed = 0
        for path in candidates:
            if path in keep or _last_touched(path) >= cutoff:
                continue
            freed += _remove(path)
        return freed

    def scratch_dir(self) -> Path:
        """A directory on the store's filesystem for temporary files (renames stay atomic)."""
        path = self.root / "tmp"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def put_bytes(self, data: bytes, kind: str, suffix: str) -> str:
        """Store ``data`` atomically and return its content key."""
        with tempfile.NamedTemporaryFile(dir=self.root, delete=False) as tmp:
            tmp.write(data)
        try:
            return self.put_file(Path(tmp.name), kind, suffix)
        finally:
            Path(tmp.name).unlink(missing_ok=True)

    def delete(self, key: str) -> None:
        """Remove the file behind ``key`` if present."""
        self.path(key).unlink(missing_ok=True)

    def is_healthy(self) -> bool:
        """Whether the store's root is a writable directory."""
        return self.root.is_dir() and os.access(self.root, os.W_OK)


def free_bytes(folder: Path) -> int:
    """Free bytes on the disk that holds ``folder`` (or its nearest existing parent)."""
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return shutil.disk_usage(folder).free


def _last_touched(path: Path) -> float:
    """The newest modification time in ``path`` (a folder counts as touched when anything in it is)."""
    try:
        if not path.is_dir() or path.is_symlink():
            return path.lstat().st_mtime
        return max([path.lstat().st_mtime, *(p.lstat().st_mtime for p in path.rglob("*"))])
    except FileNotFoundError:
        return time.time()


def _remove(path: Path) -> int:
    """Delete a file or a folder; the bytes it held (0 if it was already gone)."""
    try:
        if path.is_dir() and not path.is_symlink():
            size = sum(p.lstat().st_size for p in path.rglob("*") if p.is_file())
            shutil.rmtree(path, ignore_errors=True)
            return size
        size = path.lstat().st_size
        path.unlink()
        return size
    except FileNotFoundError:
        return 0


def init_app(app: Flask) -> None:
    """Bind a store rooted at the configured data dir to ``app``."""
    app.extensions["kiosk_store"] = FileStore(Path(app.config["KIOSK_DATA_DIR"]))


def store() -> FileStore:
    """The current application's media store."""
    return current_app.extensions["kiosk_store"]


def write_atomically(target: Path, data: bytes | str, mode: int = 0o644) -> None:
    """Write ``data`` beside ``target`` and rename it into place: a reader sees the old file or the new, never half.

    ``str`` is written as UTF-8. ``mode`` is the file's permission bits (a credential gets 0o600).
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data.encode("utf-8") if isinstance(data, str) else data)
        os.chmod(temporary, mode)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
