"""Scan statistics: hits on printed codes, once per phone per window, nothing personal kept.

What is stored: the code, the time, and a coarse client kind guessed from the
User-Agent (the string itself is never stored). Repeat hits are recognised by a
cookie ``seen_<CODE>`` that lives on the phone for the window and carries no
identifier, so the server needs no IP address or fingerprint to deduplicate.

Recording is a separate, short transaction with a bounded lock wait, and any
failure is logged and swallowed: a scan must never slow or fail the redirect.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import func, insert, select, text
from sqlalchemy.engine import Connection
from werkzeug.wrappers import Request, Response

from kiosk.extensions import db
from kiosk.models import Scan, utcnow

log = logging.getLogger(__name__)

DEDUP_WINDOW_S = 30 * 60
LOCK_WAIT_MS = 250
CLIENT_KINDS = ("wechat", "safari", "android", "chrome", "other")
# Tokens of browsers that also claim "Chrome/" but are not Google Chrome.
_NOT_CHROME = ("Edg", "OPR/", "SamsungBrowser", "UCBrowser", "QQBrowser", "MiuiBrowser",
               "HuaweiBrowser", "HeyTapBrowser", "VivoBrowser", "Quark", "baidu", "; wv)")


def client_kind(user_agent: str) -> str:
    """One of ``CLIENT_KINDS`` for a User-Agent string (WeChat's in-app browser first)."""
    if "MicroMessenger" in user_agent:
        return "wechat"
    if "CriOS/" in user_agent or (
        "Chrome/" in user_agent and not any(token in user_agent for token in _NOT_CHROME)
    ):
        return "chrome"
    if "Android" in user_agent:
        return "android"  # the phone maker's browser, an in-app web view, or another
    if "Safari/" in user_agent and any(d in user_agent for d in ("iPhone", "iPad", "Macintosh")):
        return "safari" if "FxiOS/" not in user_agent and "EdgiOS/" not in user_agent else "other"
    return "other"


def cookie_name(code: str) -> str:
    """The name of the cookie that marks ``code`` as already counted on this phone."""
    return f"seen_{code.upper()}"


def already_counted(request: Request, code: str) -> bool:
    """Whether this phone was counted for ``code`` within the window."""
    return cookie_name(code) in request.cookies


def mark_counted(response: Response, request: Request, code: str) -> None:
    """Set the flag cookie that makes repeat hits within the window not count."""
    response.set_cookie(
        cookie_name(code),
        "1",
        max_age=DEDUP_WINDOW_S,
        path=request.root_path or "/",
        secure=request.is_secure,
        httponly=True,
        samesite="Lax",
    )


def record(code: str, kind: str, *, at: datetime | None = None) -> bool:
    """Store one scan in its own short transaction; log and return ``False`` on any failure."""
    try:
        with db.engine.connect() as connection:
            previous_ms = None
            try:
                with connection.begin():
                    previous_ms = _busy_timeout_ms(connection)
                    _limit_lock_wait(connection)
                    connection.execute(
                        insert(Scan).values(code=code, client_kind=kind, scanned_at=at or utcnow())
                    )
            finally:
                if previous_ms is not None:  # the pooled connection keeps its usual patience
                    connection.exec_driver_sql(f"PRAGMA busy_timeout = {int(previous_ms)}")
    except Exception:  # never let statistics break a visitor's scan
        log.warning("scan of %s not recorded", code, exc_info=True)
        return False
    return True


def counts_by_code() -> dict[str, int]:
    """How many scans each code has had, ever."""
    rows = db.session.execute(select(Scan.code, func.count(Scan.id)).group_by(Scan.code))
    return {code: int(count) for code, count in rows}


def counts_by_kind(code: str | None = None) -> dict[str, int]:
    """Scans per client kind, for one code or for all."""
    query = select(Scan.client_kind, func.count(Scan.id)).group_by(Scan.client_kind)
    if code is not None:
        query = query.where(Scan.code == code)
    return {kind: int(count) for kind, count in db.session.execute(query)}


def _busy_timeout_ms(connection: Connection) -> int | None:
    """SQLite's current lock wait on this connection (``None`` on other databases)."""
    if connection.dialect.name != "sqlite":
        return None
    return int(connection.exec_driver_sql("PRAGMA busy_timeout").scalar() or 0)


def _limit_lock_wait(connection: Connection) -> None:
    """Wait at most ``LOCK_WAIT_MS`` for a busy database, in this transaction."""
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql(f"PRAGMA busy_timeout = {LOCK_WAIT_MS}")
    elif connection.dialect.name == "postgresql":
        connection.execute(text(f"SET LOCAL lock_timeout = '{LOCK_WAIT_MS}ms'"))


def count_hit(request: Request, response: Response, code: str) -> None:
    """Count a visitor's GET of ``code`` unless this phone was counted within the window."""
    if request.method != "GET" or already_counted(request, code):
        return
    # The User-Agent is read here to pick a kind, and never stored.
    if record(code, client_kind(request.headers.get("User-Agent", ""))):
        mark_counted(response, request, code)
