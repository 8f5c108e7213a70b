"""Benchmark (b): 1,000 phones streaming at 16 KB/s while new visitors open a section page.

Starts ``kiosk serve`` (gunicorn, gevent KioskWorkers) on a temporary library with one
published 30 MiB chapter, then, on 127.0.0.1 only and for a bounded time:

1. a page client opens the section page on a fresh connection every 50 ms for a few
   seconds (page latency at rest);
2. ``bench/slow_listeners.py``, in its own process, starts 1,000 listeners at once, each
   asking for ``Range: bytes=N-`` and reading 16 KB/s, while the page client goes on
   (page latency under load); server memory (RSS and PSS) is sampled every half second.

Then the same listeners against nginx serving the bare file: the load tool's own floor.
Prints a table and writes it to bench/results.md under "Slow listeners".

    python bench/bench_listeners.py                 # about 2 minutes
    python bench/bench_listeners.py --rounds 3      # medians of 3 rounds
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make ``bench`` and ``kiosk`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_streaming import FILE_BYTES, baseline_target, kiosk_target, prepare_data
from bench.common import (
    LOOPBACK,
    group_cpu_s,
    machine_busy_s,
    machine_description,
    machine_markdown,
    markdown_table,
    nginx_available,
    run_and_record,
    today,
    wait_for_http,
    wait_for_quiet,
)
from bench.memory import ServerMemory

HEADING = "Slow listeners"
LOAD_TOOL = Path(__file__).resolve().parent / "slow_listeners.py"
PAGE_INTERVAL_S = 0.05
# What a phone's browser sends over plain HTTP (brotli and zstd only over HTTPS): the page
# comes gzipped, as it does to a visitor, so its compression is in the measured time.
PHONE_HEADERS = {"Accept-Encoding": "gzip, deflate"}
TARGETS = {"page_p99_ms": 200.0, "first_byte_p99_s": 1.5, "rss_mib": 250.0}
# Audiobookshelf on such a machine, as issue 6 reports it.
AUDIOBOOKSHELF = {"first_byte": "~5 s", "rss": "~380 MB", "ranges": "~200/s"}


@dataclass
class PageClient:
    """A new visitor every ``PAGE_INTERVAL_S``: the section page on a fresh connection, gzipped."""

    port: int
    path: str
    samples_ms: list[float] = field(default_factory=list)
    failures: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def fetch(self) -> None:
        """One page view, timed to the last byte."""
        started = time.perf_counter()
        connection = http.client.HTTPConnection(LOOPBACK, self.port, timeout=10)
        try:
            connection.request("GET", self.path, headers=PHONE_HEADERS)
            response = connection.getresponse()
            response.read()
            ok = response.status == 200
        except (OSError, http.client.HTTPException):
            ok = False
        finally:
            connection.close()
        if ok:
            self.samples_ms.append((time.perf_counter() - started) * 1000)
        else:
            self.failures += 1

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.fetch()
            self._stop.wait(PAGE_INTERVAL_S)

    def __enter__(self) -> PageClient:
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=15)


def percentile(samples: list[float], fraction: float) -> float:
    """Nearest-rank percentile (NaN for no samples)."""
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def run_load(port: int, path: str, args: argparse.Namespace) -> dict[str, object]:
    """The load tool in its own process; its JSON summary."""
    argv = [
        sys.executable, str(LOAD_TOOL), "--port", str(port), "--path", path, "--size", str(FILE_BYTES),
        "--listeners", str(args.listeners), "--hold", str(args.hold),
    ]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=args.hold + 120, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"load tool failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


@dataclass(frozen=True)
class Round:
    """One measured round against one server."""

    load: dict[str, object]
    page_idle_ms: tuple[float, float]
    page_load_ms: tuple[float, float]
    page_failures: int
    memory: dict[str, float]
    server_cpu_s: float
    other_cores: float
    busy_before: float


def section_slug(data_dir: Path) -> str:
    """The slug of the section holding the benchmark's book (the first one)."""
    with contextlib.closing(sqlite3.connect(data_dir / "kiosk.sqlite3")) as connection:
        row = connection.execute("SELECT slug FROM sections ORDER BY position LIMIT 1").fetchone()
    return str(row[0])


