"""Uploads stream straight to disk on the media store's filesystem, never whole into memory.

Werkzeug asks the request class for a file to write each uploaded part into; ours
is a named temporary file in the store's scratch directory, so a finished take can
be hard-linked into the store (no second copy) and the temporary name vanishes
when the request ends, whatever happened.
"""

from __future__ import annotations

import tempfile
from typing import IO

from flask import Flask, Request

from kiosk.storage import store

MAX_UPLOAD_BYTES = 300 * 1024 * 1024
MULTIPART_OVERHEAD_BYTES = 64 * 1024


class KioskRequest(Request):
    """A request whose uploaded files are spooled to named files in the store's scratch dir."""

    def _get_file_stream(
        self, total_content_length: int | None, content_type: str | None,
        filename: str | None = None, content_length: int | None = None,
    ) -> IO[bytes]:
        return tempfile.NamedTemporaryFile(dir=store().scratch_dir(), prefix=".upload-")


def init_app(app: Flask) -> None:
    """Use our request class and cap request bodies (a bigger upload is a 413)."""
    app.request_class = KioskRequest
    app.config.setdefault("MAX_CONTENT_LENGTH", MAX_UPLOAD_BYTES + MULTIPART_OVERHEAD_BYTES)
