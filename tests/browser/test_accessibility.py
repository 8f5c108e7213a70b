"""Accessibility in a real browser: axe-core's WCAG 2.1 A/AA rules on every kind of page.

Visitors are often elderly and on a phone; librarians may use a screen reader. axe-core
(bundled by the ``axe-playwright-python`` package, so nothing is downloaded) runs inside
Debian's Chromium on the demo library served by ``kiosk serve --demo``. Any violation fails
the test with axe's own report: the rule, its impact, and the offending elements.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from typing import Any

import pytest

from .conftest import LiveKiosk

axe_module = pytest.importorskip("axe_playwright_python.sync_playwright", reason="pip install axe-playwright-python")

pytestmark = pytest.mark.browser

WCAG_AA = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
           "resultTypes": ["violations"]}


def violations(page: Any) -> str:
    """axe's report of the page as it is now; empty when it passes."""
    results = axe_module.Axe().run(page, options=WCAG_AA)
    return "" if results.violations_count == 0 else f"{page.url}\n{results.generate_report()}"


def visitor_paths(api: Callable[[str], Any]) -> list[str]:
    """The wall, a section, a book and a chapter of the demo library."""
    section = api("/api/v1/sections")["sections"][0]
    book = api(f"/api/v1/sections/{section['slug']}")["books"][0]
    track = api(f"/api/v1/books/{book['id']}")["book"]["tracks"][0]
    return ["/", f"/sections/{section['slug']}", f"/books/{book['id']}", f"/tracks/{track['id']}", "/?lang=en"]


def test_visitor_pages_pass_wcag_aa_on_a_phone(phone: Any, api: Callable[[str], Any]) -> None:
    reports = []
    for path in visitor_paths(api):
        phone.page.goto(path)
        reports.append(violations(phone.page))
    assert not any(reports), "\n".join(r for r in reports if r)


def test_the_booth_passes_wcag_aa(booth: Any) -> None:
    booth.page.goto("/booth")
    assert not (report := violations(booth.page)), report


def test_console_pages_pass_wcag_aa(console: Any, live_kiosk: LiveKiosk, api: Callable[[str], Any]) -> None:
    page = console.page
    page.goto("/admin/login")
    reports = [violations(page)]
    username, password = f"a11y-{secrets.token_hex(3)}", secrets.token_urlsafe(18)
    live_kiosk.cli("user", "add", username, "--role", "admin", "--password-stdin", stdin=password + "\n")
    page.locator("#username").fill(username)
    page.locator("#password").fill(password)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(re.compile(r"/admin/?$"))
    book_id = api(f"/api/v1/sections/{api('/api/v1/sections')['sections'][0]['slug']}")["books"][0]["id"]
    for path in ("/admin/", "/admin/moderation", "/admin/books", f"/admin/books/{book_id}", "/admin/books/new",
                 "/admin/sections", "/admin/readers", "/admin/texts", "/admin/import", "/admin/qr", "/admin/wall/print",
                 "/admin/stats", "/admin/trash", "/admin/audit", "/admin/users", "/admin/password"):
        page.goto(path)
        reports.append(violations(page))
    assert not any(reports), "\n".join(r for r in reports if r)
