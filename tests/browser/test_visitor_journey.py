"""A visitor's journey on a real phone browser: wall → section → book, then a chapter's own link.

Drives Debian's Chromium through Playwright against ``kiosk serve --demo`` (the production
server). The chapter is opened by its ``/tracks/<id>`` address (printed on shelf labels and
shared; the one tap from a book page is test_listener_one_tap.py's). Playback must start
from a tap (Chromium runs with a phone's autoplay policy), the duration shown must be the
catalogue's, speed and seeking must reach the ``<audio>``, a reload must resume near where
the listener paused, and at the chapter's end the next one plays in place while the
address follows it. Screenshots of the wall, a section and the player are saved for the README.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

import pytest

from . import browser_marks

expect = pytest.importorskip("playwright.sync_api", reason="pip install playwright").expect

pytestmark = browser_marks(180)

MIN_TRACK_S = 30.0  # long enough to skip 15 s and still pause well before the end
SECTION_PAGE_BUDGET_BYTES = 50 * 1024
AUDIO = "document.getElementById('audio')"
PLAYING_PAST = f"(t) => !{AUDIO}.paused && {AUDIO}.currentTime > t"


def clock(seconds: float) -> str:
    """``m:ss`` (or ``h:mm:ss``) of whole seconds, as the player shows time."""
    total = math.floor(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


Json = dict[str, Any]
Shot = Callable[[Any, str], Any]


def pick_listening(api: Callable[[str], Any]) -> tuple[Json, Json, list[Json]]:
    """The first section on the wall with a book of 2+ chapters, the first ≥ ``MIN_TRACK_S``."""
    for card in api("/api/v1/sections")["sections"]:
        if not card["book_count"]:
            continue
        for summary in api(f"/api/v1/sections/{card['slug']}")["books"]:
            tracks = api(f"/api/v1/books/{summary['id']}")["book"]["tracks"]
            if len(tracks) >= 2 and tracks[0]["duration_s"] >= MIN_TRACK_S:
                return card, summary, tracks
    pytest.fail(f"the demo has no book of 2+ chapters whose first lasts {MIN_TRACK_S} s")


def audio_state(page: Any) -> dict[str, Any]:
    """The player's ``<audio>``: paused, currentTime, playbackRate."""
    script = "(a) => ({paused: a.paused, t: a.currentTime, rate: a.playbackRate})"
    return dict(page.locator("#audio").evaluate(script))


def wait_images(page: Any) -> None:
    """Wait until every image on the page has loaded (covers, before a screenshot)."""
    page.wait_for_function("() => [...document.images].every(i => i.complete && i.naturalWidth)")


def assert_stayed_local(phone: Any) -> None:
    """No console error, no page error, and nothing fetched from beyond 127.0.0.1."""
    assert phone.log.errors == []
    assert phone.log.foreign_requests() == []


def test_autoplay_needs_a_tap(phone: Any, api: Callable[[str], Any]) -> None:
    """Control: this browser refuses play() without a gesture, so the journey's tap matters."""
    track = pick_listening(api)[2][0]
    html = (
        f'<!doctype html><title></title><audio id="audio" src="{track["audio_url"]}"></audio>'
        "<script>document.getElementById('audio').play().then("
        "() => { document.title = 'played'; }, (e) => { document.title = 'refused:' + e.name; });"
        "</script>"
    )
    page = phone.page
    page.route("**/__autoplay_probe", lambda r: r.fulfill(content_type="text/html", body=html))
    page.goto("/__autoplay_probe")
    page.wait_for_function("() => document.title !== ''")
    assert page.title() == "refused:NotAllowedError"
    assert audio_state(page)["paused"] is True
    assert page.locator("#audio").evaluate("(a) => a.canPlayType('audio/mpeg')") != ""
    assert_stayed_local(phone)


def test_section_page_is_small(phone: Any, api: Callable[[str], Any]) -> None:
    """A section page costs under 50 KB of HTML, CSS and JS (images and audio aside)."""
    card, _, _ = pick_listening(api)
    phone.page.goto(card["url"], wait_until="load")
    weighed = [r for r in phone.log.responses if r.request.resource_type not in ("image", "media")]
    sizes = {r.url: r.request.sizes() for r in weighed}
    total = sum(s["responseBodySize"] + s["responseHeadersSize"] for s in sizes.values())
    print(f"section page: {total} bytes in {len(sizes)} responses: {sizes}")
    assert {r.request.resource_type for r in weighed} >= {"document", "stylesheet"}
    assert total < SECTION_PAGE_BUDGET_BYTES
    assert_stayed_local(phone)


def count_documents(page: Any) -> list[str]:
    """A list that fills with the URL of every page (document) the phone loads from now on."""
    loads: list[str] = []
    page.on("request", lambda r: r.resource_type == "document" and loads.append(r.url))
    return loads


