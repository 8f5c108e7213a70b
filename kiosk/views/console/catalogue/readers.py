"""The console's readers: their profiles, and merging a duplicate into another."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext, ngettext
from werkzeug.wrappers import Response

from kiosk.extensions import db
from kiosk.library import edits
from kiosk.library.changes import CatalogueError
from kiosk.models import Reader
from kiosk.views.console import catalogue_forms as forms
from kiosk.views.console.catalogue.base import actor, bp, field_error, get_or_404, page, saved


@bp.get("/readers")
def readers() -> Response:
    """Every reader and how many chapters they read."""
    return page("admin/catalogue/readers.html", readers=edits.readers_listing())


def _reader_page(reader: Reader, status: int = 200, **given: Any) -> Response:
    """A reader's profile form and the merge form."""
    others = [(r.id, r.name) for r, _n in edits.readers_listing() if r.id != reader.id]
    context = {"form": forms.ReaderForm(formdata=None, obj=reader),
               "merge_form": forms.MergeForm(formdata=None, readers=others), **given}
    return page("admin/catalogue/reader.html", status, reader=reader, has_others=bool(others),
                **context)


@bp.get("/readers/<id:reader_id>")
def reader(reader_id: int) -> Response:
    """A reader's profile."""
    return _reader_page(get_or_404(Reader, reader_id))


@bp.post("/readers/<id:reader_id>")
def update_reader(reader_id: int) -> Response:
    """Edit a reader's display name and bio."""
    found = get_or_404(Reader, reader_id)
    form = forms.ReaderForm()
    if form.validate_on_submit():
        try:
            edits.update_reader(found, form.name.data, form.bio.data or "", actor())
        except CatalogueError as error:
            db.session.rollback()
            field_error(form, error)
        else:
            return saved(gettext("已保存。"), "admin_catalogue.readers")
    return _reader_page(found, 422, form=form)


@bp.post("/readers/<id:reader_id>/merge")
def merge_reader(reader_id: int) -> Response:
    """Merge a duplicate reader into another: all chapters move, the duplicate goes."""
    found = get_or_404(Reader, reader_id)
    others = [(r.id, r.name) for r, _n in edits.readers_listing() if r.id != found.id]
    form = forms.MergeForm(readers=others)
    if not form.validate_on_submit():
        return _reader_page(found, 422, merge_form=form)
    keep = get_or_404(Reader, form.target.data)
    name, moved = found.name, edits.merge_readers(found, keep, actor())
    merged = ngettext("已把“%(a)s”合并到“%(b)s”（%(num)d 个章节）。",
                      "已把“%(a)s”合并到“%(b)s”（%(num)d 个章节）。", moved, a=name, b=keep.name)
    return saved(merged,
                 "admin_catalogue.readers")
