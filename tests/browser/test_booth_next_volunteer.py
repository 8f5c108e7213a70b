"""The booth is safe for the next volunteer, in a real browser (issue 12).

A second volunteer meets an empty booth after 录下一段 and after an idle spell; the first
tap on 开始录音 with a slow microphone starts the countdown when it opens; an error reply is
shown as an error, in words, and polling stops. The server is the real ``kiosk serve``; a slow
microphone is a delayed ``getUserMedia`` (an init script), and the server's error replies and
the booth's settings (idle time, polling limit) are put in place with ``page.route``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from . import browser_marks
from .test_booth_journey import (
    MASTERING_TIMEOUT_MS,
    RECORD_S,
    WATCH_COUNTDOWN,
    choose_text_and_sign,
    clock_seconds,
    listen_back,
    submit_and_wait,
)

expect = pytest.importorskip("playwright.sync_api", reason="pip install playwright").expect

pytestmark = browser_marks(180)

FIRST_READER = "第一位读者"
MIC_DELAY_MS = 3000  # a first use: the permission prompt is up this long
IDLE_S = 8  # instead of the default 120, so a test sees the countdown and the clearing
STATUS_PATH = re.compile(r"/api/v1/recordings/[^/]+$")
FAKE_TOKEN = "f" * 24
ACCEPTED = {"token": FAKE_TOKEN, "status_url": f"/api/v1/recordings/{FAKE_TOKEN}",
            "take_home_url": f"http://127.0.0.1/r/{FAKE_TOKEN}"}
POLL_ERRORS_MAX = 3  # booth.js gives up after this many failed status requests in a row
# getUserMedia answers only after MIC_DELAY_MS, like a microphone behind a permission prompt.
SLOW_MICROPHONE = """(() => {
  const devices = navigator.mediaDevices;
  const open = devices.getUserMedia.bind(devices);
  devices.getUserMedia = (constraints) => new Promise((resolve, reject) => {
    setTimeout(() => { window.micOpenedAt = performance.now(); open(constraints).then(resolve, reject); }, DELAY_MS);
  });
})();""".replace("DELAY_MS", str(MIC_DELAY_MS))
# The text fields of every FormData the page sends (Chromium does not report multipart bodies with a blob).
WATCH_FORMS = """(() => {
  window.sentForms = [];
  const send = XMLHttpRequest.prototype.send;
  XMLHttpRequest.prototype.send = function (body) {
    if (body instanceof FormData) {
      const fields = {};
      body.forEach((value, name) => { if (typeof value === "string") { fields[name] = value; } });
      window.sentForms.push(fields);
    }
    return send.call(this, body);
  };
})();"""


def label(page: Any, name: str) -> str:
    """A text of the booth's, as its template passed it to booth.js (``data-label-NAME``)."""
    return str(page.locator("#booth").get_attribute(f"data-label-{name}"))


def with_booth_settings(page: Any, **settings: str) -> None:
    """Serve /booth with its ``data-*`` settings replaced (``idle_s="8"`` → ``data-idle-s="8"``)."""

    def rewrite(route: Any) -> None:
        response = route.fetch()
        body = response.text()
        for name, value in settings.items():
            attribute = "data-" + name.replace("_", "-")
            body, found = re.subn(rf'{attribute}="[^"]*"', f'{attribute}="{value}"', body)
            assert found == 1, f"/booth has no {attribute}"
        route.fulfill(response=response, body=body)

    page.route(re.compile(r"/booth$"), rewrite)


def status_requests(log: Any) -> list[str]:
    """The status requests the booth made (its polling)."""
    return [url for url in log.requests if STATUS_PATH.search(url)]


