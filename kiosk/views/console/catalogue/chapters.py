"""The console's chapters: uploading and replacing recordings, order, names, publishing, deleting."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext
from werkzeug.wrappers import Response

from kiosk.extensions import db
from kiosk.ingest import chapter_uploads
from kiosk.jobs import tasks
from kiosk.library import edits
from kiosk.library import trash as trash_service
from kiosk.library.changes import CatalogueError
from kiosk.media import streaming
from kiosk.models import ChapterUpload, JobStatus, Track
from kiosk.storage import store
from kiosk.views.console import catalogue_forms as forms
from kiosk.views.console.catalogue.base import (
    UPLOAD_PREFIX,
    actor,
    book_page,
    bp,
    field_error,
    get_or_404,
    live_book,
    live_track,
    page,
    reader_names,
    refused,
    saved,
    spooled,
    valid_or_400,
)


@bp.post("/books/<id:book_id>/tracks")
def upload_track(book_id: int) -> Response:
    """Add a chapter from an uploaded recording: checked now, mastered by the job queue."""
    found = live_book(book_id)
    form = forms.UploadForm(prefix=UPLOAD_PREFIX)
    if not form.validate_on_submit():
        return book_page(found, 422, upload_form=form)
    try:
        upload = chapter_uploads.queue_upload(
            found, spooled(form.audio.data), original_name=form.audio.data.filename or "",
            title=form.title.data, reader_name=form.reader.data or "",
            keep_as_is=bool(form.keep_as_is.data), actor=actor(),
        )
    except CatalogueError as error:
        db.session.rollback()
        field_error(form, error)
        return book_page(found, error.status, upload_form=form)
    return _queued(upload)


def _queued(upload: ChapterUpload) -> Response:
    """Commit an upload, queue its mastering, and say where it stands (done at once in tests)."""
    db.session.commit()
    upload_id, book_id = upload.id, upload.book_id
    tasks.enqueue_chapter_upload(upload_id)
    db.session.expire_all()
    done = db.session.get(ChapterUpload, upload_id)
    if done is not None and done.status is JobStatus.DONE:
        flash(" ".join(filter(None, [gettext("录音已处理完毕。"), done.note])), "success")
    elif done is not None and done.status is JobStatus.FAILED:
        flash(done.error_message or gettext("处理录音时出错，请重新上传或联系管理员。"), "error")
    else:
        flash(gettext("已收到录音，正在后台处理；完成后会出现在章节列表里。"), "success")
    return redirect(url_for("admin_catalogue.book", book_id=book_id), code=303)


@bp.post("/books/<id:book_id>/order")
def order_tracks(book_id: int) -> Response:
    """Put the chapters in the order sent by drag and drop (a comma-separated id list)."""
    found = live_book(book_id)
    form = valid_or_400(forms.OrderForm())
    ids = form.ids()
    if ids is None:
        abort(400)
    try:
        edits.reorder_tracks(found, ids, actor())
    except CatalogueError as error:
        return refused(error, "admin_catalogue.book", book_id=found.id)
    return saved(gettext("已调整顺序。"), "admin_catalogue.book", book_id=found.id)


def _track_page(track: Track, status: int = 200, **given: Any) -> Response:
    """A chapter's page: rename, reader, replace audio, listen."""
    context = {
        "form": forms.TrackForm(formdata=None, data={
            "title": track.title, "reader": track.reader.name if track.reader else ""}),
        "audio_form": forms.ReplaceAudioForm(formdata=None), **given,
    }
    return page("admin/catalogue/track.html", status, track=track, reader_names=reader_names(),
                uploads=[u for u in chapter_uploads.pending_uploads(track.book)
                          if u.replace_track_id == track.id], **context)


@bp.get("/tracks/<id:track_id>")
def track(track_id: int) -> Response:
    """A chapter in the console."""
    return _track_page(live_track(track_id))


@bp.post("/tracks/<id:track_id>")
def update_track(track_id: int) -> Response:
    """Rename a chapter, set its reader."""
    found = live_track(track_id)
    form = forms.TrackForm()
    if not form.validate_on_submit():
        return _track_page(found, 422, form=form)
    edits.update_track(found, form.title.data, form.reader.data or "", actor())
    return saved(gettext("已保存。"), "admin_catalogue.book", book_id=found.book_id)


@bp.get("/tracks/<id:track_id>/audio")
def track_audio(track_id: int) -> Response:
    """A chapter's audio for the console, published or not, with ranges."""
    found = get_or_404(Track, track_id)
    if not store().exists(found.audio_key):
        abort(404)
    return streaming.send_media(request, store().path(found.audio_key), found.mime_type, private=True)


@bp.post("/tracks/<id:track_id>/audio")
def replace_audio(track_id: int) -> Response:
    """Replace a chapter's recording: a new file at a new address; the old file stays."""
    found = live_track(track_id)
    form = forms.ReplaceAudioForm()
    if not form.validate_on_submit():
        return _track_page(found, 422, audio_form=form)
    try:
        upload = chapter_uploads.queue_upload(
            found.book, spooled(form.audio.data), original_name=form.audio.data.filename or "",
            title=found.title, reader_name=found.reader.name if found.reader else "",
            keep_as_is=bool(form.keep_as_is.data), actor=actor(), replace=found,
        )
    except CatalogueError as error:
        db.session.rollback()
        field_error(form, error)
        return _track_page(found, error.status, audio_form=form)
    return _queued(upload)


@bp.post("/tracks/<id:track_id>/move")
def move_track(track_id: int) -> Response:
    """Move a chapter one place up or down."""
    form = valid_or_400(forms.MoveForm())
    found = live_track(track_id)
    edits.move_track(found, form.step, actor())
    return saved(gettext("已调整顺序。"), "admin_catalogue.book", book_id=found.book_id)


@bp.post("/tracks/<id:track_id>/published")
def publish_track(track_id: int) -> Response:
    """Publish or unpublish a chapter."""
    form = valid_or_400(forms.PublishForm())
    found = live_track(track_id)
    edits.set_track_published(found, form.published.data == "1", actor())
    message = gettext("已发布。") if found.published else gettext("已下架。")
    return saved(message, "admin_catalogue.book", book_id=found.book_id)


@bp.post("/tracks/<id:track_id>/delete")
def delete_track(track_id: int) -> Response:
    """Move a chapter to the trash."""
    valid_or_400(forms.ActionForm())
    found = live_track(track_id)
    trash_service.trash_track(found, actor())
    return saved(gettext("“%(title)s”已移到回收站，30 天内可由管理员恢复。", title=found.title),
                 "admin_catalogue.book", book_id=found.book_id)
