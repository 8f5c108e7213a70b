"""The console's catalogue: sections, books, chapters, readers, booth texts, and the trash.

Every change goes through ``kiosk.catalogue_admin`` (which audits it) and is committed once
here. Invalid input re-renders the page with the reason and what was typed (422, or the
upload's own status); buttons are small CSRF-carrying forms that answer with a 303.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar, cast

from flask import Blueprint, Flask, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.datastructures import FileStorage
from werkzeug.wrappers import Response

from .. import auth, catalogue, catalogue_admin, jobs, streaming
from ..catalogue_admin import CatalogueError
from ..extensions import db
from ..models import Book, BoothText, ChapterUpload, CodeTarget, Reader, Section, TakeStatus, Track, User, utcnow
from ..storage import store
from . import admin_catalogue_forms as forms

bp = auth.protect_blueprint(Blueprint("admin_catalogue", __name__, url_prefix="/admin"))

M = TypeVar("M")
UPLOAD_PREFIX = "chapter"  # the new-chapter form shares the book page with the book's own form


# ---- helpers ----------------------------------------------------------------------------


def _actor() -> User:
    """The signed-in account, as a model row."""
    return cast(User, current_user._get_current_object())  # type: ignore[attr-defined]


def _get(model: type[M], row_id: int) -> M:
    """The row ``row_id`` of ``model``, or a 404."""
    found = db.session.get(model, row_id)
    if found is None:
        abort(404)
    return found


def _live_book(book_id: int) -> Book:
    """A book that is not in the trash, or a 404."""
    book = _get(Book, book_id)
    if book.deleted_at is not None:
        abort(404)
    return book


def _live_track(track_id: int) -> Track:
    """A chapter that is not in the trash (nor is its book), or a 404."""
    track = _get(Track, track_id)
    if track.deleted_at is not None or track.book.deleted_at is not None:
        abort(404)
    return track


def _page(template: str, status: int = 200, **context: Any) -> Response:
    """A console page with ``status``."""
    return Response(render_template(template, **context), status=status, mimetype="text/html")


def _saved(message: str, endpoint: str, **values: Any) -> Response:
    """Commit, say so, and go to ``endpoint`` (303, so a reload does not post again)."""
    db.session.commit()
    flash(message, "success")
    return redirect(url_for(endpoint, **values), code=303)


def _refused(error: CatalogueError, endpoint: str, **values: Any) -> Response:
    """Undo, say why, and go back to ``endpoint``."""
    db.session.rollback()
    flash(error.message, "error")
    return redirect(url_for(endpoint, **values), code=303)


def _field_error(form: Any, error: CatalogueError) -> None:
    """Show a service's refusal beside the input it concerns."""
    field = getattr(form, error.field or "", None)
    if field is None:
        form.form_errors.append(error.message)
    else:
        field.errors = [*field.errors, error.message]


def _valid_or_400(form: Any) -> Any:
    """A button form that must validate (only a forged or stale request fails)."""
    if not form.validate_on_submit():
        abort(400)
    return form


def _spooled(upload: FileStorage) -> Path:
    """The file Werkzeug streamed the upload into (see ``uploads.KioskRequest``)."""
    upload.stream.flush()
    return Path(upload.stream.name)  # type: ignore[union-attr]


def _section_choices() -> list[tuple[int, str]]:
    """Sections for a choice list, in wall order."""
    return [(s.id, s.name) for s in catalogue_admin.sections_in_order()]


# ---- sections ---------------------------------------------------------------------------


@bp.get("/sections")
def sections() -> Response:
    """The nine cards of the wall: order, colour, visibility."""
    return _page("admin/catalogue/sections.html", sections=catalogue_admin.sections_in_order(),
                 counts=catalogue_admin.book_counts())


@bp.get("/sections/<id:section_id>")
def section(section_id: int) -> Response:
    """A section's edit form."""
    found = _get(Section, section_id)
    return _section_page(found, forms.SectionForm(obj=found))


def _section_page(found: Section, form: forms.SectionForm, status: int = 200) -> Response:
    return _page("admin/catalogue/section.html", status, section=found, form=form,
                 palette=catalogue_admin.PALETTE,
                 code=catalogue.primary_code(CodeTarget.SECTION, found.id))


