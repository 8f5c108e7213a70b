"""The console's books: listing, creating, editing, covers, publishing, deleting."""

from __future__ import annotations

from typing import Any

from flask import abort, request
from flask_babel import gettext
from werkzeug.wrappers import Response

from kiosk.extensions import db
from kiosk.library import edits
from kiosk.library import trash as trash_service
from kiosk.library.changes import CatalogueError
from kiosk.media import streaming
from kiosk.models import Book, Section
from kiosk.storage import store
from kiosk.views.console import catalogue_forms as forms
from kiosk.views.console.catalogue.base import (
    actor,
    book_page,
    bp,
    field_error,
    get_or_404,
    live_book,
    page,
    saved,
    section_choices,
    valid_or_400,
)


@bp.get("/books")
def books() -> Response:
    """Books by section, a page at a time, with a filter by section and title.

    A malformed page number shows the first page and one past the end the last, as the
    visitor's section page does.
    """
    section_id = request.args.get("section", type=int)
    query = request.args.get("q", "").strip()[:64]
    listing = edits.books_listing(section_id, query, page=request.args.get("page", 1, type=int))
    return page("admin/catalogue/books.html", books=listing.books, listing=listing,
                sections=section_choices(), section_id=section_id, query=query)


@bp.get("/books/new")
def new_book() -> Response:
    """The form for a new book."""
    form = forms.BookForm(sections=section_choices(), section_id=request.args.get("section", type=int))
    return page("admin/catalogue/book_new.html", form=form)


@bp.post("/books/new")
def create_book() -> Response:
    """Add a book (with its own QR code) and go to its page to add chapters."""
    form = forms.BookForm(sections=section_choices())
    if not form.validate_on_submit():
        return page("admin/catalogue/book_new.html", 422, form=form)
    book = edits.create_book(get_or_404(Section, form.section_id.data), actor(), **_book_values(form))
    return saved(gettext("已创建《%(title)s》。", title=book.title), "admin_catalogue.book",
                 book_id=book.id)


def _book_values(form: forms.BookForm) -> dict[str, Any]:
    """A book's texts from its form ("" optional texts stored as empty or NULL as the model has)."""
    return {"title": form.title.data, "title_en": form.title_en.data or None,
            "author": form.author.data or "", "description": form.description.data or ""}


@bp.get("/books/<id:book_id>")
def book(book_id: int) -> Response:
    """A book in the console."""
    return book_page(live_book(book_id))


@bp.post("/books/<id:book_id>")
def update_book(book_id: int) -> Response:
    """Edit a book's texts and section."""
    found = live_book(book_id)
    form = forms.BookForm(sections=section_choices())
    if not form.validate_on_submit():
        return book_page(found, 422, form=form)
    edits.update_book(found, get_or_404(Section, form.section_id.data), actor(),
                                **_book_values(form))
    return saved(gettext("已保存。"), "admin_catalogue.book", book_id=found.id)


@bp.post("/books/<id:book_id>/cover")
def set_cover(book_id: int) -> Response:
    """Replace a book's cover with a resized, re-encoded copy of the uploaded image."""
    found = live_book(book_id)
    form = forms.CoverForm()
    if not form.validate_on_submit():
        return book_page(found, 422, cover_form=form)
    try:
        data = form.cover.data.read(edits.MAX_COVER_BYTES + 1)
        edits.set_cover(found, data, actor())
    except CatalogueError as error:
        db.session.rollback()
        field_error(form, error)
        return book_page(found, error.status, cover_form=form)
    return saved(gettext("已更换封面。"), "admin_catalogue.book", book_id=found.id)


@bp.get("/books/<id:book_id>/cover.jpg")
def cover_preview(book_id: int) -> Response:
    """The book's cover for the console, published or not (our own re-encoded JPEG)."""
    found = get_or_404(Book, book_id)
    if not found.cover_key or not store().exists(found.cover_key):
        abort(404)
    return streaming.send_media(request, store().path(found.cover_key), "image/jpeg", private=True)


@bp.post("/books/<id:book_id>/published")
def publish_book(book_id: int) -> Response:
    """Publish or unpublish a book."""
    form = valid_or_400(forms.PublishForm())
    found = live_book(book_id)
    edits.set_book_published(found, form.published.data == "1", actor())
    message = gettext("已发布。") if found.published else gettext("已下架。")
    return saved(message, "admin_catalogue.book", book_id=found.id)


@bp.post("/books/<id:book_id>/delete")
def delete_book(book_id: int) -> Response:
    """Move a book to the trash (an admin can restore it for 30 days)."""
    valid_or_400(forms.ActionForm())
    found = live_book(book_id)
    trash_service.trash_book(found, actor())
    return saved(gettext("《%(title)s》已移到回收站，30 天内可由管理员恢复。", title=found.title),
                 "admin_catalogue.books")
