"""Fixtures for the real-browser tests: the production server, Debian's Chromium, a phone.

``kiosk serve --demo`` runs as a subprocess on a free port with its own data dir, exactly as
the README tells a newcomer to run it; Chromium is driven by Playwright's Python package
(its own browser download does not work here) and emulates a phone in WeChat.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from recorder import synth
from tests.helpers import free_port, require_tool, wait_until

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

    def healthy() -> bool:
        if process.poll() is not None:
            pytest.fail(f"kiosk serve exited with {process.returncode}:\n{log.read_text()[-4000:]}")
        return _healthy(base_url)

    wait_until(healthy, SERVER_START_TIMEOUT_S, f"kiosk serve --demo at {base_url}/healthz to answer 200",
               interval_s=0.25, details=lambda: log.read_text()[-4000:])


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


@dataclass(frozen=True)
class LiveKiosk:
    """The running ``kiosk serve --demo``: its address, environment (data dir) and log."""

    base_url: str
    env: dict[str, str]
    log: Path

    def cli(self, *args: str, stdin: str | None = None, timeout_s: float = 120) -> str:
        """Run ``kiosk ARGS`` against this server's data dir; its stdout (fails on an error)."""
        done = subprocess.run(
            [*_kiosk_command(), *args],
            env=self.env,
            cwd=self.log.parent,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
        if done.returncode != 0:
            pytest.fail(f"kiosk {' '.join(args)} exited with {done.returncode}:\n{done.stderr}")
        return done.stdout

    def log_tail(self, chars: int = 4000) -> str:
        """The end of the server's (and its worker's) log, for a failure message."""
        return self.log.read_text(errors="replace")[-chars:]


@pytest.fixture(scope="session")
def live_kiosk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveKiosk]:
    """``kiosk serve --demo`` on a free port and a fresh data dir (with its worker)."""
    data_dir = tmp_path_factory.mktemp("kiosk-browser")
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    log = data_dir / "server.log"
    env = _server_env(data_dir / "media")
    argv = [*_kiosk_command(), "serve", "--demo", "--host", "127.0.0.1", "--port", str(port)]
    with log.open("wb") as sink:
        process = subprocess.Popen(
            argv,
            cwd=data_dir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_until_healthy(process, base_url, log)
        yield LiveKiosk(base_url, env, log)
    finally:
        _stop(process)


@pytest.fixture(autouse=True)
def _server_log_on_failure(request: pytest.FixtureRequest) -> Iterator[None]:
    """When a test against the live server fails, print the end of the server's log with it."""
    server = request.getfixturevalue("live_kiosk") if "live_kiosk" in request.fixturenames else None
    yield
    failed = getattr(request.node, "report_call", None)
    if server is not None and failed is not None and failed.failed:
        print(f"--- kiosk serve log (end) ---\n{server.log_tail()}")


@pytest.fixture(scope="session")
def live_server(live_kiosk: LiveKiosk) -> str:
    """The base URL of ``kiosk serve --demo`` (see ``live_kiosk``)."""
    return live_kiosk.base_url


@pytest.fixture(scope="session")
def api(live_server: str) -> Callable[[str], Any]:
    """GET a JSON path of the live server's API (outside the browser)."""

    def get(path: str) -> Any:
        with urllib.request.urlopen(f"{live_server}{path}", timeout=10) as answer:  # noqa: S310
            return json.load(answer)

    return get


@pytest.fixture(scope="session")
def playwright() -> Iterator[Any]:
    """Playwright's driver: one per test session (its sync API allows no second one at once)."""
    require_tool("Chromium", chromium_executable() is not None, "apt-get install chromium, or set KIOSK_TEST_CHROMIUM")
    require_tool("Playwright", importlib.util.find_spec("playwright") is not None, "pip install -e '.[test]'")
    from playwright import sync_api

    with sync_api.sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Any) -> Iterator[Any]:
    """Debian's Chromium, headless, launched through Playwright."""
    launched = playwright.chromium.launch(executable_path=str(chromium_executable()), args=CHROMIUM_ARGS)
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


def _phone_context(browser: Any, base_url: str) -> Any:
    """A fresh phone context (no cache, no storage): 390×844 at 3x, touch, zh-CN, WeChat."""
    return browser.new_context(
        base_url=base_url,
        viewport=PHONE_VIEWPORT,
        screen=PHONE_VIEWPORT,
        device_scale_factor=3,
        is_mobile=True,
        has_touch=True,
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
        user_agent=WECHAT_ANDROID_UA,
    )


