"""The console's moderation queue: listen to booth takes, then approve, reject or master again."""

from __future__ import annotations

from typing import Any, cast

from flask import Blueprint, Flask, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from kiosk.accounts import auth
from kiosk.booth import moderation, originals
from kiosk.booth.remaster import request_remaster
from kiosk.ingest import mastering
from kiosk.jobs import tasks
from kiosk.media import streaming
from kiosk.models import Recording, RoomTone, User
from kiosk.storage import store
from kiosk.views.console.moderation_forms import (
    ApproveIntoBookForm,
    ApproveNewBookForm,
    RejectForm,
    RemasterForm,
    book_choices,
    section_choices,
)
from kiosk.web import console

bp = auth.protect_blueprint(Blueprint("admin_moderation", __name__, url_prefix="/admin/moderation"))

FORM_PREFIXES = {"book": "book-", "new": "new-", "reject": "reject-", "remaster": "remaster-"}


def _actor() -> User:
    """The signed-in librarian, as a model row."""
    return cast(User, current_user._get_current_object())


def _take_or_404(take_id: int) -> Recording:
    """The take ``take_id``, or a 404."""
    row = moderation.take(take_id)
    if row is None:
        abort(404)
    return row


def _forms(row: Recording, submitted: str | None = None) -> dict[str, FlaskForm]:
    """The take page's four forms; only the ``submitted`` one reads the request's form data."""
    def build(kind: str, form_class: type[FlaskForm], **defaults: Any) -> FlaskForm:
        formdata = None if kind != submitted else request.form
        return form_class(formdata=formdata, prefix=FORM_PREFIXES[kind], **defaults)

    forms = {
        "book": build("book", ApproveIntoBookForm, chapter_title=row.title),
        "new": build("new", ApproveNewBookForm, chapter_title=row.title, title=row.title),
        "reject": build("reject", RejectForm),
        "remaster": build("remaster", RemasterForm, target_lufs=round(mastering.house_preset().target_lufs)),
    }
    forms["book"].book_id.choices = book_choices(moderation.books_by_section())
    forms["new"].section_id.choices = section_choices(moderation.section_choices())
    return forms


def _take_page(row: Recording, forms: dict[str, FlaskForm], status: int = 200) -> Response:
    """The take's page with its forms (as typed, after a refused submit)."""
    page = render_template("admin/moderation/take.html", take=moderation.card(row), forms=forms)
    return Response(page, status=status, mimetype="text/html")


@bp.get("")
def queue() -> str:
    """Every take waiting for a decision, oldest first, with failed and recently decided ones."""
    return render_template(
        "admin/moderation/queue.html",
        pending=[moderation.card(row) for row in moderation.pending_takes()],
        failed=[moderation.card(row) for row in moderation.failed_takes()],
        decided=[moderation.card(row) for row in moderation.decided_takes()],
        keep_days=originals.KEEP_ORIGINALS.days,
    )


@bp.get("/<int:take_id>")
def take(take_id: int) -> Response:
    """One take: its report, both recordings, the reader's consent, and the decision forms."""
    row = _take_or_404(take_id)
    return _take_page(row, _forms(row))


def _refused(row: Recording, forms: dict[str, FlaskForm], kind: str, error: moderation.ModerationError) -> Response:
    """Show why a decision was refused: on the field, or as a message; 409 when already decided."""
    if isinstance(error, moderation.NotPending):
        flash(error.message, "error")
        return _take_page(row, _forms(row), status=409)
    field = getattr(forms[kind], error.field or "", None)
    if field is not None:
        field.errors = [*field.errors, error.message]
    else:
        flash(error.message, "error")
    return _take_page(row, forms, status=422)


def _published(track_id: int) -> Response:
    """Back to the queue after an approval, saying where the chapter is."""
    flash(gettext("已上架，访客现在就能听到。"), "success")
    return redirect(url_for("admin_moderation.queue", published=track_id), code=303)