@bp.post("/sections/<id:section_id>")
def update_section(section_id: int) -> Response:
    """Rename, describe, colour a section; the printed code keeps pointing at it."""
    found = _get(Section, section_id)
    form = forms.SectionForm()
    if not form.validate_on_submit():
        return _section_page(found, form, 422)
    values = {name: form[name].data or "" for name in
              ("name", "name_en", "description", "description_en", "colour", "icon")}
    values["name_en"] = values["name_en"] or None
    values["description_en"] = values["description_en"] or None
    catalogue_admin.update_section(found, _actor(), **values)
    return _saved(gettext("已保存分区“%(name)s”。", name=found.name), "admin_catalogue.sections")


@bp.post("/sections/<id:section_id>/move")
def move_section(section_id: int) -> Response:
    """Move a card one place earlier or later on the wall."""
    form = _valid_or_400(forms.MoveForm())
    catalogue_admin.move_section(_get(Section, section_id), form.step, _actor())
    return _saved(gettext("已调整顺序。"), "admin_catalogue.sections")


@bp.post("/sections/<id:section_id>/published")
def publish_section(section_id: int) -> Response:
    """Show or hide a section's card."""
    form = _valid_or_400(forms.PublishForm())
    found = _get(Section, section_id)
    catalogue_admin.set_section_published(found, form.published.data == "1", _actor())
    message = gettext("已显示。") if found.published else gettext("已隐藏。")
    return _saved(message, "admin_catalogue.sections")


# ---- books ------------------------------------------------------------------------------


@bp.get("/books")
def books() -> Response:
    """Books by section, with a filter by section and title."""
    section_id = request.args.get("section", type=int)
    query = request.args.get("q", "").strip()[:64]
    return _page("admin/catalogue/books.html", books=catalogue_admin.books_listing(section_id, query),
                 sections=_section_choices(), section_id=section_id, query=query)


@bp.get("/books/new")
def new_book() -> Response:
    """The form for a new book."""
    form = forms.BookForm(sections=_section_choices(), section_id=request.args.get("section", type=int))
    return _page("admin/catalogue/book_new.html", form=form)


@bp.post("/books/new")
def create_book() -> Response:
    """Add a book (with its own QR code) and go to its page to add chapters."""
    form = forms.BookForm(sections=_section_choices())
    if not form.validate_on_submit():
        return _page("admin/catalogue/book_new.html", 422, form=form)
    book = catalogue_admin.create_book(_get(Section, form.section_id.data), _actor(), **_book_values(form))
    return _saved(gettext("已创建《%(title)s》。", title=book.title), "admin_catalogue.book",
                  book_id=book.id)


def _book_values(form: forms.BookForm) -> dict[str, Any]:
    """A book's texts from its form ("" optional texts stored as empty or NULL as the model has)."""
    return {"title": form.title.data, "title_en": form.title_en.data or None,
            "author": form.author.data or "", "description": form.description.data or ""}


def _book_page(book: Book, status: int = 200, **given: Any) -> Response:
    """A book's page: its edit form, cover, chapters, uploads in progress, new-chapter form."""
    context = {
        "form": forms.BookForm(formdata=None, obj=book, sections=_section_choices()),
        "cover_form": forms.CoverForm(formdata=None),
        "upload_form": forms.UploadForm(formdata=None, prefix=UPLOAD_PREFIX), **given,
    }
    return _page(
        "admin/catalogue/book.html", status, book=book, tracks=catalogue_admin.live_tracks(book),
        uploads=catalogue_admin.pending_uploads(book), reader_names=_reader_names(),
        code=catalogue.primary_code(CodeTarget.BOOK, book.id), **context,
    )


def _reader_names() -> list[str]:
    """Every reader's name, for the "pick or type" reader inputs."""
    return [reader.name for reader, _count in catalogue_admin.readers_listing()]


@bp.get("/books/<id:book_id>")
def book(book_id: int) -> Response:
    """A book in the console."""
    return _book_page(_live_book(book_id))


@bp.post("/books/<id:book_id>")
def update_book(book_id: int) -> Response:
    """Edit a book's texts and section."""
    found = _live_book(book_id)
    form = forms.BookForm(sections=_section_choices())
    if not form.validate_on_submit():
        return _book_page(found, 422, form=form)
    catalogue_admin.update_book(found, _get(Section, form.section_id.data), _actor(),
                                **_book_values(form))
    return _saved(gettext("已保存。"), "admin_catalogue.book", book_id=found.id)


