"""Benchmark: the quality assistant's defect detection on takes with defects injected at known strength.

    python bench/bench_defects.py               # about two minutes on 2 cores
    python bench/bench_defects.py --no-write --keep
    python bench/bench_defects.py --skipped-only   # the skipped-sentence row alone, merged into results.md

Clean takes (speech-like noise syllables from ``recorder.synth.speechlike`` at six levels, an
expressive reader whose soft sentences sit 9 dB under the full ones, and, when espeak-ng is
installed, fifteen readings of Chinese and English in its voices, paces and pitches, all over a
room tone 45 to 65 dB under the speech, a rumble or a hiss) get one defect each, injected with
numpy at 44.1 kHz at three strengths, and are written as 24-bit WAV. Each file is then measured and
analysed as ``recorder.pipeline.master`` does it (the analysis riding along the measuring pass;
``--alone``: ``recorder.defects.analyse_file``'s decode of its own). A defect is *caught* when its kind is
found; a *false alarm* is any kind found in a clean take. One take in twenty-odd moves the false
alarm rate by 4-5 points, so it is given for the whole corpus and, for comparison, for the seven
takes the corpus had before it grew. Issue 12's target: ≥ 95 % of injected defects caught, ≤ 5 %
false alarms on clean takes.

Skipped sentences are the booth's read-along check (``kiosk.booth.takes.check_reading``): the
take's text aligned to it by ``kiosk.readalong.aligner`` (each piece in a fresh process) and
judged by ``kiosk.readalong.hints.suspect_sentences``. Every espeak-ng reading of the corpus
(it has a known text), and two longer ones of eight sentences, is read again with each sentence
of its text left out in turn (espeak-ng reading the text without it, the text kept whole); a
miss is a take whose left-out sentence is not named, a false alarm a complete reading with any
sentence named. It needs espeak-ng and the aligner; ``--skipped-only`` measures just that
(a minute or two) and merges its row and details into the section results.md already has.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make ``bench`` and ``recorder`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import pyloudnorm
import soundfile
from scipy.signal import butter, lfilter, resample_poly, sosfilt

from bench import bench_align
from bench.common import (
    RESULTS_PATH,
    machine_description,
    machine_markdown,
    markdown_table,
    run_and_record,
    today,
)
from kiosk.readalong import aligner, hints
from kiosk.readalong.sentences import split
from recorder import synth
from recorder.defects import Findings, StreamAnalysis, analyse_file
from recorder.loudness import measure

FLOAT_WAV = ["-c:a", "pcm_f32le"]  # hot takes must not clip on the way in
ESPEAK_WPM = 300  # about 4.3 characters a second, as people read Mandarin aloud (its default: 2.4)
# speechlike's syllables come 4.3 a second in phrases filling about 2/3 of the time: its "text".
SPEECHLIKE_CPS = 3.0
HEADING = "Defect detection (quality assistant)"
RATE_HZ = 44100
CLEAN_PEAK = 10 ** (-1 / 20)  # a clean take does not clip
ROOM_TONE_BELOW_DB = 55.0  # the clean takes' room tone under their loudness
CATCH_TARGET = 0.95
FIRST_CORPUS = ("speechlike -23", "speechlike -30", "speechlike -20", "expressive reader", "espeak poems",
                "espeak prose", "espeak story")
FALSE_ALARM_TARGET = 0.05
POEMS = "床前明月光，疑是地上霜。举头望明月，低头思故乡。春眠不觉晓，处处闻啼鸟。夜来风雨声，花落知多少。"
PROSE = ("图书馆每天早上九点开门，晚上八点关门。读者可以在这里借书、看报，也可以在录音室里为大家朗读。"
         "我们欢迎每一位志愿者，把喜欢的故事读给更多的人听。")
STORY = "从前有一座山，山里有一座庙，庙里有一个老和尚在给小和尚讲故事。他讲的是什么呢？"
NOTICE = "各位读者请注意，本馆将于今天下午五点闭馆。请您带好随身物品，把借阅的图书放回书架。谢谢合作！"
ENGLISH = ("The library opens at nine every morning. Readers may borrow books, read the papers, "
           "or come to the booth and read a story aloud for everyone to hear.")
ENGLISH_STORY = ("Once upon a time there was a mountain, and on the mountain stood a temple. "
                 "In the temple an old monk was telling a young monk a story. What was the story about?")

Audio = np.ndarray


@dataclass(frozen=True)
class Take:
    """A clean take: samples at ``RATE_HZ`` and the text it reads."""

    name: str
    samples: Audio
    text: str


# --- measuring the clean take (independently of recorder.defects) ---------------------------------


def loudness_lufs(x: Audio) -> float:
    """BS.1770 integrated loudness (pyloudnorm), the reference for injected levels."""
    return float(pyloudnorm.Meter(RATE_HZ).integrated_loudness(x))


def at_level(x: Audio, below_lufs_db: float, reference: Audio) -> Audio:
    """``x`` scaled so its RMS (dBFS) sits ``below_lufs_db`` under ``reference``'s loudness."""
    rms = float(np.sqrt(np.mean(x**2)))
    target = 10 ** ((loudness_lufs(reference) - below_lufs_db) / 20)
    return x * target / rms


