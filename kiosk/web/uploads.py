"""Uploads: streamed straight to disk, capped while they stream, and never allowed to crowd out visitors.

Werkzeug asks the request class for a file to write each uploaded part into; ours
is a named temporary file in the store's scratch directory, so a finished take can
be hard-linked into the store (no second copy). Every spool a request opened is
closed, and so removed, when the request ends, whatever happened — a body refused
half-way included.

Three guards stand in front of every request that carries a body:

- a cap on its size, checked on ``Content-Length`` before a byte is read and counted
  while a chunked body streams (Werkzeug's ``max_content_length``): past it, 413;
- a limit on silence: a body that sends nothing for ``KIOSK_UPLOAD_IDLE_S`` seconds is
  dropped with 408, so stalled uploads cannot hold connections for ever;
- limits on uploads in flight (files, or bodies over 64 KiB), per address and in all, so
  uploads keep to a share of the worker's connections and pages, sign-ins, play reports
  and audio are served whatever uploads do;
- room on the disk: a body that would leave less than ``KIOSK_MIN_FREE_BYTES`` free is a
  507 before a byte is read, instead of a 500 when the disk fills half-way.

Refusals close the connection, so the server does not read the rest of the body.
"""

from __future__ import annotations

import contextlib
import json
import socket
import tempfile
import threading
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from flask import Flask, Request, current_app
from werkzeug.exceptions import RequestTimeout

from kiosk.storage import free_bytes, store

MULTIPART_OVERHEAD_BYTES = 64 * 1024
SMALL_BODY_BYTES = 64 * 1024  # forms and beacons are far smaller; anything larger is an upload
# Console imports send many files in one form: they get their own, larger cap.
BATCH_UPLOAD_PATHS = ("/admin/import",)
REFUSALS_THAT_CLOSE = ("408", "413", "429", "503", "507")


class KioskRequest(Request):
    """A request whose uploaded files are spooled to named files in the store's scratch dir."""

    _spools: list[IO[bytes]] | None = None

    def _get_file_stream(
        self, total_content_length: int | None, content_type: str | None,
        filename: str | None = None, content_length: int | None = None,
    ) -> IO[bytes]:
        spool = tempfile.NamedTemporaryFile(dir=store().scratch_dir(), prefix=".upload-")  # noqa: SIM115
        if self._spools is None:
            self._spools = []
        self._spools.append(spool)
        return spool

    @property
    def max_content_length(self) -> int | None:
        """The cap for this request's body: the batch cap for console imports, else the upload cap."""
        if self._max_content_length is not None or not current_app:
            return super().max_content_length
        config = current_app.config
        if config.get("MAX_CONTENT_LENGTH") is not None:  # set explicitly (tests, operators)
            return int(config["MAX_CONTENT_LENGTH"])
        if self.path.startswith(BATCH_UPLOAD_PATHS):
            return int(config["KIOSK_IMPORT_MAX_BYTES"]) + MULTIPART_OVERHEAD_BYTES
        return int(config["KIOSK_UPLOAD_MAX_BYTES"]) + MULTIPART_OVERHEAD_BYTES

    @max_content_length.setter
    def max_content_length(self, value: int | None) -> None:
        self._max_content_length = value

    def close(self) -> None:
        """Close (and so delete) every spool this request opened, parsed into ``files`` or not."""
        try:
            super().close()
        finally:
            for spool in self._spools or ():
                spool.close()
            self._spools = None


class IdleLimitedInput:
    """``wsgi.input`` whose reads give up after ``idle_s`` seconds without a byte (408)."""

    def __init__(self, stream: Any, sock: socket.socket | None, idle_s: float) -> None:
        self.stream = stream
        self.sock = sock
        self.idle_s = idle_s

    def _guarded(self, method: str, *args: Any) -> Any:
        if self.sock is None:
            return getattr(self.stream, method)(*args)
        previous = self.sock.gettimeout()
        self.sock.settimeout(self.idle_s)
        try:
            return getattr(self.stream, method)(*args)
        except TimeoutError as error:
            raise RequestTimeout(f"no data for {self.idle_s:g} s") from error
        finally:
            self.sock.settimeout(previous)

    def read(self, size: int = -1) -> bytes:
        return self._guarded("read", size)

    def readline(self, size: int = -1) -> bytes:
        return self._guarded("readline", size)

    def readlines(self, hint: int = -1) -> list[bytes]:
        return self._guarded("readlines", hint)

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.readline, b"")


