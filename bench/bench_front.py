"""Benchmark (a, behind nginx): media range requests through deploy/nginx.conf against bare nginx.

Same 30 MiB chapter and the same ``wrk -t2 -c64`` random 64 KB ranges as
bench_streaming.py, on 127.0.0.1 only, for a bounded time, against:

1. nginx serving the bare file (bench.common's minimal nginx, ``tcp_nopush off``): the ceiling;
2. the same with ``tcp_nopush on``, with 64 KB and with 1 KB ranges (the delayed-ACK stall);
3. deploy/nginx.conf as shipped, in front of ``kiosk serve`` with ``KIOSK_ACCEL_REDIRECT=/_media/``:
   a published file comes straight from the app's published-only tree (no app round-trip,
   unpublishing still instant: kiosk/public_media.py);
4. deploy/nginx.conf changed as its comments describe to put every media request behind the
   app (X-Accel-Redirect only: the app checks publication, nginx sends the file).

Prints a table and writes it to bench/results.md under "Behind nginx".

    python bench/bench_front.py                # about 2 minutes
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections.abc import Callable
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make ``bench`` and ``kiosk`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_streaming import FILE_BYTES, RANGE_BYTES, RANGE_SCRIPT, Target, kiosk_target, prepare_data
from bench.bench_streaming import measure_ranges as wrk_ranges
from bench.common import (
    WrkResult,
    free_port,
    machine_description,
    machine_markdown,
    markdown_table,
    nginx_available,
    nginx_server,
    nginx_with_conf,
    render_deploy_nginx,
    run_and_record,
    today,
    wait_for_http,
    wait_for_quiet,
)

HEADING = "Behind nginx"
SHORT_RANGE_BYTES = 1024
TARGET_RATIO = 0.80


def parse_args() -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=8, help="seconds per wrk run (default 8)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=1, help="rounds; the table gives medians")
    parser.add_argument("--workers", type=int, default=None, help="kiosk serve --workers")
    parser.add_argument("--wait-quiet", type=float, default=60, help="wait up to N s for an idle machine")
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--keep", action="store_true")
    return parser.parse_args()


def bare_nginx(stored: Path, workdir: Path, *, nopush: bool) -> Target:
    """bench.common's minimal nginx on the stored file, ``tcp_nopush`` on or off."""
    port = free_port()
    name = f"bare-nopush-{'on' if nopush else 'off'}"
    server = nginx_server(stored.parent, port, workdir / name)
    if nopush:
        conf = workdir / name / "nginx.conf"
        conf.write_text(conf.read_text().replace("tcp_nopush off;", "tcp_nopush on;"))
    return Target(f"nginx, bare file, tcp_nopush {'on' if nopush else 'off'}", server, port, f"/{stored.name}")


TREE_LINE = "try_files /public/$media_key @kiosk_media;"
EVERY_REQUEST_TO_THE_APP = 'proxy_pass http://kiosk; proxy_http_version 1.1; proxy_set_header Connection "";'


def deploy_nginx(data_dir: Path, app_port: int, key: str, workdir: Path, *, tree: bool) -> Target:
    """deploy/nginx.conf in front of the app: as shipped (``tree``), or with every media request to the app."""
    port = free_port()
    name = "deploy-tree" if tree else "deploy-accel"
    conf = render_deploy_nginx(data_dir, app_port, port, workdir / name)
    if not tree:
        text = conf.read_text()
        if text.count(TREE_LINE) != 1:
            raise ValueError(f"deploy/nginx.conf: expected {TREE_LINE!r} exactly once")
        conf.write_text(text.replace(TREE_LINE, EVERY_REQUEST_TO_THE_APP))
    label = "deploy/nginx.conf as shipped (published-only tree)" if tree else (
        "deploy/nginx.conf, every request through the app (X-Accel-Redirect)")
    return Target(label, nginx_with_conf(conf, workdir / name), port, f"/media/{key}")


def range_script(workdir: Path, length: int) -> Path:
    """wrk's Lua script for random ranges of ``length`` bytes."""
    script = workdir / f"range-{length}.lua"
    script.write_text(RANGE_SCRIPT.format(size=FILE_BYTES, length=length))
    return script


def measure(target: Target, script: Path, args: argparse.Namespace) -> tuple[WrkResult, float, float]:
    """Start ``target``, run wrk (after the quiet-machine wait); requests/s, CPU/request, other cores."""
    with target.server:
        wait_for_http(target.server, target.port, target.path)
        return measure_started(target, script, args)


def measure_started(target: Target, script: Path, args: argparse.Namespace) -> tuple[WrkResult, float, float]:
    """wrk ranges against an already running target."""
    print(f"measuring {target.name}", flush=True)
    wait_for_quiet(args.wait_quiet)
    result, cpu = wrk_ranges(target, script, args)
    print(f"  {result.requests_per_s:,.0f} requests/s, p99 {result.latency_p99_ms:.1f} ms, "
          f"other processes {cpu.other_cores:.2f} cores", flush=True)
    return result, 1000 * cpu.server_s / max(result.requests, 1), cpu.other_cores


