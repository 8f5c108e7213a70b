"""The soak's figures as a results.md section: one table, then a PASS/FAIL line per target."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bench.bench_listeners import PageClient, percentile
from bench.common import machine_markdown, markdown_table, today
from bench.soak_watch import Disk
from kiosk.config import TUNABLES
from kiosk.web.uploads import MULTIPART_OVERHEAD_BYTES

if TYPE_CHECKING:
    from bench.bench_soak import Plan

WALL_P99_TARGET_MS = 200.0
MIB = 1024 * 1024
# The Retry-After of a refusal says who refused: the upload guard answers before Flask (so Flask-Limiter,
# which puts its own Retry-After, 900, on every login answer, cannot overwrite its 30).
REFUSERS = {"30": "upload guard, Retry-After 30", "5": "database busy, Retry-After 5"}
DESIGNED_REFUSALS = ("503", "507")  # busy, no room on the disk: answers in words, never a crash
SETTINGS = ("KIOSK_UPLOAD_MAX_BYTES", "KIOSK_UPLOADS_IN_FLIGHT", "KIOSK_UPLOADS_PER_ADDRESS", "KIOSK_UPLOAD_IDLE_S",
            "KIOSK_LOGIN_CLIENT_LIMIT", "KIOSK_LOGIN_ACCOUNT_LIMIT", "KIOSK_LOGIN_DELAY_MAX_S", "KIOSK_BEACON_LIMIT")


@dataclass(frozen=True)
class SignIn:
    """One sign-in of the librarian with the right password."""

    who: str  # "known device" or "fresh browser"
    moment: str  # "at rest", "write free", "write held"
    began: float  # epoch seconds
    status: int
    seconds: float
    retry_after: str  # the Retry-After header of a refusal (or the error, when none came)

    def refused_by(self) -> str:
        """Who refused, told by the Retry-After (see ``REFUSERS``), or ``""`` when not refused."""
        if 200 <= self.status < 400:
            return ""
        return REFUSERS.get(self.retry_after, f"Retry-After {self.retry_after}" if self.retry_after else "")

    def cell(self) -> str:
        """``302 in 0.04 s``, or a refusal and who refused."""
        text = f"{self.status} in {self.seconds:.2f} s"
        return text + (f" ({self.refused_by()})" if self.refused_by() else "")


@dataclass(frozen=True)
class Outcome:
    """Everything the soak measured."""

    plan: Plan
    settings: dict[str, Any]
    workers: int
    busy_before: float
    rest_wall: PageClient
    first_sign_in: SignIn
    load: dict[str, Any]
    attack: dict[str, Any]
    wall: PageClient
    sign_ins: list[SignIn]
    memory: dict[str, float]
    held: list[tuple[float, float]]
    hold_errors: list[str]
    disk_before: Disk
    disk_peak: Disk
    disk_after: Disk
    server_log: dict[str, int]
    server_alive: bool
    stop_s: float
    leftovers: int

    def spool_bound_bytes(self) -> int:
        """The most the spools may take: bodies in flight per worker × workers × the cap on a body."""
        cap = int(self.settings["KIOSK_UPLOAD_MAX_BYTES"]) + MULTIPART_OVERHEAD_BYTES
        return int(self.settings["KIOSK_UPLOADS_IN_FLIGHT"]) * self.workers * cap

    def plays(self) -> dict[str, Counter[str]]:
        """Play reports' answers, by whether the write was held when each was sent."""
        by_moment: dict[str, Counter[str]] = {"write held": Counter(), "write free": Counter()}
        for play in self.attack["plays"]:
            held = any(began <= play["began"] <= ended for began, ended in self.held)
            by_moment["write held" if held else "write free"][f"{play['status']} {play['code']}".strip()] += 1
        return by_moment

    def statuses_500(self) -> int:
        """Answers 500 (or over) seen by any client, plus unhandled errors in the server's log."""
        counters = [self.attack["stalls"]["statuses"], self.attack["guesses"]["statuses"],
                    *self.plays().values(), Counter(str(s.status) for s in [self.first_sign_in, *self.sign_ins])]
        seen = sum(n for counter in counters for status, n in counter.items()
                   if status[:3].isdigit() and int(status[:3]) >= 500 and status[:3] not in DESIGNED_REFUSALS)
        return seen + self.server_log["unhandled error"]


def settings_in_effect(env: Mapping[str, str]) -> dict[str, Any]:
    """The guards' settings the server ran with (its environment, else the documented defaults)."""
    return {name: TUNABLES[name][1](env[name]) if env.get(name) else TUNABLES[name][0] for name in SETTINGS}


def statuses(counter: Mapping[str, int]) -> str:
    """``429 ×2,981, 200 ×5`` (most frequent first), or ``none``."""
    ordered = sorted(counter.items(), key=lambda item: -item[1])
    return ", ".join(f"{status} ×{n:,}" for status, n in ordered) or "none"