def expect_blank_booth(page: Any) -> None:
    """Nothing of the last volunteer: the first step, no name, no consent, no take, no report, no code."""
    expect(page.locator("#step-choose")).to_be_visible()
    expect(page.locator("#reader-name")).to_have_value("")
    expect(page.locator("#consent")).not_to_be_checked()
    expect(page.locator("#take-home")).to_be_hidden()
    assert page.locator("#take-home-qr").get_attribute("src") is None
    expect(page.locator("#result-audio")).to_be_hidden()
    assert page.locator("#result-audio").get_attribute("src") is None
    assert page.locator("#review-audio").get_attribute("src") is None
    expect(page.locator("#verdict")).to_have_text("")
    expect(page.locator("#still-you")).to_be_hidden()
    expect(page.locator("#idle-warning")).to_be_hidden()
    expect(page.locator("#advice")).to_have_text("")
    page.locator(".text-choice").first.tap()  # the next volunteer starts: still nothing of the last
    expect(page.locator("#step-details")).to_be_visible()
    expect(page.locator("#reader-name")).to_have_value("")
    expect(page.locator("#consent")).not_to_be_checked()
    page.get_by_role("button", name="返回").tap()


def test_first_tap_with_a_slow_microphone_counts_down_and_next_volunteer_meets_an_empty_booth(
    booth: Any,
) -> None:
    """A tap while the microphone opens starts 3-2-1 when it opens; 录下一段 leaves nothing behind."""
    page = booth.page
    booth.context.add_init_script(SLOW_MICROPHONE)
    booth.context.add_init_script(WATCH_FORMS)
    page.goto("/booth")
    licence = str(page.locator("#booth").get_attribute("data-licence"))
    assert licence == "CC BY 4.0"  # the default KIOSK_BOOTH_LICENCE
    expect(page.locator("#consent-label")).to_contain_text(f"以 {licence} 协议")
    choose_text_and_sign(page, FIRST_READER)
    expect(page.locator("#record-status")).to_have_text(label(page, "opening"))  # not "ready" yet
    page.evaluate(WATCH_COUNTDOWN)
    page.get_by_role("button", name="开始录音").tap()  # the first tap, before the microphone is open
    expect(page.locator("#record-status")).to_have_text(label(page, "waiting"))
    assert page.evaluate("() => window.micOpenedAt") is None
    expect(page.locator("#countdown")).to_be_visible(timeout=MIC_DELAY_MS + 5_000)
    assert page.evaluate("() => window.micOpenedAt") is not None
    stop = page.locator("#record-stop")
    expect(stop).to_be_visible(timeout=6_000)
    assert page.evaluate("() => window.countdownSeen") == ["3", "2", "1"]
    page.wait_for_function(
        "(s) => { const [m, r] = document.getElementById('record-clock').textContent.split(':');"
        " return 60 * Number(m) + Number(r) >= s; }", arg=RECORD_S, timeout=(RECORD_S + 10) * 1000)
    stop.tap()
    listen_back(page, clock_seconds(page.locator("#record-clock").inner_text()))
    take = submit_and_wait(page)
    sent = page.evaluate("() => window.sentForms")
    assert [form["licence"] for form in sent] == [licence]
    assert sent[0]["reader_name"] == FIRST_READER
    # Submitted: the name and consent left the form at once; the result offers "还是您吗？".
    expect(page.locator("#reader-name")).to_have_value("")
    expect(page.locator("#consent")).not_to_be_checked()
    expect(page.locator("#still-you")).to_be_visible()
    page.get_by_role("button", name="录下一段").tap()
    expect_blank_booth(page)
    assert take.token not in page.content()
    assert booth.log.errors == [], booth.log.errors


def violations(page: Any) -> str:
    """axe-core's WCAG 2.1 AA report of the page as it is now (see test_accessibility.py); empty if none."""
    axe = pytest.importorskip("axe_playwright_python.sync_playwright", reason="pip install axe-playwright-python")
    from .test_accessibility import WCAG_AA

    results = axe.Axe().run(page, options=WCAG_AA)
    return "" if results.violations_count == 0 else results.generate_report()


