"""Soak under attack (issue 11): listeners, stalled uploads, a login guesser and a held write, all at once.

Starts ``kiosk serve`` (gunicorn, gevent KioskWorkers, production defaults) on a
temporary library with one published 30 MiB chapter and a librarian account, then, on
127.0.0.0/8 only and for a bounded time:

1. at rest: the librarian signs in once (so the browser is a known device) and a new
   visitor opens the wall ``/`` every 50 ms for a few seconds;
2. the attack, all at once for ``attack_s`` seconds: 1,000 slow listeners
   (``slow_listeners.py``), 200 stalled uploads from 200 addresses, a login-guessing loop
   on the librarian's account and a phone's play reports (``soak_attack.py``, its own
   process), while this process holds a write transaction on the kiosk's SQLite file
   (``BEGIN IMMEDIATE`` + an UPDATE) for ``hold_s`` seconds in every ``hold_s + free_s``,
   goes on opening the wall, and samples the server's memory and the data dir's disk use.
   Midway the librarian signs in again — from the known browser and from a fresh one at
   an address the guesser does not use — once while the write is free, once while held;
3. after it, the stalled uploads' spools must be gone within a few seconds, and the
   librarian signs in once more from both browsers.

Prints a table and writes it to bench/results.md under "Soak under attack".

    python bench/bench_soak.py            # about 2.5 minutes
    python bench/bench_soak.py --quick    # 100 listeners, 20 stalled uploads, 30 s of attack
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make ``bench`` and ``kiosk`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_listeners import PageClient
from bench.bench_streaming import FILE_BYTES, kiosk_executable, kiosk_target, prepare_data
from bench.common import ServerProcess, machine_description, run_and_record, wait_for_http, wait_for_quiet
from bench.memory import ServerMemory
from bench.soak_attack import Browser, sign_in
from bench.soak_report import Outcome, SignIn, report, settings_in_effect
from bench.soak_watch import Disk, DiskSampler, WriteHolder
from kiosk.web.server import default_workers

BENCH_DIR = Path(__file__).resolve().parent
HEADING = "Soak under attack"
USERNAME = "librarian"
PASSWORD = "soak-librarian-passphrase"  # noqa: S105 - a throwaway account in a temporary library
KNOWN_DEVICE_COOKIE = "kiosk_known_device"
KNOWN_ADDRESS, FRESH_ADDRESSES = "127.0.0.1", ("127.0.0.77", "127.0.0.78", "127.0.0.79")
DRAIN_S = 15.0  # after the attack, how long the upload spools may take to go
TOOL_GRACE_S = 60.0  # a load tool past its own deadline by this much is a failed run
SERVE_STOP_GRACE_S = 20.0  # kiosk serve takes ~11 s to stop while it supervises a worker (common's grace: 8 s)


@dataclass(frozen=True)
class Plan:
    """The soak's sizes and timeline (seconds from the start of the attack)."""

    listeners: int = 1000
    stallers: int = 200
    attack_s: float = 90.0
    hold_s: float = 20.0
    free_s: float = 10.0
    first_hold_s: float = 5.0
    guesses: int = 3000
    rest_s: float = 5.0

    def holds(self) -> list[tuple[float, float]]:
        """When the write transaction is held: (from, to) pairs within the attack."""
        spans, start = [], self.first_hold_s
        while start < self.attack_s - 1:
            spans.append((start, min(start + self.hold_s, self.attack_s - 1)))
            start += self.hold_s + self.free_s
        return spans

    def sign_in_free_at(self) -> float:
        """The librarian's sign-ins while the write is free: early in the first free window."""
        return self.first_hold_s + self.hold_s + min(2.0, self.free_s / 3)

    def sign_in_held_at(self) -> float:
        """The librarian's sign-ins while the write is held: early in the second hold."""
        return self.first_hold_s + self.hold_s + self.free_s + min(3.0, self.hold_s / 3)


QUICK = Plan(listeners=100, stallers=20, attack_s=30.0, hold_s=8.0, free_s=6.0, first_hold_s=3.0, guesses=300,
             rest_s=3.0)


# --- the library, the tools and the librarian -----------------------------------------------------


def add_librarian(env: dict[str, str]) -> None:
    """The console account the guesser attacks and the librarian uses."""
    subprocess.run([kiosk_executable(), "user", "add", USERNAME, "--password-stdin"], input=PASSWORD + "\n",
                   env=env, text=True, check=True, capture_output=True)


def first_track_id(data_dir: Path) -> int:
    """The id of the published chapter (for play reports)."""
    with sqlite3.connect(data_dir / "kiosk.sqlite3") as connection:
        return int(connection.execute("SELECT id FROM tracks ORDER BY id LIMIT 1").fetchone()[0])