def wall_cell(client: PageClient) -> str:
    """p50 / p99 / max of the wall's views, in ms, and how many were seen."""
    samples = client.samples_ms
    if not samples:
        return "no views"
    return (f"{percentile(samples, 0.5):.1f} / {percentile(samples, 0.99):.1f} / {max(samples):.0f} "
            f"({len(samples):,} views, {client.failures} failed)")


def seconds(value: object, digits: int = 2) -> str:
    """A number of seconds, or a dash."""
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


def rows(o: Outcome) -> list[list[str]]:
    """The table: measure, figure, target."""
    load, stalls, guesses = o.load, o.attack["stalls"], o.attack["guesses"]
    stall_statuses = Counter(stalls["statuses"])
    opened = sum(n for status, n in stall_statuses.items() if not status.startswith("connect"))
    refused = sum(n for status, n in stall_statuses.items() if status in ("503", "429"))
    held_s = sum(ended - began for began, ended in o.held)
    plays = o.plays()
    rows_ = [
        ["slow listeners started / failed", f"{load['started']:,} / {load['failed']:,} of {load['listeners']:,}"
         + (f" ({load['failures']})" if load["failures"] else ""), "0 failed"],
        ["first audio byte p50 / p99, s", f"{seconds(load['first_byte_p50_s'])} / "
         f"{seconds(load['first_byte_p99_s'])}", "–"],
        ["mean rate kept per listener, KB/s", f"{load['mean_rate_bytes_per_s'] / 1024:.2f}", "16"],
        ["wall `/` p50 / p99 / max at rest, ms", wall_cell(o.rest_wall), "–"],
        ["wall `/` p50 / p99 / max under attack, ms", wall_cell(o.wall), "p99 ≤ 200, 0 failed"],
        [f"stalled uploads opened (from {o.plan.stallers} addresses)", f"{opened:,}", "–"],
        ["… answered 408 (idle limit); time to the 408 p50 / max, s",
         f"{stall_statuses['408']:,}; {seconds(stalls['wait_p50_s'], 1)} / {seconds(stalls['wait_max_s'], 1)}",
         f"after {o.settings['KIOSK_UPLOAD_IDLE_S']:g} s"],
        ["… refused at once (503 in-flight cap, 429 per address)", f"{refused:,}", "–"],
        ["… still open at the end of the attack", f"{stall_statuses['open at the end']:,}", "–"],
        ["… all answers", statuses(stall_statuses), "no 500"],
        ["login guesses made (one address)", f"{guesses['count']:,}: {statuses(guesses['statuses'])}", "no 500"],
        ["guesser's wait per guess, mean / p50 / max, s", f"{seconds(guesses['wait_mean_s'])} / "
         f"{seconds(guesses['wait_p50_s'])} / {seconds(guesses['wait_max_s'])}",
         f"≤ {o.settings['KIOSK_LOGIN_DELAY_MAX_S']:g} s delay"],
    ]
    for sign_in in [o.first_sign_in, *o.sign_ins]:
        target = "302" if sign_in.moment != "write held" else "reported"
        rows_.append([f"librarian signs in: {sign_in.who}, {sign_in.moment}", sign_in.cell(), target])
    rows_ += [
        [f"write transaction held ({len(o.held)} × ≤ {o.plan.hold_s:g} s)", f"{held_s:.0f} s of {o.plan.attack_s:g} s"
         + (f"; errors: {o.hold_errors}" if o.hold_errors else ""), "–"],
        ["play reports while the write was held", statuses(plays["write held"]), "204 or 503, no 500"],
        ["play reports while the write was free", statuses(plays["write free"]), "204"],
        ["data dir disk use before / peak / after, MiB", f"{o.disk_before.total_bytes / MIB:.1f} / "
         f"{o.disk_peak.total_bytes / MIB:.1f} / {o.disk_after.total_bytes / MIB:.1f}", "–"],
        ["`tmp/` (upload spools) before / peak / after, KiB (files)",
         " / ".join(f"{d.tmp_bytes / 1024:.0f} ({d.tmp_files})" for d in (o.disk_before, o.disk_peak, o.disk_after)),
         f"peak ≤ {o.spool_bound_bytes() / 1024**3:.1f} GiB; after: 0 files"],
        ["server RSS / PSS peak, MiB (web processes)", f"{o.memory['rss_mib']:.0f} / {o.memory['pss_mib']:.0f}", "–"],
        ["server log: unhandled errors / tracebacks / writes given up as busy",
         f"{o.server_log['unhandled error']} / {o.server_log['Traceback']} / {o.server_log['database busy']}",
         "0 / 0 / –"],
        ["`kiosk serve` stopped after SIGTERM in, s; processes left on its data dir",
         f"{o.stop_s:.1f}; {o.leftovers}", "–; 0"],
        ["load tools' CPU: listeners, s", f"{load['tool_cpu_s']:.1f}", "–"],
        ["cores busy the second before the soak", f"{o.busy_before:.2f}", "< 0.3"],
    ]
    return rows_


