"""The recording booth: its screen, the recordings API, and the volunteer's take-home page."""

from __future__ import annotations

import secrets
from pathlib import Path

import flask
from flask import Blueprint, abort, current_app, jsonify, make_response, render_template, request, url_for
from flask_babel import gettext
from flask_limiter import RequestLimit
from flask_limiter.util import get_remote_address
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
from kiosk.web.security import csrf, limiter, retry_after_s

bp = Blueprint("booth", __name__)


BOOTH_COOKIE = "kiosk_booth"  # names this booth screen, so its takes are counted together
BOOTH_COOKIE_MAX_AGE_S = 5 * 365 * 24 * 3600
POLL_LIMIT_S = 600  # the booth stops following a take after this; the take-home code still works


@bp.get("/booth")
def screen() -> Response:
    """The booth's touch screen: choose a text, record, listen back, submit."""
    texts = db.session.scalars(
        select(BoothText).where(BoothText.published.is_(True)).order_by(BoothText.position, BoothText.id)
    ).all()
    response = make_response(render_template(
        "booth/screen.html", texts=texts, licence=takes.configured_licence(),
        idle_s=current_app.config["KIOSK_BOOTH_IDLE_S"], poll_limit_s=POLL_LIMIT_S))
    if not _booth_id():
        response.set_cookie(BOOTH_COOKIE, secrets.token_urlsafe(12), max_age=BOOTH_COOKIE_MAX_AGE_S,
                            httponly=True, samesite="Strict")
    return response


def _booth_id() -> str:
    """The booth screen this request comes from (its cookie), or ``""`` for any other client."""
    value = request.cookies.get(BOOTH_COOKIE, "")
    return value if value.isascii() and 8 <= len(value) <= 32 else ""


def _takes_from_this_booth() -> str:
    """The limit key of a booth screen; clients without one are counted by address alone."""
    return f"booth:{_booth_id() or get_remote_address()}"


def _too_many_takes(limit: RequestLimit) -> flask.Response:
    response = render_error(429, gettext("这里录得太频繁了，请休息一会儿再录。"), "too_many_takes")
    response.headers["Retry-After"] = str(retry_after_s(limit))
    return response


def _accepted(response: Response) -> bool:
    return response.status_code == 202  # refused uploads do not use the allowance up


@bp.get("/api/v1/texts")
def texts() -> Response:
    """The texts offered at the booth, for its teleprompter."""
    rows = db.session.scalars(
        select(BoothText).where(BoothText.published.is_(True)).order_by(BoothText.position, BoothText.id)
    ).all()
    return jsonify(texts=[{"id": t.id, "title": t.title, "author": t.author, "body": t.body} for t in rows])


@bp.post("/api/v1/recordings")
@csrf.exempt  # the booth screen posts without a console session; takes are moderated
@limiter.limit(lambda: current_app.config["KIOSK_TAKES_PER_ADDRESS"], deduct_when=_accepted,
               on_breach=_too_many_takes)
@limiter.limit(lambda: current_app.config["KIOSK_TAKES_PER_BOOTH"], key_func=_takes_from_this_booth,
               deduct_when=_accepted, on_breach=_too_many_takes)
def submit() -> tuple[Response, int] | Response:
    """Accept a take: probe it, keep the original, queue mastering; 202 with where to look."""
    upload = request.files.get("audio")
    if upload is None:
        return render_error(400, gettext("没有收到录音文件，请重新提交。"), "audio_missing")
    try:
        form = takes.validate_form(
            request.form.get("reader_name", ""), request.form.get("consent", ""), request.form.get("text_id", ""),
            request.form.get("licence", ""),
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
    return Path(upload.stream.name)


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
    return streaming.send_media(request, path, "audio/mpeg", private=True)


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