def measure_round(target: object, page_path: str | None, args: argparse.Namespace) -> Round:
    """Idle pages, then listeners plus pages, with memory sampled, on a started server."""
    port, path, pgid = target.port, target.path, target.server.pid  # type: ignore[attr-defined]
    busy_before = wait_for_quiet(args.wait_quiet)
    idle = PageClient(port, page_path or path)
    if page_path:
        with idle:
            time.sleep(args.idle_pages_s)
    pages = PageClient(port, page_path or path)
    cpu_before, machine_before, started = group_cpu_s(pgid), machine_busy_s(), time.monotonic()
    with ServerMemory(pgid) as memory, contextlib.ExitStack() as stack:
        if page_path:
            stack.enter_context(pages)
        load = run_load(port, path, args)
    wall_s = time.monotonic() - started
    server_cpu_s = group_cpu_s(pgid) - cpu_before
    other_s = machine_busy_s() - machine_before - server_cpu_s - float(load["tool_cpu_s"])  # type: ignore[arg-type]
    return Round(
        load=load,
        page_idle_ms=(percentile(idle.samples_ms, 0.5), percentile(idle.samples_ms, 0.99)),
        page_load_ms=(percentile(pages.samples_ms, 0.5), percentile(pages.samples_ms, 0.99)),
        page_failures=idle.failures + pages.failures,
        memory=memory.peaks(),
        server_cpu_s=server_cpu_s,
        other_cores=max(0.0, other_s / wall_s),
        busy_before=busy_before,
    )


def measure(target: object, page_path: str | None, args: argparse.Namespace) -> list[Round]:
    """Start ``target`` and measure ``args.rounds`` rounds on it."""
    server = target.server  # type: ignore[attr-defined]
    with server:
        wait_for_http(server, target.port, page_path or target.path)  # type: ignore[attr-defined]
        print(f"measuring {target.name}: {args.listeners} listeners for {args.hold:.0f} s", flush=True)  # type: ignore[attr-defined]
        rounds = []
        for index in range(args.rounds):
            rounds.append(measure_round(target, page_path, args))
            print(f"  round {index + 1}: {json.dumps(rounds[-1].load)}", flush=True)
    return rounds


# --- the report -------------------------------------------------------------------------------


def median_of(rounds: list[Round], get: object) -> float:
    """The median over rounds of one figure (NaN-free where possible)."""
    values = [float(get(r)) for r in rounds]  # type: ignore[operator]
    values = [v for v in values if v == v] or [float("nan")]
    return statistics.median(values)


def rows(kiosk: list[Round], nginx: list[Round] | None, args: argparse.Namespace) -> list[list[object]]:
    """The table rows: measure, kiosk serve, nginx, Audiobookshelf, target."""

    def both(label: str, get: object, abs_ref: str = "–", target: str = "–", with_nginx: bool = True) -> list[object]:
        theirs: object = median_of(nginx, get) if nginx and with_nginx else "–"
        return [label, median_of(kiosk, get), theirs, abs_ref, target]

    def load(name: str) -> object:
        return lambda r: r.load[name] if r.load[name] is not None else float("nan")

    return [
        both(f"listeners failed (of {args.listeners})", load("failed"), target="0"),
        both("time to first audio byte p50, s", load("first_byte_p50_s")),
        both("time to first audio byte p99, s", load("first_byte_p99_s"), AUDIOBOOKSHELF["first_byte"], "≤ 1.5"),
        both("all listeners started after, s", load("all_started_s"), target="(nginx ref: 0.6)"),
        both("mean rate kept per listener, KB/s", lambda r: float(r.load["mean_rate_bytes_per_s"]) / 1024),
        both("section page p50 at rest, ms", lambda r: r.page_idle_ms[0], with_nginx=False),
        both("section page p99 at rest, ms", lambda r: r.page_idle_ms[1], with_nginx=False),
        both("section page p50 under load, ms", lambda r: r.page_load_ms[0], with_nginx=False),
        both("section page p99 under load, ms", lambda r: r.page_load_ms[1], with_nginx=False, target="≤ 200"),
        both("section page failures", lambda r: r.page_failures, with_nginx=False, target="0"),
        both("server RSS peak, MiB (sum of processes)", lambda r: r.memory["rss_mib"], AUDIOBOOKSHELF["rss"], "≤ 250"),
        both("server PSS peak, MiB (shared pages counted once)", lambda r: r.memory["pss_mib"]),
        both("`kiosk worker` RSS, MiB (not in the rows above)", lambda r: r.memory["worker_rss_mib"],
             with_nginx=False),
        both("server CPU during the run, s", lambda r: r.server_cpu_s),
        both("load tool CPU, s", load("tool_cpu_s")),
        both("cores busy with other processes", lambda r: r.other_cores),
        both("cores busy the second before", lambda r: r.busy_before),
    ]