def tap_to_player(page: Any, card: Json, book: Json, track: Json, screenshot: Shot) -> None:
    """Wall → section tile → book by taps (photographing the wall and section), then the
    chapter's own link (as a shelf label or a shared link opens it)."""
    page.goto("/")
    wait_images(page)
    screenshot(page, "wall")
    page.locator(f'a.tile[href="{card["url"]}"]').tap()
    page.wait_for_url(f"**{card['url']}")
    wait_images(page)
    screenshot(page, "section")
    page.locator(f'a[href="{book["url"]}"]').first.tap()
    page.wait_for_url(f"**{book['url']}")
    expect(page.get_by_role("heading", level=1)).to_have_text(book["title"])
    page.goto(track["url"])
    expect(page.locator("#track-title")).to_have_text(track["title"])


def play_adjust_and_pause(page: Any, duration_s: float) -> float:
    """Tap 播放, set 1.5×, tap 前进15秒, tap 暂停; returns where it paused, in seconds."""
    assert audio_state(page)["paused"] is True, "played before any tap"
    page.locator("#play").tap()
    page.wait_for_function(PLAYING_PAST, arg=1.0)
    expect(page.locator("#play")).to_have_text("暂停")
    expect(page.locator("#duration")).to_have_text(clock(duration_s))

    page.locator("#speed").select_option("1.5")
    page.wait_for_function(f"() => {AUDIO}.playbackRate === 1.5")

    before_s = audio_state(page)["t"]
    page.get_by_role("button", name="前进15秒").tap()
    page.wait_for_function(f"(t) => {AUDIO}.currentTime >= t", arg=before_s + 14)
    page.wait_for_function(PLAYING_PAST, arg=before_s + 15)  # and it goes on playing there

    page.locator("#play").tap()
    page.wait_for_function(f"() => {AUDIO}.paused")
    expect(page.locator("#play")).to_have_text("播放")
    paused_at_s = float(audio_state(page)["t"])
    assert paused_at_s < duration_s - 5, "paused too near the end to test resuming"
    return paused_at_s


def reload_and_resume(page: Any, paused_at_s: float) -> None:
    """Reload: the note says 从 m:ss 继续, nothing plays; a tap plays on from there at 1.5×."""
    page.reload()
    resume_note = page.locator("#resume")
    resume_note.wait_for(state="visible")
    expect(resume_note).to_have_text(f"从 {clock(paused_at_s)} 继续")
    expect(page.locator("#elapsed")).to_have_text(clock(paused_at_s))
    assert page.locator("#speed").input_value() == "1.5"
    assert audio_state(page)["paused"] is True

    page.locator("#play").tap()
    # From 0 it could not get this far in 6 s, even at 1.5×.
    page.wait_for_function(PLAYING_PAST, arg=paused_at_s - 2, timeout=6_000)
    resumed = audio_state(page)
    assert resumed["t"] < paused_at_s + 5
    assert resumed["rate"] == 1.5
    expect(resume_note).to_be_hidden()


def slide_to_next_chapter(page: Any, duration_s: float, next_track: Json) -> None:
    """Tap near the slider's end; when the chapter ends the next one plays in place (no page
    load) and the address follows it."""
    loads = count_documents(page)
    page.evaluate(
        f"() => {{ window.seeks = []; {AUDIO}.addEventListener("
        "'seeked', (e) => window.seeks.push(e.target.currentTime)); }"
    )
    slider = page.locator("#seek")
    box = slider.bounding_box()
    assert box is not None
    slider.tap(position={"x": box["width"] * 0.95, "y": box["height"] / 2})
    page.wait_for_function("(t) => window.seeks.some((s) => s >= t)", arg=duration_s * 0.85)
    page.wait_for_url(f"**{next_track['url']}")
    expect(page.locator("#track-title")).to_have_text(next_track["title"])
    expect(page.locator("#duration")).to_have_text(clock(next_track["duration_s"]))
    expect(page.locator("#chapters li[aria-current=true] a")).to_have_attribute("href", next_track["url"])
    page.wait_for_function(PLAYING_PAST, arg=0.5)
    assert loads == [], "the next chapter must play in place"


def test_visitor_taps_through_to_playback_and_resumes(
    phone: Any, api: Callable[[str], Any], screenshot: Shot
) -> None:
    """Wall → section → book; the chapter's link → 播放, speed, 前进15秒, pause, reload, resume, next."""
    card, book, tracks = pick_listening(api)
    track, next_track = tracks[0], tracks[1]
    duration_s = api(f"/api/v1/tracks/{track['id']}")["track"]["duration_s"]
    page = phone.page

    tap_to_player(page, card, book, track, screenshot)
    assert page.locator("#duration").inner_text() == clock(duration_s)  # the catalogue's
    assert page.locator("#resume").is_hidden()
    paused_at_s = play_adjust_and_pause(page, duration_s)
    reload_and_resume(page, paused_at_s)

    expect(page.locator("#elapsed")).not_to_have_text(re.compile(r"^0:0\d$"))
    page.locator("#track-title").tap()  # lift the finger: headless keeps the tap highlight
    wait_images(page)
    screenshot(page, "player")

    slide_to_next_chapter(page, duration_s, next_track)
    audio_statuses = {r.status for r in phone.log.responses if "/media/audio/" in r.url}
    assert 206 in audio_statuses and audio_statuses <= {200, 206, 304}
    assert_stayed_local(phone)
