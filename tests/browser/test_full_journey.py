"""The whole journey in a real browser: printed wall → phone → booth → console → phone.

One test, in order, against ``kiosk serve --demo`` (with its background worker):

1. ``kiosk wall`` prints the wall sheet (PDF); ``pdftoppm`` renders it and zxing-cpp reads
   the QR code on the 中国精神 card, as a phone's camera would.
2. An emulated phone in WeChat opens that (upper-case, ``HTTP://…/Q/CODE``) address, lands on
   the section, taps the book 可爱的中国 and, on the book's page, its big 播放 button once: the
   first chapter plays on, in place; a tap in the middle of the slider seeks there and
   playback continues from there; it leaves for the wall, which offers
   继续听《可爱的中国》第1章, goes to the section and takes the same offer there to the chapter's
   page, and the player resumes where it was.
3. At the booth (a touch screen with a fake microphone fed by a WAV file) a volunteer records,
   submits, and gets the report and the take-home QR code.
4. A librarian created with ``kiosk user add`` signs in to the console, opens the moderation
   queue, and approves the take as a new chapter of 可爱的中国.
5. The phone finds the new chapter through the section page, by its reader's name, and a tap
   on it in the book's chapter list plays it in place; the volunteer's take-home page now says
   it is published.

Screenshots of every page are written to test-artifacts/ (``journey-*.png``).
"""

from __future__ import annotations

import html
import re
import secrets
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import require_tool

from . import browser_marks
from .conftest import ARTIFACTS, LiveKiosk
from .test_booth_journey import Take, record_take_at_booth

expect = pytest.importorskip("playwright.sync_api", reason="pip install playwright").expect

pytestmark = browser_marks(240)

SECTION_NAME = "中国精神"
BOOK_TITLE = "可爱的中国"
WALL_DPI = 150  # a phone camera sees each card at roughly this resolution
PT_PER_INCH = 72
AUDIO = "document.getElementById('audio')"
PLAYING_PAST = f"(t) => !{AUDIO}.paused && {AUDIO}.currentTime > t"
WALL_CODE = re.compile(r"^HTTP://127\.0\.0\.1:\d+/Q/[0-9A-Z]{5}$")
WORD = re.compile(
    r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>'
)
MIN_TRACK_S = 20.0  # long enough to seek to its middle and still play on


@dataclass(frozen=True)
class Box:
    """A rectangle on the rendered sheet, in pixels."""

    left: float
    top: float
    right: float
    bottom: float

    @property
    def centre_x(self) -> float:
        """The horizontal middle."""
        return (self.left + self.right) / 2


class Stopwatch:
    """How long each part of the journey took (printed with ``pytest -s``)."""

    def __init__(self) -> None:
        self.started = self.last = time.monotonic()
        self.laps: list[tuple[str, float]] = []

    def lap(self, name: str) -> None:
        """Note the time since the previous lap under ``name``."""
        now = time.monotonic()
        self.laps.append((name, now - self.last))
        self.last = now

    def __str__(self) -> str:
        parts = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in self.laps)
        return f"journey {self.last - self.started:.1f} s: {parts}"


