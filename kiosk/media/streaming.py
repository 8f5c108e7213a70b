"""The one place audio (and cover) responses are built: RFC 9110 ranges, validators, caching.

Published media are immutable (a replaced recording gets a new key and URL), so a
response may be cached for a year, and a strong ETag derived from the key holds.
Under gunicorn the body is a ``wsgi.file_wrapper`` positioned at the range start
with an exact ``Content-Length``: gunicorn then hands it to ``sendfile()`` and no
byte of audio passes through Python.

Two doors lead here. ``MediaFastPath`` (installed by ``init_app``) answers a published
``GET``/``HEAD /media/<key>`` as a bare WSGI call: the same key validation, the same
question to ``visibility.fetchable_mime``, the same security headers, but
none of Flask's per-request machinery (contexts, session, limiter, Babel), which cost
three quarters of the CPU of a range request (measured: 0.64 → 0.15 ms). Everything it
does not answer itself — unknown or unpublished keys, a missing file, other methods —
falls through to the Flask view (``views/media.py``), which renders the 404 page and logs,
and which builds its response with the very same ``media_reply``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, BinaryIO

from flask import Flask, Request, Response
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.http import http_date, parse_date, parse_etags, quote_etag

from kiosk.storage import KEY_PATTERN
from kiosk.web.security import security_headers

IMMUTABLE_CACHE_CONTROL = "public, max-age=31536000, immutable"
PRIVATE_CACHE_CONTROL = "private, no-store"  # a volunteer's own take, the console's previews
CHUNK_BYTES = 64 * 1024
MEDIA_PREFIX = "/media/"
MAX_KEY_CHARS = 128
_SINGLE_RANGE = re.compile(r"^bytes[ \t]*=[ \t]*(\d*)[ \t]*-[ \t]*(\d*)[ \t]*$", re.IGNORECASE)
_STATUS_LINES = {200: "200 OK", 206: "206 Partial Content", 304: "304 Not Modified", 416: "416 Range Not Satisfiable"}

WSGIEnviron = dict[str, Any]
StartResponse = Callable[..., Any]
WSGIApp = Callable[[WSGIEnviron, StartResponse], Iterable[bytes]]


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


# ---- the reply: status, headers and the byte span to send ----------------------------------


@dataclass(frozen=True)
class MediaReply:
    """What to answer for a media request: status, headers, and the bytes of the body."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    span: ByteRange | None = None  # None: no body (HEAD, 304, 416, empty file)

    @property
    def status_line(self) -> str:
        """The WSGI status string."""
        return _STATUS_LINES[self.status]


@lru_cache(maxsize=1024)
def _last_modified(mtime_s: int) -> tuple[datetime, str]:
    """A file's modification time, whole seconds, and its HTTP date (cached: files are immutable)."""
    modified = datetime.fromtimestamp(mtime_s, UTC)
    return modified, http_date(modified)


def _not_modified(environ: WSGIEnviron, etag: str, modified: datetime) -> bool:
    """RFC 9110 §13.1.2/§13.1.3: If-None-Match wins over If-Modified-Since."""
    if_none_match = environ.get("HTTP_IF_NONE_MATCH")
    if if_none_match:
        return parse_etags(if_none_match).contains_weak(etag)
    since = parse_date(environ.get("HTTP_IF_MODIFIED_SINCE"))
    return since is not None and modified <= since


def _if_range_allows(environ: WSGIEnviron, etag: str, modified: datetime) -> bool:
    """Whether a Range may be honoured under the request's If-Range (RFC 9110 §13.1.5)."""
    raw = environ.get("HTTP_IF_RANGE")
    if not raw:
        return True
    raw = raw.strip()
    if raw.startswith(('"', "W/")):
        return raw == quote_etag(etag)  # strong comparison; a weak tag never matches
    when = parse_date(raw)
    return when is not None and when == modified


def media_reply(environ: WSGIEnviron, path: Path, mime_type: str, *, private: bool = False) -> MediaReply:
    """A full, partial (206), 304 or 416 reply for the immutable file at ``path``.

    ``private`` files (not published: nobody else may see them) are never stored by a cache.
    Raises ``OSError`` when the file cannot be found.
    """
    stat = os.stat(path)
    size = stat.st_size
    modified, modified_text = _last_modified(int(stat.st_mtime))
    etag = f"{path.stem}-{size:x}"  # the content key's digest and the size: a strong validator
    headers = [
        ("Accept-Ranges", "bytes"),
        ("ETag", f'"{etag}"'),
        ("Last-Modified", modified_text),
        ("Cache-Control", PRIVATE_CACHE_CONTROL if private else IMMUTABLE_CACHE_CONTROL),
    ]
    if _not_modified(environ, etag, modified):
        return MediaReply(304, headers)
    try:
        span = parse_range(environ.get("HTTP_RANGE"), size)
    except Unsatisfiable:
        return MediaReply(416, [*headers, ("Content-Range", f"bytes */{size}"), ("Content-Length", "0")])
    if span is not None and not _if_range_allows(environ, etag, modified):
        span = None
    status = 200 if span is None else 206
    if span is None:
        span = ByteRange(0, size - 1)
    else:
        headers.append(("Content-Range", f"bytes {span.first}-{span.last}/{size}"))
    headers += [("Content-Type", mime_type), ("Content-Length", str(max(span.length, 0)))]
    has_body = environ.get("REQUEST_METHOD") != "HEAD" and span.length > 0
    return MediaReply(status, headers, span if has_body else None)