@bp.post("/<int:take_id>/approve")
def approve_into_book(take_id: int) -> Response:
    """Publish the take as a chapter of an existing book, at the end or at a given place."""
    row = _take_or_404(take_id)
    forms = _forms(row, "book")
    form = cast(ApproveIntoBookForm, forms["book"])
    if not form.validate():
        return _take_page(row, forms, status=422)
    placement = moderation.Placement(
        chapter_title=form.chapter_title.data or "", book_id=form.book_id.data, position=form.chosen_position()
    )
    try:
        track = moderation.approve(take_id, placement, _actor())
    except moderation.ModerationError as error:
        return _refused(row, forms, "book", error)
    return _published(track.id)


@bp.post("/<int:take_id>/approve-new")
def approve_new_book(take_id: int) -> Response:
    """Publish the take as chapter 1 of a new book."""
    row = _take_or_404(take_id)
    forms = _forms(row, "new")
    form = cast(ApproveNewBookForm, forms["new"])
    if not form.validate():
        return _take_page(row, forms, status=422)
    placement = moderation.Placement(
        chapter_title=form.chapter_title.data or "", new_title=form.title.data or "",
        new_section_id=form.section_id.data, new_author=form.author.data or "",
    )
    try:
        track = moderation.approve(take_id, placement, _actor())
    except moderation.ModerationError as error:
        return _refused(row, forms, "new", error)
    return _published(track.id)


@bp.post("/<int:take_id>/reject")
def reject(take_id: int) -> Response:
    """Decline the take; the volunteer reads the reason on their take-home page."""
    row = _take_or_404(take_id)
    forms = _forms(row, "reject")
    form = cast(RejectForm, forms["reject"])
    if not form.validate():
        return _take_page(row, forms, status=422)
    try:
        moderation.reject(take_id, form.reason.data or "", _actor())
    except moderation.ModerationError as error:
        return _refused(row, forms, "reject", error)
    flash(gettext("已退回，录音者会在自己的页面上看到原因。"), "success")
    return redirect(url_for("admin_moderation.queue"), code=303)


@bp.post("/<int:take_id>/remaster")
def remaster(take_id: int) -> Response:
    """Master the untouched original again with another setting (in the background)."""
    row = _take_or_404(take_id)
    forms = _forms(row, "remaster")
    form = cast(RemasterForm, forms["remaster"])
    if not form.validate():
        return _take_page(row, forms, status=422)
    try:
        job = request_remaster(take_id, form.target_lufs.data, RoomTone(form.room_tone.data), _actor())
    except moderation.ModerationError as error:
        return _refused(row, forms, "remaster", error)
    tasks.enqueue_remaster(job.id)
    flash(gettext("已开始重新处理，完成后这里会显示新的录音和报告。"), "success")
    return redirect(url_for("admin_moderation.take", take_id=take_id), code=303)


@bp.get("/<int:take_id>/mastered.mp3")
def mastered_audio(take_id: int) -> Response:
    """The take's current master, with ranges (librarians only: it may not be published)."""
    row = _take_or_404(take_id)
    if row.mastered_key is None or not store().exists(row.mastered_key):
        abort(404)
    return streaming.send_media(request, store().path(row.mastered_key), mastering.MP3_MIME, private=True)


@bp.get("/<int:take_id>/original")
def original_audio(take_id: int) -> Response:
    """The volunteer's untouched original, as uploaded (kept until 30 days after the decision)."""
    row = _take_or_404(take_id)
    if not store().exists(row.original_key):
        abort(404)
    mime = originals.mime(row.original_key)
    return streaming.send_media(request, store().path(row.original_key), mime, private=True)


def init_app(app: Flask) -> None:
    """Register the blueprint and show the queue in the console's navigation."""
    app.register_blueprint(bp)
    console.add_action_labels(app, {
        "take_approved": _l("采用录音"), "take_rejected": _l("退回录音"),
        "take_remaster_requested": _l("重新处理录音"), "original_deleted": _l("删除到期的原始录音"),
    })
    console.add_area(app, "admin_moderation.queue", _l("审核录音"), _l("录音亭的新录音：试听、采用或退回"))
