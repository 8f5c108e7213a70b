"""The console's booth texts: what the booth's teleprompter offers, in order."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext
from werkzeug.wrappers import Response

from kiosk.booth import texts as booth_texts
from kiosk.library.changes import CatalogueError
from kiosk.models import BoothText
from kiosk.views.console import catalogue_forms as forms
from kiosk.views.console.catalogue.base import actor, bp, get_or_404, page, refused, saved, valid_or_400


@bp.get("/texts")
def texts() -> Response:
    """The texts offered at the booth's teleprompter, in order."""
    return page("admin/catalogue/texts.html", texts=booth_texts.texts_in_order())


@bp.get("/texts/new")
def new_text() -> Response:
    """The form for a new booth text."""
    return page("admin/catalogue/text.html", form=forms.TextForm(), text=None)


@bp.post("/texts/new")
def create_text() -> Response:
    """Add a booth text at the end of the list."""
    form = forms.TextForm()
    if not form.validate_on_submit():
        return page("admin/catalogue/text.html", 422, form=form, text=None)
    booth_texts.create_text(actor(), **_text_values(form))
    return saved(gettext("已添加。"), "admin_catalogue.texts")


def _text_values(form: forms.TextForm) -> dict[str, Any]:
    """A booth text's fields from its form."""
    return {"title": form.title.data, "author": form.author.data or "", "body": form.body.data}


@bp.get("/texts/<id:text_id>")
def text(text_id: int) -> Response:
    """A booth text's edit form."""
    found = get_or_404(BoothText, text_id)
    return page("admin/catalogue/text.html", form=forms.TextForm(obj=found), text=found)


@bp.post("/texts/<id:text_id>")
def update_text(text_id: int) -> Response:
    """Edit a booth text."""
    found = get_or_404(BoothText, text_id)
    form = forms.TextForm()
    if not form.validate_on_submit():
        return page("admin/catalogue/text.html", 422, form=form, text=found)
    booth_texts.update_text(found, actor(), **_text_values(form))
    return saved(gettext("已保存。"), "admin_catalogue.texts")


@bp.post("/texts/<id:text_id>/move")
def move_text(text_id: int) -> Response:
    """Move a booth text one place up or down."""
    form = valid_or_400(forms.MoveForm())
    booth_texts.move_text(get_or_404(BoothText, text_id), form.step, actor())
    return saved(gettext("已调整顺序。"), "admin_catalogue.texts")


@bp.post("/texts/<id:text_id>/published")
def publish_text(text_id: int) -> Response:
    """Offer or withdraw a booth text."""
    form = valid_or_400(forms.PublishForm())
    found = get_or_404(BoothText, text_id)
    booth_texts.set_text_published(found, form.published.data == "1", actor())
    return saved(gettext("已显示。") if found.published else gettext("已隐藏。"),
                 "admin_catalogue.texts")


@bp.post("/texts/<id:text_id>/delete")
def delete_text(text_id: int) -> Response:
    """Delete a booth text no take was read from."""
    valid_or_400(forms.ActionForm())
    try:
        booth_texts.delete_text(get_or_404(BoothText, text_id), actor())
    except CatalogueError as error:
        return refused(error, "admin_catalogue.texts")
    return saved(gettext("已删除。"), "admin_catalogue.texts")
