"""Web security for every response: CSRF tokens, rate limits, and protective headers.

CSRF is on for every POST/PUT/PATCH/DELETE; a public JSON endpoint that must take posts from
pages without a session (the booth's ``/api/v1/recordings``, the player's ``/api/v1/plays``
beacon) opts out with ``security.csrf.exempt(view_or_blueprint)``. Rate limits live in memory
(one process) unless ``KIOSK_REDIS_URL`` is set, when every process shares them in Redis.
"""

from __future__ import annotations

import math
import time
from datetime import timedelta

from flask import Flask, current_app, request
from flask_babel import gettext
from flask_limiter import Limiter, RateLimitExceeded, RequestLimit
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFError, CSRFProtect
from gevent import sleep as gevent_sleep
from itsdangerous import BadSignature, URLSafeTimedSerializer
from limits import RateLimitItem, parse
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.wrappers import Response

from kiosk.web.errors import render_error

csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address)

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)
# The booth's screen may show its own pages in a frame, and only the booth needs the microphone.
BOOTH_CSP = CONTENT_SECURITY_POLICY.replace(
    "frame-ancestors 'none'", "frame-ancestors 'self'"
)
BOOTH_PREFIX = "/booth"
CONSOLE_PREFIX = "/admin"
HSTS_MAX_AGE_S = 180 * 24 * 3600

# Extensions' settings (the kiosk's own KIOSK_* ones are read in ``kiosk.config``).
EXTENSION_DEFAULTS = {
    "WTF_CSRF_TIME_LIMIT": None,  # a token lives as long as the (12-hour) session
    # Flask-Limiter would put its headers (a 15-minute Retry-After among them) on every answer of
    # a limited route, a successful sign-in included; refusals set their own Retry-After instead.
    "RATELIMIT_HEADERS_ENABLED": False,
    "RATELIMIT_STRATEGY": "moving-window",
    "REMEMBER_COOKIE_HTTPONLY": True,
    "REMEMBER_COOKIE_SAMESITE": "Lax",
}


def is_booth_path(path: str) -> bool:
    """Whether ``path`` is one of the booth screen's pages."""
    return path == BOOTH_PREFIX or path.startswith(BOOTH_PREFIX + "/")


def security_headers(path: str, *, https: bool) -> dict[str, str]:
    """The protective headers for a response to ``path``."""
    booth = is_booth_path(path)
    headers = {
        "Content-Security-Policy": BOOTH_CSP if booth else CONTENT_SECURITY_POLICY,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "strict-origin-when-cross-origin",
        "X-Frame-Options": "SAMEORIGIN" if booth else "DENY",
        "Permissions-Policy": "microphone=(self)" if booth else "microphone=(), camera=()",
    }
    if https:
        headers["Strict-Transport-Security"] = f"max-age={HSTS_MAX_AGE_S}"
    if path == CONSOLE_PREFIX or path.startswith(CONSOLE_PREFIX + "/"):
        # A shared library computer must not show console pages from its cache after logout.
        headers["Cache-Control"] = "no-store"
    return headers


def _add_security_headers(response: Response) -> Response:
    """after_request: add the headers a view did not set itself."""
    https = bool(current_app.config.get("SESSION_COOKIE_SECURE"))
    for name, value in security_headers(request.path, https=https).items():
        response.headers.setdefault(name, value)
    return response


def _csrf_refused(_error: CSRFError) -> Response:
    """A form without a valid token: 400 with a message a librarian can act on."""
    return render_error(400, gettext("页面已过期或表单无效，请刷新页面后重试。"), "csrf_failed")


def _rate_limited(error: RateLimitExceeded) -> Response:
    """A 429: the response a limit's ``on_breach`` built, or the app's error page; always with Retry-After."""
    response = error.response if isinstance(error.response, Response) else render_error(429)
    response.status_code = 429
    if "Retry-After" not in response.headers:
        response.headers["Retry-After"] = str(int(error.limit.limit.get_expiry()))  # at most one window
    return response


def retry_after_s(limit: RequestLimit) -> int:
    """Seconds until ``limit``'s window lets the next request through (for a 429's Retry-After)."""
    return max(1, math.ceil(limit.reset_at - time.time()))


def account_retry_after_s(username: str) -> int:
    """Seconds until ``username`` may try again from this address."""
    counter = _account_here(username)
    if counter is None:
        return 1
    reset_at = limiter.limiter.get_window_stats(counter[0], *counter[1]).reset_time
    return max(1, math.ceil(reset_at - time.time()))


def _storage_uri(app: Flask) -> str:
    """Redis when configured (shared by every process), otherwise this process's memory."""
    redis_url = app.config.get("KIOSK_REDIS_URL")
    return str(redis_url) if redis_url else "memory://"


def init_app(app: Flask) -> None:
    """Bind CSRF protection, the limiter and the response headers to ``app``.

    Tests run with ``TESTING`` set: CSRF and rate limits are then off unless the test
    enables them (``WTF_CSRF_ENABLED`` / ``RATELIMIT_ENABLED``), so every other test can post
    forms plainly while the security tests prove the protections with them on.
    """
    for key, value in EXTENSION_DEFAULTS.items():
        app.config.setdefault(key, value)
    # Flask's own default (31 days) is always present, so this one is assigned, not defaulted.
    lifetime_s = app.config["KIOSK_SESSION_LIFETIME_S"]
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(seconds=lifetime_s)
    app.config.setdefault("REMEMBER_COOKIE_SECURE", app.config.get("SESSION_COOKIE_SECURE", False))
    app.config.setdefault("WTF_CSRF_ENABLED", not app.testing)
    app.config.setdefault("RATELIMIT_ENABLED", not app.testing)
    app.config.setdefault("RATELIMIT_STORAGE_URI", _storage_uri(app))
    # If Redis goes away, keep limiting in this process rather than failing every login.
    shared = bool(app.config.get("KIOSK_REDIS_URL"))
    app.config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", shared)
    app.config.setdefault("RATELIMIT_KEY_PREFIX", "kiosk")
    csrf.init_app(app)
    limiter.init_app(app)
    app.register_error_handler(CSRFError, _csrf_refused)
    app.register_error_handler(RateLimitExceeded, _rate_limited)
    app.after_request(_add_security_headers)