def test_an_idle_booth_counts_down_and_clears_the_take_home_code(booth: Any, fake_voice: Path) -> None:
    """Left alone on the result, the booth warns with a countdown, then clears everything."""
    page = booth.page
    with_booth_settings(page, idle_s=str(IDLE_S))
    page.goto("/booth")
    choose_text_and_sign(page, FIRST_READER)
    page.locator("#file-input").set_input_files(str(fake_voice))
    expect(page.locator("#step-review")).to_be_visible()
    page.get_by_role("button", name="提交").tap()
    expect(page.locator("#take-home")).to_be_visible(timeout=MASTERING_TIMEOUT_MS)
    page.wait_for_function("() => document.getElementById('take-home-qr').naturalWidth > 0")
    warning = page.locator("#idle-warning")
    expect(warning).to_be_visible(timeout=IDLE_S * 1000)
    expect(page.locator("#idle-text")).to_contain_text("秒后屏幕会清空")
    expect(page.locator("#take-home")).to_be_visible()  # a warning first, not yet gone
    expect(warning).to_be_hidden(timeout=IDLE_S * 1000)
    expect_blank_booth(page)
    assert booth.log.errors == [], booth.log.errors


def fake_accepted_take(page: Any, status: dict[str, Any] | None, status_code: int = 200) -> None:
    """The booth's POST is accepted (202) and its status requests answer ``status``."""
    page.route(re.compile(r"/api/v1/recordings$"), lambda route: route.fulfill(
        status=202, content_type="application/json", body=json.dumps(ACCEPTED)))
    page.route(STATUS_PATH, lambda route: route.fulfill(
        status=status_code, content_type="application/json", body=json.dumps(status)))


def reach_review(page: Any, fake_voice: Path) -> None:
    """Open the booth, choose a text, sign, and bring a take from a file to the review step."""
    page.goto("/booth")
    choose_text_and_sign(page, FIRST_READER)
    page.locator("#file-input").set_input_files(str(fake_voice))
    expect(page.locator("#step-review")).to_be_visible()


def test_still_you_keeps_only_the_name_until_the_booth_idles(booth: Any, fake_voice: Path) -> None:
    """还是您吗？ keeps the name for the next text (consent is asked again); idling forgets it; 我还在 waits."""
    page = booth.page
    with_booth_settings(page, idle_s=str(IDLE_S))
    fake_accepted_take(page, {"token": FAKE_TOKEN, "status": "failed", "message": "录音里几乎没有声音。",
                              "report": None, "audio_url": None})
    reach_review(page, fake_voice)
    page.get_by_role("button", name="提交").tap()
    expect(page.locator("#advice")).to_contain_text("录音里几乎没有声音。")
    expect(page.locator("#still-you")).to_be_visible()
    assert not (report := violations(page)), report  # the result step with 还是您吗？
    page.get_by_role("button", name="是我，再读一篇").tap()
    expect(page.locator("#step-choose")).to_be_visible()
    page.locator(".text-choice").first.tap()
    expect(page.locator("#reader-name")).to_have_value(FIRST_READER)
    expect(page.locator("#consent")).not_to_be_checked()
    expect(page.locator("#idle-warning")).to_be_visible(timeout=IDLE_S * 1000)
    page.get_by_role("button", name="我还在").tap()
    expect(page.locator("#idle-warning")).to_be_hidden()
    expect(page.locator("#reader-name")).to_have_value(FIRST_READER)
    expect(page.locator("#idle-warning")).to_be_visible(timeout=IDLE_S * 1000)
    expect(page.locator("#idle-warning")).to_be_hidden(timeout=IDLE_S * 1000)
    expect_blank_booth(page)


