"""Benchmark: recorder.pipeline.master vs ffmpeg's bare two-pass loudnorm, same input.

    python bench/bench_pipeline.py [--minutes 60] [--rounds 1] [--keep DIR] [--no-write]

Synthesises a long speech-like take (FLAC), masters it with ``master()`` (which also runs
the quality assistant's defect analysis on the measuring pass's decode) and with the
classic recipe (pass 1 ``loudnorm print_format=json``, pass 2 ``loudnorm linear=true``
with the measured values, MP3 encode), then measures both outputs with one ebur128 pass.
The machine is shared, so the two recipes run in the same run, alternating (the order
flips every round), and the table gives medians. Each recipe runs in a fresh Python
process, so its peak RSS (the largest ffmpeg child, and the Python process itself) is
its own. ``master()``'s time is broken down by step from the timing records that
``recorder.ffmpeg`` logs for every run. The table goes to stdout and to
``bench/results.md`` under ``## Booth pipeline``.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import machine_description, machine_markdown, markdown_table, today, write_section
from recorder import synth
from recorder.ffmpeg import ffmpeg_exe
from recorder.loudness import parse_summary
from recorder.pipeline import master
from recorder.tags import TrackTags

TARGET_LUFS = -18.0
CEILING_DBTP = -1.5
RATIO_TARGET = 0.35
RSS_TARGET_MIB = 300
HEADING = "Booth pipeline"


def ffmpeg(*args: str) -> str:
    """Run ffmpeg, return stderr."""
    proc = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", "-nostats", *args],
        capture_output=True,
        text=True,
        check=True,
    )
    return proc.stderr


def bare_loudnorm(source: Path, out: Path) -> dict[str, float]:
    """The classic two-pass loudnorm recipe; returns each pass's wall time."""
    started = time.perf_counter()
    first = ffmpeg("-i", str(source), "-af",
                   f"loudnorm=I={TARGET_LUFS}:TP={CEILING_DBTP}:LRA=11:print_format=json",
                   "-f", "null", "-")
    analysed = time.perf_counter()
    stats = json.loads(first[first.rfind("{") : first.rfind("}") + 1])
    second = (
        f"loudnorm=I={TARGET_LUFS}:TP={CEILING_DBTP}:LRA=11"
        f":measured_I={stats['input_i']}:measured_TP={stats['input_tp']}"
        f":measured_LRA={stats['input_lra']}:measured_thresh={stats['input_thresh']}"
        f":offset={stats['target_offset']}:linear=true:print_format=summary"
    )
    log = ffmpeg("-y", "-i", str(source), "-af", second, "-ar", "44100", "-ac", "1",
                 "-c:a", "libmp3lame", "-b:a", "96k", str(out))
    mode = re.search(r"Normalization Type:\s+(\w+)", log)
    print(f"bare loudnorm normalisation type: {mode.group(1) if mode else '?'}", file=sys.stderr)
    return {"analyse": analysed - started, "normalise+encode": time.perf_counter() - analysed}


class StepTimes(logging.Handler):
    """Collects the ``step``/``wall_s`` records ``recorder`` logs for every run (and for its own true-peak scan)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.wall_s: dict[str, float] = defaultdict(float)
        self.runs: dict[str, int] = defaultdict(int)

    def emit(self, record: logging.LogRecord) -> None:
        """Add one run's wall time to its step."""
        step = getattr(record, "step", None)
        if step is not None:
            self.wall_s[step] += record.wall_s  # type: ignore[attr-defined]
            self.runs[step] += 1


def run_recipe(recipe: str, source: Path, out: Path) -> None:
    """In a fresh process: run one recipe and print its wall time, steps and peak RSS as JSON."""
    times = StepTimes()
    ffmpeg_log = logging.getLogger("recorder")
    ffmpeg_log.addHandler(times)
    ffmpeg_log.setLevel(logging.INFO)
    started = time.perf_counter()
    if recipe == "ours":
        master(source, out, tags=TrackTags(title="bench"))
        steps = {f"{name} ×{times.runs[name]}": wall for name, wall in times.wall_s.items()}
    else:
        steps = bare_loudnorm(source, out)
    wall_s = time.perf_counter() - started
    status = Path("/proc/self/status").read_text()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    own = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({
        "wall_s": wall_s,
        "cpu_s": children.ru_utime + children.ru_stime,
        "python_cpu_s": own.ru_utime + own.ru_stime,
        "steps": steps,
        "children_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
        # VmHWM, not RUSAGE_SELF: Linux carries ru_maxrss over exec from the parent.
        "self_mib": int(re.search(r"VmHWM:\s+(\d+)", status).group(1)) / 1024,
    }))


def spawn_recipe(recipe: str, source: Path, out: Path) -> dict:
    """Run a recipe in its own interpreter and return what it reported."""
    proc = subprocess.run([sys.executable, __file__, "--run", recipe, str(source), str(out)],
                          capture_output=True, text=True, check=True)
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    print(f"{recipe}: {result['wall_s']:.1f} s", file=sys.stderr)
    return result


def final_levels(path: Path) -> tuple[float, float]:
    """Integrated LUFS and true peak of an output, by one ebur128 pass."""
    summary = parse_summary(
        ffmpeg("-i", str(path), "-af", "ebur128=peak=true:framelog=quiet", "-f", "null", "-")
    )
    return summary["integrated_lufs"], summary["true_peak_dbtp"]


