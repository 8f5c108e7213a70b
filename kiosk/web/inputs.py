"""Input no database can hold is refused at the door: a NUL byte anywhere, a number past any id.

PostgreSQL cannot store a NUL in text and its INTEGER ends at 2³¹−1; SQLite accepts both.
Refusing them here, for every view, gives the same 400 on both databases instead of a 500
on one of them.
"""

from __future__ import annotations

from flask import Flask, request
from flask_babel import gettext
from werkzeug.wrappers import Response

from kiosk.web.converters import MAX_ID
from kiosk.web.errors import render_error

NUL = "\x00"
MAX_PAGE = 10_000  # far past any real catalogue's last page; offsets stay small numbers


def _has_nul() -> bool:
    """Whether the path, the query string or a form field carries a NUL character."""
    if NUL in request.path or "%00" in request.query_string.decode("latin-1").lower():
        return True
    if any(NUL in value for values in request.args.listvalues() for value in values):
        return True
    if request.method in ("POST", "PUT", "PATCH") and request.mimetype in (
        "application/x-www-form-urlencoded", "multipart/form-data"
    ):
        return any(NUL in value for values in request.form.listvalues() for value in values)
    return False


def _refuse_nul() -> Response | None:
    if _has_nul():
        return render_error(400, gettext("请求里有无法识别的字符，请检查后重试。"), "invalid_characters")
    return None


def id_arg(text: str) -> int:
    """A query argument that names a row: ASCII digits, 1 … 2³¹−1 (``type=`` for ``request.args.get``)."""
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_ID:
        raise ValueError(f"not an id: {text!r}")
    return int(text)


def page_arg(text: str) -> int:
    """A page number, 1 … ``MAX_PAGE`` (``type=`` for ``request.args.get``)."""
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_PAGE:
        raise ValueError(f"not a page: {text!r}")
    return int(text)


def init_app(app: Flask) -> None:
    """Check every request before its view runs."""
    app.before_request(_refuse_nul)