def tool(name: str, script: str, options: list[object], workdir: Path) -> ServerProcess:
    """A load tool in its own process group (stopped with its children on exit, as servers are)."""
    argv = [sys.executable, str(BENCH_DIR / script), *(str(option) for option in options)]
    return ServerProcess(name, argv, log_path=workdir / f"{script}.log")


def tool_summary(process: ServerProcess, timeout_s: float) -> dict[str, object]:
    """The JSON object a load tool printed last, once it has ended by itself."""
    assert process.process is not None, "tool not started"
    try:
        process.process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired as error:
        raise RuntimeError(f"{process.name} did not end in time:\n{process.log_tail()}") from error
    lines = [line for line in process.log_path.read_text(errors="replace").splitlines() if line.startswith("{")]
    if process.process.returncode != 0 or not lines:
        raise RuntimeError(f"{process.name} failed ({process.process.returncode}):\n{process.log_tail()}")
    return dict(json.loads(lines[-1]))


def attempt_sign_in(browser: Browser, who: str, moment: str) -> SignIn:
    """One sign-in with the right password, timed (the login form's GET is not counted)."""
    began = time.time()
    try:
        reply = asyncio.run(sign_in(browser, USERNAME, PASSWORD))
    except (OSError, TimeoutError, RuntimeError) as error:
        return SignIn(who, moment, began, 0, float("nan"), type(error).__name__)
    return SignIn(who, moment, began, reply.status, reply.elapsed_s, reply.headers.get("retry-after", ""))


def sleep_until(monotonic_s: float) -> None:
    """Sleep until the monotonic clock reads ``monotonic_s``."""
    time.sleep(max(0.0, monotonic_s - time.monotonic()))


def librarian_signs_in(port: int, known: Browser, moment: str, fresh_address: str) -> list[SignIn]:
    """The librarian signs in from the known browser (signed out since), then from a fresh one."""
    known.forget_all_but(KNOWN_DEVICE_COOKIE)  # the browser remembers the device, not the session
    return [attempt_sign_in(known, "known device", moment),
            attempt_sign_in(Browser(port, fresh_address), "fresh browser", moment)]


def librarian_during(plan: Plan, started: float, port: int, known: Browser) -> list[SignIn]:
    """The librarian's sign-ins during the attack: write free, then write held."""
    sleep_until(started + plan.sign_in_free_at())
    sign_ins = librarian_signs_in(port, known, "write free", FRESH_ADDRESSES[0])
    sleep_until(started + plan.sign_in_held_at())
    return sign_ins + librarian_signs_in(port, known, "write held", FRESH_ADDRESSES[1])


# --- the phases ---------------------------------------------------------------------------------


def at_rest(port: int, plan: Plan) -> tuple[Browser, SignIn, PageClient]:
    """The librarian's first sign-in (the browser becomes a known device) and the wall at rest."""
    known = Browser(port, KNOWN_ADDRESS)
    first = attempt_sign_in(known, "known device", "at rest")
    if first.status != 302 or KNOWN_DEVICE_COOKIE not in known.cookies:
        raise RuntimeError(f"the librarian could not sign in at rest: {first}")
    wall = PageClient(port, "/")
    with wall:
        time.sleep(plan.rest_s)
    return known, first, wall


def under_attack(port: int, pgid: int, media_path: str, plan: Plan, data_dir: Path, workdir: Path,
                 known: Browser) -> dict[str, Any]:
    """Everything at once for ``plan.attack_s`` seconds; what was measured."""
    track_id = first_track_id(data_dir)
    listeners = tool("slow listeners", "slow_listeners.py", [
        "--port", port, "--path", media_path, "--size", FILE_BYTES, "--listeners", plan.listeners,
        "--hold", plan.attack_s - 2], workdir)
    attackers = tool("attackers", "soak_attack.py", [
        "--port", port, "--username", USERNAME, "--track-id", track_id, "--duration", plan.attack_s,
        "--stallers", plan.stallers, "--guesses", plan.guesses], workdir)
    wall, disk = PageClient(port, "/"), DiskSampler(data_dir)
    with ServerMemory(pgid) as memory, disk, wall, WriteHolder(data_dir / "kiosk.sqlite3", plan.holds()) as holder, \
            listeners, attackers:
        started = time.monotonic()
        sign_ins = librarian_during(plan, started, port, known)
        load = tool_summary(listeners, plan.attack_s + TOOL_GRACE_S)
        attack = tool_summary(attackers, max(1.0, started + plan.attack_s + TOOL_GRACE_S - time.monotonic()))
    return {"load": load, "attack": attack, "wall": wall, "sign_ins": sign_ins, "memory": memory.peaks(),
            "held": holder.held, "hold_errors": holder.errors, "disk_peak": disk.peak}


