"""Load tool: the soak's attackers — stalled uploads, a login guesser, play reports — on loopback, bounded.

    python bench/soak_attack.py --port 8000 --username librarian --track-id 1 --duration 90

- **Stalled uploads**: each of ``--stallers`` clients, bound to its own address in
  127.1.0.0/16 (so the per-address limit is not what stops them), posts a booth take's
  multipart head and a few bytes of audio to ``/api/v1/recordings``, declares a larger
  body, then says nothing; every other one first sends 256 KiB of audio, enough for the
  server to open a spool file for it (a take that stalled half-way). Answered (408 once
  the server's idle limit passes, or a refusal at once), it closes and opens the next; a
  refused one waits ``--refused-pause`` first. Every staller stops at ``--duration`` or
  after ``--stall-attempts`` opens.
- **Login guesser**: one browser at ``--guesser-address`` posts wrong passwords for
  ``--username``, at most ``--guesses`` of them spread over ``--duration`` (as fast as
  the server answers when it answers slower than that).
- **Play reports**: a phone's beacon every ``--play-interval`` seconds (``POST /api/v1/plays``).

Every request has a timeout and the whole run is cut at ``--duration + 30`` s whatever
happens. Prints one JSON object. ``Browser`` and ``sign_in`` are also the soak's librarian.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
import socket
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlencode

LOOPBACK = "127.0.0.1"
LOGIN_PATH = "/admin/login"
UPLOAD_PATH = "/api/v1/recordings"
PLAYS_PATH = "/api/v1/plays"
BOUNDARY = "soak-boundary-7f3a"
STALLED_BODY_BYTES = 2 * 1024 * 1024  # what a stalled upload says it will send
STALLED_AUDIO_BYTES = 16  # what it really sends after the part's head
SPOOLED_AUDIO_BYTES = 256 * 1024  # what every other one sends: past the form parser's 64 KiB reads
REPLY_LIMIT_BYTES = 1024 * 1024
UPLOAD_GUARD_RETRY_AFTER = "30"  # kiosk/web/uploads.py's refusals: the only ones that say 30
CSRF_FIELD = re.compile(rb'name="csrf_token"[^>]*value="([^"]+)"')


@dataclass(frozen=True)
class Reply:
    """One HTTP answer: status, headers (lower-case names), body, seconds from connect to the end."""

    status: int
    headers: dict[str, str]
    cookies: dict[str, str]
    body: bytes
    elapsed_s: float

    def error_code(self) -> str:
        """The ``error`` field of a JSON error body, or ``""``."""
        with contextlib.suppress(ValueError, AttributeError):
            return str(json.loads(self.body).get("error", ""))
        return ""


def _parse_reply(raw: bytes, elapsed_s: float) -> Reply:
    """A whole ``Connection: close`` response as a ``Reply``."""
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split()
    status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
    headers: dict[str, str] = {}
    cookies: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name, value = name.strip().lower(), value.strip()
        headers[name] = value
        if name == "set-cookie":
            cookie, _, _ = value.partition(";")
            cookie_name, _, cookie_value = cookie.partition("=")
            cookies[cookie_name.strip()] = cookie_value.strip()
    return Reply(status, headers, cookies, body, elapsed_s)


async def _open(port: int, source: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A connection to 127.0.0.1:port from the loopback address ``source``."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setblocking(False)
    try:
        sock.bind((source, 0))
        await asyncio.get_running_loop().sock_connect(sock, (LOOPBACK, port))
    except OSError:
        sock.close()
        raise
    return await asyncio.open_connection(sock=sock)


async def exchange(port: int, source: str, method: str, path: str, *, body: bytes = b"",
                   headers: dict[str, str] | None = None, timeout_s: float = 30.0) -> Reply:
    """One request on a fresh connection from ``source``; the whole answer."""
    started = time.perf_counter()
    lines = [f"{method} {path} HTTP/1.1", f"Host: {LOOPBACK}:{port}", "Connection: close",
             f"Content-Length: {len(body)}", *(f"{k}: {v}" for k, v in (headers or {}).items())]
    async with asyncio.timeout(timeout_s):
        reader, writer = await _open(port, source)
        try:
            writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
            raw = await reader.read(REPLY_LIMIT_BYTES)
            while chunk := await reader.read(REPLY_LIMIT_BYTES):
                raw += chunk
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
    return _parse_reply(raw, time.perf_counter() - started)


@dataclass
class Browser:
    """A browser at one loopback address that keeps its cookies (session, known device)."""

    port: int
    source: str
    cookies: dict[str, str] = field(default_factory=dict)

    async def request(self, method: str, path: str, form: dict[str, str] | None = None) -> Reply:
        """GET a page or POST a form, sending and then keeping the cookies."""
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())} if self.cookies else {}
        body = b""
        if form is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            body = urlencode(form).encode()
        reply = await exchange(self.port, self.source, method, path, body=body, headers=headers)
        for name, value in reply.cookies.items():
            if value.strip('"'):
                self.cookies[name] = value
            else:
                self.cookies.pop(name, None)
        return reply

    def forget_all_but(self, *names: str) -> None:
        """Drop every cookie but ``names`` (a signed-out browser that remembers the device)."""
        self.cookies = {k: v for k, v in self.cookies.items() if k in names}

    async def login_token(self) -> str:
        """The CSRF token of the login form (as tests/test_security.py reads it)."""
        page = await self.request("GET", LOGIN_PATH)
        found = CSRF_FIELD.search(page.body)
        if found is None:
            raise RuntimeError(f"no csrf_token on {LOGIN_PATH} (status {page.status})")
        return found.group(1).decode()


async def sign_in(browser: Browser, username: str, password: str) -> Reply:
    """Open the login form, then post the credentials; the post's reply (302 when signed in)."""
    token = await browser.login_token()
    form = {"username": username, "password": password, "csrf_token": token, "next": ""}
    return await browser.request("POST", LOGIN_PATH, form)


