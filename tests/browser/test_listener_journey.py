"""A listener who cannot see the screen: wall → book → playing chapter → sleep timer, by keyboard.

Every step finds its control by role and accessible name (what a screen reader offers) and
works it with the keyboard (Tab, Enter, Space, arrows), never by a CSS selector, against
``kiosk serve --demo`` on an emulated phone. The sleep timer is tested on Playwright's fake
clock (``page.clock``): fifteen minutes pass in a moment, the voice fades over the last
seconds and stops. Also: 本章结束 stops at the chapter's end without going on; previous and
next chapter, bookmarks, the progress read out once on request (and not on every tick), the
speed remembered, the text size and high contrast chosen by keyboard, and axe-core's
WCAG 2.1 AA rules on the player with all of that showing.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from . import browser_marks
from .conftest import PHONE_VIEWPORT, WECHAT_ANDROID_UA

expect = pytest.importorskip("playwright.sync_api", reason="pip install playwright").expect

pytestmark = browser_marks(180)

SECTION_NAME = "中国精神"
BOOK_TITLE = "少年中国说"  # two chapters; no other test adds one (the full journey approves a take into 可爱的中国)
AUDIO = "document.getElementById('audio')"
PLAYING_PAST = f"(t) => !{AUDIO}.paused && {AUDIO}.currentTime > t"
SPOKEN_TIME = r"\d+分\d\d秒"


@pytest.fixture
def listener(browser: Any, live_server: str) -> Iterator[Any]:
    """A fresh phone in WeChat with a keyboard (a Bluetooth one, or switch access) and a fake clock."""
    context = browser.new_context(
        base_url=live_server, viewport=PHONE_VIEWPORT, is_mobile=True, has_touch=True,
        locale="zh-CN", timezone_id="Asia/Shanghai", user_agent=WECHAT_ANDROID_UA,
    )
    context.set_default_timeout(15_000)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda e: errors.append(str(e)))
    tab.clock.install()  # runs at the normal pace until the test moves it on
    yield tab
    assert errors == []
    context.close()


def audio(tab: Any) -> dict[str, Any]:
    """The player's ``<audio>``: paused, currentTime, volume."""
    return dict(tab.evaluate(f"() => ({{paused: {AUDIO}.paused, t: {AUDIO}.currentTime, volume: {AUDIO}.volume}})"))


def player(tab: Any) -> Any:
    """The player's region (its own status line among the page's)."""
    return tab.get_by_role("region", name=re.compile("播放器"))


def press(tab: Any, role: str, name: str | re.Pattern[str], key: str = "Enter") -> None:
    """Move the keyboard focus to the control called ``name`` and press ``key`` on it."""
    exact = isinstance(name, str)
    control = tab.get_by_role(role, name=name, exact=exact) if exact else tab.get_by_role(role, name=name)
    control.focus()
    expect(control).to_be_focused()
    tab.keyboard.press(key)


def choose(tab: Any, name: str, option: str) -> None:
    """Pick ``option`` in the drop-down called ``name``, with the arrow keys."""
    box = tab.get_by_role("combobox", name=name)
    box.focus()
    options = [o.strip() for o in box.get_by_role("option").all_inner_texts()]
    now = options.index(box.evaluate("(s) => s.selectedOptions[0].textContent").strip())
    wanted = options.index(option)
    for _ in range(abs(wanted - now)):
        tab.keyboard.press("ArrowDown" if wanted > now else "ArrowUp")
    assert box.evaluate("(s) => s.selectedOptions[0].textContent").strip() == option


def wall_to_playing_chapter(tab: Any) -> None:
    """Skip link, the section's tile, the book, then Space on 播放: it plays."""
    tab.goto("/")
    tab.keyboard.press("Tab")
    expect(tab.get_by_role("link", name="跳到正文")).to_be_focused()
    tab.keyboard.press("Enter")
    press(tab, "link", re.compile(f"^{SECTION_NAME}"))  # the tile: its name, then how many books
    tab.wait_for_url(re.compile(r"/sections/[\w-]+$"))
    expect(tab.get_by_role("heading", level=1)).to_have_text(SECTION_NAME)
    press(tab, "link", re.compile(BOOK_TITLE))
    tab.wait_for_url(re.compile(r"/books/\d+$"))

    # Book → player → chapter list, as a screen reader jumps: headings and landmarks.
    expect(tab.get_by_role("heading", level=1)).to_have_text(BOOK_TITLE)
    expect(player(tab).get_by_role("heading", name=re.compile("^播放器"))).to_contain_text("第1章")
    expect(tab.get_by_role("heading", level=2, name="章节")).to_be_visible()
    expect(tab.get_by_role("list", name="章节").get_by_role("listitem")).to_have_count(2)
    expect(tab.get_by_role("main")).to_be_visible()
    expect(tab.get_by_role("navigation", name="位置")).to_be_visible()

    assert audio(tab)["paused"] is True
    press(tab, "button", "播放", key="Space")
    tab.wait_for_function(PLAYING_PAST, arg=1.0)
    expect(tab.get_by_role("button", name="暂停", exact=True)).to_be_focused()


def progress_on_request(tab: Any) -> None:
    """报告进度 reads out the chapter and time once; nothing is announced while it plays on."""
    status = player(tab).get_by_role("status")
    press(tab, "button", "报告进度")
    expect(status).to_have_text(re.compile(rf"^正在播放 第1章 {SPOKEN_TIME}$"))
    said = status.inner_text()
    tab.wait_for_function(PLAYING_PAST, arg=audio(tab)["t"] + 1.5)
    assert status.inner_text() == said, "the live region must not tick with the playback"
    expect(tab.get_by_text(re.compile(r"^第1章，共2章 · 还剩"))).to_be_visible()