def total_cpu_s(results: list[dict]) -> float:
    """Median of ffmpeg's and Python's CPU seconds together."""
    return statistics.median(r["cpu_s"] + r.get("python_cpu_s", 0.0) for r in results)


def median_of(results: list[dict], key: str) -> float:
    """Median of one reported number over the rounds."""
    return statistics.median(result[key] for result in results)


def step_medians(results: list[dict]) -> dict[str, float]:
    """Median wall time of each step over the rounds."""
    names = dict.fromkeys(name for result in results for name in result["steps"])
    return {name: statistics.median(r["steps"].get(name, 0.0) for r in results) for name in names}


def report(minutes: float, runs: dict[str, list[dict]], levels: dict[str, tuple[float, float]],
           machine: dict[str, str]) -> str:
    """The markdown section: results, per-step breakdown, verdict and machine."""
    ours, bare = runs["ours"], runs["bare"]
    ratios = [o["wall_s"] / b["wall_s"] for o, b in zip(ours, bare, strict=True)]
    ours_rss = max(r["children_mib"] + r["self_mib"] for r in ours)
    rows = [
        [label, median_of(results, "wall_s"), median_of(results, "cpu_s"),
         max(r["children_mib"] for r in results), max(r["self_mib"] for r in results),
         *levels[recipe]]
        for recipe, label, results in (("ours", "ours (master)", ours),
                                       ("bare", "bare 2-pass loudnorm", bare))
    ]
    table = markdown_table(["recipe", "wall s (median)", "ffmpeg CPU s (median)",
                            "peak RSS largest ffmpeg MiB", "peak RSS python MiB", "LUFS",
                            "TP dBTP"], rows)
    steps = [[f"ours: {name}", wall] for name, wall in step_medians(ours).items()]
    steps += [[f"bare: {name}", wall] for name, wall in step_medians(bare).items()]
    ratio = statistics.median(ratios)
    met = ratio <= RATIO_TARGET and ours_rss <= RSS_TARGET_MIB
    return "\n\n".join([
        f"Run {today()} with `python bench/bench_pipeline.py --minutes {minutes:g} "
        f"--rounds {len(ours)}`: a {minutes:g} min speech-like take (FLAC, −27 LUFS), "
        f"target {TARGET_LUFS} LUFS / {CEILING_DBTP} dBTP, both recipes in the same run, "
        "alternating, each in a fresh process.",
        table,
        markdown_table(["step", "wall s (median)"], steps),
        f"Ratio ours/bare wall time (median of {len(ratios)}: "
        f"{', '.join(f'{r:.2f}' for r in ratios)}): **{ratio:.2f}** (target ≤ {RATIO_TARGET}); "
        f"ours peak RSS (largest ffmpeg + python): **{ours_rss:.0f} MiB** "
        f"(target ≤ {RSS_TARGET_MIB}; an upper bound: Linux charges a child started by vfork with its "
        "parent's pages until it execs, so the largest ffmpeg reads no lower than the Python process's RSS "
        f"at the time). Issue 4 target: **{'met' if met else 'NOT met'}**. "
        "CPU seconds depend less on what else the shared machine runs; the ratio of ffmpeg's is "
        f"{median_of(ours, 'cpu_s') / median_of(bare, 'cpu_s'):.2f}, of ffmpeg's and Python's together "
        f"{total_cpu_s(ours) / total_cpu_s(bare):.2f} (ours: Python {median_of(ours, 'python_cpu_s'):.1f} s, "
        "the defect analysis reading the measuring pass's pipe on the other core). Load average at the start: "
        f"{machine.get('Load average at start', '?')}.",
        "Machine:\n\n" + machine_markdown(machine),
    ])


def main() -> None:
    """Parse arguments, run both recipes alternately, print and record the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--rounds", type=int, default=1, help="alternating rounds (median)")
    parser.add_argument("--keep", type=Path, help="keep files in this directory")
    parser.add_argument("--no-write", action="store_true", help="do not update results.md")
    parser.add_argument("--run", nargs=3, metavar=("RECIPE", "SOURCE", "OUT"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        run_recipe(args.run[0], Path(args.run[1]), Path(args.run[2]))
        return
    machine = machine_description()
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        source = work / "take.flac"
        started = time.perf_counter()
        synth.speechlike(source, duration_s=args.minutes * 60, level_lufs=-27, seed=7,
                         pad_head_s=3, pad_tail_s=3)
        print(f"synthesised {args.minutes:g} min in {time.perf_counter() - started:.1f} s",
              file=sys.stderr)
        runs: dict[str, list[dict]] = {"ours": [], "bare": []}
        for round_index in range(args.rounds):
            order = ("ours", "bare") if round_index % 2 == 0 else ("bare", "ours")
            for recipe in order:
                runs[recipe].append(spawn_recipe(recipe, source, work / f"{recipe}.mp3"))
        levels = {recipe: final_levels(work / f"{recipe}.mp3") for recipe in runs}
    body = report(args.minutes, runs, levels, machine)
    print(f"\n## {HEADING}\n\n{body}")
    if not args.no_write:
        write_section(HEADING, body)


if __name__ == "__main__":
    main()