@bp.post("/books/<id:book_id>/cover")
def set_cover(book_id: int) -> Response:
    """Replace a book's cover with a resized, re-encoded copy of the uploaded image."""
    found = _live_book(book_id)
    form = forms.CoverForm()
    if not form.validate_on_submit():
        return _book_page(found, 422, cover_form=form)
    try:
        data = form.cover.data.read(catalogue_admin.MAX_COVER_BYTES + 1)
        catalogue_admin.set_cover(found, data, _actor())
    except CatalogueError as error:
        db.session.rollback()
        _field_error(form, error)
        return _book_page(found, error.status, cover_form=form)
    return _saved(gettext("已更换封面。"), "admin_catalogue.book", book_id=found.id)


@bp.get("/books/<id:book_id>/cover.jpg")
def cover_preview(book_id: int) -> Response:
    """The book's cover for the console, published or not (our own re-encoded JPEG)."""
    found = _get(Book, book_id)
    if not found.cover_key or not store().exists(found.cover_key):
        abort(404)
    return streaming.send_media(request, store().path(found.cover_key), "image/jpeg")


@bp.post("/books/<id:book_id>/published")
def publish_book(book_id: int) -> Response:
    """Publish or unpublish a book."""
    form = _valid_or_400(forms.PublishForm())
    found = _live_book(book_id)
    catalogue_admin.set_book_published(found, form.published.data == "1", _actor())
    message = gettext("已发布。") if found.published else gettext("已下架。")
    return _saved(message, "admin_catalogue.book", book_id=found.id)


@bp.post("/books/<id:book_id>/delete")
def delete_book(book_id: int) -> Response:
    """Move a book to the trash (an admin can restore it for 30 days)."""
    _valid_or_400(forms.ActionForm())
    found = _live_book(book_id)
    catalogue_admin.trash_book(found, _actor())
    return _saved(gettext("《%(title)s》已移到回收站,30 天内可由管理员恢复。", title=found.title),
                  "admin_catalogue.books")


# ---- chapters ---------------------------------------------------------------------------


@bp.post("/books/<id:book_id>/tracks")
def upload_track(book_id: int) -> Response:
    """Add a chapter from an uploaded recording: checked now, mastered by the job queue."""
    found = _live_book(book_id)
    form = forms.UploadForm(prefix=UPLOAD_PREFIX)
    if not form.validate_on_submit():
        return _book_page(found, 422, upload_form=form)
    try:
        upload = catalogue_admin.queue_upload(
            found, _spooled(form.audio.data), original_name=form.audio.data.filename or "",
            title=form.title.data, reader_name=form.reader.data or "",
            keep_as_is=bool(form.keep_as_is.data), actor=_actor(),
        )
    except CatalogueError as error:
        db.session.rollback()
        _field_error(form, error)
        return _book_page(found, error.status, upload_form=form)
    return _queued(upload)


def _queued(upload: ChapterUpload) -> Response:
    """Commit an upload, queue its mastering, and say where it stands (done at once in tests)."""
    db.session.commit()
    upload_id, book_id = upload.id, upload.book_id
    jobs.enqueue_chapter_upload(upload_id)
    db.session.expire_all()
    done = db.session.get(ChapterUpload, upload_id)
    if done is not None and done.status is TakeStatus.DONE:
        flash(" ".join(filter(None, [gettext("录音已处理完毕。"), done.note])), "success")
    elif done is not None and done.status is TakeStatus.FAILED:
        flash(done.error_message or gettext("处理录音时出错，请重新上传或联系管理员。"), "error")
    else:
        flash(gettext("已收到录音，正在后台处理；完成后会出现在章节列表里。"), "success")
    return redirect(url_for("admin_catalogue.book", book_id=book_id), code=303)


@bp.post("/books/<id:book_id>/order")
def order_tracks(book_id: int) -> Response:
    """Put the chapters in the order sent by drag and drop (a comma-separated id list)."""
    found = _live_book(book_id)
    form = _valid_or_400(forms.OrderForm())
    ids = form.ids()
    if ids is None:
        abort(400)
    try:
        catalogue_admin.reorder_tracks(found, ids, _actor())
    except CatalogueError as error:
        return _refused(error, "admin_catalogue.book", book_id=found.id)
    return _saved(gettext("已调整顺序。"), "admin_catalogue.book", book_id=found.id)


