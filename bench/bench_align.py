"""Read-along: how well, how fast and in how much memory chapters are aligned to their text.

A labelled set is made here: sentences spoken by espeak-ng with voices, speeds and pitches
other than the aligner's own synthesis (which is espeak-ng's default voice at its default
speed), joined with pauses of random length, with room noise under everything, so the true
start of every sentence is known. Each reading is then aligned exactly as a chapter is
(``kiosk.readalong.aligner``: a fresh process per piece, pieces of at most 15 minutes), and
the table gives, per language, the share of sentence starts within ±0.25 s of the truth,
the worst error, the time as a share of the audio's length, and the aligner process's peak
memory (its maximum resident set, from ``wait4``)::

    python bench/bench_align.py [--minutes 10] [--long-minutes 20]

The long chapter is cut into pieces of at most 15 minutes (10 aimed for) between paragraphs,
so its peak memory is a piece's, not the chapter's. The table goes to bench/results.md too.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import wave
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO_DIR = Path(__file__).resolve().parent.parent
if str(REPO_DIR) not in sys.path:
    sys.path.insert(0, str(REPO_DIR))

from kiosk.readalong import aligner  # noqa: E402 - after the path is set
from kiosk.readalong.sentences import Sentence, split  # noqa: E402

RATE_HZ = 22050
TOLERANCE_S = 0.25

MANDARIN = [
    "盼望着，盼望着，东风来了，春天的脚步近了。", "一切都像刚睡醒的样子，欣欣然张开了眼。",
    "山朗润起来了，水涨起来了，太阳的脸红起来了。", "小草偷偷地从土里钻出来，嫩嫩的，绿绿的。",
    "园子里，田野里，瞧去，一大片一大片满是的。", "坐着，躺着，打两个滚，踢几脚球，赛几趟跑，捉几回迷藏。",
    "风轻悄悄的，草软绵绵的。", "桃树、杏树、梨树，你不让我，我不让你，都开满了花赶趟儿。",
    "红的像火，粉的像霞，白的像雪。", "花里带着甜味儿，闭了眼，树上仿佛已经满是桃儿、杏儿、梨儿！",
    "雨是最寻常的，一下就是三两天。", "可别恼，看，像牛毛，像花针，像细丝，密密地斜织着。",
    "“春天像刚落地的娃娃，从头到脚都是新的，它生长着。”", "春天像小姑娘，花枝招展的，笑着，走着。",
    "春天像健壮的青年，有铁一般的胳膊和腰脚，领着我们上前去。", "天上风筝渐渐多了，地上孩子也多了。",
]
ENGLISH = [
    "The library opens at nine in the morning.", "Every section of the wall has its own colour.",
    "A volunteer reads a chapter in the booth.", "The recording is checked before it is published.",
    "Listeners scan the code with their phones.", "The player remembers where they stopped.",
    "Some readers prefer large letters on the screen.", "The text follows the voice, sentence by sentence.",
]
# (espeak-ng voice, words per minute, pitch): none is the aligner's own (default voice, 175 wpm, pitch 50)
VOICES = {"cmn": [("cmn+f3", 150, 65), ("cmn+m3", 190, 40), ("cmn+f5", 165, 55)],
          "en": [("en-us+f2", 150, 60), ("en-gb+m4", 195, 40), ("en+f4", 165, 55)]}


@dataclass(frozen=True)
class Reading:
    """A labelled reading: its audio, its text, the true start and end of each sentence, its length."""

    audio: Path
    text: str
    starts_s: list[float]
    ends_s: list[float]
    duration_s: float


def _speak(sentence: str, voice: tuple[str, int, int], scratch: Path) -> np.ndarray:
    """One sentence by espeak-ng, trimmed of its own silence, as float samples at ``RATE_HZ``."""
    name, speed, pitch = voice
    out = scratch / "sentence.wav"
    subprocess.run(["espeak-ng", "-v", name, "-s", str(speed), "-p", str(pitch), "-w", str(out), sentence],
                   check=True, capture_output=True)
    with wave.open(str(out)) as reader:
        rate = reader.getframerate()
        samples = np.frombuffer(reader.readframes(reader.getnframes()), dtype="<i2").astype(np.float64) / 32768
    if rate != RATE_HZ:  # espeak-ng speaks at 22.05 kHz; resample if a build differs
        samples = np.interp(np.arange(0, len(samples), rate / RATE_HZ), np.arange(len(samples)), samples)
    loud = np.flatnonzero(np.abs(samples) > 0.01)
    return samples[loud[0] : loud[-1] + 1] if len(loud) else samples


def make_reading(out: Path, sentences: Sequence[str], language: str, *, seconds: float | None = None,
                 seed: int = 1, head_s: float = 1.2, paragraph_every: int = 4) -> Reading:
    """Speak ``sentences`` (repeated until ``seconds`` if given) with pauses and room noise into ``out`` (.mp3).

    Every ``paragraph_every`` sentences a paragraph ends (a longer pause, a blank line in the text).
    """
    if any(len(split(sentence)) != 1 for sentence in sentences):
        raise ValueError("each labelled sentence must be one sentence to the splitter")
    rng = random.Random(seed)
    voices = VOICES[language]
    pieces: list[np.ndarray] = [np.zeros(int(head_s * RATE_HZ))]
    lines: list[str] = []
    starts: list[float] = []
    ends: list[float] = []
    at_s = head_s
    count = 0
    with tempfile.TemporaryDirectory() as scratch:
        while True:
            sentence = sentences[count % len(sentences)]
            voice = voices[(count // paragraph_every) % len(voices)]
            speech = _speak(sentence, voice, Path(scratch)) * rng.uniform(0.5, 0.9)
            starts.append(at_s)
            pieces.append(speech)
            at_s += len(speech) / RATE_HZ
            ends.append(at_s)
            count += 1
            paragraph_end = count % paragraph_every == 0
            lines.append(sentence + ("\n\n" if paragraph_end else " " if language == "en" else ""))
            pause_s = rng.uniform(0.9, 1.4) if paragraph_end else rng.uniform(0.3, 0.8)
            pieces.append(np.zeros(int(pause_s * RATE_HZ)))
            at_s += len(pieces[-1]) / RATE_HZ
            if (seconds is None and count >= len(sentences)) or (seconds is not None and at_s >= seconds):
                break
    signal = np.concatenate(pieces)
    noise = np.random.default_rng(seed).normal(0.0, 10 ** (-52 / 20), len(signal))  # room tone, -52 dBFS
    hum = 10 ** (-60 / 20) * np.sin(2 * np.pi * 50 * np.arange(len(signal)) / RATE_HZ)
    mixed = np.clip(signal + noise + hum, -1, 1)
    _write_mp3(out, mixed)
    return Reading(out, "".join(lines), starts, ends, len(mixed) / RATE_HZ)


def _write_mp3(out: Path, samples: np.ndarray) -> None:
    """Encode float samples to a 96 kbit/s mono MP3, as the house masters are."""
    ffmpeg = aligner.ffmpeg_exe()
    subprocess.run([ffmpeg, "-nostdin", "-loglevel", "error", "-y", "-f", "s16le", "-ar", str(RATE_HZ), "-ac", "1",
                    "-i", "-", "-c:a", "libmp3lame", "-b:a", "96k", str(out)],
                   input=(samples * 32767).astype("<i2").tobytes(), check=True)


@dataclass(frozen=True)
class Score:
    """How one alignment compares with the truth."""

    within_share: float
    worst_error_s: float
    errors_s: list[float]


def score(cues: Sequence[Sequence[float]], truth_starts_s: Sequence[float]) -> Score:
    """Share of starts within ±0.25 s of the truth, and the worst start error."""
    errors = [abs(cue[0] - truth) for cue, truth in zip(cues, truth_starts_s, strict=True)]
    within = sum(1 for e in errors if e <= TOLERANCE_S) / len(errors)
    return Score(within, max(errors), errors)


def align_measured(reading: Reading, scratch: Path) -> tuple[list[list[float]], float, float]:
    """Align a reading as a chapter is; its cues, wall time and the aligner processes' peak memory (MB)."""
    sentences: list[Sentence] = split(reading.text)
    peaks: list[int] = []
    argv = [sys.executable, str(Path(__file__).resolve()), "--measure-worker"]
    started = time.perf_counter()
    cues = aligner.align(reading.audio, sentences, reading.duration_s, scratch=scratch, argv=argv)
    wall_s = time.perf_counter() - started
    for line in (scratch / "peaks.txt").read_text().split() if (scratch / "peaks.txt").exists() else []:
        peaks.append(int(line))
    return cues, wall_s, max(peaks, default=0) / 1024