def media_body(environ: WSGIEnviron, path: Path, span: ByteRange) -> Iterable[bytes]:
    """An iterable body for ``span``; a sendfile-able ``wsgi.file_wrapper`` where the server has one."""
    handle = path.open("rb")
    handle.seek(span.first)
    body = _BoundedFile(handle, span.length)
    wrapper = environ.get("wsgi.file_wrapper")
    return wrapper(body, CHUNK_BYTES) if wrapper is not None else body


def accel_headers(prefix: str, key: str, mime_type: str) -> list[tuple[str, str]]:
    """Headers handing the file to a front nginx (``X-Accel-Redirect``) after the app's checks passed."""
    return [
        ("X-Accel-Redirect", prefix.rstrip("/") + "/" + key),
        ("Cache-Control", IMMUTABLE_CACHE_CONTROL),
        ("Content-Type", mime_type),
        ("Content-Length", "0"),
    ]


# ---- the Flask door (views/media.py) ---------------------------------------------------------


def send_media(request: Request, path: Path, mime_type: str, *, private: bool = False) -> Response:
    """``media_reply`` as a Flask response (``private`` for anything not published)."""
    reply = media_reply(request.environ, path, mime_type, private=private)
    response = Response(status=reply.status, headers=reply.headers, direct_passthrough=True)
    if reply.span is not None:
        response.response = media_body(request.environ, path, reply.span)
    return response


def accel_redirect(prefix: str, key: str, mime_type: str) -> Response:
    """``accel_headers`` as a Flask response."""
    return Response(status=200, headers=accel_headers(prefix, key, mime_type))


# ---- the fast door: a WSGI middleware in front of Flask --------------------------------------


class MediaFastPath:
    """Answer published ``GET``/``HEAD /media/<key>`` without Flask; pass everything else on."""

    def __init__(self, app: Flask, inner: WSGIApp) -> None:
        self.app = app
        self.inner = inner
        self._engine: Engine | None = None

    def __call__(self, environ: WSGIEnviron, start_response: StartResponse) -> Iterable[bytes]:
        """The WSGI entry point."""
        path_info: str = environ.get("PATH_INFO", "")
        if path_info.startswith(MEDIA_PREFIX) and environ.get("REQUEST_METHOD") in ("GET", "HEAD"):
            answered = self._serve(path_info, environ, start_response)
            if answered is not None:
                return answered
        return self.inner(environ, start_response)

    def _serve(self, path_info: str, environ: WSGIEnviron, start_response: StartResponse) -> Iterable[bytes] | None:
        """The response for a published, present file; ``None`` lets Flask answer instead."""
        key = path_info[len(MEDIA_PREFIX) :]
        if len(key) > MAX_KEY_CHARS or not KEY_PATTERN.fullmatch(key):
            return None
        try:
            mime_type = self._published_mime(key)
        except SQLAlchemyError:
            return None  # the Flask view meets the same error and reports it properly
        if mime_type is None:
            return None
        config = self.app.config
        accel_prefix = config.get("KIOSK_ACCEL_REDIRECT")
        if accel_prefix:
            reply = MediaReply(200, accel_headers(accel_prefix, key, mime_type))
        else:
            file_path = self.app.extensions["kiosk_store"].root / key
            try:
                reply = media_reply(environ, file_path, mime_type)
            except OSError:
                return None  # the view logs the missing file and answers 404
        start_response(reply.status_line, reply.headers + self._security_headers(path_info))
        if reply.span is None:
            return []
        return media_body(environ, file_path, reply.span)

    def _published_mime(self, key: str) -> str | None:
        """``visibility.fetchable_mime`` on a bare pooled connection (no session, no app context).

        The very statements the view runs (built once in visibility.py): a session and an
        app context around them cost 0.19 ms, a pooled connection 0.06 ms.
        """
        from kiosk.library.visibility import fetchable_mime  # imported late: it loads the models

        with self.engine.connect() as connection:
            return fetchable_mime(key, connection)

    @property
    def engine(self) -> Engine:
        """The application's database engine (looked up once per process)."""
        if self._engine is None:
            from kiosk.extensions import db

            with self.app.app_context():
                self._engine = db.engine
        return self._engine

    def _security_headers(self, path_info: str) -> list[tuple[str, str]]:
        """The protective headers every response carries (``security.security_headers``)."""
        https = bool(self.app.config.get("SESSION_COOKIE_SECURE"))
        return list(security_headers(path_info, https=https).items())


def init_app(app: Flask) -> None:
    """Put the media fast path in front of the Flask application."""
    app.wsgi_app = MediaFastPath(app, app.wsgi_app)  # type: ignore[method-assign]
