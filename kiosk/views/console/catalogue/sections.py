"""The console's sections: the cards of the wall, their order, colour and visibility."""

from __future__ import annotations

from flask_babel import gettext
from werkzeug.wrappers import Response

from kiosk.library import catalogue, edits
from kiosk.models import CodeTarget, Section
from kiosk.views.console import catalogue_forms as forms
from kiosk.views.console.catalogue.base import actor, bp, get_or_404, page, saved, valid_or_400


@bp.get("/sections")
def sections() -> Response:
    """The nine cards of the wall: order, colour, visibility."""
    return page("admin/catalogue/sections.html", sections=edits.sections_in_order(),
                counts=edits.book_counts())


@bp.get("/sections/<id:section_id>")
def section(section_id: int) -> Response:
    """A section's edit form."""
    found = get_or_404(Section, section_id)
    return _section_page(found, forms.SectionForm(obj=found))


def _section_page(found: Section, form: forms.SectionForm, status: int = 200) -> Response:
    """A section's edit form page, with the palette and its printed code."""
    return page("admin/catalogue/section.html", status, section=found, form=form,
                palette=edits.PALETTE,
                code=catalogue.primary_code(CodeTarget.SECTION, found.id))


@bp.post("/sections/<id:section_id>")
def update_section(section_id: int) -> Response:
    """Rename, describe, colour a section; the printed code keeps pointing at it."""
    found = get_or_404(Section, section_id)
    form = forms.SectionForm()
    if not form.validate_on_submit():
        return _section_page(found, form, 422)
    values = {name: form[name].data or "" for name in
              ("name", "name_en", "description", "description_en", "colour", "icon")}
    values["name_en"] = values["name_en"] or None
    values["description_en"] = values["description_en"] or None
    edits.update_section(found, actor(), **values)
    return saved(gettext("已保存栏目“%(name)s”。", name=found.name), "admin_catalogue.sections")


@bp.post("/sections/<id:section_id>/move")
def move_section(section_id: int) -> Response:
    """Move a card one place earlier or later on the wall."""
    form = valid_or_400(forms.MoveForm())
    edits.move_section(get_or_404(Section, section_id), form.step, actor())
    return saved(gettext("已调整顺序。"), "admin_catalogue.sections")


@bp.post("/sections/<id:section_id>/published")
def publish_section(section_id: int) -> Response:
    """Show or hide a section's card."""
    form = valid_or_400(forms.PublishForm())
    found = get_or_404(Section, section_id)
    edits.set_section_published(found, form.published.data == "1", actor())
    message = gettext("已显示。") if found.published else gettext("已隐藏。")
    return saved(message, "admin_catalogue.sections")