def _track_page(track: Track, status: int = 200, **given: Any) -> Response:
    """A chapter's page: rename, reader, replace audio, listen."""
    context = {
        "form": forms.TrackForm(formdata=None, data={
            "title": track.title, "reader": track.reader.name if track.reader else ""}),
        "audio_form": forms.ReplaceAudioForm(formdata=None), **given,
    }
    return _page("admin/catalogue/track.html", status, track=track, reader_names=_reader_names(),
                 uploads=[u for u in catalogue_admin.pending_uploads(track.book)
                          if u.replace_track_id == track.id], **context)


@bp.get("/tracks/<id:track_id>")
def track(track_id: int) -> Response:
    """A chapter in the console."""
    return _track_page(_live_track(track_id))


@bp.post("/tracks/<id:track_id>")
def update_track(track_id: int) -> Response:
    """Rename a chapter, set its reader."""
    found = _live_track(track_id)
    form = forms.TrackForm()
    if not form.validate_on_submit():
        return _track_page(found, 422, form=form)
    catalogue_admin.update_track(found, form.title.data, form.reader.data or "", _actor())
    return _saved(gettext("已保存。"), "admin_catalogue.book", book_id=found.book_id)


@bp.get("/tracks/<id:track_id>/audio")
def track_audio(track_id: int) -> Response:
    """A chapter's audio for the console, published or not, with ranges."""
    found = _get(Track, track_id)
    if not store().exists(found.audio_key):
        abort(404)
    return streaming.send_media(request, store().path(found.audio_key), found.mime_type)


@bp.post("/tracks/<id:track_id>/audio")
def replace_audio(track_id: int) -> Response:
    """Replace a chapter's recording: a new file at a new address; the old file stays."""
    found = _live_track(track_id)
    form = forms.ReplaceAudioForm()
    if not form.validate_on_submit():
        return _track_page(found, 422, audio_form=form)
    try:
        upload = catalogue_admin.queue_upload(
            found.book, _spooled(form.audio.data), original_name=form.audio.data.filename or "",
            title=found.title, reader_name=found.reader.name if found.reader else "",
            keep_as_is=bool(form.keep_as_is.data), actor=_actor(), replace=found,
        )
    except CatalogueError as error:
        db.session.rollback()
        _field_error(form, error)
        return _track_page(found, error.status, audio_form=form)
    return _queued(upload)


@bp.post("/tracks/<id:track_id>/move")
def move_track(track_id: int) -> Response:
    """Move a chapter one place up or down."""
    form = _valid_or_400(forms.MoveForm())
    found = _live_track(track_id)
    catalogue_admin.move_track(found, form.step, _actor())
    return _saved(gettext("已调整顺序。"), "admin_catalogue.book", book_id=found.book_id)


@bp.post("/tracks/<id:track_id>/published")
def publish_track(track_id: int) -> Response:
    """Publish or unpublish a chapter."""
    form = _valid_or_400(forms.PublishForm())
    found = _live_track(track_id)
    catalogue_admin.set_track_published(found, form.published.data == "1", _actor())
    message = gettext("已发布。") if found.published else gettext("已下架。")
    return _saved(message, "admin_catalogue.book", book_id=found.book_id)


@bp.post("/tracks/<id:track_id>/delete")
def delete_track(track_id: int) -> Response:
    """Move a chapter to the trash."""
    _valid_or_400(forms.ActionForm())
    found = _live_track(track_id)
    catalogue_admin.trash_track(found, _actor())
    return _saved(gettext("“%(title)s”已移到回收站,30 天内可由管理员恢复。", title=found.title),
                  "admin_catalogue.book", book_id=found.book_id)


# ---- readers ----------------------------------------------------------------------------


@bp.get("/readers")
def readers() -> Response:
    """Every reader and how many chapters they read."""
    return _page("admin/catalogue/readers.html", readers=catalogue_admin.readers_listing())