def verdict(kiosk: list[Round]) -> str:
    """The issue 6 targets, met or not."""
    failed = median_of(kiosk, lambda r: float(r.load["failed"]) + r.page_failures)
    checks = [
        ("zero failed requests", failed == 0),
        ("page p99 ≤ 200 ms", median_of(kiosk, lambda r: r.page_load_ms[1]) <= TARGETS["page_p99_ms"]),
        ("first byte p99 ≤ 1.5 s", median_of(kiosk, lambda r: r.load["first_byte_p99_s"] or 99) <= 1.5),
        ("server RSS ≤ 250 MB", median_of(kiosk, lambda r: r.memory["rss_mib"]) <= TARGETS["rss_mib"]),
        ("server PSS ≤ 250 MB", median_of(kiosk, lambda r: r.memory["pss_mib"]) <= TARGETS["rss_mib"]),
    ]
    return "Issue 6 targets: " + "; ".join(f"{name} **{'met' if ok else 'NOT met'}**" for name, ok in checks) + "."


def report(kiosk: list[Round], nginx: list[Round] | None, machine: dict[str, str], args: argparse.Namespace) -> str:
    """The results.md section."""
    table = markdown_table(
        ["Measure", "kiosk serve", "nginx (bare file)", "Audiobookshelf (issue 6)", "target"],
        rows(kiosk, nginx, args),
    )
    return "\n\n".join(
        [
            f"Run {today()} with `python bench/bench_listeners.py --rounds {args.rounds}` (medians of "
            f"{args.rounds} round(s)). {args.listeners} listeners, each a fresh connection asking "
            f"`Range: bytes=N-` of a 30 MiB chapter and reading 16 KB/s for {args.hold:.0f} s (load tool: "
            "`bench/slow_listeners.py`, Python asyncio, its own process, 64 KB receive buffers); meanwhile a "
            "new visitor opens the section page on a fresh connection every 50 ms, asking for it gzipped as a "
            "phone does. Time to first byte counts from each listener's own connect; \"all started after\" "
            "counts from the start of the run and "
            "includes the load tool's own time. RSS: `kiosk serve`'s gunicorn master and workers (a sum of "
            "RSS counts the pages the workers share with the master once per process; PSS divides them); "
            "the background `kiosk worker` is reported on its own row. Everything on 127.0.0.1, on the "
            "same 2 cores as the load tool.",
            table,
            verdict(kiosk),
            "Machine:\n\n" + machine_markdown(machine),
        ]
    )


def parse_args() -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--listeners", type=int, default=1000)
    parser.add_argument("--hold", type=float, default=30.0, help="seconds each listener listens (default 30)")
    parser.add_argument("--rounds", type=int, default=1, help="rounds per server; the table gives medians")
    parser.add_argument("--idle-pages-s", type=float, default=5.0, help="seconds of page views at rest")
    parser.add_argument("--workers", type=int, default=None, help="kiosk serve --workers (default: one per two cores)")
    parser.add_argument("--wait-quiet", type=float, default=60, help="wait up to N s for an idle machine")
    parser.add_argument("--no-baseline", action="store_true", help="skip the nginx reference run")
    parser.add_argument("--no-write", action="store_true", help="print the table, leave results.md alone")
    parser.add_argument("--keep", action="store_true", help="keep the temporary data dir")
    return parser.parse_args()


def run(args: argparse.Namespace, workdir: Path) -> str:
    """The whole benchmark in ``workdir``; returns the results section."""
    machine = machine_description()
    print("preparing a 30 MiB published chapter ...", flush=True)
    env, key, stored = prepare_data(workdir)
    page_path = f"/sections/{section_slug(workdir / 'data')}"
    kiosk = measure(kiosk_target(env, key, workdir, args.workers), page_path, args)
    nginx = None
    if not args.no_baseline and nginx_available():
        nginx = measure(baseline_target(stored, workdir), None, args)
    section = report(kiosk, nginx, machine, args)
    print("\n" + section)
    return section


def main() -> None:
    """Run, print and record; servers, load tool and temp files never outlive it."""
    args = parse_args()
    run_and_record("listeners", HEADING, args, run)


if __name__ == "__main__":
    main()
