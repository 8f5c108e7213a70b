"""Benchmark: recorder.pipeline.master vs ffmpeg's bare two-pass loudnorm, same input.

    python bench/bench_pipeline.py [--minutes 60] [--keep DIR]

Synthesises a long speech-like take (FLAC), masters it with ``master()`` and with the
classic recipe (pass 1 ``loudnorm print_format=json``, pass 2 ``loudnorm linear=true``
with the measured values, MP3 encode), then measures both outputs with one ebur128 pass
and prints a markdown table. Peak RSS is taken from ``getrusage`` around each run
(children: the largest ffmpeg; self: this Python process).
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from recorder import synth
from recorder.ffmpeg import ffmpeg_exe
from recorder.loudness import parse_summary
from recorder.pipeline import master
from recorder.tags import TrackTags

TARGET_LUFS = -18.0
CEILING_DBTP = -1.5


def ffmpeg(*args: str) -> str:
    """Run ffmpeg, return stderr."""
    proc = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", "-nostats", *args],
        capture_output=True,
        text=True,
        check=True,
    )
    return proc.stderr


def bare_loudnorm(source: Path, out: Path) -> None:
    """The classic two-pass loudnorm recipe."""
    first = ffmpeg(
        "-i",
        str(source),
        "-af",
        f"loudnorm=I={TARGET_LUFS}:TP={CEILING_DBTP}:LRA=11:print_format=json",
        "-f",
        "null",
        "-",
    )
    stats = json.loads(first[first.rfind("{") : first.rfind("}") + 1])
    second = (
        f"loudnorm=I={TARGET_LUFS}:TP={CEILING_DBTP}:LRA=11"
        f":measured_I={stats['input_i']}:measured_TP={stats['input_tp']}"
        f":measured_LRA={stats['input_lra']}:measured_thresh={stats['input_thresh']}"
        f":offset={stats['target_offset']}:linear=true:print_format=summary"
    )
    log = ffmpeg(
        "-y",
        "-i",
        str(source),
        "-af",
        second,
        "-ar",
        "44100",
        "-ac",
        "1",
        "-c:a",
        "libmp3lame",
        "-b:a",
        "96k",
        str(out),
    )
    mode = re.search(r"Normalization Type:\s+(\w+)", log)
    print(f"bare loudnorm normalisation type: {mode.group(1) if mode else '?'}", file=sys.stderr)


def final_levels(path: Path) -> tuple[float, float]:
    """Integrated LUFS and true peak of an output, by one ebur128 pass."""
    summary = parse_summary(
        ffmpeg("-i", str(path), "-af", "ebur128=peak=true:framelog=quiet", "-f", "null", "-")
    )
    return summary["integrated_lufs"], summary["true_peak_dbtp"]


def timed(label: str, func, *args) -> tuple[float, int, int]:
    """Wall seconds and peak RSS (children, self) in MiB; children is cumulative max."""
    start = time.perf_counter()
    func(*args)
    wall = time.perf_counter() - start
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    print(f"{label}: {wall:.1f} s", file=sys.stderr)
    return wall, children, own


def main() -> None:
    """Parse arguments, run both recipes, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--keep", type=Path, help="keep files in this directory")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        source = work / "take.flac"
        start = time.perf_counter()
        synth.speechlike(
            source, duration_s=args.minutes * 60, level_lufs=-27, seed=7, pad_head_s=3, pad_tail_s=3
        )
        print(
            f"synthesised {args.minutes:g} min in {time.perf_counter() - start:.1f} s",
            file=sys.stderr,
        )
        ours_out, bare_out = work / "ours.mp3", work / "bare.mp3"
        # Ours runs first so the cumulative children maxrss reflects only our ffmpegs.
        ours = timed("ours", lambda: master(source, ours_out, tags=TrackTags(title="bench")))
        bare = timed("bare", bare_loudnorm, source, bare_out)
        levels = {"ours": final_levels(ours_out), "bare": final_levels(bare_out)}
    print(
        f"\n### {args.minutes:g} min speech-like take, target {TARGET_LUFS} LUFS / "
        f"{CEILING_DBTP} dBTP\n"
    )
    print("| recipe | wall s | peak RSS children MiB | peak RSS python MiB | LUFS | TP dBTP |")
    print("|---|---:|---:|---:|---:|---:|")
    print(
        f"| ours (master) | {ours[0]:.1f} | {ours[1]} | {ours[2]} | "
        f"{levels['ours'][0]:.1f} | {levels['ours'][1]:.1f} |"
    )
    print(
        f"| bare 2-pass loudnorm | {bare[0]:.1f} | {max(bare[1], ours[1])}* | - | "
        f"{levels['bare'][0]:.1f} | {levels['bare'][1]:.1f} |"
    )
    print(
        f"\nratio ours/bare wall time: **{ours[0] / bare[0]:.2f}** (target <= 0.35); "
        f"ours peak RSS (largest child + python): **{ours[1] + ours[2]} MiB** "
        "(target <= 300)\n\n*cumulative max over both runs"
    )


if __name__ == "__main__":
    main()
