"""One tap to sound, on an emulated phone: a card's address → a book → one tap → a voice.

Against ``kiosk serve --demo``: the address printed on the 中国精神 card of ``kiosk wall`` is
opened (as a scan would), the book 可爱的中国 is tapped on its section page, and a single tap
on the book page's play button must make the ``<audio>`` play on (its ``currentTime``
advancing), with no further page load. Once in a plain mobile browser and once in WeChat.
Afterwards the section and the wall offer "继续听《可爱的中国》第1章", and that one link plus
one tap resumes where the phone stopped (the page has already fetched and sought the place).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from . import browser_marks
from .conftest import PHONE_VIEWPORT, WECHAT_ANDROID_UA, LiveKiosk

expect = pytest.importorskip("playwright.sync_api", reason="pip install playwright").expect

pytestmark = browser_marks(180)

SECTION_NAME = "中国精神"
BOOK_TITLE = "可爱的中国"
ANDROID_CHROME_UA = (
    "Mozilla/5.0 (Linux; Android 13; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/116.0.0.0 Mobile Safari/537.36"
)
AUDIO = "document.getElementById('audio')"
PLAYING_PAST = f"(t) => !{AUDIO}.paused && {AUDIO}.currentTime > t"
CARD = re.compile(r'class="card-name">(.*?)</h1>.*?class="card-url">(.*?)</p>', re.S)


def card_address(live_kiosk: LiveKiosk, tmp_path: Path, name: str) -> str:
    """The address printed under ``name``'s card by ``kiosk wall`` (what its QR code holds)."""
    sheet = tmp_path / "wall.html"
    live_kiosk.cli("wall", "--base-url", live_kiosk.base_url, "-o", str(sheet))
    cards = {html.unescape(card): url for card, url in CARD.findall(sheet.read_text(encoding="utf-8"))}
    return "http://" + cards[name]


@dataclass
class Handset:
    """A phone's page and the errors its pages reported."""

    page: Any
    errors: list[str] = field(default_factory=list)


@pytest.fixture(params=["browser", "wechat"])
def handset(browser: Any, live_server: str, request: pytest.FixtureRequest) -> Iterator[Handset]:
    """A fresh phone page (390×844, touch, zh-CN): a plain mobile browser, then WeChat."""
    context = browser.new_context(
        base_url=live_server, viewport=PHONE_VIEWPORT, screen=PHONE_VIEWPORT, device_scale_factor=3,
        is_mobile=True, has_touch=True, locale="zh-CN", timezone_id="Asia/Shanghai",
        user_agent=WECHAT_ANDROID_UA if request.param == "wechat" else ANDROID_CHROME_UA,
    )
    context.set_default_timeout(15_000)
    phone = Handset(context.new_page())
    phone.page.on("console", lambda m: m.type == "error" and phone.errors.append(m.text))
    phone.page.on("pageerror", lambda e: phone.errors.append(str(e)))
    yield phone
    context.close()


def count_documents(page: Any) -> list[str]:
    """A list that fills with the URL of every page (document) the phone loads from now on."""
    loads: list[str] = []
    page.on("request", lambda r: r.resource_type == "document" and loads.append(r.url))
    return loads


def test_a_card_a_book_one_tap_and_a_voice(handset: Handset, live_kiosk: LiveKiosk, tmp_path: Path) -> None:
    page = handset.page
    page.goto(card_address(live_kiosk, tmp_path, SECTION_NAME))
    page.wait_for_url(re.compile(r"/sections/[\w-]+$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(SECTION_NAME)
    expect(page.get_by_role("link", name=re.compile("继续听"))).to_have_count(0)  # a new phone

    page.get_by_role("link", name=re.compile(BOOK_TITLE)).tap()
    page.wait_for_url(re.compile(r"/books/\d+$"))
    book_url = page.url
    assert page.evaluate(f"() => {AUDIO}.paused") is True, "played before any tap"
    loads = count_documents(page)

    page.get_by_role("button", name="播放", exact=True).tap()  # the one tap
    page.wait_for_function(PLAYING_PAST, arg=1.0)
    expect(page.get_by_role("button", name="暂停", exact=True)).to_be_visible()
    assert loads == [] and page.url == book_url, "the book page must play in place"
    assert handset.errors == []

    # Stop a few seconds in; the section and the wall now offer this book again.
    page.wait_for_function(PLAYING_PAST, arg=5.0)
    page.get_by_role("button", name="暂停", exact=True).tap()
    stopped_s = float(page.evaluate(f"() => {AUDIO}.currentTime"))
    page.get_by_role("navigation", name="位置").get_by_role("link", name=SECTION_NAME).tap()
    again = page.get_by_role("link", name=f"继续听《{BOOK_TITLE}》第1章")
    expect(again).to_be_visible()
    page.get_by_role("link", name="有声墙", exact=True).tap()
    expect(page.get_by_role("link", name=f"继续听《{BOOK_TITLE}》第1章")).to_be_visible()
    page.get_by_role("link", name=f"继续听《{BOOK_TITLE}》第1章").tap()
    page.wait_for_url(re.compile(r"/tracks/\d+$"))
    # A returning listener's page fetches the chapter and seeks to the saved place before the tap,
    # so the tap does not wait for two round trips on a slow line; it still plays nothing by itself.
    page.wait_for_function(f"(t) => {AUDIO}.readyState >= 1 && !{AUDIO}.seeking && "
                           f"Math.abs({AUDIO}.currentTime - t) < 1", arg=stopped_s)
    assert page.evaluate(f"() => {AUDIO}.paused") is True, "played before any tap"
    page.get_by_role("button", name="播放", exact=True).tap()
    page.wait_for_function(PLAYING_PAST, arg=0)
    resumed_s = float(page.evaluate(f"() => {AUDIO}.currentTime"))
    assert stopped_s - 2 <= resumed_s < stopped_s + 3, (resumed_s, stopped_s)  # resumed, not restarted
    assert handset.errors == []
