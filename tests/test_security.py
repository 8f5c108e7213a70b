"""Web security: CSRF refusal, login rate limits per account and per client, headers, cookies."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from kiosk import create_app
from kiosk.accounts import auth
from kiosk.cli.setup import prepare_database
from kiosk.extensions import db
from kiosk.models import AuditEvent
from kiosk.web import security

PASSWORD = "correct horse battery"  # noqa: S105 - test fixture
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)


def build_app(tmp_path: Path, **overrides: Any) -> Flask:
    """An app on a fresh SQLite database with one librarian, ``wang``."""
    application = create_app(
        {
            "TESTING": True,
            "KIOSK_DATA_DIR": tmp_path / "media",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'security.sqlite3'}",
            "SECRET_KEY": "test-secret",
            **overrides,
        }
    )
    with application.app_context():
        prepare_database()
        auth.create_user("wang", PASSWORD)
        db.session.commit()
    return application


@pytest.fixture
def guarded(tmp_path: Path) -> Iterator[Flask]:
    """An app with CSRF protection and rate limits on, as in production."""
    application = build_app(tmp_path, WTF_CSRF_ENABLED=True, RATELIMIT_ENABLED=True)
    yield application
    with application.app_context():
        db.engine.dispose()


@pytest.fixture
def limited(tmp_path: Path) -> Iterator[Flask]:
    """An app with rate limits on and CSRF off (so the tests count only login attempts)."""
    application = build_app(tmp_path, RATELIMIT_ENABLED=True)
    yield application
    with application.app_context():
        db.engine.dispose()


def csrf_token(client: FlaskClient, path: str = "/admin/login") -> str:
    """The token a page's form carries."""
    page = client.get(path).get_data(as_text=True)
    found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert found, page
    return found.group(1)


def attempt(client: FlaskClient, name: str, password: str, ip: str = "192.0.2.1") -> Any:
    """One login attempt from the address ``ip``."""
    return client.post(
        "/admin/login", data={"username": name, "password": password},
        environ_base={"REMOTE_ADDR": ip},
    )


def audit_log(app: Flask) -> list[tuple[str, dict[str, Any] | None]]:
    """(action, detail) of every audit event, oldest first."""
    with app.app_context():
        events = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
        return [(event.action, event.detail) for event in events]


# ---- CSRF -------------------------------------------------------------------------------


