"""Talking-book exports: a published book as DAISY 2.02 or numbered MP3s, a published section as one DAISY 2.02
book (section → book → chapter); each a streamed ZIP."""

from __future__ import annotations

from typing import NoReturn
from urllib.parse import quote

from flask import Blueprint, Flask, abort
from flask_babel import gettext
from werkzeug.exceptions import NotFound
from werkzeug.wrappers import Response

from kiosk.exports import archive, book, daisy
from kiosk.podcast.feeds import site_name
from kiosk.wall import qr

bp = Blueprint("exports", __name__)


def _zip_response(made: archive.Archive) -> Response:
    """Stream ``made`` with its exact length and a download name in UTF-8 (RFC 6266)."""
    response = Response(iter(made), mimetype="application/zip", direct_passthrough=True)
    response.content_length = made.size_bytes
    ascii_name = made.filename.encode("ascii", "ignore").decode().strip() or "book.zip"
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{ascii_name}"; filename*=UTF-8\'\'{quote(made.filename)}')
    response.headers["Cache-Control"] = "no-store"  # only published chapters, asked afresh
    return response


def _book(book_id: int) -> book.ExportedBook:
    found = book.published_book(book_id)
    if found is None:
        abort(404)
    return found


@bp.get("/books/<id:book_id>/daisy.zip")
def daisy_zip(book_id: int) -> Response:
    """The book as a DAISY 2.02 talking book, for the players blind readers borrow."""
    return _zip_response(archive.daisy_zip(daisy.of_book(_book(book_id)), site_name(qr.configured_base_url())))


@bp.get("/books/<id:book_id>/mp3.zip")
def mp3_zip(book_id: int) -> Response:
    """The book as numbered MP3s with an M3U playlist, for any player."""
    return _zip_response(archive.mp3_zip(_book(book_id)))


@bp.get("/sections/<slug>/daisy.zip")
def section_daisy_zip(slug: str) -> Response:
    """A whole section as one DAISY 2.02 talking book: its books in the section page's order, their chapters."""
    found = book.published_section(slug)
    if found is None:
        _not_found(gettext("没有找到这个栏目，它可能已被移动或下架。"))
    if not found.books:
        _not_found(gettext("这个栏目还没有上架的有声书。"))
    return _zip_response(archive.daisy_zip(daisy.of_section(found), site_name(qr.configured_base_url())))


def _not_found(message: str) -> NoReturn:
    """A 404 that tells the visitor why (the error page shows ``message``)."""
    error = NotFound()
    error.kiosk_message = message  # type: ignore[attr-defined]  # read by kiosk.web.errors
    raise error


def init_app(app: Flask) -> None:
    """Register the exports' routes."""
    app.register_blueprint(bp)