def drained(data_dir: Path) -> Disk:
    """The data dir's disk use once the spools are gone (or after ``DRAIN_S`` seconds)."""
    sampler = DiskSampler(data_dir)
    deadline = time.monotonic() + DRAIN_S
    while sampler.now().tmp_files and time.monotonic() < deadline:
        time.sleep(0.2)
    return sampler.now()


def processes_using(data_dir: Path) -> list[int]:
    """Processes whose environment names ``data_dir`` (this run's temporary one) as KIOSK_DATA_DIR."""
    marker = f"KIOSK_DATA_DIR={data_dir}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            with contextlib.suppress(OSError):
                if marker in (entry / "environ").read_bytes().split(b"\0"):
                    found.append(int(entry.name))
    return found


def stop_leftovers(data_dir: Path) -> int:
    """Stop (by pid) what this run's server left running on its data dir; how many there were."""
    pids = processes_using(data_dir)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, sig)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(Path(f"/proc/{pid}/environ").exists() for pid in pids):
            time.sleep(0.1)
    return len(pids)


def stop_server(server: ServerProcess) -> float:
    """Stop ``kiosk serve`` (SIGTERM to its group, SIGKILL after a grace); the seconds it took."""
    started = time.monotonic()
    server.stop(grace_s=SERVE_STOP_GRACE_S)
    return time.monotonic() - started


def server_log_counts(log_path: Path) -> dict[str, int]:
    """How often the server logged an unhandled error, a traceback, or a write given up as busy."""
    text = log_path.read_text(errors="replace")
    return {"unhandled error": text.count("unhandled error"), "Traceback": text.count("Traceback"),
            "database busy": text.count("database busy")}


def run(args: argparse.Namespace, workdir: Path) -> str:
    """The whole soak in ``workdir``; returns the results section."""
    plan: Plan = args.plan
    machine = machine_description()
    print("preparing a 30 MiB published chapter and a librarian ...", flush=True)
    env, key, _stored = prepare_data(workdir)
    add_librarian(env)
    data_dir = Path(env["KIOSK_DATA_DIR"])
    target = kiosk_target(env, key, workdir, args.workers)
    try:
        with target.server:
            wait_for_http(target.server, target.port, "/")
            busy_before = wait_for_quiet(args.wait_quiet)
            disk_before = DiskSampler(data_dir).now()
            print(f"at rest for {plan.rest_s:g} s, then the attack for {plan.attack_s:g} s ...", flush=True)
            known, first, rest_wall = at_rest(target.port, plan)
            measured = under_attack(target.port, target.server.pid, target.path, plan, data_dir, workdir, known)
            disk_after = drained(data_dir)
            measured["sign_ins"] += librarian_signs_in(target.port, known, "after the attack", FRESH_ADDRESSES[2])
            alive = target.server.alive()
            stop_s = stop_server(target.server)
    finally:
        leftovers = stop_leftovers(data_dir)
    outcome = Outcome(
        plan=plan, settings=settings_in_effect(env), workers=args.workers or default_workers(),
        rest_wall=rest_wall, first_sign_in=first, disk_before=disk_before, disk_after=disk_after,
        server_log=server_log_counts(target.server.log_path), server_alive=alive, busy_before=busy_before,
        stop_s=stop_s, leftovers=leftovers, **measured,
    )
    return report(outcome, machine, " ".join(["python bench/bench_soak.py", *sys.argv[1:]]))


def plan_from(args: argparse.Namespace) -> Plan:
    """The plan: the full soak or the quick one, with any size given on the command line."""
    plan = QUICK if args.quick else Plan()
    sizes = {name: getattr(args, name) for name in ("listeners", "stallers", "attack_s") if getattr(args, name)}
    plan = replace(plan, **sizes)
    if plan.sign_in_held_at() >= plan.attack_s - 2:
        raise SystemExit(f"--attack-s {plan.attack_s:g} is too short for two holds of the write")
    return plan


def parse_args() -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="100 listeners, 20 stalled uploads, 30 s of attack")
    parser.add_argument("--listeners", type=int, help="slow listeners (default 1,000)")
    parser.add_argument("--stallers", type=int, help="stalled uploads at once (default 200)")
    parser.add_argument("--attack-s", type=float, help="seconds the attack lasts (default 90)")
    parser.add_argument("--workers", type=int, default=None, help="kiosk serve --workers (default: one per two cores)")
    parser.add_argument("--wait-quiet", type=float, default=20, help="wait up to N s for an idle machine")
    parser.add_argument("--no-write", action="store_true", help="print the table, leave results.md alone")
    parser.add_argument("--keep", action="store_true", help="keep the temporary data dir")
    return parser.parse_args()


def main() -> None:
    """Run, print and record; servers, load tools and temp files never outlive it."""
    args = parse_args()
    args.plan = plan_from(args)
    run_and_record("soak", HEADING, args, run)


if __name__ == "__main__":
    main()