def skip_chapters_and_bookmark(tab: Any) -> None:
    """前进15秒, 下一章 and 上一章, then 添加书签: the bookmark is listed and can be removed."""
    before_s = audio(tab)["t"]
    press(tab, "button", "前进15秒")
    tab.wait_for_function(PLAYING_PAST, arg=before_s + 14)
    press(tab, "button", "下一章")
    expect(player(tab).get_by_role("heading", name=re.compile("^播放器"))).to_contain_text("第2章")
    expect(tab.get_by_role("button", name="下一章")).to_be_disabled()
    press(tab, "button", "上一章")
    expect(player(tab).get_by_role("heading", name=re.compile("^播放器"))).to_contain_text("第1章")
    tab.wait_for_function(PLAYING_PAST, arg=0.5)

    press(tab, "button", "添加书签")
    expect(player(tab).get_by_role("status")).to_have_text(re.compile(rf"^已添加书签：第1章 {SPOKEN_TIME}$"))
    bookmarks = tab.get_by_role("list", name=re.compile("我的书签"))
    expect(bookmarks.get_by_role("button", name=re.compile(rf"^听书签：第1章 {SPOKEN_TIME}$"))).to_have_count(1)
    remove = bookmarks.get_by_role("button", name=re.compile(rf"^删除书签：第1章 {SPOKEN_TIME}$"))
    remove.focus()
    tab.keyboard.press("Enter")
    expect(player(tab).get_by_role("status")).to_have_text(re.compile("^已删除书签"))
    expect(tab.get_by_role("list", name=re.compile("我的书签"))).to_have_count(0)


def sleep_timer_fades_and_stops(tab: Any) -> None:
    """定时关闭 15分钟 on the fake clock: fading at 14:55, stopped at 15:00, the choice cleared."""
    choose(tab, "定时关闭", "15分钟")
    expect(player(tab).get_by_role("status")).to_have_text("好的，15分钟后停止播放。")
    tab.clock.fast_forward("14:55")
    tab.wait_for_function(f"() => {AUDIO}.volume < 0.9")
    state = audio(tab)
    assert state["paused"] is False and 0 < state["volume"] < 0.9, state  # fading, still playing
    tab.clock.fast_forward("00:06")
    tab.wait_for_function(f"() => {AUDIO}.paused")
    expect(player(tab).get_by_role("status")).to_have_text("定时到了，已停止播放。")
    expect(tab.get_by_role("combobox", name="定时关闭")).to_have_value("")
    assert audio(tab)["volume"] == 1  # the next play is at full volume again
    expect(tab.get_by_role("button", name="播放", exact=True)).to_be_visible()


def test_wall_to_a_playing_chapter_and_through_the_sleep_timer_by_keyboard(listener: Any) -> None:
    page = listener
    wall_to_playing_chapter(page)
    progress_on_request(page)
    skip_chapters_and_bookmark(page)
    sleep_timer_fades_and_stops(page)


def test_end_of_chapter_stops_there_and_speed_is_remembered(listener: Any) -> None:
    page = listener
    wall_to_playing_chapter(page)
    choose(page, "语速", "2×")
    page.wait_for_function(f"() => {AUDIO}.playbackRate === 2")
    choose(page, "定时关闭", "本章结束")
    expect(player(page).get_by_role("status")).to_have_text("好的，本章播完后停止播放。")
    duration_s = float(page.evaluate(f"() => {AUDIO}.duration"))
    for _ in range(2):  # to about four seconds before the end
        press(page, "button", "前进15秒")
    page.wait_for_function(f"(t) => {AUDIO}.currentTime >= t", arg=duration_s - 20)
    page.wait_for_function(f"() => {AUDIO}.paused", timeout=30_000)
    expect(player(page).get_by_role("status")).to_have_text("定时到了，已停止播放。")
    expect(player(page).get_by_role("heading", name=re.compile("^播放器"))).to_contain_text("第1章")  # did not go on
    page.reload()
    expect(page.get_by_role("combobox", name="语速")).to_have_value("2")


def test_text_size_and_contrast_by_keyboard_pass_axe(listener: Any) -> None:
    page = listener
    axe = pytest.importorskip("axe_playwright_python.sync_playwright", reason="pip install axe-playwright-python")
    wall_to_playing_chapter(page)
    press(page, "button", "添加书签")
    press(page, "button", "超大")
    expect(page.get_by_role("button", name="超大")).to_have_attribute("aria-pressed", "true")
    assert page.evaluate("() => getComputedStyle(document.documentElement).fontSize") == "36px"  # 200 %
    press(page, "button", "高对比度")
    expect(page.get_by_role("button", name="高对比度")).to_have_attribute("aria-pressed", "true")
    page.reload()  # remembered on this phone, rendered by the server
    expect(page.get_by_role("button", name="超大")).to_have_attribute("aria-pressed", "true")
    expect(page.get_by_role("button", name="高对比度")).to_have_attribute("aria-pressed", "true")
    options = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
               "resultTypes": ["violations"]}
    results = axe.Axe().run(page, options=options)
    assert results.violations_count == 0, results.generate_report()
    press(page, "button", "标准")
    press(page, "button", "高对比度")
    assert page.evaluate("() => getComputedStyle(document.documentElement).fontSize") == "18px"