def _measure_worker() -> int:
    """Run one ``align_worker`` request as a child, and note its peak resident memory (KiB)."""
    request = sys.stdin.read()
    child = subprocess.Popen([sys.executable, "-m", "kiosk.readalong.align_worker"], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, cwd=REPO_DIR)
    assert child.stdin is not None and child.stdout is not None
    child.stdin.write(request.encode())
    child.stdin.close()
    answer = child.stdout.read()
    _pid, status, usage = os.wait4(child.pid, 0)
    scratch = Path(json.loads(request)["scratch"])
    with (scratch / "peaks.txt").open("a") as peaks:
        peaks.write(f"{usage.ru_maxrss}\n")
    sys.stdout.write(answer.decode())
    return os.waitstatus_to_exitcode(status)


def main() -> int:
    """Make the labelled set, align it, print the table (and add it to bench/results.md)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="length of the long Mandarin chapter")
    parser.add_argument("--long-minutes", type=float, default=20.0, help="a chapter long enough to be cut (0: none)")
    parser.add_argument("--verbose", action="store_true", help="print every sentence's start error")
    parser.add_argument("--measure-worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure_worker:
        return _measure_worker()
    if shutil.which("espeak-ng") is None or aligner.missing_parts():
        print("needs espeak-ng and the aligner: pip install '.[align]' and the Debian packages (README, align)")
        return 1
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        sets = [("Mandarin, 16 sentences", MANDARIN, "cmn", None),
                ("English, 8 sentences", ENGLISH, "en", None),
                (f"Mandarin, {args.minutes:g} minutes", MANDARIN, "cmn", args.minutes * 60)]
        if args.long_minutes:
            sets.append((f"Mandarin, {args.long_minutes:g} minutes, in pieces", MANDARIN, "cmn",
                         args.long_minutes * 60))
        for number, (label, sentences, language, seconds) in enumerate(sets):
            reading = make_reading(work / f"reading{number}.mp3", sentences, language, seconds=seconds, seed=number + 7)
            scratch = work / f"scratch{number}"
            scratch.mkdir()
            cues, wall_s, peak_mb = align_measured(reading, scratch)
            found = score(cues, reading.starts_s)
            rows.append((label, len(cues), reading.duration_s, found, wall_s, peak_mb))
            if args.verbose:
                print(label, [round(e, 2) for e in found.errors_s], file=sys.stderr)
    print(table(rows))
    from bench.common import machine_description, machine_markdown, today, write_section

    write_section("Read-along alignment (bench_align.py)",
                  f"{today()}\n\n{machine_markdown(machine_description())}\n\n{table(rows)}")
    return 0


def table(rows: list[tuple[str, int, float, Score, float, float]]) -> str:
    """The results as a Markdown table."""
    lines = ["| set | sentences | audio | starts within ±0.25 s | worst error | time / audio | peak memory |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for label, count, duration_s, found, wall_s, peak_mb in rows:
        lines.append(f"| {label} | {count} | {duration_s / 60:.1f} min | {found.within_share:.1%} | "
                     f"{found.worst_error_s:.2f} s | {wall_s / duration_s:.3f}× | {peak_mb:.0f} MB |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
