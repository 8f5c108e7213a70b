"""Run every benchmark, one after the other, and print bench/results.md.

    python bench/run_all.py              # (a) streaming and behind nginx, (b) listeners, (c) catalogue,
                                         # (d) pipeline, (e) giving up, (f) soak under attack, (g) defects
    python bench/run_all.py --only b c   # a subset
    python bench/run_all.py --rounds 3   # medians of 3 rounds where a benchmark supports it

Each benchmark is its own script and process: it starts its servers on 127.0.0.1,
stops them by itself, and replaces only its own section of bench/results.md (with the
machine it ran on). This script adds a "Run summary" section: what ran, how long it
took, and whether it finished.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make ``bench`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import RESULTS_PATH, machine_description, machine_markdown, markdown_table, today, write_section

BENCH_DIR = Path(__file__).resolve().parent
# (letter, script, description, extra arguments when --rounds is given)
BENCHMARKS = [
    ("a", "bench_streaming.py", "range requests and full-file throughput, kiosk serve vs nginx", False),
    ("a", "bench_front.py", "media behind deploy/nginx.conf vs nginx serving the bare file", True),
    ("b", "bench_listeners.py", "1,000 slow listeners with page latency and memory", True),
    ("c", "bench_catalogue.py", "pages and API with 10,000 books and 100,000 chapters", False),
    ("d", "bench_pipeline.py", "booth pipeline vs bare ffmpeg", True),
    ("e", "bench_give_up.py", "how quickly a locked database and overlong audio are given up on", True),
    ("f", "bench_soak.py", "1,000 listeners while uploads stall, a guesser guesses and a write is held", False),
    ("g", "bench_defects.py", "the booth's defect detection: caught and false alarms per defect", False),
]


def parse_args() -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    letters = sorted({letter for letter, *_ in BENCHMARKS})
    parser.add_argument("--only", nargs="*", choices=letters, help="run only these benchmarks")
    parser.add_argument("--rounds", type=int, default=None, help="rounds for the benchmarks that repeat")
    return parser.parse_args()


def run_one(script: str, rounds: int | None, takes_rounds: bool) -> tuple[str, float]:
    """Run one benchmark script; its outcome and wall time."""
    argv = [sys.executable, str(BENCH_DIR / script)]
    if rounds and takes_rounds:
        argv += ["--rounds", str(rounds)]
    print(f"\n=== {script} ===", flush=True)
    started = time.monotonic()
    try:
        done = subprocess.run(argv, check=False, timeout=3600)
        outcome = "finished" if done.returncode == 0 else f"**failed** (exit {done.returncode})"
    except subprocess.TimeoutExpired:
        outcome = "**cut after an hour**"
    return outcome, time.monotonic() - started


def main() -> None:
    """Run the chosen benchmarks, record a summary, print results.md."""
    args = parse_args()
    machine = machine_description()
    rows = []
    for letter, script, what, takes_rounds in BENCHMARKS:
        if args.only and letter not in args.only:
            continue
        outcome, wall_s = run_one(script, args.rounds, takes_rounds)
        rows.append([f"({letter}) `{script}`", what, outcome, f"{wall_s:.0f} s"])
    summary = "\n\n".join([
        f"Run {today()} with `python bench/run_all.py`; each benchmark's own section below has its figures, "
        "protocol and the load on the machine during its run.",
        markdown_table(["Benchmark", "Measures", "Outcome", "Wall time"], rows),
        "Machine:\n\n" + machine_markdown(machine),
    ])
    write_section("Run summary", summary)
    print("\n" + RESULTS_PATH.read_text(encoding="utf-8"))


if __name__ == "__main__":
    main()
