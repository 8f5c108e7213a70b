"""Sharing a book: its poster image, and WeChat's share-card configuration where an account is set up."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from flask import Blueprint, Flask, abort, current_app, jsonify, request, send_file
from flask_babel import gettext
from werkzeug.wrappers import Response

from kiosk.sharing import poster, wechat
from kiosk.wall import qr

bp = Blueprint("sharing", __name__)

POSTER_MAX_AGE_S = 3600  # a renamed book or a new reader shows within the hour


def _cache(name: str) -> Path:
    return Path(current_app.config["KIOSK_DATA_DIR"]) / "cache" / name


@bp.get("/books/<id:book_id>/poster.png")
def book_poster(book_id: int) -> Response:
    """The book's share poster: cover, title, readers, the library's name and a QR code."""
    content = poster.book_poster(book_id, qr.configured_base_url(), str(current_app.config["KIOSK_LIBRARY_NAME"]),
                                 gettext("朗读：%(names)s"), gettext("扫码收听"))
    if content is None:
        abort(404)
    path = poster.poster_file(_cache("posters"), content)
    return send_file(path, mimetype="image/png", conditional=True, etag=content.digest(), max_age=POSTER_MAX_AGE_S,
                     download_name=f"poster-{book_id}.png")


@bp.get("/api/v1/wechat/share-config")
def wechat_share_config() -> Response | tuple[Response, int]:
    """``wx.config`` for the page at ``?url=``, signed here; 404 when no official account is configured."""
    account = wechat.account(current_app.config)
    if account is None:
        abort(404)
    url = request.args.get("url", "")
    own = urlsplit(qr.configured_base_url()).netloc
    if urlsplit(url).netloc != own or urlsplit(url).scheme not in ("http", "https"):
        return jsonify(error="bad_url", message=gettext("只能为本馆的页面生成分享设置。")), 400
    try:
        config = wechat.page_config(account, _cache("wechat") / "jsapi_ticket.json", url)
    except wechat.WeChatError as error:
        current_app.logger.warning("WeChat share card unavailable: %s", error)
        return jsonify(error="wechat_unavailable", message=gettext("微信分享暂时不可用。")), 503
    response = jsonify(config)
    response.headers["Cache-Control"] = "no-store"
    return response


def wechat_enabled() -> bool:
    """Whether book pages set WeChat's share card (an official account is configured)."""
    return wechat.account(current_app.config) is not None


def init_app(app: Flask) -> None:
    """Register the sharing routes and the template global the book page's partial asks."""
    app.register_blueprint(bp)
    app.add_template_global(wechat_enabled, "take_home_wechat_enabled")