def sheet_words(pdf: Path, page: int) -> list[tuple[str, Box]]:
    """Every word printed on ``page`` of ``pdf`` with its box, in pixels at ``WALL_DPI``."""
    found = subprocess.run(
        ["pdftotext", "-f", str(page), "-l", str(page), "-bbox", str(pdf), "-"],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout
    scale = WALL_DPI / PT_PER_INCH
    return [
        (html.unescape(m.group(5)), Box(*(float(m.group(i)) * scale for i in range(1, 5))))
        for m in WORD.finditer(found)
    ]


def sheet_codes(pdf: Path, page: int, out: Path) -> list[tuple[str, Box]]:
    """Every QR code zxing-cpp reads on ``page`` rendered at ``WALL_DPI``, with its box."""
    zxingcpp = pytest.importorskip("zxingcpp")
    from PIL import Image

    subprocess.run(
        ["pdftoppm", "-f", str(page), "-l", str(page), "-r", str(WALL_DPI), "-png", "-singlefile",
         str(pdf), str(out)],
        check=True, timeout=60,
    )
    image = Image.open(out.with_suffix(".png")).convert("L")
    codes = []
    for code in zxingcpp.read_barcodes(image):
        corners = [code.position.top_left, code.position.top_right,
                   code.position.bottom_left, code.position.bottom_right]
        xs, ys = [c.x for c in corners], [c.y for c in corners]
        codes.append((str(code.text), Box(min(xs), min(ys), max(xs), max(ys))))
    return codes


def code_of_card(live_kiosk: LiveKiosk, tmp_path: Path, artifact_dir: Path) -> str:
    """Print the wall, render its sheet, and read the QR code printed under ``SECTION_NAME``."""
    require_tool("poppler-utils", shutil.which("pdftoppm") is not None and shutil.which("pdftotext") is not None,
                 "apt-get install poppler-utils: pdftoppm and pdftotext render the printed wall")
    pdf = tmp_path / "wall.pdf"
    live_kiosk.cli("wall", "--base-url", live_kiosk.base_url, "-o", str(pdf))
    words = sheet_words(pdf, 1)
    codes = sheet_codes(pdf, 1, tmp_path / "wall-sheet")
    shutil.copy(tmp_path / "wall-sheet.png", artifact_dir / "journey-wall-sheet.png")
    assert len(codes) == 9 and len({text for text, _ in codes}) == 9, codes
    title = next(box for text, box in words if text == SECTION_NAME)
    under = [
        (box.top - title.bottom, text, box)
        for text, box in codes
        if box.left <= title.centre_x <= box.right and box.top > title.bottom
    ]
    assert under, f"no QR code under {SECTION_NAME}"
    _, url, box = min(under, key=lambda item: item[0])
    assert WALL_CODE.match(url), url
    # The address printed under the code, for people without a scanner, says the same.
    caption = next(
        text for text, word in words
        if word.top > box.bottom and word.left <= box.centre_x <= word.right and "/q/" in text
    )
    assert url.lower().endswith(caption.lower()), (url, caption)
    return url


def wait_images(page: Any) -> None:
    """Wait until every image on the page has loaded."""
    page.wait_for_function("() => [...document.images].every(i => i.complete && i.naturalWidth)")


def audio_time(page: Any) -> float:
    """The player's ``currentTime``."""
    return float(page.evaluate(f"() => {AUDIO}.currentTime"))


def count_documents(page: Any) -> list[str]:
    """A list that fills with the URL of every page (document) the phone loads from now on."""
    loads: list[str] = []
    page.on("request", lambda r: r.resource_type == "document" and loads.append(r.url))
    return loads


def scan_to_player(phone: Any, url: str, artifact: Any) -> tuple[str, float]:
    """Open the scanned address, tap the book, then its big 播放 once: it plays in place.
    Returns the playing chapter's own URL (from the chapter list) and its duration."""
    page = phone.page
    page.goto(url)
    page.wait_for_url(re.compile(r"/sections/[\w-]+$"))
    expect(page.locator("h1")).to_have_text(SECTION_NAME)
    wait_images(page)
    artifact(page, "journey-section")
    page.locator("li.book a", has_text=BOOK_TITLE).tap()
    page.wait_for_url(re.compile(r"/books/\d+$"))
    expect(page.locator("h1")).to_have_text(BOOK_TITLE)
    artifact(page, "journey-book")
    book_url = page.url
    first = page.locator("ol.chapters a").first
    expect(first.locator("xpath=..")).to_have_attribute("aria-current", "true")  # loaded in the player
    track_url = first.evaluate("(a) => a.href")  # absolute, as the address bar would show it
    duration_s = float(page.locator("#seek").get_attribute("max") or 0)
    assert duration_s >= MIN_TRACK_S, f"the first chapter lasts {duration_s} s"
    assert page.evaluate(f"() => {AUDIO}.paused") is True
    loads = count_documents(page)
    page.get_by_role("button", name="播放", exact=True).tap()  # the first control, one tap
    page.wait_for_function(PLAYING_PAST, arg=1.0)
    expect(page.locator("#play")).to_have_text("暂停")
    assert loads == [] and page.url == book_url, "the book page must play in place"
    return track_url, duration_s


def seek_to_middle(page: Any, duration_s: float) -> float:
    """Tap the slider's middle: it seeks near ``duration_s / 2`` and plays on from there."""
    page.evaluate(
        f"() => {{ window.seeks = []; {AUDIO}.addEventListener("
        "'seeked', (e) => window.seeks.push(e.target.currentTime)); }"
    )
    slider = page.locator("#seek")
    box = slider.bounding_box()
    assert box is not None
    slider.tap(position={"x": box["width"] / 2, "y": box["height"] / 2})
    page.wait_for_function("() => window.seeks.length > 0")
    landed_s = float(page.evaluate("() => window.seeks[window.seeks.length - 1]"))
    assert 0.35 * duration_s <= landed_s <= 0.65 * duration_s, (landed_s, duration_s)
    page.wait_for_function(PLAYING_PAST, arg=landed_s + 1.5)
    assert audio_time(page) < landed_s + 6  # on from the middle, not from somewhere else
    page.locator("#track-title").tap()  # lift the finger before the photo
    return landed_s


def leave_and_come_back(page: Any, track_url: str, artifact: Any) -> None:
    """Go to the wall by the crumbs (it offers the book again), return by the section's
    继续听《…》第1章 to the chapter's page, tap 播放: it resumes."""
    track_id = track_url.rsplit("/", 1)[1]
    left_at_s = audio_time(page)
    page.get_by_role("navigation", name="位置").get_by_role("link", name=SECTION_NAME).tap()
    page.wait_for_url(re.compile(r"/sections/[\w-]+$"))
    page.locator("nav.crumbs a", has_text="有声墙").tap()
    page.wait_for_url(re.compile(r"/$"))
    continue_name = f"继续听《{BOOK_TITLE}》第1章"
    expect(page.get_by_role("link", name=continue_name)).to_have_attribute("href", track_url)
    wait_images(page)
    artifact(page, "journey-wall")
    saved_s = float(page.evaluate(f"() => localStorage.getItem('kiosk:pos:{track_id}')") or 0)
    assert left_at_s - 1 <= saved_s <= left_at_s + 3, (saved_s, left_at_s)

    page.locator("a.tile", has_text=SECTION_NAME).tap()
    page.wait_for_url(re.compile(r"/sections/[\w-]+$"))
    again = page.get_by_role("link", name=continue_name)
    expect(again).to_be_visible()
    again.tap()
    page.wait_for_url(f"**/tracks/{track_id}")
    expect(page.locator("#resume")).to_be_visible()
    assert page.evaluate(f"() => {AUDIO}.paused") is True
    page.locator("#play").tap()
    # From 0 it could not get this far in 6 s.
    page.wait_for_function(PLAYING_PAST, arg=saved_s - 2, timeout=6_000)
    assert audio_time(page) < saved_s + 6
    artifact(page, "journey-player-resumed")
    page.locator("#play").tap()
    page.wait_for_function(f"() => {AUDIO}.paused")


def create_librarian(live_kiosk: LiveKiosk) -> tuple[str, str]:
    """A librarian account made with ``kiosk user add``; its name and password."""
    username = f"lib-{secrets.token_hex(3)}"
    password = secrets.token_urlsafe(18)
    live_kiosk.cli(
        "user", "add", username, "--role", "librarian", "--display-name", "王老师",
        "--password-stdin", stdin=password + "\n",
    )
    return username, password


def approve_take(console: Any, live_kiosk: LiveKiosk, reader: str, chapter: str, artifact: Any) -> None:
    """Sign in, open the moderation queue, approve the take as a chapter of ``BOOK_TITLE``."""
    username, password = create_librarian(live_kiosk)
    page = console.page
    page.goto("/admin/moderation")
    page.wait_for_url(re.compile(r"/admin/login"))
    artifact(page, "journey-console-login")
    page.locator("#username").fill(username)
    page.locator("#password").fill(password)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(re.compile(r"/admin/moderation$"))
    expect(page.locator("h1")).to_have_text("审核录音")
    card = page.locator("article.take-card", has_text=reader)
    expect(card).to_have_count(1)
    artifact(page, "journey-console-queue")
    card.get_by_role("link", name=re.compile("审核")).click()
    page.wait_for_url(re.compile(r"/admin/moderation/\d+$"))
    form = page.locator("form[action$='/approve']")
    book = form.locator("select[name='book-book_id']")
    book.select_option(label=BOOK_TITLE)
    form.locator("input[name='book-chapter_title']").fill(chapter)
    artifact(page, "journey-console-take")
    form.get_by_role("button", name="采用并上架").click()
    page.wait_for_url(re.compile(r"/admin/moderation(\?.*)?$"))
    expect(page.get_by_text(re.compile("^已上架"))).to_be_visible()  # the flash message
    artifact(page, "journey-console-approved")


def find_and_play(phone: Any, reader: str, chapter: str, artifact: Any) -> None:
    """On the phone: section page → the book now read by ``reader`` → a tap on the chapter
    plays it in place."""
    page = phone.page
    page.goto("/")
    page.locator("a.tile", has_text=SECTION_NAME).tap()
    page.wait_for_url(re.compile(r"/sections/[\w-]+$"))
    book = page.locator("li.book a", has_text=BOOK_TITLE)
    expect(book).to_contain_text(reader)  # 朗读:…、reader
    artifact(page, "journey-section-after")
    book.tap()
    page.wait_for_url(re.compile(r"/books/\d+$"))
    link = page.locator("ol.chapters a", has_text=chapter)
    expect(link).to_contain_text(reader)
    loads = count_documents(page)
    link.tap()
    expect(page.locator("#track-title")).to_have_text(chapter)
    expect(page.locator("#track-reader")).to_contain_text(reader)
    expect(link.locator("xpath=..")).to_have_attribute("aria-current", "true")
    page.wait_for_function(PLAYING_PAST, arg=1.0)
    expect(page.locator("#play")).to_have_text("暂停")
    assert loads == [], "a chapter in the list plays in place"
    artifact(page, "journey-new-chapter")


def test_wall_to_phone_to_booth_to_console_and_back(
    live_kiosk: LiveKiosk, mic_phone: Any, booth: Any, console: Any, artifact: Any,
    tmp_path: Path,
) -> None:
    """Printed QR → section → play, seek, resume; booth take → approved → found and played."""
    ARTIFACTS.mkdir(exist_ok=True)
    clock = Stopwatch()
    url = code_of_card(live_kiosk, tmp_path, ARTIFACTS)
    clock.lap("wall printed and scanned")
    track_url, duration_s = scan_to_player(mic_phone, url, artifact)
    seek_to_middle(mic_phone.page, duration_s)
    artifact(mic_phone.page, "journey-player")
    leave_and_come_back(mic_phone.page, track_url, artifact)
    clock.lap("phone: play, seek, leave, resume")

    reader = f"读者{secrets.token_hex(2)}"
    take: Take = record_take_at_booth(booth, artifact, reader, prefix="journey-")
    clock.lap("booth: record, master, report")

    chapter = f"志愿者朗读 {reader}"
    approve_take(console, live_kiosk, reader, chapter, artifact)
    clock.lap("console: sign in, approve")
    find_and_play(mic_phone, reader, chapter, artifact)
    mic_phone.page.goto(take.take_home_url)  # the volunteer scans their code again later
    expect(mic_phone.page.get_by_text(re.compile("^这段录音已经上架"))).to_be_visible()
    artifact(mic_phone.page, "journey-take-home-published")
    clock.lap("phone: the new chapter plays")
    print(clock)

    for device in (mic_phone, booth, console):
        assert device.log.errors == [], device.log.errors
        assert device.log.foreign_requests() == []