def onsets_s(x: Audio, count: int, rng: np.random.Generator) -> list[float]:
    """Times where the level (10 ms RMS) rises 20 dB over the last 50 ms: syllable starts."""
    hop = RATE_HZ // 100
    frames = x[: len(x) // hop * hop].reshape(-1, hop)
    level = 10 * np.log10(np.mean(frames**2, axis=1) + 1e-20)
    rising = [i for i in range(5, len(level)) if level[i] > level[i - 5:i].min() + 20 and level[i] > level.max() - 30]
    chosen: list[int] = list(rng.choice(rising, size=min(count, len(rising)), replace=False)) if rising else []
    return sorted(float(i) * hop / RATE_HZ for i in chosen)


# --- the defects, each at a known strength --------------------------------------------------------


def inject_hum(x: Audio, below_db: float, mains_hz: float = 50.0, seed: int = 0) -> Audio:
    """Mains hum (fundamental, 2nd and 3rd harmonic at -6 and -10 dB), ``below_db`` under the speech."""
    rng = np.random.default_rng(seed)
    t = np.arange(len(x)) / RATE_HZ
    drift = 1 + rng.uniform(-0.002, 0.002)
    hum = sum(gain * np.sin(2 * np.pi * mains_hz * drift * k * t + rng.uniform(0, 2 * np.pi))
              for k, gain in ((1, 1.0), (2, 0.5), (3, 0.32)))
    return x + at_level(np.asarray(hum), below_db, x)


def inject_hiss(x: Audio, below_db: float, seed: int = 0) -> Audio:
    """White noise ``below_db`` under the speech's loudness."""
    return x + at_level(np.random.default_rng(seed).standard_normal(len(x)), below_db, x)


def inject_clipping(x: Audio, over_db: float) -> Audio:
    """Drive the peaks ``over_db`` past full scale and clip there, as an overloaded converter does."""
    gain = 10 ** (over_db / 20) / float(np.max(np.abs(x)))
    return np.clip(x * gain, -1.0, 1.0)


def inject_plosives(x: Audio, level_db_re_peak: float, count: int = 3, seed: int = 0) -> Audio:
    """Low thumps (25-60 Hz, 40 ms decay) at syllable starts, peaking ``level_db_re_peak`` re the speech peak."""
    rng = np.random.default_rng(seed)
    y = x.copy()
    amplitude = float(np.max(np.abs(x))) * 10 ** (level_db_re_peak / 20)
    t = np.arange(int(0.25 * RATE_HZ)) / RATE_HZ
    for start_s in onsets_s(x, count, rng):
        pop = np.sin(2 * np.pi * rng.uniform(25, 60) * t) * np.exp(-t / 0.04) * (1 - np.exp(-t / 0.002))
        start = int(start_s * RATE_HZ)
        end = min(len(y), start + len(t))
        y[start:end] += amplitude * pop[: end - start] / np.max(np.abs(pop))
    return y


def inject_clicks(x: Audio, level_db_re_peak: float, count: int = 5, seed: int = 0) -> Audio:
    """Short clicks (a three-sample impulse) at random times, ``level_db_re_peak`` re the speech peak."""
    rng = np.random.default_rng(seed)
    y = x.copy()
    amplitude = float(np.max(np.abs(x))) * 10 ** (level_db_re_peak / 20)
    for start in rng.choice(np.arange(RATE_HZ, len(x) - RATE_HZ), size=count, replace=False):
        y[start:start + 3] += rng.choice([-1, 1]) * amplitude * np.array([1.0, -0.6, 0.2])
    return y


def inject_gating(x: Audio, range_db: float) -> Audio:
    """A noise gate: below 35 dB under the speech, the signal drops by ``range_db`` (inf: to zero)."""
    hop = RATE_HZ // 100
    n = len(x) // hop
    level = 10 * np.log10(np.mean(x[: n * hop].reshape(n, hop) ** 2, axis=1) + 1e-20)
    open_ = level > loudness_lufs(x) - 35.0
    # Hold open 100 ms either side (attack and release), as gates do.
    held = np.convolve(open_.astype(float), np.ones(21), mode="same") > 0
    floor = 0.0 if np.isinf(range_db) else 10 ** (-range_db / 20)
    gain = np.repeat(np.where(held, 1.0, floor), hop)
    y = x.copy()
    y[: len(gain)] *= gain
    y[len(gain):] *= floor
    return y


def inject_blank(x: Audio, kind: str, seed: int = 0) -> Audio:
    """A take with nobody reading: digital silence, the room tone alone, or loud steady noise."""
    if kind == "silence":
        return np.zeros_like(x)
    rng = np.random.default_rng(seed)
    if kind == "room tone":
        return room_tone(len(x), -70.0, seed)
    return 10 ** (-40 / 20) * rng.standard_normal(len(x))


def inject_too_short(x: Audio, share_read: float) -> Audio:
    """Only the first ``share_read`` of the reading (the text stays whole), then the room tone."""
    keep = int(len(x) * share_read)
    y = x.copy()
    y[keep:] = room_tone(len(x) - keep, loudness_lufs(x) - ROOM_TONE_BELOW_DB, 9)
    return y


# --- the clean takes ------------------------------------------------------------------------------


def room_tone(length: int, level_dbfs: float, seed: int) -> Audio:
    """Room noise (white noise through a one-pole low-pass at ~200 Hz) at ``level_dbfs`` RMS."""
    noise = lfilter([1.0], [1.0, -0.97], np.random.default_rng(seed).standard_normal(length))
    return noise * 10 ** (level_dbfs / 20) / float(np.sqrt(np.mean(noise**2)))


def with_room(x: Audio, seed: int, below_db: float = ROOM_TONE_BELOW_DB, hiss: bool = False) -> Audio:
    """A clean take as a microphone hears it: the reading over a faint room tone, peaks under -1 dBFS.

    ``hiss`` makes the room tone white (a preamp's hiss) instead of low-passed (a room's rumble).
    """
    x = x * min(1.0, CLEAN_PEAK / float(np.max(np.abs(x))))
    level_dbfs = loudness_lufs(x) - below_db
    if hiss:
        noise = np.random.default_rng(seed).standard_normal(len(x))
        return x + noise * 10 ** (level_dbfs / 20)
    return x + room_tone(len(x), level_dbfs, seed)


def read_wav(path: Path) -> Audio:
    """Mono float samples at ``RATE_HZ`` (resampled by ffmpeg if needed)."""
    data, rate = soundfile.read(path, dtype="float64", always_2d=True)
    mono = data.mean(axis=1)
    if rate != RATE_HZ:
        mono = resample_poly(mono, RATE_HZ, rate)
    return mono


def speechlike_take(workdir: Path, name: str, seconds: float, level_lufs: float, seed: int,
                    room_below_db: float = ROOM_TONE_BELOW_DB, hiss: bool = False) -> Take:
    """``synth.speechlike`` over a room tone; its 'text' is as long as the reading."""
    path = synth.speechlike(workdir / f"{name}.wav", duration_s=seconds, level_lufs=level_lufs, seed=seed,
                            codec_args=FLOAT_WAV)
    x = read_wav(path)
    return Take(name, with_room(x, seed, room_below_db, hiss), "字" * int(seconds * SPEECHLIKE_CPS))


@dataclass(frozen=True)
class Reading:
    """One espeak-ng reading of the clean corpus: its voice, pace, pitch, level and room."""

    name: str
    text: str
    voice: str = "cmn"
    words_per_minute: int = ESPEAK_WPM
    pitch: int = 50  # espeak-ng's 0-99
    level_lufs: float = -23.0
    room_below_db: float = ROOM_TONE_BELOW_DB
    hiss: bool = False


def espeak_take(workdir: Path, reading: Reading, seed: int) -> Take:
    """espeak-ng reading a text (with pauses at the ends), levelled and over a room tone."""
    wav = workdir / f"{reading.name}.wav"
    subprocess.run(["espeak-ng", "-v", reading.voice, "-s", str(reading.words_per_minute), "-p", str(reading.pitch),
                    "-w", str(wav), "--", reading.text], check=True)
    x = read_wav(wav)
    # espeak-ng's voice starts on a DC step, a thump no microphone chain passes: high-pass it as they do.
    x = sosfilt(butter(2, 40, "highpass", fs=RATE_HZ, output="sos"), x)
    fade = np.linspace(0.0, 1.0, RATE_HZ // 100)  # and it stops dead: a voice fades in 10 ms
    x[: len(fade)] *= fade
    x[len(x) - len(fade):] *= fade[::-1]
    x = np.concatenate([np.zeros(RATE_HZ // 2), x, np.zeros(RATE_HZ)])
    x *= 10 ** ((reading.level_lufs - loudness_lufs(x)) / 20)
    return Take(reading.name, with_room(x, seed, reading.room_below_db, reading.hiss), reading.text)


def expressive_take(workdir: Path, seed: int) -> Take:
    """Sentences alternately full and 9 dB softer, with clean pauses between them (issue 12)."""
    parts = []
    for index in range(6):
        path = synth.speechlike(workdir / f"expressive-{index}.wav", duration_s=3.0, level_lufs=-20 - 9 * (index % 2),
                                seed=seed + index, codec_args=FLOAT_WAV)
        parts += [read_wav(path), np.zeros(int(1.5 * RATE_HZ))]
    x = np.concatenate(parts)
    x = x + room_tone(len(x), -20 - ROOM_TONE_BELOW_DB, seed)
    return Take("expressive reader", x, "字" * int(6 * 3.0 * SPEECHLIKE_CPS))


# The first three are the original corpus; the rest vary voice (espeak-ng's variants, its Klatt
# synthesiser, English), pace (espeak-ng's -s), pitch (-p), level and room tone.
READINGS = (
    Reading("espeak poems", POEMS, level_lufs=-22),
    Reading("espeak prose", PROSE, level_lufs=-26),
    Reading("espeak story", STORY, level_lufs=-19),
    Reading("espeak poems, slow, low pitch", POEMS, words_per_minute=200, pitch=25, level_lufs=-24),
    Reading("espeak prose, female, fast", PROSE, voice="cmn+f3", words_per_minute=340, pitch=65, level_lufs=-21),
    Reading("espeak story, high pitch", STORY, voice="cmn+f2", words_per_minute=260, pitch=85, level_lufs=-23,
            room_below_db=48),
    Reading("espeak notice, Klatt voice", NOTICE, voice="cmn+klatt", words_per_minute=280, level_lufs=-28),
    Reading("espeak notice, male, hiss room", NOTICE, voice="cmn+m3", words_per_minute=240, pitch=40,
            level_lufs=-20, room_below_db=50, hiss=True),
    Reading("espeak poems, quiet, fast", POEMS, words_per_minute=380, pitch=55, level_lufs=-31),
    Reading("espeak English", ENGLISH, voice="en", words_per_minute=175, level_lufs=-23),
    Reading("espeak English, female, fast", ENGLISH, voice="en+f3", words_per_minute=260, pitch=70, level_lufs=-20),
    Reading("espeak English, slow, low pitch", ENGLISH_STORY, voice="en-gb+m3", words_per_minute=140, pitch=30,
            level_lufs=-25, room_below_db=60),
    Reading("espeak English, Klatt, hiss room", ENGLISH_STORY, voice="en-us+klatt2", words_per_minute=200,
            level_lufs=-22, room_below_db=48, hiss=True),
    Reading("espeak notice, slow", NOTICE, words_per_minute=180, pitch=45, level_lufs=-27, room_below_db=52),
    Reading("espeak English, quiet, fast", ENGLISH_STORY, voice="en-us", words_per_minute=300, pitch=60,
            level_lufs=-30),
)


def clean_takes(workdir: Path) -> list[Take]:
    """The clean corpus: speech-like takes at five levels, an expressive reader, espeak-ng readings."""
    takes = [speechlike_take(workdir, "speechlike -23", 24, -23, 1),
             speechlike_take(workdir, "speechlike -30", 24, -30, 2),
             speechlike_take(workdir, "speechlike -20", 24, -20, 3),
             expressive_take(workdir, 4),
             speechlike_take(workdir, "speechlike -26, loud room", 16, -26, 11, room_below_db=45),
             speechlike_take(workdir, "speechlike -18, quiet room", 16, -18, 12, room_below_db=65),
             speechlike_take(workdir, "speechlike -22, hiss room", 16, -22, 13, room_below_db=50, hiss=True)]
    if shutil.which("espeak-ng"):
        takes += [espeak_take(workdir, reading, seed) for seed, reading in enumerate(READINGS, start=5)]
    return takes


# (kind, strengths as shown, injector(samples, strength, seed))
DEFECTS: list[tuple[str, list[tuple[str, Callable[[Audio, int], Audio]]]]] = [
    ("hum (50/60 Hz + harmonics)", [
        ("45 dB under speech, 50 Hz", lambda x, s: inject_hum(x, 45, 50.0, s)),
        ("35 dB under speech, 60 Hz", lambda x, s: inject_hum(x, 35, 60.0, s)),
        ("10 dB under speech, 50 Hz", lambda x, s: inject_hum(x, 10, 50.0, s))]),
    ("hiss (white noise)", [
        ("30 dB under speech", lambda x, s: inject_hiss(x, 30, s)),
        ("25 dB under speech", lambda x, s: inject_hiss(x, 25, s)),
        ("15 dB under speech", lambda x, s: inject_hiss(x, 15, s))]),
    ("clipping", [
        ("peaks +2 dB over full scale", lambda x, s: inject_clipping(x, 2)),
        ("+6 dB", lambda x, s: inject_clipping(x, 6)),
        ("+12 dB", lambda x, s: inject_clipping(x, 12))]),
    ("plosive pops (3 per take)", [
        ("−6 dB re speech peak", lambda x, s: inject_plosives(x, -6, 3, s)),
        ("0 dB", lambda x, s: inject_plosives(x, 0, 3, s)),
        ("+6 dB", lambda x, s: inject_plosives(x, 6, 3, s))]),
    ("clicks (5 per take)", [
        ("−30 dB re speech peak", lambda x, s: inject_clicks(x, -30, 5, s)),
        ("−20 dB", lambda x, s: inject_clicks(x, -20, 5, s)),
        ("−6 dB", lambda x, s: inject_clicks(x, -6, 5, s))]),
    ("gating (noise gate in the pauses)", [
        ("range 40 dB", lambda x, s: inject_gating(x, 40)),
        ("range 60 dB", lambda x, s: inject_gating(x, 60)),
        ("to digital zero", lambda x, s: inject_gating(x, np.inf))]),
    ("blank take", [
        ("digital silence", lambda x, s: inject_blank(x, "silence", s)),
        ("room tone only", lambda x, s: inject_blank(x, "room tone", s)),
        ("steady noise at −40 dBFS", lambda x, s: inject_blank(x, "noise", s))]),
    ("much too short for the text", [
        ("a third of the text read", lambda x, s: inject_too_short(x, 1 / 3)),
        ("a fifth", lambda x, s: inject_too_short(x, 0.2)),
        ("10 %", lambda x, s: inject_too_short(x, 0.1))]),
]
CODE_OF_KIND = {"hum": "hum", "hiss": "noise", "clipping": "clipping", "plosive": "plosives", "clicks": "clicks",
                "gating": "gating", "blank": "blank", "much": "too_short"}


def code_for(kind: str) -> str:
    """The finding code that catches a kind of defect."""
    return CODE_OF_KIND[kind.split()[0]]


# --- skipped sentences: the booth's read-along check ----------------------------------------------

# Two longer texts than the corpus's (two to four sentences), as a booth text usually is.
SKIPPED_EXTRA = (
    Reading("espeak 春, eight sentences", "".join(bench_align.MANDARIN[:8]), voice="cmn+f2", words_per_minute=260,
            level_lufs=-22),
    Reading("espeak English, eight sentences", " ".join(bench_align.ENGLISH), voice="en-us+m3", words_per_minute=180,
            level_lufs=-24),
)
JUDGEABLE_SENTENCES = 3  # with fewer long sentences hints.suspect_sentences knows no pace of the reader's own
SKIPPED_MARK, SKIPPED_END = "<!-- skipped sentences -->", "<!-- /skipped sentences -->"
SKIPPED_ROW = re.compile(r"(?m)^\| skipped sentence \|.*$")
TOTAL_ROW = re.compile(r"(?m)^\| \*\*total\*\* \|  \| (\d+) \| (\d+) \| (\d+) \|")


@dataclass(frozen=True)
class SkippedRun:
    """The skipped-sentence check on one reading: sentences named in the complete take and with each left out."""

    name: str
    sentence_count: int
    named_when_complete: list[int]
    named_when_left_out: list[tuple[int, list[int]]]  # (left out, named), sentences from 1
    judgeable: bool  # enough long sentences for the hints to know the reader's pace

    @property
    def caught(self) -> int:
        """Takes whose left-out sentence was named."""
        return sum(left in named for left, named in self.named_when_left_out)

    @property
    def exact(self) -> int:
        """Takes where that sentence, and only it, was named."""
        return sum(named == [left] for left, named in self.named_when_left_out)


def skipped_unavailable() -> str | None:
    """Why the skipped-sentence check cannot be measured here; ``None`` if it can."""
    if not shutil.which("espeak-ng"):
        return "espeak-ng is not installed"
    missing = aligner.missing_parts()
    return f"the aligner is not installed ({missing}): pip install '.[align]'" if missing else None


def without_sentence(text: str, index: int) -> str:
    """``text`` with its sentence ``index`` (from 0) left out, as the volunteer read it."""
    sentences = [s.text for s in split(text)]
    joiner = "" if aligner.voice_for(split(text)) == "cmn" else " "
    return joiner.join(t for i, t in enumerate(sentences) if i != index)


def named_sentences(take: Take, text: str, path: Path) -> list[int]:
    """The sentences of ``text`` (from 1) the booth's check names in ``take``: aligned, then judged by the hints."""
    soundfile.write(path, take.samples, RATE_HZ, subtype="PCM_24")
    try:
        sentences = split(text)
        cues = aligner.align(path, sentences, len(take.samples) / RATE_HZ, scratch=path.parent)
        return [index + 1 for index in hints.suspect_sentences(sentences, cues)]
    finally:
        path.unlink()


def skipped_runs(workdir: Path, verbose: bool = False) -> list[SkippedRun]:
    """Every espeak-ng reading with a known text, complete and with each of its sentences left out in turn."""
    runs = []
    for seed, reading in enumerate((*READINGS, *SKIPPED_EXTRA), start=5):
        count = len(split(reading.text))
        complete = named_sentences(espeak_take(workdir, reading, seed), reading.text, workdir / "complete.wav")
        left_out = []
        for index in range(count):
            shorter = replace(reading, text=without_sentence(reading.text, index))
            take = espeak_take(workdir, shorter, seed)
            left_out.append((index + 1, named_sentences(take, reading.text, workdir / "left-out.wav")))
        long_enough = sum(hints.syllables(sentence.text) >= hints.MIN_SYLLABLES for sentence in split(reading.text))
        runs.append(SkippedRun(reading.name, count, complete, left_out, long_enough >= JUDGEABLE_SENTENCES))
        if verbose:
            print(runs[-1], file=sys.stderr)
    return runs


def skipped_row(runs: list[SkippedRun]) -> list[object]:
    """The skipped-sentence row of the defects table."""
    injected = sum(len(r.named_when_left_out) for r in runs)
    caught = sum(r.caught for r in runs)
    return ["skipped sentence", "each sentence of the text left out in turn (read-along alignment)", injected, caught,
            injected - caught, f"{caught}/{injected} (named alone: {sum(r.exact for r in runs)})",
            f"{caught / injected:.0%}" if injected else "–"]


def skipped_details(runs: list[SkippedRun], started: float, total: tuple[int, int] | None, *,
                    merged: bool = False) -> str:
    """The markdown block on the skipped-sentence check: how it was run, per reading, false alarms."""
    def names(found: list[int]) -> str:
        return ", ".join(map(str, found)) or "–"

    rows = [[r.name, r.sentence_count, " · ".join(f"{left}→{names(named)}" for left, named in r.named_when_left_out),
             f"{r.caught}/{len(r.named_when_left_out)}", names(r.named_when_complete)] for r in runs]
    alarms = sum(bool(r.named_when_complete) for r in runs)
    injected = sum(len(r.named_when_left_out) for r in runs)
    caught = sum(r.caught for r in runs)
    judged = [r for r in runs if r.judgeable]
    judged_injected, judged_caught = sum(len(r.named_when_left_out) for r in judged), sum(r.caught for r in judged)
    short = [r.name for r in runs if not r.judgeable]
    lines = [
        SKIPPED_MARK,
        f"**Skipped sentences** (run {today()}"
        + (" with `python bench/bench_defects.py --skipped-only`, merged into the run above" if merged else "")
        + f", {time.perf_counter() - started:.0f} s): the {len(runs)} espeak-ng "
        "readings with a known text (the corpus's, and two of eight sentences), each read again by espeak-ng with "
        "one sentence of its text left out, in turn, the text kept whole; each take written as 24-bit WAV, aligned "
        "to the whole text by `kiosk.readalong.aligner` (aeneas-ng, a fresh process per alignment) and judged by "
        "`kiosk.readalong.hints.suspect_sentences`, as `kiosk.booth.takes.check_reading` does after mastering "
        "(the booth aligns the master; here the take itself). A left-out sentence is caught when it is named; "
        "\"left out → named\" below, sentences numbered from 1.",
        markdown_table(["reading", "sentences", "left out → named", "caught", "named in the complete reading"], rows),
        f"Caught {caught}/{injected} ({caught / injected:.0%}); false alarms on the complete readings: "
        f"**{alarms}/{len(runs)} ({alarms / len(runs):.0%})**."
        + (f" `hints.suspect_sentences` learns the reader's pace from {JUDGEABLE_SENTENCES} sentences of "
           f"{hints.MIN_SYLLABLES} syllables or more; in a shorter text it names only a sentence given less than "
           f"{hints.FASTEST_S_PER_SYLLABLE} s a syllable, which nobody reads: {len(short)} readings "
           f"({'; '.join(short)}) have fewer. On the other {len(judged)}: caught **{judged_caught}/{judged_injected} "
           f"({judged_caught / max(1, judged_injected):.0%})**." if short else ""),
    ]
    if total is not None:
        all_injected, all_caught = total[0] + injected, total[1] + caught
        lines.append(f"With the skipped sentences, all injected defects: {all_caught}/{all_injected} "
                     f"({all_caught / all_injected:.1%}) caught.")
    lines.append(SKIPPED_END)
    return "\n\n".join(lines)


def merge_skipped(runs: list[SkippedRun], started: float, path: Path = RESULTS_PATH) -> str:
    """The defect section of results.md with the skipped-sentence row and details put in (``--skipped-only``)."""
    text = path.read_text(encoding="utf-8")
    start = text.find(f"## {HEADING}\n")
    if start < 0:
        raise SystemExit(f"results.md has no '{HEADING}' section yet: run the whole benchmark first")
    end = text.find("\n## ", start + 1)
    section = text[start + len(f"## {HEADING}\n"): end if end >= 0 else len(text)].strip()
    row = markdown_table(["defect"] * 7, [skipped_row(runs)]).splitlines()[2]
    section = SKIPPED_ROW.sub(lambda _: row, section)
    totals = TOTAL_ROW.search(section)
    details = skipped_details(runs, started, (int(totals.group(1)), int(totals.group(2))) if totals else None,
                              merged=True)
    if SKIPPED_MARK in section:
        before, rest = section.split(SKIPPED_MARK, 1)
        return before + details + rest.split(SKIPPED_END, 1)[1]
    return section.replace("\n\nMissed:", "\n\n" + details + "\n\nMissed:", 1)


def run_skipped_only(args: argparse.Namespace, workdir: Path) -> str:
    """``--skipped-only``: measure the skipped-sentence check and merge it into the section results.md has."""
    unavailable = skipped_unavailable()
    if unavailable:
        raise SystemExit(f"cannot measure skipped sentences: {unavailable}")
    started = time.perf_counter()
    return merge_skipped(skipped_runs(workdir, args.verbose), started)


def analyse(x: Audio, text: str, path: Path, *, alone: bool = False) -> Findings:
    """Write a take as 24-bit WAV and analyse it as the pipeline does: riding along its measuring pass.

    ``alone``: with ``analyse_file``'s decode of its own instead (the same graph and analyser).
    """
    soundfile.write(path, x, RATE_HZ, subtype="PCM_24")
    try:
        if alone:
            return analyse_file(path, text=text)
        analysis = StreamAnalysis(text=text, source_rate_hz=RATE_HZ)
        measure(path, true_peak=False, ride_along=analysis)
        assert analysis.findings is not None  # measure() finishes the analysis
        return analysis.findings
    finally:
        path.unlink()


def run(args: argparse.Namespace, workdir: Path) -> str:
    """Analyse the clean takes and every injected defect; the markdown section."""
    started = time.perf_counter()
    takes = clean_takes(workdir)
    clean_rows, false_alarms = [], 0
    for take in takes:
        found = analyse(take.samples, take.text, workdir / "clean.wav", alone=args.alone).found()
        false_alarms += bool(found)
        clean_rows.append([take.name, ", ".join(f.code for f in found) or "–"])
        if args.verbose:
            print(take.name, [f.code for f in found], file=sys.stderr)
    rows, caught_total, injected_total, confusions = [], 0, 0, []
    for kind, strengths in DEFECTS:
        code = code_for(kind)
        per_strength = []
        for label, inject in strengths:
            caught = 0
            for seed, take in enumerate(takes):
                findings = analyse(inject(take.samples, seed), take.text, workdir / "defect.wav", alone=args.alone)
                codes = [f.code for f in findings.found()]
                caught += code in codes
                if code not in codes:
                    confusions.append(f"{kind}, {label}, {take.name}: found {', '.join(codes) or 'nothing'}")
                if args.verbose:
                    print(kind, label, take.name, codes, getattr(findings, code).figures(), file=sys.stderr)
            per_strength.append(f"{caught}/{len(takes)}")
            caught_total += caught
            injected_total += len(takes)
        caught_kind = sum(int(p.split("/")[0]) for p in per_strength)
        rows.append([kind, ", ".join(label for label, _ in strengths), len(takes) * len(strengths), caught_kind,
                     len(takes) * len(strengths) - caught_kind, " · ".join(per_strength),
                     f"{caught_kind / (len(takes) * len(strengths)):.0%}"])
    skipped_started, unavailable = time.perf_counter(), skipped_unavailable()
    runs = [] if unavailable else skipped_runs(workdir, args.verbose)
    rows.append(skipped_row(runs) if runs else ["skipped sentence", "one sentence of the text left out", "–", "–",
                                                "–", "–", f"not measured: {unavailable}"])
    catch = caught_total / injected_total
    alarm = false_alarms / len(takes)
    first = [row for row in clean_rows if row[0] in FIRST_CORPUS]
    first_alarms = sum(row[1] != "–" for row in first)
    rows.append(["**total**", "", injected_total, caught_total, injected_total - caught_total, "", f"**{catch:.1%}**"])
    met = catch >= CATCH_TARGET and alarm <= FALSE_ALARM_TARGET
    table = markdown_table(["defect", "strengths (weakest first)", "injected", "caught", "missed",
                            "caught per strength", "caught"], rows)
    clean = markdown_table(["clean take", "found (a false alarm if any)"], clean_rows)
    misses = "\n".join(f"- {line}" for line in confusions) or "- none"
    return "\n\n".join([
        f"Run {today()} with `python bench/bench_defects.py`: {len(takes)} clean takes "
        f"({', '.join(t.name for t in takes)}), each with one defect injected at three strengths, written as 24-bit "
        "WAV at 44.1 kHz and analysed "
        + ("by `recorder.defects.analyse_file`, decoding on its own (`--alone`)" if args.alone else
           "as `recorder.pipeline.master` does: riding along the measuring pass (`recorder.loudness.measure` "
           "with `recorder.defects.StreamAnalysis`), which reads the flat tops from the pass's astats on the "
           "file's own samples and pipes the analysis signal, 16 kHz float: the mono mix and the power above "
           "8 kHz, to the analyser as it is made")
        + ". "
        f"Took {time.perf_counter() - started:.0f} s.",
        table,
        f"False alarms on the clean takes: **{false_alarms}/{len(takes)} ({alarm:.1%})**; on the seven takes "
        f"of the first corpus, {first_alarms}/{len(first)}.",
        clean,
        f"Issue 12 target, ≥ {CATCH_TARGET:.0%} caught and ≤ {FALSE_ALARM_TARGET:.0%} false alarms: "
        f"**{'met' if met else 'NOT met'}** ({catch:.1%} caught, {alarm:.1%} false alarms).",
        *([skipped_details(runs, skipped_started, (injected_total, caught_total))] if runs else []),
        "Missed:\n\n" + misses,
        "Machine:\n\n" + machine_markdown(machine_description()),
    ])


def parse_args() -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--no-write", action="store_true", help="do not update results.md")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument("--verbose", action="store_true", help="print every take's findings on stderr")
    parser.add_argument("--alone", action="store_true",
                        help="analyse with analyse_file's own decode, not riding along the measuring pass")
    parser.add_argument("--skipped-only", action="store_true",
                        help="measure only the skipped-sentence check and merge it into results.md's section")
    return parser.parse_args()


def main() -> None:
    """Run, print and record; temporary files never outlive it."""
    args = parse_args()
    run_and_record("defects", HEADING, args, run_skipped_only if args.skipped_only else run)


if __name__ == "__main__":
    main()
