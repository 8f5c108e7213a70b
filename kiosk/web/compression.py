"""Pages, styles, scripts and feeds compressed for phones on slow lines (Flask-Compress).

A book page's HTML is about 43 KiB, and at the 1.5 Mbit/s of a weak 4G line every 10 KiB is
another 55 ms before the first paint. Audio is never compressed (MP3 does not shrink, and
``/media/`` is answered before Flask sees it); nor is a partial (206) answer, whose
``Content-Range`` counts the file's bytes, not the compressed body's; nor the ZIP exports, whose
type is not a text one. Files sent from disk (styles, scripts, the service worker) are streamed
answers to Werkzeug, so streams are compressed too, and their conditional requests still meet
the compressed validators.
"""

from __future__ import annotations

from http import HTTPStatus

from flask import Flask, Response
from flask_compress import Compress

COMPRESSED_TYPES = [
    "text/html", "text/css", "text/javascript", "application/javascript", "application/json",
    "application/manifest+json", "application/xml", "application/rss+xml", "application/xhtml+xml",
    "application/oebps-package+xml", "image/svg+xml", "text/vtt", "text/plain", "text/xml",
]

compress = Compress()


def init_app(app: Flask) -> None:
    """Compress text answers; register this first, so it runs after every other after-request hook."""
    app.config.setdefault("COMPRESS_REGISTER", False)  # registered below, with the 206 guard
    app.config.setdefault("COMPRESS_MIMETYPES", COMPRESSED_TYPES)
    app.config.setdefault("COMPRESS_ALGORITHM", ["br", "gzip"])
    app.config.setdefault("COMPRESS_ALGORITHM_STREAMING", ["br", "gzip"])
    app.config.setdefault("COMPRESS_STREAMING_ENDPOINT_CONDITIONAL", ["static", "offline.service_worker"])
    compress.init_app(app)
    app.after_request(_compressed)


def _compressed(response: Response) -> Response:
    """The answer compressed for the client's ``Accept-Encoding``, unless it is partial."""
    if response.status_code == HTTPStatus.PARTIAL_CONTENT:
        return response
    return compress.after_request(response)