class UploadGuard:
    """WSGI middleware: limits on bodies in flight, a limit on silence, refusals that close."""

    def __init__(self, wsgi_app: Any, config: Any) -> None:
        self.wsgi_app = wsgi_app
        self.config = config
        self.lock = threading.Lock()
        self.in_flight: Counter[str] = Counter()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if not _has_body(environ):
            return self.wsgi_app(environ, start_response)
        sock = environ.get("gunicorn.socket")
        idle_s = float(self.config["KIOSK_UPLOAD_IDLE_S"])
        if not _is_upload(environ):  # a sign-in form, a play report: capped and timed, never queued
            environ["wsgi.input"] = IdleLimitedInput(environ["wsgi.input"], sock, idle_s)
            return self.wsgi_app(environ, start_response)
        address = environ.get("REMOTE_ADDR") or "-"
        refusal = self._admit(address, _declared_length(environ))
        if refusal is not None:
            return _StopReading(_refuse(environ, start_response, *refusal), sock)
        environ["wsgi.input"] = IdleLimitedInput(environ["wsgi.input"], sock, idle_s)
        refused: list[bool] = []
        try:
            body = self.wsgi_app(environ, _noting_refusals(start_response, refused))
        finally:
            self._release(address)
        return _StopReading(body, sock) if refused else body

    def _admit(self, address: str, declared_bytes: int | None) -> tuple[str, str, str] | None:
        """Count the body in, or say why not (status, code, message)."""
        if not self._room_for(declared_bytes):
            return "507 Insufficient Storage", "no_space", "服务器存储空间不足，暂时不能上传。请稍后再试，或告诉馆员。"
        with self.lock:
            if self.in_flight[address] >= int(self.config["KIOSK_UPLOADS_PER_ADDRESS"]):
                return "429 Too Many Requests", "too_many_uploads", "上传太多了，请等前面的上传完成后再试。"
            if sum(self.in_flight.values()) >= int(self.config["KIOSK_UPLOADS_IN_FLIGHT"]):
                return "503 Service Unavailable", "busy", "现在上传的人很多，请过一会儿再试。"
            self.in_flight[address] += 1
        return None

    def _room_for(self, declared_bytes: int | None) -> bool:
        """Whether the data dir's disk can take this body and still keep ``KIOSK_MIN_FREE_BYTES`` free."""
        needed = declared_bytes if declared_bytes is not None else 0  # a chunked body is capped as it streams
        return free_bytes(Path(self.config["KIOSK_DATA_DIR"])) >= needed + int(self.config["KIOSK_MIN_FREE_BYTES"])

    def _release(self, address: str) -> None:
        with self.lock:
            self.in_flight[address] -= 1
            if self.in_flight[address] <= 0:
                del self.in_flight[address]


def _declared_length(environ: dict[str, Any]) -> int | None:
    try:
        return int(environ["CONTENT_LENGTH"]) if environ.get("CONTENT_LENGTH") else None
    except ValueError:
        return None


def _is_upload(environ: dict[str, Any]) -> bool:
    """Whether the body is an upload (a file, or large, or of unknown length), not a small form.

    Only uploads count against the limits on bodies in flight: otherwise stalled uploads
    would leave no room for a librarian's sign-in or a listener's play report.
    """
    if environ.get("CONTENT_TYPE", "").lower().startswith("multipart/"):
        return True
    declared = _declared_length(environ)
    return declared is None or declared > SMALL_BODY_BYTES


def _has_body(environ: dict[str, Any]) -> bool:
    """Whether the request carries a body (declared, or chunked)."""
    if environ.get("HTTP_TRANSFER_ENCODING", "").lower().strip().endswith("chunked"):
        return True
    try:
        return int(environ.get("CONTENT_LENGTH") or 0) > 0
    except ValueError:
        return True


def _noting_refusals(start_response: Any, refused: list[bool]) -> Any:
    """A ``start_response`` that notes a refusal and says the connection will close."""

    def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        if status[:3] in REFUSALS_THAT_CLOSE:
            refused.append(True)
            headers = [(k, v) for k, v in headers if k.lower() != "connection"] + [("Connection", "close")]
        return start_response(status, headers, exc_info)

    return start


class _StopReading:
    """A response body that, once sent, shuts the socket for reading.

    gunicorn ignores an application's ``Connection: close`` and, to reach the next
    request, would read and discard the rest of a refused body — all 11.7 GB of it.
    With reading shut down the drain ends at once and the connection closes.
    """

    def __init__(self, body: Iterable[bytes], sock: socket.socket | None) -> None:
        self.body = body
        self.sock = sock

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.body)

    def close(self) -> None:
        try:
            close = getattr(self.body, "close", None)
            if close is not None:
                close()
        finally:
            if self.sock is not None:
                with contextlib.suppress(OSError):
                    self.sock.shutdown(socket.SHUT_RD)


def _refuse(environ: dict[str, Any], start_response: Any, status: str, code: str, message: str) -> list[bytes]:
    """A refusal before the app runs: the same JSON shape as every API error, or a short page."""
    wants_json = environ.get("PATH_INFO", "").startswith("/api/") or "json" in environ.get("HTTP_ACCEPT", "")
    if wants_json:
        body = json.dumps({"error": code, "message": message}, ensure_ascii=False).encode()
        content_type = "application/json"
    else:
        body = f'<!doctype html><html lang="zh-CN"><meta charset="utf-8"><p>{message}</p></html>'.encode()
        content_type = "text/html; charset=utf-8"
    headers = [("Content-Type", content_type), ("Content-Length", str(len(body))), ("Connection", "close"),
               ("Retry-After", "30"), ("Cache-Control", "no-store")]
    start_response(status, headers)
    return [body]


def init_app(app: Flask) -> None:
    """Use our request class and guard every body before the app reads it."""
    app.request_class = KioskRequest
    app.wsgi_app = UploadGuard(app.wsgi_app, app.config)  # type: ignore[method-assign]
