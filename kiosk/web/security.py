"""Web security for every response: CSRF tokens, rate limits, and protective headers.

CSRF is on for every POST/PUT/PATCH/DELETE; a public JSON endpoint that must take posts from
pages without a session (the booth's ``/api/v1/recordings``, the player's ``/api/v1/plays``
beacon) opts out with ``security.csrf.exempt(view_or_blueprint)``. Rate limits live in memory
(one process) unless ``KIOSK_REDIS_URL`` is set, when every process shares them in Redis.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Flask, current_app, request
from flask_babel import gettext
from flask_limiter import Limiter, RateLimitExceeded
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFError, CSRFProtect
from limits import RateLimitItem, parse
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
    "RATELIMIT_HEADERS_ENABLED": True,  # Retry-After on a 429
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
    """A 429: the response a limit's ``on_breach`` built, or the app's error page."""
    response = error.response if isinstance(error.response, Response) else render_error(429)
    response.status_code = 429
    return response


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


# Failed logins per account: a counter in the limiter's own storage (memory or Redis).
def _account_counter(username: str) -> tuple[RateLimitItem, list[str]] | None:
    """The per-account limit and the counter's identifiers, or ``None`` when limits are off."""
    if not username or not current_app.config.get("RATELIMIT_ENABLED"):
        return None
    item = parse(current_app.config["KIOSK_LOGIN_ACCOUNT_LIMIT"])
    return item, [current_app.config["RATELIMIT_KEY_PREFIX"], "login-account", username]


def account_locked(username: str) -> bool:
    """Whether ``username`` has used up its failed logins for now."""
    counter = _account_counter(username)
    return counter is not None and not limiter.limiter.test(counter[0], *counter[1])


def note_failed_login(username: str) -> None:
    """Count one failed login against ``username``."""
    counter = _account_counter(username)
    if counter is not None:
        limiter.limiter.hit(counter[0], *counter[1])


def clear_failed_logins(username: str) -> None:
    """Forget ``username``'s failed logins once it signs in."""
    counter = _account_counter(username)
    if counter is not None:
        limiter.limiter.clear(counter[0], *counter[1])