# --- the attackers ----------------------------------------------------------------------------


@dataclass
class Tally:
    """Statuses seen by one kind of attacker, and how long the answers took."""

    statuses: Counter[str] = field(default_factory=Counter)
    waits_s: list[float] = field(default_factory=list)

    def note(self, status: object, wait_s: float | None = None) -> None:
        """Count one answer (and how long it took, when that matters)."""
        self.statuses[str(status)] += 1
        if wait_s is not None:
            self.waits_s.append(wait_s)

    def summary(self) -> dict[str, object]:
        """Counts by status, and the waits' mean, median and maximum."""
        waits = sorted(self.waits_s)
        return {
            "count": sum(self.statuses.values()), "statuses": dict(self.statuses),
            "wait_mean_s": statistics.mean(waits) if waits else None,
            "wait_p50_s": waits[len(waits) // 2] if waits else None,
            "wait_max_s": waits[-1] if waits else None,
        }


def stalled_head(port: int, audio_bytes: int) -> bytes:
    """A booth take's request head and multipart part head, plus the first ``audio_bytes`` of its audio."""
    part = (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"audio\"; filename=\"take.webm\"\r\n"
            "Content-Type: audio/webm\r\n\r\n").encode() + b"\x1aE\xdf\xa3" * (audio_bytes // 4)
    head = (f"POST {UPLOAD_PATH} HTTP/1.1\r\nHost: {LOOPBACK}:{port}\r\n"
            f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
            f"Content-Length: {STALLED_BODY_BYTES}\r\n\r\n").encode()
    return head + part


async def stall_once(port: int, source: str, audio_bytes: int, until: float, tally: Tally) -> str:
    """Open one stalled upload and wait for its answer (or ``until``); the outcome noted."""
    started = time.monotonic()
    try:
        reader, writer = await asyncio.wait_for(_open(port, source), timeout=max(0.1, until - started))
    except (OSError, TimeoutError) as error:
        tally.note(f"connect {type(error).__name__}")
        return "error"
    try:
        writer.write(stalled_head(port, audio_bytes))
        async with asyncio.timeout_at(asyncio.get_running_loop().time() + max(0.0, until - time.monotonic())):
            status = _parse_reply(await reader.readuntil(b"\r\n\r\n"), 0).status
        outcome = str(status)
    except TimeoutError:
        outcome = "open at the end"
    except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as error:
        outcome = type(error).__name__
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()
    tally.note(outcome, time.monotonic() - started if outcome == "408" else None)  # how long a stall held
    return outcome


async def staller(port: int, source: str, audio_bytes: int, until: float, args: argparse.Namespace,
                  tally: Tally) -> None:
    """Stalled uploads one after the other from ``source``, until ``until`` or the attempt cap."""
    for _ in range(args.stall_attempts):
        if time.monotonic() >= until:
            return
        outcome = await stall_once(port, source, audio_bytes, until, tally)
        if outcome != "408":  # refused (or broken): an impatient client, but not a spinning one
            await asyncio.sleep(min(args.refused_pause, max(0.0, until - time.monotonic())))


async def guesser(port: int, args: argparse.Namespace, until: float, tally: Tally) -> None:
    """Wrong passwords for the librarian's account, one after the other, from one address."""
    browser = Browser(port, args.guesser_address)
    token = await browser.login_token()
    started, interval_s = time.monotonic(), args.duration / max(1, args.guesses)
    for attempt in range(args.guesses):
        await asyncio.sleep(max(0.0, started + attempt * interval_s - time.monotonic()))
        if time.monotonic() >= until:
            return
        form = {"username": args.username, "password": f"wrong-guess-{attempt:06d}", "csrf_token": token, "next": ""}
        try:
            reply = await browser.request("POST", LOGIN_PATH, form)
        except (OSError, TimeoutError) as error:
            tally.note(type(error).__name__)
            continue
        guard = reply.headers.get("retry-after") == UPLOAD_GUARD_RETRY_AFTER  # the login page is HTML: no code
        tally.note(f"{reply.status} busy" if guard else reply.status, reply.elapsed_s)
        if reply.status == 400:  # the session (and its token) went away: take a fresh form
            token = await browser.login_token()


async def reporter(port: int, args: argparse.Namespace, until: float, log: list[dict[str, object]]) -> None:
    """A phone's play reports, one every ``play_interval`` seconds; each with when it ran (epoch s)."""
    for number in range(int(args.duration / args.play_interval) + 1):
        if time.monotonic() >= until:
            return
        item = {"play_id": f"soak{number:06d}", "track_id": args.track_id, "seconds": 20.0,
                "max_position_s": 20.0, "completed": False}
        body = json.dumps({"plays": [item]}).encode()
        began = time.time()
        try:
            reply = await exchange(port, args.reporter_address, "POST", PLAYS_PATH, body=body,
                                   headers={"Content-Type": "text/plain;charset=UTF-8"}, timeout_s=15)
            status, code = reply.status, reply.error_code()
        except (OSError, TimeoutError) as error:
            status, code = 0, type(error).__name__
        log.append({"began": began, "ended": time.time(), "status": status, "code": code})
        await asyncio.sleep(args.play_interval)


async def attack(args: argparse.Namespace) -> dict[str, object]:
    """All attackers at once, for ``args.duration`` seconds; their summary."""
    until = time.monotonic() + args.duration
    stalls, guesses = Tally(), Tally()
    plays: list[dict[str, object]] = []
    sources = [f"127.1.{n // 250}.{n % 250 + 1}" for n in range(args.stallers)]
    sizes = [SPOOLED_AUDIO_BYTES if n % 2 else STALLED_AUDIO_BYTES for n in range(args.stallers)]
    tasks = [asyncio.create_task(staller(args.port, source, size, until, args, stalls))
             for source, size in zip(sources, sizes, strict=True)]
    tasks.append(asyncio.create_task(guesser(args.port, args, until, guesses)))
    tasks.append(asyncio.create_task(reporter(args.port, args, until, plays)))
    done, pending = await asyncio.wait(tasks, timeout=args.duration + 30)
    for task in pending:
        task.cancel()
    crashed = [repr(task.exception()) for task in done if task.exception() is not None]
    return {"stalls": stalls.summary(), "guesses": guesses.summary(), "plays": plays,
            "cut_at_deadline": len(pending), "crashed": crashed}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The plan from the command line."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, required=True, help="server port on 127.0.0.1")
    parser.add_argument("--username", required=True, help="the account the guesser attacks")
    parser.add_argument("--track-id", type=int, required=True, help="a published chapter for play reports")
    parser.add_argument("--duration", type=float, default=90.0, help="seconds the attack lasts")
    parser.add_argument("--stallers", type=int, default=200, help="stalled uploads at once (≤ 10,000)")
    parser.add_argument("--stall-attempts", type=int, default=40, help="stalled uploads each staller opens at most")
    parser.add_argument("--refused-pause", type=float, default=1.0, help="seconds a refused staller waits")
    parser.add_argument("--guesses", type=int, default=3000, help="wrong passwords at most")
    parser.add_argument("--guesser-address", default="127.0.0.66")
    parser.add_argument("--reporter-address", default="127.0.0.88")
    parser.add_argument("--play-interval", type=float, default=0.5, help="seconds between play reports")
    return parser.parse_args(argv)


def main() -> None:
    """Run the attack and print its summary as JSON."""
    args = parse_args()
    print(json.dumps(asyncio.run(attack(args))), flush=True)


if __name__ == "__main__":
    main()