@contextlib.contextmanager
def _device(context: Any, request: pytest.FixtureRequest, label: str) -> Iterator[Phone]:
    """Log ``context``, open its first page; on a failed test, photograph it; then close it."""
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
            with contextlib.suppress(Exception):  # a crashed page must not hide the failure
                page.screenshot(path=str(ARTIFACTS / f"failed-{request.node.name}{label}.png"))
        context.close()


@pytest.fixture
def phone(browser: Any, live_server: str, request: pytest.FixtureRequest) -> Iterator[Phone]:
    """A fresh phone (no cache, no storage): 390×844 at 3x, touch, zh-CN, WeChat's user agent."""
    with _device(_phone_context(browser, live_server), request, "") as device:
        yield device


# --- the booth: a touch screen with a (fake) microphone -----------------------------------

BOOTH_VIEWPORT = {"width": 1280, "height": 800}
FAKE_VOICE_RATE_HZ = 48_000  # Chromium's WAV reader takes PCM at any rate; 48 kHz needs no resampling
# Content-Security-Policy violations are console errors already; this names them plainly too.
CSP_WATCH = (
    "document.addEventListener('securitypolicyviolation', (e) => console.error("
    "'CSP violation: ' + e.violatedDirective + ' blocked ' + e.blockedURI));"
)


@pytest.fixture(scope="session")
def fake_voice(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """8 s of speech-like sound at −24 LUFS between 1 s of silence each side (48 kHz mono WAV)."""
    path = tmp_path_factory.mktemp("fake-microphone") / "voice.wav"
    synth.speechlike(
        path, duration_s=8, level_lufs=-24, pad_head_s=1, pad_tail_s=1, sample_rate_hz=FAKE_VOICE_RATE_HZ
    )
    return Path(path)


@pytest.fixture(scope="session")
def mic_browser(playwright: Any, fake_voice: Path) -> Iterator[Any]:
    """Debian's Chromium with a fake microphone that plays ``fake_voice`` in a loop."""
    microphone = [
        "--use-fake-ui-for-media-stream",  # grant getUserMedia without a prompt
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={fake_voice}",  # looped; "%noloop" would stop it
    ]
    launched = playwright.chromium.launch(
        executable_path=str(chromium_executable()), args=[*CHROMIUM_ARGS, *microphone]
    )
    yield launched
    launched.close()


@pytest.fixture
def booth(mic_browser: Any, live_server: str, request: pytest.FixtureRequest) -> Iterator[Phone]:
    """The booth's touch screen (1280×800, zh-CN) with the fake microphone; CSP violations logged."""
    context = mic_browser.new_context(
        base_url=live_server,
        viewport=BOOTH_VIEWPORT,
        screen=BOOTH_VIEWPORT,
        has_touch=True,
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
    )
    context.add_init_script(CSP_WATCH)
    with _device(context, request, "-booth") as device:
        yield device


@pytest.fixture
def console(mic_browser: Any, live_server: str, request: pytest.FixtureRequest) -> Iterator[Phone]:
    """A librarian's desktop browser for the console (1280×800, mouse, zh-CN)."""
    context = mic_browser.new_context(
        base_url=live_server, viewport=BOOTH_VIEWPORT, locale="zh-CN", timezone_id="Asia/Shanghai"
    )
    context.add_init_script(CSP_WATCH)
    with _device(context, request, "-console") as device:
        yield device


@pytest.fixture
def mic_phone(mic_browser: Any, live_server: str, request: pytest.FixtureRequest) -> Iterator[Phone]:
    """A phone like ``phone``, in the booth's browser (so one test can use both at once)."""
    context = _phone_context(mic_browser, live_server)
    context.add_init_script(CSP_WATCH)
    with _device(context, request, "-phone") as device:
        yield device


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
    """Save the page's viewport as ``NAME.png`` in test-artifacts/, and in docs/screenshots/ too
    when ``KIOSK_UPDATE_SCREENSHOTS=1`` (so an ordinary test run leaves the README's pictures alone)."""
    folders = [ARTIFACTS]
    if os.environ.get("KIOSK_UPDATE_SCREENSHOTS") == "1":
        folders.append(DOCS_SCREENSHOTS)

    def save(page: Any, name: str) -> Path:
        data = optimised_png(page.screenshot(animations="disabled", caret="hide"))
        for folder in folders:
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{name}.png").write_bytes(data)
        return ARTIFACTS / f"{name}.png"

    return save


@pytest.fixture(scope="session")
def artifact() -> Callable[[Any, str], Path]:
    """Save the page's full viewport as ``NAME.png`` in test-artifacts/ only (not the README's)."""

    def save(page: Any, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        path.write_bytes(optimised_png(page.screenshot(animations="disabled", caret="hide", full_page=True)))
        return path

    return save