def run(args: argparse.Namespace, workdir: Path) -> str:
    """All configurations, ``args.rounds`` times; the results section."""
    machine = machine_description()
    env, key, stored = prepare_data(workdir)
    data_dir = workdir / "data"
    ranges, short = range_script(workdir, RANGE_BYTES), range_script(workdir, SHORT_RANGE_BYTES)
    figures: dict[str, list[tuple[WrkResult, float, float]]] = {}

    def record(label: str, value: tuple[WrkResult, float, float]) -> None:
        figures.setdefault(label, []).append(value)

    for _ in range(args.rounds):
        for nopush in (False, True):
            record(f"bare-{nopush}-64k", measure(bare_nginx(stored, workdir, nopush=nopush), ranges, args))
            record(f"bare-{nopush}-1k", measure(bare_nginx(stored, workdir, nopush=nopush), short, args))
        app = kiosk_target({**env, "KIOSK_ACCEL_REDIRECT": "/_media/"}, key, workdir, args.workers)
        with app.server:
            wait_for_http(app.server, app.port, "/")
            for label, tree in (("tree", True), ("accel", False)):
                front = deploy_nginx(data_dir, app.port, key, workdir, tree=tree)
                with front.server:
                    wait_for_http(front.server, front.port, front.path)
                    record(label, measure_started_with_app(front, app, ranges, args))
    return report(figures, machine, args)


def measure_started_with_app(front: Target, app: Target, script: Path, args: argparse.Namespace) -> tuple[
        WrkResult, float, float]:
    """Ranges through the front nginx; the CPU per request counts nginx *and* the app."""
    from bench.common import group_cpu_s

    app_before = group_cpu_s(app.server.pid)
    result, front_ms, other = measure_started(front, script, args)
    app_ms = 1000 * (group_cpu_s(app.server.pid) - app_before) / max(result.requests, 1)
    return result, front_ms + app_ms, other


def report(figures: dict[str, list[tuple[WrkResult, float, float]]], machine: dict[str, str],
           args: argparse.Namespace) -> str:
    """The results.md section."""

    def med(label: str, get: Callable[[tuple[WrkResult, float, float]], float]) -> float:
        return statistics.median(get(v) for v in figures[label])

    ceiling = med("bare-False-64k", lambda v: v[0].requests_per_s)
    configs = [
        ("nginx, bare file, tcp_nopush off — 64 KB ranges (the ceiling)", "bare-False-64k"),
        ("nginx, bare file, tcp_nopush on — 64 KB ranges", "bare-True-64k"),
        ("nginx, bare file, tcp_nopush off — 1 KB ranges", "bare-False-1k"),
        ("nginx, bare file, tcp_nopush on — 1 KB ranges", "bare-True-1k"),
        ("deploy/nginx.conf as shipped + kiosk serve (published-only tree) — 64 KB ranges", "tree"),
        ("deploy/nginx.conf, every request through the app (X-Accel-Redirect) — 64 KB ranges", "accel"),
    ]
    rows = []
    for label, key in configs:
        rps = med(key, lambda v: v[0].requests_per_s)
        rows.append([
            label, rps, med(key, lambda v: v[0].latency_p50_ms), med(key, lambda v: v[0].latency_p99_ms),
            med(key, lambda v: v[0].errors), med(key, lambda v: v[1]), med(key, lambda v: v[2]),
            f"{100 * rps / ceiling:.1f} %" if "64 KB" in label else "–",
        ])
    table = markdown_table(
        ["Configuration", "requests/s", "p50 ms", "p99 ms", "errors", "server CPU ms/req", "other cores", "of ceiling"],
        rows,
    )
    tree_ratio = med("tree", lambda v: v[0].requests_per_s) / ceiling
    accel_ratio = med("accel", lambda v: v[0].requests_per_s) / ceiling
    tree_met = "met" if tree_ratio >= TARGET_RATIO else "NOT met"
    verdict = (
        f"Issue 6 target, media behind deploy/nginx.conf ≥ {TARGET_RATIO:.0%} of nginx serving the bare file: "
        f"**{tree_met}** with the configuration as shipped ({tree_ratio:.0%}; unpublishing is instant: "
        f"the app unlinks the file from the tree before its response, tests/test_accel.py). Every request "
        f"through the app instead (X-Accel-Redirect only): {accel_ratio:.0%}."
    )
    return "\n\n".join([
        f"Run {today()} with `python bench/bench_front.py --rounds {args.rounds}` (medians). Random ranges of a "
        f"30 MiB chapter, `wrk -t{args.threads} -c{args.connections} -d{args.duration}s`, on 127.0.0.1; wrk, nginx "
        "and the app share the 2 cores. \"server CPU ms/req\" is nginx's, plus the app's in X-Accel-Redirect mode.",
        table,
        verdict,
        "Machine:\n\n" + machine_markdown(machine),
    ])


def main() -> None:
    """Run, print and record; servers, load tool and temp files never outlive it."""
    args = parse_args()
    if not nginx_available():
        sys.exit("nginx is not installed (/usr/sbin/nginx): nothing to compare")
    run_and_record("front", HEADING, args, run)


if __name__ == "__main__":
    main()