def verdicts(o: Outcome) -> list[tuple[str, bool]]:
    """Issue 11's targets, each met or not."""
    p99 = percentile(o.wall.samples_ms, 0.99)
    librarian = [s for s in o.sign_ins if s.moment == "write free"]
    after = [s for s in o.sign_ins if s.moment == "after the attack"]
    return [
        ("zero failed listeners", o.load["failed"] == 0),
        (f"wall `/` p99 ≤ {WALL_P99_TARGET_MS:g} ms under attack, every view answered",
         p99 <= WALL_P99_TARGET_MS and o.wall.failures == 0),
        ("the librarian signs in (302) under attack, from the known device and from a fresh browser",
         bool(librarian) and all(s.status == 302 for s in librarian)),
        ("after the attack the librarian signs in (302) both ways",
         bool(after) and all(s.status == 302 for s in after)),
        ("no 500 anywhere (clients' answers and the server's log)", o.statuses_500() == 0),
        ("disk bounded: peak `tmp/` within the caps, spools gone after",
         o.disk_peak.tmp_bytes <= o.spool_bound_bytes() and o.disk_after.tmp_files == 0),
        ("the server survived, and left nothing running when stopped", o.server_alive and o.leftovers == 0),
    ]


def report(o: Outcome, machine: dict[str, str], command: str) -> str:
    """The results.md section: protocol, table, verdicts, machine."""
    plan, s = o.plan, o.settings
    protocol = (
        f"Run {today()} with `{command}`. `kiosk serve` ({o.workers} gevent KioskWorker(s), production "
        f"settings: uploads ≤ {s['KIOSK_UPLOAD_MAX_BYTES'] / MIB:.0f} MiB, silent {s['KIOSK_UPLOAD_IDLE_S']:g} s → "
        f"408, {s['KIOSK_UPLOADS_PER_ADDRESS']} in flight per address, {s['KIOSK_UPLOADS_IN_FLIGHT']} per worker; "
        f"failed logins {s['KIOSK_LOGIN_CLIENT_LIMIT']} per address, {s['KIOSK_LOGIN_ACCOUNT_LIMIT']} per account "
        f"and address, delay ≤ {s['KIOSK_LOGIN_DELAY_MAX_S']:g} s) on one published 30 MiB chapter. At rest for "
        f"{plan.rest_s:g} s, then for {plan.attack_s:g} s at once: {plan.listeners:,} slow listeners "
        f"(`slow_listeners.py`: fresh connection, `Range: bytes=N-`, 16 KB/s); {plan.stallers} stalled uploads, "
        "each from its own address in 127.1.0.0/16 (`soak_attack.py`: a booth take's multipart head and 16 bytes "
        "of a declared 2 MiB — every other one 256 KiB, so that the server opens a spool — then silence; answered, "
        "it opens the next; refused, it waits 1 s); a login guesser posting wrong passwords for the librarian's "
        f"account from one address (≤ {plan.guesses:,}, spread over the attack); a play report "
        "every 0.5 s; and this process holding `BEGIN IMMEDIATE` + an UPDATE on the kiosk's SQLite file "
        f"{plan.hold_s:g} s in every {plan.hold_s + plan.free_s:g} s. A new visitor opens the wall `/` every 50 ms "
        "on a fresh connection throughout. The librarian signs in (right password; the login form's GET not "
        "timed) from the browser that signed in at rest and from a fresh browser at another address, once while "
        "the write is free, once while it is held, and once more after the attack. "
        "Disk: allocated blocks of the data dir (as `du`), sampled "
        "every 0.5 s. Everything on 127.0.0.0/8, on the same cores as the load tools."
    )
    table = markdown_table(["Measure", "Figure", "Target"], rows(o))
    legend = ("A refusal's Retry-After says who refused: 30 is the upload guard's in-flight cap "
              "(`kiosk/web/uploads.py`), 5 the database-busy handler (`kiosk/web/errors.py`), a 429 the time left "
              "in the login limit's window; a successful answer carries none. Play reports' codes: `busy` is the "
              "upload guard, `unavailable` the database-busy handler.")
    if any(s.moment == "write free" and s.retry_after == "30" and s.status == 503 for s in o.sign_ins):
        legend += (" **Why the librarian was refused**: the upload guard counted a sign-in form against "
                   "`KIOSK_UPLOADS_IN_FLIGHT`: while stalled uploads fill the cap, signing in gets the uploads' 503.")
    lines = "\n".join(f"- **{'PASS' if ok else 'FAIL'}**: {name}" for name, ok in verdicts(o))
    machine_md = "Machine:\n\n" + machine_markdown(machine)
    return "\n\n".join([protocol, table, legend, "Issue 11's targets:\n\n" + lines, machine_md])
