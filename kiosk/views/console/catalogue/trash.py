"""The console's trash (admins only): what was deleted in the last 30 days, and restoring it."""

from __future__ import annotations

from flask_babel import gettext
from werkzeug.wrappers import Response

from kiosk.accounts import auth
from kiosk.library import trash as trash_service
from kiosk.library.changes import CatalogueError
from kiosk.models import Book, Track, utcnow
from kiosk.views.console import catalogue_forms as forms
from kiosk.views.console.catalogue.base import actor, bp, get_or_404, page, refused, saved, valid_or_400


@bp.get("/trash")
@auth.admin_required
def trash() -> Response:
    """What was deleted in the last 30 days, with a restore button each."""
    return page("admin/catalogue/trash.html", listing=trash_service.trash_listing(utcnow()),
                days=trash_service.TRASH_DAYS)


@bp.post("/trash/books/<id:book_id>/restore")
@auth.admin_required
def restore_book(book_id: int) -> Response:
    """Bring a book back from the trash."""
    valid_or_400(forms.ActionForm())
    found = get_or_404(Book, book_id)
    trash_service.restore_book(found, actor())
    return saved(gettext("已恢复《%(title)s》。", title=found.title), "admin_catalogue.trash")


@bp.post("/trash/tracks/<id:track_id>/restore")
@auth.admin_required
def restore_track(track_id: int) -> Response:
    """Bring a chapter back from the trash, to its old place."""
    valid_or_400(forms.ActionForm())
    found = get_or_404(Track, track_id)
    try:
        trash_service.restore_track(found, actor())
    except CatalogueError as error:
        return refused(error, "admin_catalogue.trash")
    return saved(gettext("已恢复“%(title)s”。", title=found.title), "admin_catalogue.trash")