def _reader_page(reader: Reader, status: int = 200, **given: Any) -> Response:
    """A reader's profile form and the merge form."""
    others = [(r.id, r.name) for r, _n in catalogue_admin.readers_listing() if r.id != reader.id]
    context = {"form": forms.ReaderForm(formdata=None, obj=reader),
               "merge_form": forms.MergeForm(formdata=None, readers=others), **given}
    return _page("admin/catalogue/reader.html", status, reader=reader, has_others=bool(others),
                 **context)


@bp.get("/readers/<id:reader_id>")
def reader(reader_id: int) -> Response:
    """A reader's profile."""
    return _reader_page(_get(Reader, reader_id))


@bp.post("/readers/<id:reader_id>")
def update_reader(reader_id: int) -> Response:
    """Edit a reader's display name and bio."""
    found = _get(Reader, reader_id)
    form = forms.ReaderForm()
    if form.validate_on_submit():
        try:
            catalogue_admin.update_reader(found, form.name.data, form.bio.data or "", _actor())
        except CatalogueError as error:
            db.session.rollback()
            _field_error(form, error)
        else:
            return _saved(gettext("已保存。"), "admin_catalogue.readers")
    return _reader_page(found, 422, form=form)


@bp.post("/readers/<id:reader_id>/merge")
def merge_reader(reader_id: int) -> Response:
    """Merge a duplicate reader into another: all chapters move, the duplicate goes."""
    found = _get(Reader, reader_id)
    others = [(r.id, r.name) for r, _n in catalogue_admin.readers_listing() if r.id != found.id]
    form = forms.MergeForm(readers=others)
    if not form.validate_on_submit():
        return _reader_page(found, 422, merge_form=form)
    keep = _get(Reader, form.target.data)
    name, moved = found.name, catalogue_admin.merge_readers(found, keep, _actor())
    return _saved(gettext("已把“%(a)s”合并到“%(b)s”(%(n)d 个章节)。", a=name, b=keep.name, n=moved),
                  "admin_catalogue.readers")


# ---- booth texts ------------------------------------------------------------------------


@bp.get("/texts")
def texts() -> Response:
    """The texts offered at the booth's teleprompter, in order."""
    return _page("admin/catalogue/texts.html", texts=catalogue_admin.texts_in_order())


@bp.get("/texts/new")
def new_text() -> Response:
    """The form for a new booth text."""
    return _page("admin/catalogue/text.html", form=forms.TextForm(), text=None)


@bp.post("/texts/new")
def create_text() -> Response:
    """Add a booth text at the end of the list."""
    form = forms.TextForm()
    if not form.validate_on_submit():
        return _page("admin/catalogue/text.html", 422, form=form, text=None)
    catalogue_admin.create_text(_actor(), **_text_values(form))
    return _saved(gettext("已添加。"), "admin_catalogue.texts")


def _text_values(form: forms.TextForm) -> dict[str, Any]:
    """A booth text's fields from its form."""
    return {"title": form.title.data, "author": form.author.data or "", "body": form.body.data}


@bp.get("/texts/<id:text_id>")
def text(text_id: int) -> Response:
    """A booth text's edit form."""
    found = _get(BoothText, text_id)
    return _page("admin/catalogue/text.html", form=forms.TextForm(obj=found), text=found)


@bp.post("/texts/<id:text_id>")
def update_text(text_id: int) -> Response:
    """Edit a booth text."""
    found = _get(BoothText, text_id)
    form = forms.TextForm()
    if not form.validate_on_submit():
        return _page("admin/catalogue/text.html", 422, form=form, text=found)
    catalogue_admin.update_text(found, _actor(), **_text_values(form))
    return _saved(gettext("已保存。"), "admin_catalogue.texts")


@bp.post("/texts/<id:text_id>/move")
def move_text(text_id: int) -> Response:
    """Move a booth text one place up or down."""
    form = _valid_or_400(forms.MoveForm())
    catalogue_admin.move_text(_get(BoothText, text_id), form.step, _actor())
    return _saved(gettext("已调整顺序。"), "admin_catalogue.texts")


@bp.post("/texts/<id:text_id>/published")
def publish_text(text_id: int) -> Response:
    """Offer or withdraw a booth text."""
    form = _valid_or_400(forms.PublishForm())
    found = _get(BoothText, text_id)
    catalogue_admin.set_text_published(found, form.published.data == "1", _actor())
    return _saved(gettext("已显示。") if found.published else gettext("已隐藏。"),
                  "admin_catalogue.texts")


