"""Signing in under attack: the guesser is slowed and stopped, the librarian never locked out.

Reproduces what the probe found: five wrong passwords from anywhere locked the account for
its owner (429 with the right password), and behind nginx every visitor shared 127.0.0.1.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from kiosk.accounts import auth
from kiosk.extensions import db
from kiosk.models import AuditEvent
from kiosk.web import security

PASSWORD = "correct horse battery"  # noqa: S105 - test fixture
GUESSER = "198.51.100.66"
LIBRARIAN_DESK = "192.0.2.10"


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The delays the server imposed on failed logins (recorded, not slept)."""
    delays: list[float] = []
    monkeypatch.setattr(security, "sleep", delays.append)
    return delays


@pytest.fixture
def build(limited_app: Callable[..., Flask]) -> Callable[..., Flask]:
    """Make an app with limits on and one librarian, ``wang``."""

    def make(**overrides: Any) -> Flask:
        application = limited_app(**overrides)
        with application.app_context():
            auth.create_user("wang", PASSWORD)
            db.session.commit()
        return application

    return make


@pytest.fixture
def app(build: Callable[..., Flask], waits: list[float]) -> Flask:
    return build()


def attempt(client: FlaskClient, name: str, password: str, address: str, **headers: str) -> Any:
    return client.post("/admin/login", data={"username": name, "password": password},
                       environ_base={"REMOTE_ADDR": address}, headers=headers)


def test_a_guesser_elsewhere_cannot_lock_the_librarian_out(app: Flask) -> None:
    guesser = app.test_client()
    for _ in range(10):
        attempt(guesser, "wang", "guess", GUESSER)
    assert attempt(guesser, "wang", PASSWORD, GUESSER).status_code == 429  # the guesser is stopped
    assert attempt(app.test_client(), "wang", PASSWORD, LIBRARIAN_DESK).status_code == 302


@pytest.mark.parametrize("spelling", ["WANG", "ｗａｎｇ", " Wang "])
def test_other_spellings_count_against_the_same_account_only_from_their_address(app: Flask, spelling: str) -> None:
    guesser = app.test_client()
    for _ in range(5):
        attempt(guesser, spelling, "guess", GUESSER)
    assert attempt(guesser, "wang", PASSWORD, GUESSER).status_code == 429
    assert attempt(app.test_client(), "wang", PASSWORD, LIBRARIAN_DESK).status_code == 302


def test_a_known_device_gets_through_with_the_right_password_even_from_a_blocked_address(app: Flask) -> None:
    """The librarian signed in from this browser before; then the shared address is flooded."""
    desk = app.test_client()
    assert attempt(desk, "wang", PASSWORD, GUESSER).status_code == 302
    desk.post("/admin/logout")
    flooder = app.test_client()
    for n in range(25):  # past both the account's and the address's limits
        attempt(flooder, f"user{n % 5}" if n % 2 else "wang", "guess", GUESSER)
    assert attempt(flooder, "wang", PASSWORD, GUESSER).status_code == 429
    assert attempt(desk, "wang", PASSWORD, GUESSER).status_code == 302
    assert attempt(desk, "wang", "guess", GUESSER).status_code == 200  # a known device is not a free pass


def test_a_forged_known_device_cookie_counts_for_nothing(app: Flask) -> None:
    client = app.test_client()
    client.set_cookie(security.KNOWN_DEVICE_COOKIE, "WyJ3YW5nIl0.forged.signature", path="/admin/login")
    for _ in range(5):
        attempt(client, "wang", "guess", GUESSER)
    assert attempt(client, "wang", PASSWORD, GUESSER).status_code == 429


def test_failures_from_anywhere_slow_the_guesser_and_cost_the_owner_nothing(app: Flask, waits: list[float]) -> None:
    for n in range(8):  # eight guessers, one try each: no address reaches its limit
        attempt(app.test_client(), "wang", "guess", f"203.0.113.{n}")
    assert waits == [0.5, 1.0, 1.5, 2.0]  # the first four failures are free, then each waits longer
    waits.clear()
    assert attempt(app.test_client(), "wang", PASSWORD, LIBRARIAN_DESK).status_code == 302
    assert waits == []


def test_the_delay_has_a_ceiling(build: Callable[..., Flask], waits: list[float]) -> None:
    application = build(KIOSK_LOGIN_DELAY_MAX_S=1.25)
    for n in range(10):
        attempt(application.test_client(), "wang", "guess", f"203.0.113.{n}")
    assert max(waits) == 1.25


def test_a_flood_of_refused_logins_is_one_audit_row_a_minute(app: Flask) -> None:
    client = app.test_client()
    for _ in range(60):
        attempt(client, "wang", "guess", GUESSER)
    with app.app_context():
        refused = db.session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "login_refused"))
        failed = db.session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "login_failed"))
    assert refused == 2  # one for the account's limit, one for the address's, this minute
    assert failed == 5


def test_behind_a_trusted_proxy_each_visitor_has_their_own_address(
    build: Callable[..., Flask], waits: list[float]
) -> None:
    """Behind deploy/nginx.conf (KIOSK_TRUSTED_PROXIES=1) the address nginx appended counts."""
    application = build(KIOSK_TRUSTED_PROXIES=1)
    for n in range(25):  # 25 failures, all arriving from nginx at 127.0.0.1, from 25 addresses
        response = attempt(application.test_client(), f"user{n}", "guess", "127.0.0.1",
                           **{"X-Forwarded-For": f"203.0.113.{n}"})
        assert response.status_code == 200
    assert attempt(application.test_client(), "wang", PASSWORD, "127.0.0.1",
                   **{"X-Forwarded-For": "192.0.2.99"}).status_code == 302


def test_a_forged_forwarded_address_is_not_trusted_beyond_the_proxy(
    build: Callable[..., Flask], waits: list[float]
) -> None:
    """A client that writes its own X-Forwarded-For cannot pose as 25 visitors: nginx appends the real one."""
    application = build(KIOSK_TRUSTED_PROXIES=1)
    client = application.test_client()
    for n in range(20):
        attempt(client, f"user{n}", "guess", "127.0.0.1", **{"X-Forwarded-For": f"10.9.9.{n}, {GUESSER}"})
    refused = attempt(client, "user99", "guess", "127.0.0.1", **{"X-Forwarded-For": f"10.0.0.1, {GUESSER}"})
    assert refused.status_code == 429


def test_without_trusted_proxies_the_header_is_ignored(app: Flask) -> None:
    client = app.test_client()
    for n in range(20):
        attempt(client, f"user{n}", "guess", GUESSER, **{"X-Forwarded-For": f"203.0.113.{n}"})
    assert attempt(client, "wang", PASSWORD, GUESSER, **{"X-Forwarded-For": "192.0.2.1"}).status_code == 429


def test_only_a_refusal_says_when_to_come_back(app: Flask) -> None:
    """A successful sign-in carries no Retry-After (the limiter once put 15 minutes on every answer)."""
    welcome = attempt(app.test_client(), "wang", PASSWORD, LIBRARIAN_DESK)
    assert welcome.status_code == 302 and "Retry-After" not in welcome.headers
    guesser = app.test_client()
    for _ in range(5):
        assert "Retry-After" not in attempt(guesser, "wang", "guess", GUESSER).headers
    refused = attempt(guesser, "wang", "guess", GUESSER)
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 15 * 60