@pytest.mark.parametrize(
    ("status", "body", "may_retry"),
    [
        (500, {"error": "internal_error", "message": "服务器出了点问题，请稍后再试。"}, True),
        (503, {"error": "queue_full", "message": "等待馆员审核的录音已经很多了，请过几天再来录。谢谢您！"}, True),
        (415, {"error": "not_audio", "message": "这不是可以识别的音频文件。"}, False),
        (502, None, True),  # a front proxy's HTML page: the booth's own words
    ],
    ids=["500", "503", "415", "502-html"],
)
def test_an_error_reply_is_shown_as_an_error_and_nothing_is_polled(
    booth: Any, fake_voice: Path, status: int, body: dict[str, str] | None, may_retry: bool
) -> None:
    """A refused upload: the reason in words, on the review step, with the take still there; no polling."""
    page = booth.page
    page.route(re.compile(r"/api/v1/recordings$"), lambda route: route.fulfill(
        status=status, content_type="application/json" if body else "text/html",
        body=json.dumps(body) if body else "<html><body>502 Bad Gateway</body></html>"))
    reach_review(page, fake_voice)
    page.get_by_role("button", name="提交").tap()
    words = body["message"] if body else label(page, "server-error")
    expect(page.locator("#submit-status")).to_have_text(words)
    expect(page.locator("#submit-status")).to_have_class(re.compile(r"\berror\b"))
    expect(page.locator("#step-result")).to_be_hidden()
    assert str(page.locator("#review-audio").get_attribute("src")).startswith("blob:")
    if may_retry:
        expect(page.locator("#submit-take")).to_be_enabled()
    else:
        expect(page.locator("#submit-take")).to_be_disabled()
    page.wait_for_timeout(3000)
    assert status_requests(booth.log) == []
    expect(page.locator("#step-result")).to_be_hidden()


@pytest.mark.parametrize("case", ["status-errors", "never-finishes"])
def test_polling_stops_on_errors_and_after_its_time_limit(booth: Any, fake_voice: Path, case: str) -> None:
    """Failing status requests end polling after a few tries; a take never finished ends it at the limit."""
    page = booth.page
    if case == "status-errors":
        fake_accepted_take(page, {"error": "internal_error", "message": "出错了"}, status_code=500)
    else:
        with_booth_settings(page, poll_limit_s="4")
        fake_accepted_take(page, {"token": FAKE_TOKEN, "status": "processing", "report": None, "audio_url": None})
    reach_review(page, fake_voice)
    words = label(page, "poll-error" if case == "status-errors" else "slow")
    page.get_by_role("button", name="提交").tap()
    expect(page.locator("#verdict")).to_have_text(words, timeout=15_000)
    expect(page.locator("#verdict")).not_to_have_class(re.compile(r"\bpass\b"))
    expect(page.locator("#take-home")).to_be_visible()  # the take arrived: the code still takes it home
    polled = len(status_requests(booth.log))
    if case == "status-errors":
        assert polled == POLL_ERRORS_MAX
    else:
        assert 1 <= polled <= 4 * 1000 // 1500 + 1
    page.wait_for_timeout(4000)
    assert len(status_requests(booth.log)) == polled, "the booth kept polling"


def test_a_licence_changed_under_the_screen_is_explained_and_the_booth_starts_again(
    booth: Any, fake_voice: Path
) -> None:
    """409 licence_changed: the server's words, no polling, and 重新开始 opens the booth afresh."""
    page = booth.page
    message = "图书馆刚刚更换了录音授权协议。请点“重新开始”，阅读新的协议后再录。"
    page.route(re.compile(r"/api/v1/recordings$"), lambda route: route.fulfill(
        status=409, content_type="application/json",
        body=json.dumps({"error": "licence_changed", "message": message})))
    reach_review(page, fake_voice)
    page.get_by_role("button", name="提交").tap()
    expect(page.locator("#submit-status")).to_have_text(message)
    expect(page.locator("#submit-take")).to_be_disabled()
    with page.expect_navigation():
        page.get_by_role("button", name="重新开始").tap()
    expect_blank_booth(page)
    assert status_requests(booth.log) == []
