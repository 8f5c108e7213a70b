"""Read-along on a phone: the demo's chapters are espeak-ng readings of their texts, aligned by
the background worker of ``kiosk serve --demo``. Playing lights up the sentence being read as
``currentTime`` moves; a tap on a later sentence makes ``currentTime`` jump to its start, and so
do the arrow keys and Enter; the text can be hidden ("只听不看") and stays hidden on the next page.
"""

from __future__ import annotations

import re
import secrets
import shutil
import time
from collections.abc import Callable
from typing import Any

import pytest

from kiosk.readalong import aligner
from tests.helpers import require_tool

from . import browser_marks

pytest.importorskip("playwright.sync_api", reason="pip install playwright")

pytestmark = browser_marks(300)

ALIGNED_WITHIN_S = 180.0  # the worker aligns the demo's chapters after it has made them
NOW = "document.querySelector('#readalong-text .ra-now')"


def aligned_chapter(api: Callable[[str], Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """A demo chapter whose text is aligned (waiting for the worker), and its transcript."""
    deadline = time.monotonic() + ALIGNED_WITHIN_S
    while True:
        for card in api("/api/v1/sections")["sections"]:
            for summary in api(f"/api/v1/sections/{card['slug']}")["books"]:
                for track in api(f"/api/v1/books/{summary['id']}")["book"]["tracks"]:
                    if track["transcript_url"]:
                        transcript = api(track["transcript_url"].replace(".vtt", ".json"))
                        if len(transcript["sentences"]) >= 4:
                            return track, transcript
        if time.monotonic() > deadline:
            pytest.fail(f"no demo chapter was aligned within {ALIGNED_WITHIN_S:.0f} s")
        time.sleep(2)


def open_aligned_chapter(phone: Any, api: Callable[[str], Any]) -> tuple[Any, list[float]]:
    """An aligned demo chapter's page on the phone with its text shown, and its sentences' starts."""
    require_tool("espeak-ng", shutil.which("espeak-ng") is not None, "apt-get install espeak-ng")
    require_tool("the aligner", aligner.missing_parts() is None, "pip install '.[align]' (README, align)")
    track, transcript = aligned_chapter(api)
    page = phone.page
    page.goto(track["url"])
    page.wait_for_selector("#readalong-text .ra-s")
    return page, [s["start_s"] for s in transcript["sentences"]]


def highlighted(page: Any) -> int:
    """The index of the sentence lit up (-1: none)."""
    return int(page.evaluate(f"() => {NOW} ? +{NOW}.dataset.i : -1"))


def test_the_sentence_read_is_lit_up_and_a_tap_seeks_to_a_sentence(phone: Any, api: Callable[[str], Any]) -> None:
    page, starts = open_aligned_chapter(phone, api)
    assert page.locator("#readalong-text .ra-s").count() == len(starts)
    assert page.locator("#readalong [aria-live]").count() == 0  # screen readers are not told each sentence

    page.locator("#play").tap()
    page.wait_for_function(f"() => !document.getElementById('audio').paused && {NOW}")
    first = highlighted(page)
    page.wait_for_function(f"(t) => document.getElementById('audio').currentTime > t && {NOW} "
                           f"&& +{NOW}.dataset.i > {first}", arg=starts[first + 1] + 0.2, timeout=60_000)
    at = page.evaluate("() => document.getElementById('audio').currentTime")
    expected = max(i for i, start in enumerate(starts) if start <= at + 0.05)
    assert highlighted(page) in (expected, expected - 1)  # a timeupdate may be a quarter second behind

    target = len(starts) - 2
    page.locator(f"#readalong-text .ra-s[data-i='{target}']").tap()
    page.wait_for_function("(t) => Math.abs(document.getElementById('audio').currentTime - t) < 0.6",
                           arg=starts[target])
    page.wait_for_function(f"() => {NOW} && +{NOW}.dataset.i >= {target}")
    page.locator("#play").tap()  # pause

    size = "() => parseFloat(getComputedStyle(document.getElementById('readalong-text')).fontSize)"
    font = page.evaluate(size)
    page.locator(".display button.size-150").tap()  # the page's own text-size choice
    page.wait_for_function(f"(before) => ({size})() > before * 1.4", arg=font)  # the text follows it (rem/em)

    page.locator("#readalong-toggle").tap()
    assert page.locator("#readalong-body").is_hidden()
    page.reload()
    page.wait_for_selector("#readalong-toggle[aria-pressed='true']")
    assert page.locator("#readalong-body").is_hidden()
    page.locator("#readalong-toggle").tap()
    assert page.locator("#readalong-text").is_visible()
    assert phone.log.errors == []


def test_by_keyboard_one_stop_arrows_between_sentences_enter_seeks(phone: Any, api: Callable[[str], Any]) -> None:
    """MIIT: everything a tap does, a keyboard or a switch can do, without a stop per sentence."""
    page, starts = open_aligned_chapter(phone, api)
    stops = page.locator("#readalong-text [tabindex='0']")
    assert stops.count() == 1  # one tab stop for the whole text
    toggle = page.get_by_role("button", name="只听不看")
    toggle.focus()
    page.keyboard.press("Tab")
    focused = "() => document.activeElement.dataset.i === undefined ? -1 : +document.activeElement.dataset.i"
    assert page.evaluate(focused) == 0
    assert page.evaluate("() => document.activeElement.getAttribute('role')") == "button"
    for _ in range(3):
        page.keyboard.press("ArrowDown")
    assert page.evaluate(focused) == 3
    page.keyboard.press("ArrowUp")
    assert page.evaluate(focused) == 2
    page.keyboard.press("Enter")
    page.wait_for_function("(t) => Math.abs(document.getElementById('audio').currentTime - t) < 0.6",
                           arg=starts[2])
    page.keyboard.press("End")
    assert page.evaluate(focused) == len(starts) - 1
    page.keyboard.press(" ")
    page.wait_for_function("(t) => Math.abs(document.getElementById('audio').currentTime - t) < 0.6",
                           arg=starts[-1])
    page.keyboard.press("Shift+Tab")
    assert page.evaluate("() => document.activeElement.id") == "readalong-toggle"
    assert phone.log.errors == []


def test_read_along_and_its_console_page_pass_wcag_aa(
    phone: Any, console: Any, live_kiosk: Any, api: Callable[[str], Any]
) -> None:
    from tests.browser.test_accessibility import violations

    require_tool("espeak-ng", shutil.which("espeak-ng") is not None, "apt-get install espeak-ng")
    require_tool("the aligner", aligner.missing_parts() is None, "pip install '.[align]' (README, align)")
    track, _transcript = aligned_chapter(api)
    page = phone.page
    page.goto(track["url"])
    page.wait_for_selector("#readalong-text .ra-s")
    page.locator("#readalong-text .ra-s[data-i='1']").tap()  # a sentence lit up
    page.wait_for_selector("#readalong-text .ra-now")
    reports = [violations(page)]

    username, password = f"ra-{secrets.token_hex(3)}", secrets.token_urlsafe(18)
    live_kiosk.cli("user", "add", username, "--role", "librarian", "--password-stdin", stdin=password + "\n")
    desk = console.page
    desk.goto("/admin/login")
    desk.locator("#username").fill(username)
    desk.locator("#password").fill(password)
    desk.get_by_role("button", name="登录").click()
    desk.wait_for_url(re.compile(r"/admin/?$"))
    desk.goto(f"/admin/tracks/{track['id']}/text")
    assert "已对齐" in desk.locator("#alignment-note").inner_text()
    reports.append(violations(desk))
    assert not any(reports), "\n".join(r for r in reports if r)
