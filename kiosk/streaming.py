"""The one place audio (and cover) responses are built: RFC 9110 ranges, validators, caching.

Published media are immutable (a replaced recording gets a new key and URL), so a
response may be cached for a year, and a strong ETag derived from the key holds.
Under gunicorn the body is a ``wsgi.file_wrapper`` positioned at the range start
with an exact ``Content-Length``: gunicorn then hands it to ``sendfile()`` and no
byte of audio passes through Python.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from flask import Request, Response
from werkzeug.http import http_date, parse_date, quote_etag

IMMUTABLE_CACHE_CONTROL = "public, max-age=31536000, immutable"
CHUNK_BYTES = 64 * 1024
_SINGLE_RANGE = re.compile(r"^bytes[ \t]*=[ \t]*(\d*)[ \t]*-[ \t]*(\d*)[ \t]*$", re.IGNORECASE)


@dataclass(frozen=True)
class ByteRange:
    """An inclusive byte range ``first``–``last`` of a representation."""

    first: int
    last: int

    @property
    def length(self) -> int:
        """Number of bytes in the range."""
        return self.last - self.first + 1


class Unsatisfiable(Exception):
    """A syntactically valid range that selects nothing of the file (416)."""


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """The single range ``header`` selects from ``size`` bytes.

    Returns ``None`` when the whole file should be sent: no header, a malformed
    one, or several ranges (RFC 9110 lets a server ignore Range). Raises
    ``Unsatisfiable`` for a valid range outside the file.
    """
    if not header:
        return None
    match = _SINGLE_RANGE.match(header.strip())
    if match is None:
        return None
    first_text, last_text = match.groups()
    if not first_text and not last_text:
        return None
    if not first_text:  # suffix range: the last N bytes
        suffix_length = int(last_text)
        if suffix_length == 0 or size == 0:
            raise Unsatisfiable
        return ByteRange(max(0, size - suffix_length), size - 1)
    first = int(first_text)
    last = int(last_text) if last_text else size - 1
    if last_text and last < first:
        return None  # invalid range-spec: ignore the header
    if first >= size:
        raise Unsatisfiable
    return ByteRange(first, min(last, size - 1))


class _BoundedFile:
    """``length`` bytes of an open file from its current position: iterable, and file-like.

    As a file (``read``/``fileno``/``seek``) it can sit inside a server's
    ``wsgi.file_wrapper``: the server may ``sendfile()`` from the descriptor, and if it
    falls back to reading, it still reads only the range, never to the end of the file.
    """

    def __init__(self, handle: BinaryIO, length: int) -> None:
        self.handle = handle
        self.remaining = length

    def read(self, size: int = -1) -> bytes:
        """Up to ``size`` bytes, never past the range."""
        wanted = self.remaining if size < 0 else min(size, self.remaining)
        chunk = self.handle.read(wanted) if wanted > 0 else b""
        self.remaining -= len(chunk)
        return chunk

    def fileno(self) -> int:
        """The descriptor, for ``sendfile()`` (the server bounds it by Content-Length)."""
        return self.handle.fileno()

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        """Move the underlying file (servers restore the position after ``sendfile()``)."""
        return self.handle.seek(offset, whence)

    def __iter__(self) -> Iterator[bytes]:
        while chunk := self.read(CHUNK_BYTES):
            yield chunk

    def close(self) -> None:
        self.handle.close()


def _etag_for(path: Path, size: int) -> str:
    """A strong validator: the content key's digest (the file name) and the size."""
    return f"{path.stem}-{size:x}"


def _not_modified(request: Request, etag: str, modified: datetime) -> bool:
    """RFC 9110 §13.1.2/§13.1.3: If-None-Match wins over If-Modified-Since."""
    if_none_match = request.if_none_match
    if if_none_match:
        return if_none_match.contains_weak(etag)
    since = request.if_modified_since
    return since is not None and modified.replace(microsecond=0) <= since


def _if_range_allows(request: Request, etag: str, modified: datetime) -> bool:
    """Whether a Range may be honoured under the request's If-Range (RFC 9110 §13.1.5)."""
    raw = request.headers.get("If-Range")
    if not raw:
        return True
    raw = raw.strip()
    if raw.startswith(('"', "W/")):
        return raw == quote_etag(etag)  # strong comparison; a weak tag never matches
    when = parse_date(raw)
    return when is not None and when == modified.replace(microsecond=0)


def _body(request: Request, path: Path, span: ByteRange, size: int) -> object:
    """An iterable body for ``span``; a sendfile-able file wrapper where the server allows."""
    handle = path.open("rb")
    handle.seek(span.first)
    body = _BoundedFile(handle, span.length)
    wrapper = request.environ.get("wsgi.file_wrapper")
    return wrapper(body, CHUNK_BYTES) if wrapper is not None else body


def send_media(request: Request, path: Path, mime_type: str) -> Response:
    """A full, partial (206), 304 or 416 response for an immutable file at ``path``."""
    stat = os.stat(path)
    size = stat.st_size
    modified = datetime.fromtimestamp(int(stat.st_mtime), UTC)
    etag = _etag_for(path, size)
    headers = {
        "Accept-Ranges": "bytes",
        "ETag": quote_etag(etag),
        "Last-Modified": http_date(modified),
        "Cache-Control": IMMUTABLE_CACHE_CONTROL,
    }
    if _not_modified(request, etag, modified):
        return Response(status=304, headers=headers)
    try:
        span = parse_range(request.headers.get("Range"), size)
    except Unsatisfiable:
        headers["Content-Range"] = f"bytes */{size}"
        return Response(status=416, headers=headers)
    if span is not None and not _if_range_allows(request, etag, modified):
        span = None
    status = 200 if span is None else 206
    if span is None:
        span = ByteRange(0, size - 1)
    else:
        headers["Content-Range"] = f"bytes {span.first}-{span.last}/{size}"
    response = Response(status=status, headers=headers, mimetype=mime_type, direct_passthrough=True)
    response.content_length = max(span.length, 0)
    if request.method != "HEAD" and span.length > 0:
        response.response = _body(request, path, span, size)  # type: ignore[assignment]
    return response


def accel_redirect(prefix: str, key: str, mime_type: str) -> Response:
    """Hand the file to a front nginx (``X-Accel-Redirect``) after the app's checks passed."""
    response = Response(status=200, mimetype=mime_type)
    response.headers["X-Accel-Redirect"] = prefix.rstrip("/") + "/" + key
    response.headers["Cache-Control"] = IMMUTABLE_CACHE_CONTROL
    return response