@bp.post("/texts/<id:text_id>/delete")
def delete_text(text_id: int) -> Response:
    """Delete a booth text no take was read from."""
    _valid_or_400(forms.ActionForm())
    try:
        catalogue_admin.delete_text(_get(BoothText, text_id), _actor())
    except CatalogueError as error:
        return _refused(error, "admin_catalogue.texts")
    return _saved(gettext("已删除。"), "admin_catalogue.texts")


# ---- trash (admins) ---------------------------------------------------------------------


@bp.get("/trash")
@auth.admin_required
def trash() -> Response:
    """What was deleted in the last 30 days, with a restore button each."""
    return _page("admin/catalogue/trash.html", listing=catalogue_admin.trash_listing(utcnow()),
                 days=catalogue_admin.TRASH_DAYS)


@bp.post("/trash/books/<id:book_id>/restore")
@auth.admin_required
def restore_book(book_id: int) -> Response:
    """Bring a book back from the trash."""
    _valid_or_400(forms.ActionForm())
    found = _get(Book, book_id)
    catalogue_admin.restore_book(found, _actor())
    return _saved(gettext("已恢复《%(title)s》。", title=found.title), "admin_catalogue.trash")


@bp.post("/trash/tracks/<id:track_id>/restore")
@auth.admin_required
def restore_track(track_id: int) -> Response:
    """Bring a chapter back from the trash, to its old place."""
    _valid_or_400(forms.ActionForm())
    found = _get(Track, track_id)
    try:
        catalogue_admin.restore_track(found, _actor())
    except CatalogueError as error:
        return _refused(error, "admin_catalogue.trash")
    return _saved(gettext("已恢复“%(title)s”。", title=found.title), "admin_catalogue.trash")


# ---- registration -----------------------------------------------------------------------

ACTION_LABELS = {
    "section_updated": _l("修改分区"), "section_moved": _l("调整分区顺序"),
    "section_published": _l("显示分区"), "section_hidden": _l("隐藏分区"),
    "book_created": _l("创建图书"), "book_updated": _l("修改图书"), "book_moved": _l("移动图书"),
    "book_cover_set": _l("封面已更换"), "book_published": _l("发布图书"),
    "book_unpublished": _l("下架图书"), "book_deleted": _l("删除图书"),
    "book_restored": _l("恢复图书"), "track_upload_received": _l("上传录音"),
    "track_upload_failed": _l("录音处理失败"), "track_created": _l("添加章节"),
    "track_audio_replaced": _l("替换录音"), "track_updated": _l("修改章节"),
    "track_moved": _l("调整章节顺序"), "tracks_reordered": _l("调整章节顺序"),
    "track_published": _l("发布章节"), "track_unpublished": _l("下架章节"),
    "track_deleted": _l("删除章节"), "track_restored": _l("恢复章节"),
    "reader_updated": _l("修改朗读者"), "readers_merged": _l("合并朗读者"),
    "text_created": _l("添加朗读文本"), "text_updated": _l("修改朗读文本"),
    "text_moved": _l("调整朗读文本顺序"), "text_published": _l("显示朗读文本"),
    "text_hidden": _l("隐藏朗读文本"), "text_deleted": _l("删除朗读文本"),
    "trash_purged": _l("清空过期回收站"),
}


def init_app(app: Flask) -> None:
    """Register the blueprint, name its audit actions, and add its areas to the console."""
    from . import admin

    app.register_blueprint(bp)
    for action, label in ACTION_LABELS.items():
        admin.ACTION_LABELS.setdefault(action, label)
    areas = (
        ("sections", _l("分区"), _l("有声墙上的九个分区：名称、顺序、颜色、显示")),
        ("books", _l("图书"), _l("图书、封面、章节与录音")),
        ("readers", _l("朗读者"), _l("朗读者资料，合并重复的朗读者")),
        ("texts", _l("朗读文本"), _l("录音亭提词器上的文本")),
    )
    for endpoint, label, description in areas:
        admin.add_console_area(app, f"admin_catalogue.{endpoint}", label, description)
    admin.add_console_area(app, "admin_catalogue.trash", _l("回收站"),
                           _l("30 天内删除的图书和章节，可以恢复"), admin_only=True)
