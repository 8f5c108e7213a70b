"""The catalogue console's blueprint and what its areas share: lookups, pages, answers."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar, cast

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user
from werkzeug.datastructures import FileStorage
from werkzeug.wrappers import Response

from kiosk.accounts import auth
from kiosk.extensions import db
from kiosk.ingest import chapter_uploads
from kiosk.library import catalogue, edits
from kiosk.library.changes import CatalogueError
from kiosk.models import Book, CodeTarget, Track, User
from kiosk.views.console import catalogue_forms as forms

bp = auth.protect_blueprint(Blueprint("admin_catalogue", __name__, url_prefix="/admin"))

M = TypeVar("M")
UPLOAD_PREFIX = "chapter"  # the new-chapter form shares the book page with the book's own form


def actor() -> User:
    """The signed-in account, as a model row."""
    return cast(User, current_user._get_current_object())


def get_or_404(model: type[M], row_id: int) -> M:
    """The row ``row_id`` of ``model``, or a 404."""
    found = db.session.get(model, row_id)
    if found is None:
        abort(404)
    return found


def live_book(book_id: int) -> Book:
    """A book that is not in the trash, or a 404."""
    book = get_or_404(Book, book_id)
    if book.deleted_at is not None:
        abort(404)
    return book


def live_track(track_id: int) -> Track:
    """A chapter that is not in the trash (nor is its book), or a 404."""
    track = get_or_404(Track, track_id)
    if track.deleted_at is not None or track.book.deleted_at is not None:
        abort(404)
    return track


def page(template: str, status: int = 200, **context: Any) -> Response:
    """A console page with ``status``."""
    return Response(render_template(template, **context), status=status, mimetype="text/html")


def saved(message: str, endpoint: str, **values: Any) -> Response:
    """Commit, say so, and go to ``endpoint`` (303, so a reload does not post again)."""
    db.session.commit()
    flash(message, "success")
    return redirect(url_for(endpoint, **values), code=303)


def refused(error: CatalogueError, endpoint: str, **values: Any) -> Response:
    """Undo, say why, and go back to ``endpoint``."""
    db.session.rollback()
    flash(error.message, "error")
    return redirect(url_for(endpoint, **values), code=303)


def field_error(form: Any, error: CatalogueError) -> None:
    """Show a service's refusal beside the input it concerns."""
    field = getattr(form, error.field or "", None)
    if field is None:
        form.form_errors.append(error.message)
    else:
        field.errors = [*field.errors, error.message]


def valid_or_400(form: Any) -> Any:
    """A button form that must validate (only a forged or stale request fails)."""
    if not form.validate_on_submit():
        abort(400)
    return form


def spooled(upload: FileStorage) -> Path:
    """The file Werkzeug streamed the upload into (see ``uploads.KioskRequest``)."""
    upload.stream.flush()
    return Path(upload.stream.name)


def section_choices() -> list[tuple[int, str]]:
    """Sections for a choice list, in wall order."""
    return [(s.id, s.name) for s in edits.sections_in_order()]


def reader_names() -> list[str]:
    """Every reader's name, for the "pick or type" reader inputs."""
    return [reader.name for reader, _count in edits.readers_listing()]


def book_page(book: Book, status: int = 200, **given: Any) -> Response:
    """A book's page: its edit form, cover, chapters, uploads in progress, new-chapter form."""
    context = {
        "form": forms.BookForm(formdata=None, obj=book, sections=section_choices()),
        "cover_form": forms.CoverForm(formdata=None),
        "upload_form": forms.UploadForm(formdata=None, prefix=UPLOAD_PREFIX), **given,
    }
    return page(
        "admin/catalogue/book.html", status, book=book, tracks=edits.live_tracks(book),
        uploads=chapter_uploads.pending_uploads(book), reader_names=reader_names(),
        code=catalogue.primary_code(CodeTarget.BOOK, book.id), **context,
    )
