"""The recording booth: its screen, the recordings API, and the volunteer's take-home page."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, abort, jsonify, render_template, request, url_for
from flask_babel import gettext
from sqlalchemy import select
from werkzeug.datastructures import FileStorage
from werkzeug.wrappers import Response

from kiosk.booth import takes
from kiosk.extensions import db
from kiosk.jobs import tasks
from kiosk.media import streaming
from kiosk.models import BoothText
from kiosk.storage import store
from kiosk.wall import qr
from kiosk.web.errors import render_error
from kiosk.web.security import csrf

bp = Blueprint("booth", __name__)


@bp.get("/booth")
def screen() -> str:
    """The booth's touch screen: choose a text, record, listen back, submit."""
    texts = db.session.scalars(
        select(BoothText).where(BoothText.published.is_(True)).order_by(BoothText.position, BoothText.id)
    ).all()
    return render_template("booth/screen.html", texts=texts)


@bp.get("/api/v1/texts")
def texts() -> Response:
    """The texts offered at the booth, for its teleprompter."""
    rows = db.session.scalars(
        select(BoothText).where(BoothText.published.is_(True)).order_by(BoothText.position, BoothText.id)
    ).all()
    return jsonify(texts=[{"id": t.id, "title": t.title, "author": t.author, "body": t.body} for t in rows])


@bp.post("/api/v1/recordings")
@csrf.exempt  # the booth screen posts without a console session; takes are moderated
def submit() -> tuple[Response, int] | Response:
    """Accept a take: probe it, keep the original, queue mastering; 202 with where to look."""
    upload = request.files.get("audio")
    if upload is None:
        return render_error(400, gettext("没有收到录音文件，请重新提交。"), "audio_missing")
    try:
        form = takes.validate_form(
            request.form.get("reader_name", ""), request.form.get("consent", ""), request.form.get("text_id", "")
        )
        take = takes.submit(_spooled_path(upload), form)
    except takes.TakeRefused as refusal:
        return render_error(refusal.status, refusal.message, refusal.code)
    tasks.enqueue_take(take.token)
    return (
        jsonify(
            token=take.token,
            status_url=url_for("booth.status", token=take.token),
            take_home_url=url_for("booth.take_home", token=take.token, _external=True),
        ),
        202,
    )


def _spooled_path(upload: FileStorage) -> Path:
    """The on-disk file Werkzeug streamed the upload into (see ``uploads.KioskRequest``)."""
    upload.stream.flush()
    return Path(upload.stream.name)  # type: ignore[union-attr]


@bp.get("/api/v1/recordings/<token>")
def status(token: str) -> Response:
    """Progress and quality report of a take, for the booth to poll."""
    take = takes.by_token(token)
    if take is None:
        abort(404)
    return jsonify(takes.status_payload(take))


@bp.get("/r/<token>")
def take_home(token: str) -> str:
    """The volunteer's own take, on their own phone: listen, and see what the library decided."""
    take = takes.by_token(token)
    if take is None:
        abort(404)
    return render_template("booth/take_home.html", take=take, payload=takes.status_payload(take))


@bp.get("/r/<token>/audio")
def take_audio(token: str) -> Response:
    """The mastered take, streamed with ranges like any recording."""
    take = takes.by_token(token)
    if take is None or take.mastered_key is None:
        abort(404)
    path = store().path(take.mastered_key)
    if not path.is_file():
        abort(404)
    return streaming.send_media(request, path, "audio/mpeg")


@bp.get("/r/<token>/qr.svg")
def take_home_qr(token: str) -> Response:
    """The QR code the booth shows so the volunteer can take their recording home."""
    take = takes.by_token(token)
    if take is None:
        abort(404)
    address = qr.configured_base_url() + url_for("booth.take_home", token=take.token)
    response = Response(qr.svg(address, title=gettext("带走您的录音")), mimetype="image/svg+xml")
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response
