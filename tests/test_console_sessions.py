"""Signing out ends the session on the server: a copy of the cookie is worthless afterwards.

Reproduces the probe: after logout, a copied session cookie stayed valid until it expired.
"""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import AuthActions

COOKIE = "session"


def copy_of(app: Flask, client: FlaskClient) -> FlaskClient:
    """Another browser holding a copy of ``client``'s session cookie."""
    cookie = client.get_cookie(COOKIE)
    assert cookie is not None
    thief = app.test_client()
    thief.set_cookie(COOKIE, cookie.value)
    return thief


def test_a_copied_cookie_dies_with_the_logout(app: Flask, client: FlaskClient) -> None:
    AuthActions(app, client).login()
    thief = copy_of(app, client)
    assert thief.get("/admin/").status_code == 200  # the copy works while the session lives
    AuthActions(app, client).logout()
    assert thief.get("/admin/").status_code == 302
    assert "/admin/login" in thief.get("/admin/").headers["Location"]


def test_signing_out_on_one_desk_leaves_the_other_desk_signed_in(app: Flask, client: FlaskClient) -> None:
    AuthActions(app, client).login(username="wang")
    other_desk = app.test_client()
    AuthActions(app, other_desk).login(username="wang")
    AuthActions(app, client).logout()
    assert other_desk.get("/admin/").status_code == 200
    assert client.get("/admin/").status_code == 302


def test_a_cookie_from_before_sessions_were_kept_is_signed_out(app: Flask, client: FlaskClient) -> None:
    """A session without a server-side record (forged, or older than this release) opens nothing."""
    AuthActions(app, client).login()
    with client.session_transaction() as session:
        session.pop("sid")
    assert client.get("/admin/").status_code == 302
