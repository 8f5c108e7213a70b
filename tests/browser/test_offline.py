"""Downloads that play offline, on a real phone browser, and the honest fallback where they cannot.

Against ``kiosk serve --demo``: a book is stored with "下载到手机", the network is cut
(``context.set_offline(True)``), and the chapter's page is reloaded, played, sought to the
middle, paused, reloaded and resumed, all from the service worker's storage. An iPhone's
WeChat (WKWebView: no service worker) is offered the other ways home instead.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

import pytest

from . import browser_marks

expect = pytest.importorskip("playwright.sync_api", reason="pip install playwright").expect

pytestmark = browser_marks(240)

MIN_TRACK_S = 30.0
AUDIO = "document.getElementById('audio')"
PLAYING_PAST = f"(t) => !{AUDIO}.paused && {AUDIO}.currentTime > t"
IOS_WECHAT_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Mobile/15E148 MicroMessenger/8.0.47(0x18002f2c) NetType/WIFI Language/zh_CN"
)
Json = dict[str, Any]


def clock(seconds: float) -> str:
    """``m:ss`` (or ``h:mm:ss``), as the player shows time."""
    hours, rest = divmod(math.floor(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def pick_book(api: Callable[[str], Any]) -> tuple[Json, list[Json]]:
    """A demo book of 2+ chapters whose first lasts ``MIN_TRACK_S`` or more."""
    for card in api("/api/v1/sections")["sections"]:
        for summary in api(f"/api/v1/sections/{card['slug']}")["books"] if card["book_count"] else []:
            tracks = api(f"/api/v1/books/{summary['id']}")["book"]["tracks"]
            if len(tracks) >= 2 and tracks[0]["duration_s"] >= MIN_TRACK_S:
                return summary, tracks
    pytest.fail(f"the demo has no book of 2+ chapters whose first lasts {MIN_TRACK_S} s")


def current_time(page: Any) -> float:
    """Where the player's ``<audio>`` is, in seconds."""
    return float(page.evaluate(f"() => {AUDIO}.currentTime"))


def download(page: Any, book: Json) -> None:
    """On the book's page: the size is said first, then 下载到手机 stores it."""
    page.goto(book["url"])
    save = page.locator("#offline-save")
    expect(save).to_be_visible()
    expect(page.locator("#offline-download")).to_contain_text(re.compile(r"共 [\d.]+ [KM]B"))
    save.tap()
    expect(page.locator("#offline-status")).to_have_text("已下载到这部手机：没有网络也能听。", timeout=60_000)
    expect(page.locator("#offline-list")).to_contain_text(book["title"])
    expect(save).to_be_hidden()
    page.wait_for_function("() => navigator.serviceWorker.controller !== null || "
                           "navigator.serviceWorker.ready.then(() => true)")


def play_seek_pause_offline(page: Any, track: Json) -> float:
    """Offline: reload the chapter's page, play, seek to the middle, pause; where it paused."""
    page.goto(track["url"])
    expect(page.locator("#track-title")).to_have_text(track["title"])
    page.locator("#play").tap()
    page.wait_for_function(PLAYING_PAST, arg=0.5)
    middle_s = track["duration_s"] / 2
    page.locator("#seek").fill(str(round(middle_s)))
    page.wait_for_function(PLAYING_PAST, arg=middle_s + 1, timeout=15_000)
    page.locator("#play").tap()
    page.wait_for_function(f"() => {AUDIO}.paused")
    paused_at_s = current_time(page)
    assert middle_s < paused_at_s < track["duration_s"] - 5
    return paused_at_s


def test_a_downloaded_book_plays_seeks_and_resumes_with_the_network_off(phone: Any, api: Callable[[str], Any]) -> None:
    book, tracks = pick_book(api)
    track = tracks[0]
    page = phone.page
    download(page, book)
    stored = page.evaluate("(url) => caches.open('kiosk-books-v1').then((c) => c.match(url))"
                           ".then((r) => r && [r.status, r.headers.get('Content-Length')])", track["audio_url"])
    assert stored is not None and stored[0] == 200  # the whole file: a 206 is never stored

    phone.context.set_offline(True)
    seen = len(phone.log.responses)
    paused_at_s = play_seek_pause_offline(page, track)

    page.reload()  # still offline: the page, its script and the audio all come from storage
    resume_note = page.locator("#resume")
    expect(resume_note).to_have_text(f"从 {clock(paused_at_s)} 继续")
    page.locator("#play").tap()
    page.wait_for_function(PLAYING_PAST, arg=paused_at_s - 2, timeout=8_000)
    assert current_time(page) < paused_at_s + 6

    offline = phone.log.responses[seen:]
    audio = [r for r in offline if "/media/audio/" in r.url]
    assert audio and all(r.from_service_worker for r in audio)
    assert 206 in {r.status for r in audio}  # ranges answered from the stored whole file
    pages = [r for r in offline if r.request.resource_type == "document"]
    assert pages and all(r.from_service_worker and r.status == 200 for r in pages)

    phone.context.set_offline(False)
    page.goto(book["url"])
    page.locator("#offline-remove").tap()
    expect(page.locator("#offline-status")).to_have_text("已从这部手机上删除。")
    expect(page.locator("#offline-save")).to_be_visible()
    left = page.evaluate("(url) => caches.open('kiosk-books-v1').then((c) => c.match(url)).then((r) => !!r)",
                         track["audio_url"])
    assert left is False
    assert page.evaluate("() => navigator.serviceWorker.getRegistrations().then((r) => r.length)") == 0
    page_errors = [e for e in phone.log.errors if "net::ERR_INTERNET_DISCONNECTED" not in e]
    assert page_errors == []


def test_ios_wechat_is_told_plainly_what_works_instead(browser: Any, live_server: str,
                                                       api: Callable[[str], Any]) -> None:
    book, tracks = pick_book(api)
    context = browser.new_context(base_url=live_server, user_agent=IOS_WECHAT_UA, is_mobile=True, has_touch=True,
                                  viewport={"width": 390, "height": 844}, locale="zh-CN")
    try:
        page = context.new_page()
        page.goto(book["url"])
        fallback = page.locator("#offline-fallback")
        expect(fallback).to_be_visible()
        expect(fallback).to_contain_text("在默认浏览器中打开")
        expect(fallback).to_contain_text("用播客应用订阅")
        expect(page.locator("#offline-save")).to_be_hidden()  # nothing offered that cannot work
        links = fallback.locator("a[download]")
        expect(links).to_have_count(len(tracks))
        assert links.first.get_attribute("href") == tracks[0]["audio_url"]
        expect(page.locator("#feed-subscribe")).to_have_attribute("href", f"{live_server}{book['url']}/feed.xml")
        assert page.evaluate("() => navigator.serviceWorker.getRegistrations().then((r) => r.length)") == 0
    finally:
        context.close()
