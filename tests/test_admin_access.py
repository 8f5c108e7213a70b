"""Every rule of the URL map, walked anonymously, as a librarian and as an admin.

Nothing under the console's prefixes answers an anonymous request with content, admin-only
views refuse librarians with 403, and every console view declares who may use it. Console
pages added later are covered without touching this file; only public console endpoints
(the login page) are listed here.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.routing import Rule

from kiosk.accounts import auth
from kiosk.extensions import db
from kiosk.models import Role

PASSWORD = "correct horse battery"  # noqa: S105 - test fixture
PROTECTED_PREFIXES = ("/admin", "/api/v1/admin", "/api/v1/moderation")
PUBLIC_CONSOLE_ENDPOINTS = frozenset({"auth.login"})
REFUSALS = (401, 403, 404)
# Plausible values for path converters: the first that the converter's pattern accepts is used.
CANDIDATES = ("1", "ABCDE", "demo", str(uuid.UUID(int=1)), "x/y.mp3")


@dataclass(frozen=True)
class Call:
    """One request to make: a rule's endpoint, a method and a concrete path."""

    endpoint: str
    method: str
    path: str

    @property
    def protected(self) -> bool:
        """Whether the path is in the console's space."""
        return self.path.startswith(PROTECTED_PREFIXES)


def _value_for(rule: Rule, name: str) -> str:
    """A string that the converter of argument ``name`` accepts."""
    pattern = rule._converters[name].regex  # werkzeug keeps converters per rule
    for candidate in CANDIDATES:
        if re.fullmatch(pattern, candidate):
            return candidate
    raise AssertionError(f"no test value for <{name}> of {rule.rule}")


def _path(rule: Rule) -> str:
    """``rule`` with every variable filled in."""
    return re.sub(
        r"<(?:[^:<>]+:)?([^<>]+)>", lambda m: _value_for(rule, m.group(1)), rule.rule
    )


def calls(app: Flask) -> list[Call]:
    """Every (rule, method) of the app, with its path filled in."""
    found = []
    for rule in app.url_map.iter_rules():
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            found.append(Call(rule.endpoint, method, _path(rule)))
    return found


def access_of(app: Flask, endpoint: str) -> str | None:
    """Who a view admits, as declared by ``@librarian_required``/``@admin_required`` or by
    ``auth.protect_blueprint`` on its blueprint."""
    view = app.view_functions[endpoint]
    declared = getattr(view, "kiosk_access", None)
    blueprint = app.blueprints.get(endpoint.rpartition(".")[0])
    return declared or getattr(blueprint, "kiosk_access", None)


def send(client: FlaskClient, call: Call) -> tuple[int, str]:
    """Make ``call``; its status and its Location (if any)."""
    response = client.open(call.path, method=call.method, data={})
    location = response.headers.get("Location", "")
    response.close()
    return response.status_code, location


def is_login_redirect(status: int, location: str) -> bool:
    """A redirect to this site's login page."""
    parts = urlsplit(location)
    return status in (302, 303) and not parts.netloc and parts.path == "/admin/login"


def signed_in(app: Flask, role: Role) -> FlaskClient:
    """A client signed in with a fresh account of ``role``."""
    name = f"walker-{role.value}"
    with app.app_context():
        auth.create_user(name, PASSWORD, role)
        db.session.commit()
    client = app.test_client()
    response = client.post("/admin/login", data={"username": name, "password": PASSWORD})
    assert response.status_code == 302
    return client


@pytest.fixture
def walk(app: Flask) -> Iterator[list[Call]]:
    """Every call of the URL map, checked to include the console's own pages."""
    found = calls(app)
    endpoints = {call.endpoint for call in found}
    assert {"admin.dashboard", "admin.users", "admin.audit", "auth.login"} <= endpoints
    yield found


def test_every_console_view_declares_who_may_use_it(app: Flask, walk: list[Call]) -> None:
    """A console view without a declared access rule fails here, before it ships."""
    undeclared = sorted(
        {c.endpoint for c in walk if c.protected and c.endpoint not in PUBLIC_CONSOLE_ENDPOINTS
         and access_of(app, c.endpoint) is None}
    )
    assert undeclared == []


def test_anonymous_requests_to_the_console_get_no_content(
    client: FlaskClient, walk: list[Call]
) -> None:
    """Anonymous: a redirect to login, or 401/403/404, for every console method and path; and
    nothing anywhere in the app fails with a server error."""
    leaks, errors = [], []
    for call in walk:
        status, location = send(client, call)
        if status >= 500:
            errors.append((call, status))
        guarded = call.protected and call.endpoint not in PUBLIC_CONSOLE_ENDPOINTS
        if guarded and not (is_login_redirect(status, location) or status in REFUSALS):
            leaks.append((call, status, location))
    assert leaks == []
    assert errors == []


def test_librarians_are_refused_admin_pages(app: Flask, walk: list[Call]) -> None:
    """As a librarian: admin-only views answer 403; the other console views let them in."""
    client = signed_in(app, Role.LIBRARIAN)
    wrong = []
    for call in walk:
        if not call.protected or call.endpoint == "auth.logout":  # logging out ends the walk
            continue
        status, location = send(client, call)
        access = access_of(app, call.endpoint)
        if access == auth.ADMIN and status != 403:
            wrong.append((call, status, "admin-only view did not refuse"))
        refused = status in (401, 403) or is_login_redirect(status, location)
        if access == auth.LIBRARIAN and refused:
            wrong.append((call, status, "librarian was refused"))
        if status >= 500:
            wrong.append((call, status, "server error"))
    assert wrong == []
    assert client.get("/admin/").status_code == 200  # still signed in after the walk


def test_admins_reach_every_console_view(app: Flask, walk: list[Call]) -> None:
    """As an admin: no console view refuses, and none fails."""
    client = signed_in(app, Role.ADMIN)
    wrong = []
    for call in walk:
        if not call.protected or call.endpoint == "auth.logout":
            continue
        status, location = send(client, call)
        if status in (401, 403) or is_login_redirect(status, location) or status >= 500:
            wrong.append((call, status))
    assert wrong == []


def test_console_navigation_follows_the_role(app: Flask) -> None:
    """Librarians do not even see links to the admins' pages."""
    librarian_page = signed_in(app, Role.LIBRARIAN).get("/admin/").get_data(as_text=True)
    admin_page = signed_in(app, Role.ADMIN).get("/admin/").get_data(as_text=True)
    for link in ('href="/admin/users"', 'href="/admin/audit"'):
        assert link not in librarian_page
        assert link in admin_page
