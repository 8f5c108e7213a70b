"""Fixtures for the real-browser tests: the production server, Debian's Chromium, a phone.

``kiosk serve --demo`` runs as a subprocess on a free port with its own data dir, exactly as
the README tells a newcomer to run it; Chromium is driven by Playwright's Python package
(its own browser download does not work here) and emulates a phone in WeChat.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from . import chromium_executable

REPO_ROOT = Path(__file__).resolve().parents[2]
DOCS_SCREENSHOTS = REPO_ROOT / "docs" / "screenshots"
ARTIFACTS = REPO_ROOT / "test-artifacts"
SERVER_START_TIMEOUT_S = 150.0  # the demo synthesises its recordings before serving
SERVER_STOP_TIMEOUT_S = 15.0
SCREENSHOT_WIDTH_PX = 780  # the phone's 390 CSS px at 2x: sharp in a README, small on disk

PHONE_VIEWPORT = {"width": 390, "height": 844}
# Android WeChat (its X5/XWEB webview is Chromium), as phones scanning the wall send it.
WECHAT_ANDROID_UA = (
    "Mozilla/5.0 (Linux; Android 13; Pixel 7 Build/TQ3A.230901.001; wv) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Version/4.0 Chrome/116.0.0.0 Mobile Safari/537.36 XWEB/1160065 "
    "MMWEBSDK/20231202 MicroMessenger/8.0.47.2560(0x28002F30) WeChat/arm64 Weixin "
    "NetType/WIFI Language/zh_CN ABI/arm64"
)
CHROMIUM_ARGS = [
    "--no-sandbox",  # CI containers run as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # Stricter than desktop Chrome, like a phone: play() needs a user gesture. Never relaxed.
    "--autoplay-policy=user-gesture-required",
]


def _free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _kiosk_command() -> list[str]:
    """The installed ``kiosk`` console script, or the same entry point through this Python."""
    script = Path(sys.executable).with_name("kiosk")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from kiosk.cli import main; main()"]


def _server_env(data_dir: Path) -> dict[str, str]:
    """This process's environment, pointed at a private data dir and its embedded SQLite."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIOSK_")}
    env["KIOSK_DATA_DIR"] = str(data_dir)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _healthy(base_url: str) -> bool:
    """Whether ``/healthz`` answers 200."""
    try:
        with urllib.request.urlopen(f"{base_url}/healthz", timeout=2) as answer:  # noqa: S310
            return bool(answer.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _wait_until_healthy(process: subprocess.Popen[bytes], base_url: str, log: Path) -> None:
    """Poll ``/healthz`` until it answers, failing early with the log if the server dies."""
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"kiosk serve exited with {process.returncode}:\n{log.read_text()[-4000:]}")
        if _healthy(base_url):
            return
        time.sleep(0.25)
    waited = f"{SERVER_START_TIMEOUT_S:.0f} s"
    pytest.fail(f"kiosk serve not healthy after {waited}:\n{log.read_text()[-4000:]}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM (gunicorn's graceful stop), then SIGKILL the server's own process group."""
    if process.poll() is None:
        process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=SERVER_STOP_TIMEOUT_S)
    # The group was created for this server alone (start_new_session): workers left behind.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=SERVER_STOP_TIMEOUT_S)


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``kiosk serve --demo`` on a free port and a fresh data dir; yields its base URL."""
    data_dir = tmp_path_factory.mktemp("kiosk-browser")
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    log = data_dir / "server.log"
    argv = [*_kiosk_command(), "serve", "--demo", "--host", "127.0.0.1", "--port", str(port)]
    with log.open("wb") as sink:
        process = subprocess.Popen(
            argv,
            cwd=data_dir,
            env=_server_env(data_dir / "media"),
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_until_healthy(process, base_url, log)
        yield base_url
    finally:
        _stop(process)


@pytest.fixture(scope="session")
def api(live_server: str) -> Callable[[str], Any]:
    """GET a JSON path of the live server's API (outside the browser)."""

    def get(path: str) -> Any:
        with urllib.request.urlopen(f"{live_server}{path}", timeout=10) as answer:  # noqa: S310
            return json.load(answer)

    return get


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless, launched through Playwright."""
    executable = chromium_executable()
    if executable is None:
        pytest.skip("Chromium not found: apt-get install chromium, or set KIOSK_TEST_CHROMIUM")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(executable), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def _local(url: str) -> bool:
    """Whether ``url`` stays on this machine (127.0.0.1, or inline data)."""
    parts = urlsplit(url)
    return parts.scheme in ("data", "blob") or parts.hostname == "127.0.0.1"


@dataclass
class PhoneLog:
    """What a phone's browser did: every URL it asked for, every response, every error."""

    requests: list[str] = field(default_factory=list)
    responses: list[Any] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def foreign_requests(self) -> list[str]:
        """Requests that left the machine (anything but 127.0.0.1, data: and blob:)."""
        return [url for url in self.requests if not _local(url)]


@dataclass
class Phone:
    """An emulated phone in WeChat: one browser context, its first page and its log."""

    context: Any
    page: Any
    log: PhoneLog


def _console_error(message: Any) -> str | None:
    """The text of a console message if it is an error."""
    return f"console: {message.text} @ {message.location}" if message.type == "error" else None


def _record(context: Any, log: PhoneLog) -> None:
    """Attach listeners that fill ``log`` for every page of ``context``."""
    context.on("request", lambda request: log.requests.append(request.url))
    context.on("response", lambda response: log.responses.append(response))
    context.on("console", lambda m: (text := _console_error(m)) and log.errors.append(text))
    context.on("weberror", lambda error: log.errors.append(f"page error: {error.error}"))


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Remember each phase's report on the item, so fixtures can tell a failed test."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def phone(browser: Any, live_server: str, request: pytest.FixtureRequest) -> Iterator[Phone]:
    """A fresh phone (no cache, no storage): 390×844 at 3x, touch, zh-CN, WeChat's user agent."""
    context = browser.new_context(
        base_url=live_server,
        viewport=PHONE_VIEWPORT,
        screen=PHONE_VIEWPORT,
        device_scale_factor=3,
        is_mobile=True,
        has_touch=True,
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
        user_agent=WECHAT_ANDROID_UA,
    )
    context.set_default_timeout(15_000)
    log = PhoneLog()
    _record(context, log)
    page = context.new_page()
    try:
        yield Phone(context, page, log)
    finally:
        failed = getattr(request.node, "report_call", None)
        if failed is not None and failed.failed:
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / f"failed-{request.node.name}.png"))
        context.close()


def optimised_png(png: bytes, width_px: int = SCREENSHOT_WIDTH_PX) -> bytes:
    """A screenshot scaled to ``width_px`` and reduced to a 256-colour palette."""
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    height_px = round(image.height * width_px / image.width)
    image = image.resize((width_px, height_px), Image.Resampling.LANCZOS)
    palette = image.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    out = io.BytesIO()
    palette.save(out, format="PNG", optimize=True)
    return out.getvalue()


@pytest.fixture(scope="session")
def screenshot() -> Callable[[Any, str], Path]:
    """Save the page's viewport as ``NAME.png`` in docs/screenshots/ and test-artifacts/."""

    def save(page: Any, name: str) -> Path:
        data = optimised_png(page.screenshot(animations="disabled", caret="hide"))
        for folder in (DOCS_SCREENSHOTS, ARTIFACTS):
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{name}.png").write_bytes(data)
        return DOCS_SCREENSHOTS / f"{name}.png"

    return save
