"""The console's chapter texts, for read-along: paste or upload (.txt, .epub), align again, remove."""

from __future__ import annotations

from typing import Any

from flask import Flask, flash, redirect, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from werkzeug.datastructures import FileStorage
from werkzeug.wrappers import Response
from wtforms import TextAreaField

from kiosk.accounts import auth
from kiosk.extensions import db
from kiosk.models import Track
from kiosk.readalong import aligner, hints, jobs, texts
from kiosk.views.console.catalogue.base import actor, bp, live_track, page, valid_or_400

ACTION_LABELS = {"track_text_set": _l("设置章节文本"), "track_text_removed": _l("删除章节文本"),
                 "track_text_realigned": _l("重新对齐章节文本")}


class ChapterTextForm(FlaskForm):
    """A chapter's text: typed or pasted, or a .txt / .epub file (the file wins)."""

    body = TextAreaField(_l("章节文本"))
    document = FileField(_l("或上传文本文件（.txt 或 .epub，UTF-8 或 GB18030）"))


class ButtonForm(FlaskForm):
    """A button that only carries the CSRF token."""


def _text_page(track: Track, status: int = 200, **given: Any) -> Response:
    row = texts.for_track(track.id)
    context: dict[str, Any] = {"form": ChapterTextForm(formdata=None, body=row.body if row else ""),
                               "button": ButtonForm(formdata=None), **given}
    sentences = texts.sentences_of(row) if row else []
    cues = row.cues if row and texts.is_current(row, track) else None
    suspects = set(hints.suspect_sentences(sentences, cues)) if cues else set()
    return page("admin/catalogue/chapter_text.html", status, track=track, row=row, sentences=sentences,
                cues=cues, suspects=suspects, note=texts.status_note(row, track),
                aligner_missing=aligner.unavailable_reason(), **context)


@bp.get("/tracks/<id:track_id>/text")
def chapter_text(track_id: int) -> Response:
    """The chapter's text, its sentences and their timing, and why there is none."""
    return _text_page(live_track(track_id))


@bp.post("/tracks/<id:track_id>/text")
def set_chapter_text(track_id: int) -> Response:
    """Attach a pasted or uploaded text; its alignment is queued after the commit."""
    track = live_track(track_id)
    form = ChapterTextForm()
    if not form.validate_on_submit():
        return _text_page(track, 422, form=form)
    upload = form.document.data
    try:
        if isinstance(upload, FileStorage) and upload.filename:
            row = texts.attach_file(track, upload.filename, upload.read(), "console")
        else:
            row = texts.attach(track, form.body.data or "", "console")
    except texts.TextRefused as error:
        db.session.rollback()
        form.form_errors.append(error.message)
        return _text_page(track, 422, form=form)
    auth.audit("track_text_set", actor=actor(), target=track, sentences=len(row.sentences))
    return _committed_and_queued(row.id, track.id, gettext("已保存章节文本，共 %(n)s 句。", n=len(row.sentences)))


@bp.post("/tracks/<id:track_id>/text/realign")
def realign_chapter_text(track_id: int) -> Response:
    """Measure the timing again (after installing the aligner, or a failed alignment)."""
    track = live_track(track_id)
    valid_or_400(ButtonForm())
    row = texts.for_track(track.id)
    if row is None:
        flash(gettext("这一章还没有文本。"), "error")
        return redirect(url_for("admin_catalogue.chapter_text", track_id=track.id), code=303)
    texts.realign(row)
    auth.audit("track_text_realigned", actor=actor(), target=track)
    return _committed_and_queued(row.id, track.id, gettext("已重新排队对齐。"))


@bp.post("/tracks/<id:track_id>/text/delete")
def delete_chapter_text(track_id: int) -> Response:
    """Remove the chapter's text: visitors only hear it again."""
    track = live_track(track_id)
    valid_or_400(ButtonForm())
    if texts.remove(track):
        auth.audit("track_text_removed", actor=actor(), target=track)
    db.session.commit()
    flash(gettext("已删除章节文本。"), "success")
    return redirect(url_for("admin_catalogue.chapter_text", track_id=track.id), code=303)


def _committed_and_queued(text_id: int, track_id: int, message: str) -> Response:
    """Commit, queue the alignment (done at once in tests), and say how it stands."""
    db.session.commit()
    jobs.queue_alignment(text_id)
    flash(message, "success")
    return redirect(url_for("admin_catalogue.chapter_text", track_id=track_id), code=303)


def init_app(app: Flask) -> None:
    """Name the audit actions of chapter texts."""
    from kiosk.web import console

    console.add_action_labels(app, ACTION_LABELS)
