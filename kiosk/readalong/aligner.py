"""Forced alignment of a chapter's sentences to its audio, each piece in a fresh process.

aeneas (``aeneas-ng`` with Debian's espeak-ng) runs in ``align_worker``, started anew for
every piece under a timeout: its C extension hangs on a second alignment in one process.
Its memory grows with the length of the audio, so a chapter longer than ``PIECE_MAX_S`` is
cut into pieces between paragraphs: the cut is placed in the longest silence near where
the text's share of characters says the paragraph ends. Where aeneas is not installed,
``unavailable_reason`` says so in the library's words and nothing is aligned.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from flask_babel import gettext

from kiosk.readalong.sentences import Sentence, paragraphs

PIECE_MAX_S = 15 * 60.0  # aeneas's memory grows with the audio: 415 MB for 11 minutes
PIECE_TARGET_S = 10 * 60.0  # aimed for, so a slower stretch still fits; 10 minutes peak at 424 MB
CUT_SEARCH_S = 30.0  # the silence for a cut is looked for this far either side of the estimate
NONSPEECH_MIN_S = 0.08  # measured: boundaries land in the right pause with percent adjustment
TIMEOUT_BASE_S = 120.0
TIMEOUT_PER_AUDIO_S = 0.5  # measured 0.02-0.05 s per second of audio: ten times that before giving up
WORKER = [sys.executable, "-m", "kiosk.readalong.align_worker"]
# aeneas's C extensions are loaded in a process of their own, never in the web server's
CHECK_EXTENSIONS = "from kiosk.readalong.align_worker import missing_extensions as m; print(','.join(m()))"


class AlignmentFailed(Exception):
    """An alignment did not finish (timeout, crash, aeneas's error); the message says why."""


@dataclass(frozen=True)
class Piece:
    """Sentences ``first`` to ``last`` (inclusive), expected between ``start_s`` and ``end_s``."""

    first: int
    last: int
    start_s: float
    end_s: float


@cache
def missing_parts() -> str | None:
    """What of the aligner this machine lacks (``"aeneas"``, or its C extensions); ``None`` if nothing."""
    if importlib.util.find_spec("aeneas") is None:
        return "aeneas"
    checked = subprocess.run(  # noqa: S603 - our own module, argv list
        [sys.executable, "-c", CHECK_EXTENSIONS],
        capture_output=True, text=True, timeout=120, check=False,
    )
    if checked.returncode != 0:
        return checked.stderr.strip()[-200:] or "aeneas"
    return checked.stdout.strip() or None


def unavailable_reason() -> str | None:
    """Why chapters cannot be aligned on this machine, in words for librarians; ``None`` if they can."""
    missing = missing_parts()
    if missing is None:
        return None
    if missing == "aeneas":
        return gettext("这台服务器没有安装对齐工具（aeneas），所以文字没有时间信息。"
                       "安装方法见 README 的 align 一节：pip install '.[align]' 和 Debian 软件包。")
    return gettext("对齐工具的 C 扩展不能加载（%(missing)s），所以文字没有时间信息。请按 README 重新安装。",
                   missing=missing)


def voice_for(sentences: Sequence[Sentence]) -> str:
    """espeak-ng's Mandarin voice ``cmn`` for Chinese text, English otherwise."""
    text = "".join(s.text for s in sentences)
    han = sum(1 for c in text if "\u3400" <= c <= "\u9fff")
    letters = sum(1 for c in text if c.isascii() and c.isalpha())
    return "cmn" if han * 3 >= letters else "en"


def plan_pieces(sentences: Sequence[Sentence], duration_s: float) -> list[Piece]:
    """Pieces of at most ``PIECE_TARGET_S`` expected seconds, cut between paragraphs.

    Where a sentence is expected is its share of the text's characters times the duration;
    a paragraph longer than a piece is a piece of its own.
    """
    total_chars = sum(len(s.text) for s in sentences) or 1
    seconds_per_char = duration_s / total_chars
    pieces: list[Piece] = []
    chars_before = 0
    first, start_chars = 0, 0
    for group in paragraphs(list(sentences)):
        group_chars = sum(len(sentences[i].text) for i in group)
        if group[0] > first and (chars_before + group_chars - start_chars) * seconds_per_char > PIECE_TARGET_S:
            pieces.append(Piece(first, group[0] - 1, start_chars * seconds_per_char, chars_before * seconds_per_char))
            first, start_chars = group[0], chars_before
        chars_before += group_chars
    pieces.append(Piece(first, len(sentences) - 1, start_chars * seconds_per_char, duration_s))
    return pieces


def nearest_long_pause(pauses: list[list[float]], around_s: float, within_s: float = CUT_SEARCH_S) -> float:
    """The middle of the longest silence within ``within_s`` of ``around_s`` (``around_s`` if none)."""
    near = [p for p in pauses if abs((p[0] + p[1]) / 2 - around_s) <= within_s]
    if not near:
        return around_s
    longest = max(near, key=lambda p: (p[1] - p[0], -abs((p[0] + p[1]) / 2 - around_s)))
    return (longest[0] + longest[1]) / 2


def run_worker(request: dict[str, Any], timeout_s: float, argv: Sequence[str] = WORKER) -> dict[str, Any]:
    """One request to a fresh ``align_worker`` process; ``AlignmentFailed`` on timeout or error."""
    try:
        done = subprocess.run(  # noqa: S603 - our own module, argv list
            list(argv), input=json.dumps(request), capture_output=True, text=True, timeout=timeout_s, check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise AlignmentFailed(f"the aligner did not finish within {timeout_s:.0f} s") from exc
    try:
        answer: dict[str, Any] = json.loads(done.stdout)
    except ValueError as exc:
        raise AlignmentFailed(f"the aligner exited {done.returncode}: {done.stderr.strip()[-300:]}") from exc
    if done.returncode != 0 or "error" in answer:
        raise AlignmentFailed(str(answer.get("error") or f"the aligner exited {done.returncode}"))
    return answer


def ffmpeg_exe() -> str:
    """The ffmpeg the worker decodes with: imageio-ffmpeg's (a dependency), else the system's."""
    try:
        import imageio_ffmpeg

        return str(imageio_ffmpeg.get_ffmpeg_exe())
    except (ImportError, RuntimeError):
        found = shutil.which("ffmpeg")
        if found is None:
            raise AlignmentFailed("ffmpeg not found") from None
        return found


def align(audio: Path, sentences: Sequence[Sentence], duration_s: float, *, scratch: Path,
          argv: Sequence[str] = WORKER) -> list[list[float]]:
    """``[start_s, end_s]`` of each sentence in ``audio``, piece by piece, each piece in a fresh process."""
    base: dict[str, Any] = {"audio": str(audio), "ffmpeg": ffmpeg_exe(), "voice": voice_for(sentences),
                            "nonspeech_min_s": NONSPEECH_MIN_S, "scratch": str(scratch)}
    pieces = plan_pieces(sentences, duration_s)
    cuts = _cuts(pieces, base, duration_s, argv)
    cues: list[list[float]] = []
    for piece, (start_s, end_s) in zip(pieces, itertools.pairwise(cuts), strict=True):
        request = {**base, "start_s": start_s, "duration_s": end_s - start_s,
                   "fragments": [sentences[i].text for i in range(piece.first, piece.last + 1)]}
        answer = run_worker(request, TIMEOUT_BASE_S + TIMEOUT_PER_AUDIO_S * (end_s - start_s), argv)
        found, wanted = answer["cues"], piece.last - piece.first + 1
        if len(found) != wanted:
            raise AlignmentFailed(f"the aligner returned {len(found)} cues for {wanted} sentences")
        cues.extend([round(start_s + b, 3), round(start_s + e, 3)] for b, e in found)
    return cues


def _cuts(pieces: list[Piece], base: dict[str, Any], duration_s: float, argv: Sequence[str]) -> list[float]:
    """Where the audio is cut between pieces: 0, a silence near each expected paragraph end, the end."""
    if len(pieces) == 1:
        return [0.0, duration_s]
    answer = run_worker({**base, "pauses": True, "start_s": 0.0, "duration_s": None},
                        TIMEOUT_BASE_S + 0.1 * duration_s, argv)
    middle = [nearest_long_pause(answer["pauses"], piece.end_s) for piece in pieces[:-1]]
    return [0.0, *middle, duration_s]
