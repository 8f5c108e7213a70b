"""Streaming benchmark: ``kiosk serve`` against a plain file server on the same 30 MB file.

Measures, against 127.0.0.1 only and for a bounded time: (a) 64 KB range requests
at random offsets per second (``wrk -t2 -c64``), (b) full-file throughput with a
few connections, (c) time to first byte of a ``bytes=0-1`` probe (Safari's first
request) on a fresh connection. The baseline is nginx with ``sendfile on`` when
installed, else Python's ``http.server`` as a floor. Prints a markdown table and
writes it to bench/results.md under "Streaming (range requests)".

    python bench/bench_streaming.py            # about 90 seconds
    python bench/bench_streaming.py --help
"""

from __future__ import annotations

import argparse
import http.client
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make ``bench`` and ``kiosk`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    LOOPBACK,
    ServerProcess,
    WrkResult,
    children_cpu_s,
    free_port,
    group_cpu_s,
    machine_busy_s,
    machine_description,
    machine_markdown,
    markdown_table,
    nginx_available,
    nginx_server,
    python_file_server,
    run_and_record,
    run_wrk,
    today,
    wait_for_http,
    wait_for_quiet,
)
from kiosk.web.server import default_workers

HEADING = "Streaming (range requests)"
FILE_BYTES = 30 * 1024 * 1024
RANGE_BYTES = 64 * 1024
TARGET_RANGE_REQUESTS_PER_S = 1000
QUIET_CORES = 0.3
RANGE_SCRIPT = """\
-- Each request asks for {length} bytes at a random offset of a {size}-byte file.
local size, length = {size}, {length}
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("seed", counter * 7919)
end
function init(args)
  math.randomseed(os.time() + seed)
end
function request()
  local first = math.random(0, size - length)
  return wrk.format(nil, nil, {{["Range"] = "bytes=" .. first .. "-" .. (first + length - 1)}})
end
"""


@dataclass(frozen=True)
class Target:
    """A running server and the URL path of the benchmark file on it."""

    name: str
    server: ServerProcess
    port: int
    path: str

    @property
    def url(self) -> str:
        """The file's loopback URL."""
        return f"http://{LOOPBACK}:{self.port}{self.path}"


@dataclass(frozen=True)
class Cpu:
    """Cores kept busy during a run, by whom, and the server's CPU seconds."""

    server_cores: float
    wrk_cores: float
    other_cores: float
    server_s: float


@dataclass(frozen=True)
class Figures:
    """Everything measured against one server."""

    ranges: WrkResult
    cpu: Cpu
    full: WrkResult
    ttfb_p50_ms: float
    ttfb_p99_ms: float
    busy_before_cores: float


def parse_args() -> argparse.Namespace:
    """Command-line options (defaults are the issue's protocol)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run (default 10)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--connections", type=int, default=64, help="wrk connections for ranges (default 64)")
    parser.add_argument("--full-connections", type=int, default=4, help="connections for full-file runs")
    parser.add_argument("--probes", type=int, default=300, help="bytes=0-1 probes for time to first byte")
    parser.add_argument("--workers", type=int, default=None, help="kiosk serve --workers (default: one per two cores)")
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=60,
        help="wait up to this many seconds for an idle machine before each run (default 60)",
    )
    parser.add_argument("--no-baseline", action="store_true", help="measure kiosk serve only")
    parser.add_argument("--no-write", action="store_true", help="print the table, leave results.md alone")
    parser.add_argument("--keep", action="store_true", help="keep the temporary data dir")
    return parser.parse_args()


# --- the data -------------------------------------------------------------------------------


def kiosk_executable() -> str:
    """The ``kiosk`` console script next to this Python, else on PATH."""
    beside = Path(sys.executable).with_name("kiosk")
    found = str(beside) if beside.exists() else shutil.which("kiosk")
    if found is None:
        raise SystemExit("the kiosk command is not installed (pip install -e .)")
    return found


def write_random_file(path: Path, size_bytes: int) -> Path:
    """``size_bytes`` of random bytes: what the servers send does not need to decode."""
    with path.open("wb") as handle:
        remaining = size_bytes
        while remaining > 0:
            block = min(remaining, 1024 * 1024)
            handle.write(os.urandom(block))
            remaining -= block
    return path


def publish_track(data_dir: Path, audio: Path) -> tuple[str, Path]:
    """Put ``audio`` in the catalogue as a published chapter; return its key and stored path."""
    os.environ["KIOSK_DATA_DIR"] = str(data_dir)
    from kiosk import create_app
    from kiosk.extensions import db
    from kiosk.library import catalogue
    from kiosk.models import Book, CodeTarget, Section, Track
    from kiosk.storage import store

    app = create_app()
    with app.app_context():
        section = db.session.scalars(db.select(Section).order_by(Section.position)).first()
        book = Book(title="基准测试", author="性能组", section=section, published=True)
        db.session.add(book)
        db.session.flush()
        catalogue.refresh_book_index(book)
        catalogue.issue_code(CodeTarget.BOOK, book.id)
        key = store().put_file(audio, "audio", ".mp3")
        db.session.add(
            Track(
                book=book,
                position=1,
                title="第一章",
                duration_ms=1_966_000,
                audio_key=key,
                size_bytes=audio.stat().st_size,
                mime_type="audio/mpeg",
                published=True,
            )
        )
        db.session.commit()
        stored = store().path(key)
        db.engine.dispose()
    return key, stored


def prepare_data(workdir: Path) -> tuple[dict[str, str], str, Path]:
    """A data dir with the schema and one published 30 MB chapter: env, media key, file path."""
    data_dir = workdir / "data"
    env = {**os.environ, "KIOSK_DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1"}
    subprocess.run([kiosk_executable(), "init"], env=env, check=True, capture_output=True)
    source = write_random_file(workdir / "chapter.mp3", FILE_BYTES)
    key, stored = publish_track(data_dir, source)
    source.unlink()
    return env, key, stored


# --- the servers ------------------------------------------------------------------------------


def kiosk_target(env: dict[str, str], key: str, workdir: Path, workers: int | None) -> Target:
    """``kiosk serve`` (gunicorn + gevent) on a free loopback port, ready."""
    port = free_port()
    argv = [kiosk_executable(), "serve", "--host", LOOPBACK, "--port", str(port)]
    if workers:
        argv += ["--workers", str(workers)]
    server = ServerProcess("kiosk serve", argv, env=env, log_path=workdir / "kiosk-serve.log")
    return Target("kiosk serve", server, port, f"/media/{key}")


def baseline_target(stored: Path, workdir: Path) -> Target:
    """nginx on the stored file's directory, or the Python floor when nginx is missing."""
    port = free_port()
    if nginx_available():
        server = nginx_server(stored.parent, port, workdir / "nginx")
        return Target("nginx", server, port, f"/{stored.name}")
    server = python_file_server(stored.parent, port, workdir / "python")
    return Target("python http.server", server, port, f"/{stored.name}")


def check_range(target: Target, stored: Path) -> None:
    """One 64 KB range must come back 206 with exactly the file's bytes (else the figures lie)."""
    first = FILE_BYTES // 3
    last = first + RANGE_BYTES - 1
    connection = http.client.HTTPConnection(LOOPBACK, target.port, timeout=10)
    try:
        connection.request("GET", target.path, headers={"Range": f"bytes={first}-{last}"})
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()
    with stored.open("rb") as handle:
        handle.seek(first)
        expected = handle.read(RANGE_BYTES)
    if response.status != 206 or body != expected:
        raise RuntimeError(f"{target.name}: range check failed (status {response.status}, {len(body)} bytes)")


# --- the measurements -------------------------------------------------------------------------


def measure_ranges(target: Target, script: Path, args: argparse.Namespace) -> tuple[WrkResult, Cpu]:
    """Random 64 KB ranges with wrk after a short warm-up; also who used the CPU meanwhile."""
    wrk_args = {"threads": args.threads, "connections": args.connections, "script": script}
    run_wrk(target.url, duration_s=2, **wrk_args)
    server_before, wrk_before = group_cpu_s(target.server.pid), children_cpu_s()
    busy_before, started = machine_busy_s(), time.monotonic()
    result = run_wrk(target.url, duration_s=args.duration, **wrk_args)
    wall_s = time.monotonic() - started
    server_s = group_cpu_s(target.server.pid) - server_before
    wrk_s = children_cpu_s() - wrk_before
    other_s = max(0.0, machine_busy_s() - busy_before - server_s - wrk_s)
    return result, Cpu(server_s / wall_s, wrk_s / wall_s, other_s / wall_s, server_s)


def measure_full(target: Target, args: argparse.Namespace) -> WrkResult:
    """Whole-file GETs with a few connections: throughput."""
    return run_wrk(
        target.url,
        threads=min(args.threads, args.full_connections),
        connections=args.full_connections,
        duration_s=args.duration,
    )


def ttfb_ms(target: Target) -> float:
    """Milliseconds from connecting to the response head of one ``bytes=0-1`` probe."""
    started = time.perf_counter()
    connection = http.client.HTTPConnection(LOOPBACK, target.port, timeout=10)
    try:
        connection.request("GET", target.path, headers={"Range": "bytes=0-1"})
        response = connection.getresponse()
        elapsed_ms = (time.perf_counter() - started) * 1000
        body = response.read()
    finally:
        connection.close()
    if response.status != 206 or len(body) != 2:
        raise RuntimeError(f"{target.name}: bytes=0-1 answered {response.status} with {len(body)} bytes")
    return elapsed_ms


def measure_ttfb(target: Target, probes: int) -> tuple[float, float]:
    """p50 and p99 time to first byte over ``probes`` sequential probes on fresh connections."""
    samples = sorted(ttfb_ms(target) for _ in range(probes))
    p99 = samples[min(len(samples) - 1, round(0.99 * (len(samples) - 1)))]
    return statistics.median(samples), p99


def measure(target: Target, stored: Path, script: Path, args: argparse.Namespace) -> Figures:
    """Start ``target``, check it, run the three measurements, stop it."""
    with target.server:
        wait_for_http(target.server, target.port, target.path)
        check_range(target, stored)
        print(f"measuring {target.name} at {target.url}", flush=True)
        busy_before = wait_for_quiet(args.wait_quiet)
        ranges, cpu = measure_ranges(target, script, args)
        full = measure_full(target, args)
        p50, p99 = measure_ttfb(target, args.probes)
    return Figures(ranges, cpu, full, p50, p99, busy_before)


# --- the report -------------------------------------------------------------------------------


def _ratio(ours: float, theirs: float | None) -> str:
    """``ours / theirs`` as a percentage, or a dash."""
    return f"{100 * ours / theirs:.1f} %" if theirs else "–"


def table(kiosk: Figures, base: Figures | None, base_name: str, args: argparse.Namespace) -> str:
    """The markdown table of both servers' figures."""
    wrk = f"wrk -t{args.threads} -c{args.connections} -d{args.duration}s"
    measures: list[tuple[str, Callable[[Figures], float], bool]] = [
        (f"64 KB random ranges, requests/s ({wrk})", lambda f: f.ranges.requests_per_s, True),
        ("  latency p50, ms", lambda f: f.ranges.latency_p50_ms, False),
        ("  latency p99, ms", lambda f: f.ranges.latency_p99_ms, False),
        ("  errors (socket errors + non-2xx)", lambda f: f.ranges.errors, False),
        ("  server CPU per request, ms", lambda f: cpu_ms_per_request(f), False),
        ("  cores busy: server", lambda f: f.cpu.server_cores, False),
        ("  cores busy: wrk", lambda f: f.cpu.wrk_cores, False),
        ("  cores busy: other processes", lambda f: f.cpu.other_cores, False),
        ("  cores busy the second before the run", lambda f: f.busy_before_cores, False),
        (
            f"Full 30 MiB file, MB/s (wrk -c{args.full_connections})",
            lambda f: f.full.transfer_bytes_per_s / 1e6,
            True,
        ),
        ("bytes=0-1 time to first byte p50, ms (fresh connection)", lambda f: f.ttfb_p50_ms, False),
        ("bytes=0-1 time to first byte p99, ms (fresh connection)", lambda f: f.ttfb_p99_ms, False),
    ]
    rows = []
    for label, get, with_ratio in measures:
        ours, theirs = get(kiosk), (get(base) if base else None)
        ratio = _ratio(ours, theirs) if with_ratio else "–"
        rows.append([label, ours, "–" if theirs is None else theirs, ratio])
    return markdown_table(["Measure", "kiosk serve", base_name, "kiosk / baseline"], rows)


def cpu_ms_per_request(figures: Figures) -> float:
    """Server CPU milliseconds per completed range request."""
    return 1000 * figures.cpu.server_s / max(figures.ranges.requests, 1)


def verdict(kiosk: Figures) -> str:
    """The issue 6 target line."""
    met = kiosk.ranges.requests_per_s >= TARGET_RANGE_REQUESTS_PER_S
    return (
        f"Issue 6 target, kiosk serve ≥ {TARGET_RANGE_REQUESTS_PER_S:,} range requests/s: "
        f"**{'met' if met else 'NOT met'}** ({kiosk.ranges.requests_per_s:,.0f}/s)."
    )


def caveat(kiosk: Figures) -> str:
    """How far to trust the run: the cores are shared with wrk and, perhaps, with other work."""
    text = (
        'Caveat: wrk shares the CPU cores with the server under test (the "cores busy" rows '
        "show who got them); figures vary by ±10–20 % between runs on a quiet machine."
    )
    if kiosk.cpu.other_cores > QUIET_CORES:
        text += (
            f" **This run was not on a quiet machine**: other processes kept "
            f"{kiosk.cpu.other_cores:.2f} of the cores busy during kiosk's range run, so its "
            "requests/s are a lower bound; server CPU per request is the figure to compare."
        )
    return text


def report(table_md: str, kiosk: Figures, base_name: str, machine: dict[str, str], args: argparse.Namespace) -> str:
    """The results.md section: date, protocol, table, verdict, caveats, machine."""
    workers = args.workers or default_workers()
    return "\n\n".join(
        [
            f"Run {today()} with `python bench/bench_streaming.py`. One 30 MiB file of "
            f"random bytes, published as a chapter and served by `kiosk serve` (gunicorn, "
            f"{workers} gevent KioskWorker(s)) at `/media/<key>`, and by {base_name} "
            "directly from the same file on the same machine. Servers measured one after the "
            "other; wrk and the servers run on the same cores; everything on 127.0.0.1.",
            table_md,
            verdict(kiosk),
            caveat(kiosk),
            "Machine:\n\n" + machine_markdown(machine),
        ]
    )


def run(args: argparse.Namespace, workdir: Path) -> str:
    """The whole benchmark in ``workdir``; returns the results section."""
    machine = machine_description()
    print("preparing a 30 MiB published chapter ...", flush=True)
    env, key, stored = prepare_data(workdir)
    script = workdir / "range.lua"
    script.write_text(RANGE_SCRIPT.format(size=FILE_BYTES, length=RANGE_BYTES))
    kiosk = measure(kiosk_target(env, key, workdir, args.workers), stored, script, args)
    base, base_name = None, "nginx" if nginx_available() else "python http.server"
    if not args.no_baseline:
        baseline = baseline_target(stored, workdir)
        base = measure(baseline, stored, script, args)
    table_md = table(kiosk, base, base_name, args)
    print("\n" + table_md + "\n\n" + verdict(kiosk) + f"\n(baseline: {base_name})")
    return report(table_md, kiosk, base_name, machine, args)


def main() -> None:
    """Run, print and record; servers, load tool and temp files never outlive it."""
    args = parse_args()
    run_and_record("streaming", HEADING, args, run)


if __name__ == "__main__":
    main()
