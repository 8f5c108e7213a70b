"""One error handler for the whole app: JSON under ``/api/``, a friendly Chinese page elsewhere."""

from __future__ import annotations

import logging
import sqlite3

from flask import Flask, Response, jsonify, render_template, request
from flask_babel import gettext
from werkzeug.exceptions import HTTPException, InternalServerError, SecurityError

log = logging.getLogger(__name__)

BUSY_RETRY_AFTER_S = 5

# Machine codes for the JSON shape {"error": code, "message": text}.
ERROR_CODES = {
    400: "bad_request",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    414: "uri_too_long",
    415: "unsupported_media_type",
    416: "range_not_satisfiable",
    422: "unprocessable",
    429: "too_many_requests",
    500: "internal_error",
    503: "unavailable",
}


def human_message(status: int) -> str:
    """What to tell a person for ``status``, in their language."""
    messages = {
        400: gettext("请求有误，请返回重试。"),
        403: gettext("您没有权限查看这里。"),
        404: gettext("没有找到这个页面，它可能已被移动或下架。"),
        405: gettext("不支持这种操作。"),
        413: gettext("文件太大了。"),
        414: gettext("网址太长了。"),
        429: gettext("操作太频繁，请稍后再试。"),
        503: gettext("服务暂时不可用，请稍后再试。"),
    }
    return messages.get(status, gettext("出了点问题，我们正在处理，请稍后再试。"))


def wants_json() -> bool:
    """Whether the client expects JSON rather than a page."""
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


def render_error(status: int, message: str | None = None, code: str | None = None) -> Response:
    """An error response in the shape the client wants."""
    text_message = message or human_message(status)
    response: Response
    if wants_json():
        response = jsonify(error=code or ERROR_CODES.get(status, "error"), message=text_message)
    else:
        response = Response(
            render_template("errors/error.html", status=status, message=text_message),
            mimetype="text/html",
        )
    response.status_code = status
    return response


def handle_http_error(error: HTTPException) -> Response:
    """Answer any HTTP error with our page or JSON (never Werkzeug's bare page)."""
    if isinstance(error, SecurityError):  # an unknown Host: no URL can be built for it, so no page
        return Response(gettext("这个网址不属于本馆。"), status=400, mimetype="text/plain")
    status = error.code or 500
    response = render_error(status, getattr(error, "kiosk_message", None))
    if error.response is not None:  # keep headers such as Allow or Retry-After
        for name in ("Allow", "Retry-After", "Content-Range"):
            if name in error.response.headers:
                response.headers[name] = error.response.headers[name]
    elif status == 405 and hasattr(error, "valid_methods") and error.valid_methods:
        response.headers["Allow"] = ", ".join(error.valid_methods)
    return response


def handle_unexpected(error: Exception) -> Response:
    """Log the trace for operators; the visitor sees a calm page."""
    if isinstance(error, HTTPException):
        return handle_http_error(error)
    if is_database_busy(error):
        log.warning("database busy on %s %s: answered 503", request.method, request.path)
        response = render_error(503)
        response.headers["Retry-After"] = str(BUSY_RETRY_AFTER_S)
        return response
    log.exception("unhandled error on %s %s", request.method, request.path)
    return render_error(InternalServerError.code)


def is_database_busy(error: BaseException) -> bool:
    """Whether ``error`` is SQLite refusing a write while another holds the database."""
    original = getattr(error, "orig", error)
    return isinstance(original, sqlite3.OperationalError) and "locked" in str(original)


def init_app(app: Flask) -> None:
    """Register the handlers on ``app``."""
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(Exception, handle_unexpected)