def test_production_settings_turn_csrf_and_limits_on(tmp_path: Path) -> None:
    """Without TESTING, both protections are on by default."""
    application = create_app(
        {"KIOSK_DATA_DIR": tmp_path, "SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "k"}
    )
    assert application.config["WTF_CSRF_ENABLED"] is True
    assert application.config["RATELIMIT_ENABLED"] is True


def test_a_post_without_token_is_refused_in_chinese(guarded: Flask) -> None:
    """400 with a message a librarian understands; nobody is signed in."""
    client = guarded.test_client()
    response = client.post("/admin/login", data={"username": "wang", "password": PASSWORD})
    assert response.status_code == 400
    assert "页面已过期或表单无效，请刷新页面后重试。" in response.get_data(as_text=True)
    assert client.get("/admin/").status_code == 302


def test_a_post_with_a_forged_token_is_refused(guarded: Flask) -> None:
    """A token from another session does not pass."""
    stranger = guarded.test_client()
    token = csrf_token(stranger)
    client = guarded.test_client()
    client.get("/admin/login")
    response = client.post(
        "/admin/login", data={"username": "wang", "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 400


def test_a_post_with_the_page_token_passes(guarded: Flask) -> None:
    """The token the page gave is accepted, and logout needs one too."""
    client = guarded.test_client()
    token = csrf_token(client)
    response = client.post(
        "/admin/login", data={"username": "wang", "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302
    assert client.post("/admin/logout").status_code == 400  # a cross-site logout fails
    assert client.get("/admin/").status_code == 200
    token = csrf_token(client, "/admin/")  # the console's logout button carries the token
    assert client.post("/admin/logout", data={"csrf_token": token}).status_code == 303
    assert client.get("/admin/").status_code == 302


def test_csrf_refusal_is_json_under_the_api(guarded: Flask) -> None:
    """API clients get the API's error shape."""
    guarded.add_url_rule("/api/v1/_probe", "probe", lambda: "ok", methods=["POST"])
    response = guarded.test_client().post("/api/v1/_probe")
    assert response.status_code == 400
    assert response.get_json()["error"] == "csrf_failed"


def test_public_api_posts_can_be_exempted(guarded: Flask) -> None:
    """A view marked with ``security.csrf.exempt`` takes posts without a token."""

    def beacon() -> str:
        return "ok"

    exempted = security.csrf.exempt(beacon)
    guarded.add_url_rule("/api/v1/_beacon", "beacon", exempted, methods=["POST"])
    assert guarded.test_client().post("/api/v1/_beacon").status_code == 200


# ---- login rate limits ------------------------------------------------------------------


def test_failed_logins_stop_that_address_for_that_account(limited: Flask) -> None:
    """Five failures for one username from one address: the sixth try from there is 429 even with
    the right password, in Chinese, with Retry-After, and audited; the owner elsewhere signs in
    (tests/test_login_throttle.py holds the rest of the lock-out rules)."""
    client = limited.test_client()
    for _ in range(5):
        assert attempt(client, "wang", "wrong password", "198.51.100.7").status_code == 200
    response = attempt(client, "WANG", PASSWORD, "198.51.100.7")
    assert response.status_code == 429
    assert "登录尝试次数过多，请过一会儿再试。" in response.get_data(as_text=True)
    assert response.headers["Retry-After"]
    action, detail = audit_log(limited)[-1]
    assert action == "login_refused" and detail and detail["reason"] == "account"
    assert attempt(limited.test_client(), "wang", PASSWORD, "198.51.100.99").status_code == 302


def test_the_account_limit_does_not_touch_other_accounts(limited: Flask) -> None:
    """Another librarian signs in from the same address while ``wang`` is locked."""
    with limited.app_context():
        auth.create_user("li", PASSWORD)
        db.session.commit()
    client = limited.test_client()
    for _ in range(5):
        attempt(client, "wang", "wrong password")
    assert attempt(client, "wang", PASSWORD).status_code == 429
    assert attempt(client, "li", PASSWORD).status_code == 302


def test_a_success_clears_the_account_counter(limited: Flask) -> None:
    """Four failures, a success, then four more failures: still not locked."""
    client = limited.test_client()
    for _ in range(4):
        attempt(client, "wang", "wrong password")
    assert attempt(client, "wang", PASSWORD).status_code == 302
    client.post("/admin/logout")
    for _ in range(4):
        attempt(client, "wang", "wrong password")
    assert attempt(client, "wang", PASSWORD).status_code == 302


def test_one_address_is_limited_across_usernames(limited: Flask) -> None:
    """Twenty failures from one address (four usernames, five each): the address is refused,
    while another address still signs in; the refusal is audited."""
    client = limited.test_client()
    for name in ("zhang", "zhao", "qian", "sun"):
        for _ in range(5):
            assert attempt(client, name, "guess guess", "203.0.113.7").status_code == 200
    response = attempt(client, "wang", PASSWORD, "203.0.113.7")
    assert response.status_code == 429
    assert "登录尝试次数过多" in response.get_data(as_text=True)
    assert response.headers.get("Retry-After")
    action, detail = audit_log(limited)[-1]
    assert action == "login_refused" and detail == {"ip": "203.0.113.7", "reason": "client"}
    assert attempt(client, "wang", PASSWORD, "203.0.113.8").status_code == 302


def test_successful_logins_do_not_use_up_the_address_limit(limited: Flask) -> None:
    """A busy front desk signing in and out all day is not throttled."""
    client = limited.test_client()
    for _ in range(25):
        assert attempt(client, "wang", PASSWORD).status_code == 302
        client.post("/admin/logout")


def test_limits_live_in_redis_when_configured() -> None:
    """KIOSK_REDIS_URL moves the counters to Redis, shared by every process."""

    class Stub:
        config: dict[str, Any]

    stub = Stub()
    stub.config = {"KIOSK_REDIS_URL": "redis://cache:6379/2"}
    assert security._storage_uri(stub) == "redis://cache:6379/2"  # type: ignore[arg-type]
    stub.config = {"KIOSK_REDIS_URL": None}
    assert security._storage_uri(stub) == "memory://"  # type: ignore[arg-type]


# ---- headers and cookies ----------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/admin/login", "/sections/no-such-section", "/healthz"])
def test_security_headers_on_every_response(client: FlaskClient, path: str) -> None:
    """Pages, errors and JSON alike carry the protective headers."""
    headers = client.get(path).headers
    assert headers["Content-Security-Policy"] == CSP
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Permissions-Policy"] == "microphone=(), camera=()"


def test_console_pages_are_not_cached(client: FlaskClient) -> None:
    """A shared computer's back button shows no console page after logout."""
    assert client.get("/admin/login").headers["Cache-Control"] == "no-store"
    assert "no-store" not in client.get("/").headers.get("Cache-Control", "")


def test_the_booth_may_be_framed_and_use_the_microphone(app: Flask) -> None:
    """Only /booth pages relax framing to the same origin and allow the microphone."""
    app.add_url_rule("/booth/_probe", "booth_probe", lambda: "booth")
    headers = app.test_client().get("/booth/_probe").headers
    assert "frame-ancestors 'self'" in headers["Content-Security-Policy"]
    assert "script-src 'self';" in headers["Content-Security-Policy"]
    assert headers["X-Frame-Options"] == "SAMEORIGIN"
    assert headers["Permissions-Policy"] == "microphone=(self)"
    assert security.is_booth_path("/booth") and not security.is_booth_path("/boothy")


def test_no_inline_script_in_console_pages(app: Flask, client: FlaskClient) -> None:
    """The CSP forbids inline script, so the console has none (no <script> without src,
    no on* handler attributes)."""
    with app.app_context():
        auth.create_user("boss", PASSWORD, "admin")
        db.session.commit()
    client.post("/admin/login", data={"username": "boss", "password": PASSWORD})
    for path in ("/admin/", "/admin/users", "/admin/audit", "/admin/password"):
        page = client.get(path).get_data(as_text=True)
        assert not re.search(r"<script(?![^>]*\bsrc=)", page), path
        assert not re.search(r"\son[a-z]+\s*=", page), path


def _session_cookie(response: Any) -> str:
    """The Set-Cookie header of Flask's session cookie."""
    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]
    assert cookies, response.headers
    return cookies[0]


@pytest.mark.parametrize(("base_url", "secure"), [("https://ting.example.org", True), ("", False)])
def test_session_cookie_flags(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, base_url: str, secure: bool
) -> None:
    """HttpOnly and SameSite=Lax always; Secure (and HSTS) exactly when the site is https."""
    monkeypatch.setenv("KIOSK_BASE_URL", base_url)
    application = build_app(tmp_path)
    response = application.test_client().post(
        "/admin/login", data={"username": "wang", "password": PASSWORD},
        base_url=base_url or "http://localhost",
    )
    assert response.status_code == 302
    cookie = _session_cookie(response)
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert ("Secure" in cookie) is secure
    assert ("Strict-Transport-Security" in response.headers) is secure
    with application.app_context():
        db.engine.dispose()
