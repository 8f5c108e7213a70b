"""ETag and Last-Modified for generated documents whose every input cannot be dated.

A feed's ETag is a digest of its bytes. Its Last-Modified is when that digest was first
served: a chapter unpublished leaves no date anywhere in the catalogue, yet a podcast app
asking only ``If-Modified-Since`` must see the feed changed. The first sighting of each
feed's current digest is kept in a small file (written atomically, shared by every process).
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime
from pathlib import Path

from kiosk.storage import write_atomically

_NAME = re.compile(r"^[a-z0-9-]{1,80}$")


def digest(body: bytes) -> str:
    """A strong validator for ``body``."""
    return hashlib.sha256(body).hexdigest()[:32]


def first_seen(folder: Path, name: str, etag: str, now: datetime | None = None) -> datetime:
    """When ``name``'s document first had ``etag``; recorded now if it is new (whole seconds, UTC)."""
    if not _NAME.fullmatch(name):
        raise ValueError(f"not a feed name: {name!r}")
    record = folder / f"{name}.json"
    try:
        kept = json.loads(record.read_text())
        if kept.get("etag") == etag:
            return datetime.fromtimestamp(int(kept["since"]), UTC)
    except (FileNotFoundError, ValueError, KeyError, TypeError):
        pass
    since = (now or datetime.now(UTC)).replace(microsecond=0)
    write_atomically(record, json.dumps({"etag": etag, "since": int(since.timestamp())}))
    return since