# ---- signing in: slow the guesser, never lock out the owner --------------------------------
#
# Failed logins are counted per account *and address*: a guesser elsewhere (or behind the
# same nginx, once KIOSK_TRUSTED_PROXIES names it) cannot lock the librarian out. A browser
# that signed in to an account before carries a signed "known device" cookie for it, and a
# correct password from it always gets through. Failures for an account from anywhere slow
# every further failure down, a little more each time, instead of refusing the owner.

KNOWN_DEVICE_COOKIE = "kiosk_known_device"
KNOWN_DEVICE_MAX_AGE_S = 180 * 24 * 3600
KNOWN_DEVICE_ACCOUNTS = 5  # accounts one browser remembers
FAILURE_DELAY_STEP_S = 0.5  # added per failure past the free ones
FREE_FAILURES = 4  # typos cost nothing
FAILURE_TALLY = "100000 per 15 minutes"  # counts an account's failures everywhere; never refuses
REFUSAL_AUDIT_LIMIT = "1 per minute"  # per account, address and reason: a flood is one row a minute
sleep = gevent_sleep  # replaced in tests, which must not wait


def _counter(name: str, limit: str, *parts: str) -> tuple[RateLimitItem, list[str]] | None:
    """A named counter in the limiter's storage (memory or Redis), or ``None`` when limits are off."""
    if not current_app.config.get("RATELIMIT_ENABLED"):
        return None
    return parse(limit), [current_app.config["RATELIMIT_KEY_PREFIX"], name, *parts]


def _account_here(username: str) -> tuple[RateLimitItem, list[str]] | None:
    return _counter("login-account", current_app.config["KIOSK_LOGIN_ACCOUNT_LIMIT"], username,
                    request.remote_addr or "-") if username else None


def _account_anywhere(username: str) -> tuple[RateLimitItem, list[str]] | None:
    """A tally of the account's failures from every address (a ceiling it never reaches)."""
    return _counter("login-account-any", FAILURE_TALLY, username) if username else None


def account_locked(username: str) -> bool:
    """Whether ``username`` has used up its failed logins from this address (a known device never has)."""
    counter = _account_here(username)
    if counter is None or known_device_for(username):
        return False
    return not limiter.limiter.test(counter[0], *counter[1])


def note_failed_login(username: str) -> None:
    """Count a failed login for ``username`` here and everywhere, then make the guesser wait."""
    failures_anywhere = 0
    for counter in (_account_here(username), _account_anywhere(username)):
        if counter is not None:
            limiter.limiter.hit(counter[0], *counter[1])
    anywhere = _account_anywhere(username)
    if anywhere is not None:
        window = limiter.limiter.get_window_stats(anywhere[0], *anywhere[1])
        failures_anywhere = anywhere[0].amount - window.remaining
    delay_s = min(float(current_app.config["KIOSK_LOGIN_DELAY_MAX_S"]),
                  FAILURE_DELAY_STEP_S * max(0, failures_anywhere - FREE_FAILURES))
    if delay_s > 0:
        sleep(delay_s)


def clear_failed_logins(username: str) -> None:
    """Forget ``username``'s failed logins from this address once it signs in here."""
    counter = _account_here(username)
    if counter is not None:
        limiter.limiter.clear(counter[0], *counter[1])


def first_refusal_this_minute(username: str, reason: str) -> bool:
    """Whether a refused login is the first of its kind this minute (only that one is audited)."""
    counter = _counter("login-refused", REFUSAL_AUDIT_LIMIT, username, request.remote_addr or "-", reason)
    return counter is None or limiter.limiter.hit(counter[0], *counter[1])


def _device_signer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="kiosk-known-device")


def known_accounts() -> list[str]:
    """The accounts this browser signed in to before (from its signed cookie)."""
    raw = request.cookies.get(KNOWN_DEVICE_COOKIE)
    if not raw:
        return []
    try:
        accounts = _device_signer().loads(raw, max_age=KNOWN_DEVICE_MAX_AGE_S)
    except BadSignature:
        return []
    return [a for a in accounts if isinstance(a, str)] if isinstance(accounts, list) else []


def known_device_for(username: str) -> bool:
    """Whether this browser signed in to ``username`` before."""
    return bool(username) and username in known_accounts()


def remember_device(response: Response, username: str) -> None:
    """Mark this browser as one ``username`` signs in from (newest first, a few accounts at most)."""
    accounts = [username, *(a for a in known_accounts() if a != username)][:KNOWN_DEVICE_ACCOUNTS]
    response.set_cookie(
        KNOWN_DEVICE_COOKIE, _device_signer().dumps(accounts), max_age=KNOWN_DEVICE_MAX_AGE_S,
        path="/admin/login", httponly=True, samesite="Lax",
        secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")),
    )


def trust_proxies(app: Flask) -> None:
    """Take the client's address from ``X-Forwarded-For`` exactly as far as ``KIOSK_TRUSTED_PROXIES`` says.

    Behind the documented nginx every request comes from 127.0.0.1; with one trusted proxy
    the address nginx appended is the client's, and limits count each visitor on their own.
    Anything a client wrote into the header itself is never trusted.
    """
    hops = int(app.config["KIOSK_TRUSTED_PROXIES"])
    if hops > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
