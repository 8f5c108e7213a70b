"""The aligner's traps, each measured on this kind of machine, each a test.

- aeneas's C extension hangs on the second alignment in one process: every piece runs in a
  fresh process under a timeout;
- its espeak-ng command-line fallback is seconds off: it is never used, and a missing C
  extension is an error that says so;
- its memory grows with the audio: long chapters are aligned in pieces cut between paragraphs;
- the first fragment begins at 0.0, head silence included: the first cue moves to where
  speech starts.
"""

from __future__ import annotations

import itertools
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bench.bench_align import MANDARIN, Reading, make_reading
from kiosk.readalong import align_worker, aligner, hints
from kiosk.readalong.sentences import Sentence, split
from tests.test_readalong import TOLERANCE_S, needs_aligner


def sentences_in(paragraph_sizes: list[int], chars: int = 10) -> list[Sentence]:
    """Sentences of ``chars`` characters, ``paragraph_sizes[i]`` of them in paragraph ``i``."""
    return [Sentence("字" * (chars - 1) + "。", p) for p, size in enumerate(paragraph_sizes) for _ in range(size)]


# ---- pieces of at most 15 minutes, cut between paragraphs -------------------------------------


def test_a_short_chapter_is_one_piece() -> None:
    assert aligner.plan_pieces(sentences_in([3, 3]), 600.0) == [aligner.Piece(0, 5, 0.0, 600.0)]


def test_a_long_chapter_is_cut_between_paragraphs_into_pieces_under_the_limit() -> None:
    sentences = sentences_in([10] * 12)  # 12 paragraphs of 10 sentences, 60 minutes: 5 minutes each
    pieces = aligner.plan_pieces(sentences, 3600.0)
    assert [(p.first, p.last) for p in pieces] == [(0, 19), (20, 39), (40, 59), (60, 79), (80, 99), (100, 119)]
    assert all(p.end_s - p.start_s <= aligner.PIECE_TARGET_S < aligner.PIECE_MAX_S for p in pieces)
    for piece in pieces[1:]:  # every cut falls between two paragraphs
        assert sentences[piece.first].paragraph != sentences[piece.first - 1].paragraph
    assert pieces[0].start_s == 0.0 and pieces[-1].end_s == 3600.0


def test_a_paragraph_longer_than_a_piece_is_a_piece_of_its_own() -> None:
    sentences = sentences_in([2, 200, 2])  # the middle paragraph alone is some 14 minutes of 15
    pieces = aligner.plan_pieces(sentences, 900.0)
    assert [(p.first, p.last) for p in pieces] == [(0, 1), (2, 201), (202, 203)]


def test_the_cut_is_the_longest_silence_near_the_expected_paragraph_end() -> None:
    pauses = [[100.0, 100.4], [110.0, 111.2], [118.0, 118.5], [200.0, 205.0]]
    assert aligner.nearest_long_pause(pauses, 120.0) == pytest.approx(110.6)
    assert aligner.nearest_long_pause(pauses, 500.0) == 500.0  # no silence near: the estimate


# ---- where speech starts ----------------------------------------------------------------------


def test_the_first_cue_starts_where_speech_starts_and_the_last_ends_where_it_ends() -> None:
    levels = np.full(600, -70.0)
    levels[120:300] = -20.0  # speech from 1.2 s to 3.0 s, room tone around it
    levels[350:500] = -22.0  # and from 3.5 s to 5.0 s
    levels[50] = -15.0  # a click is not speech
    bounds = align_worker.speech_bounds(levels)
    assert bounds == pytest.approx((1.2, 5.0))
    cues = align_worker.trim_to_speech([[0.0, 3.25], [3.25, 6.0]], bounds)
    assert cues == [[pytest.approx(1.15), 3.25], [3.25, pytest.approx(5.05)]]
    assert align_worker.pauses(levels) == [[pytest.approx(3.0), pytest.approx(3.5)]]
    assert align_worker.speech_bounds(np.array([])) is None
    assert align_worker.trim_to_speech([[0.0, 1.0]], None) == [[0.0, 1.0]]


# ---- a fresh process per piece, under a timeout -------------------------------------------------


@pytest.fixture(scope="module")
def long_reading(tmp_path_factory: pytest.TempPathFactory) -> Reading:
    """Sixteen Mandarin sentences in four paragraphs, some two and a half minutes."""
    needs_aligner()
    return make_reading(tmp_path_factory.mktemp("long") / "long.mp3", MANDARIN, "cmn", seed=11)


def test_each_piece_is_aligned_in_a_fresh_process_and_the_pieces_join_up(
    tmp_path: Path, long_reading: Reading, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pieces of 40 s instead of 15 minutes: the same cutting, on a reading a test can afford."""
    monkeypatch.setattr(aligner, "PIECE_TARGET_S", 40.0)
    answers: list[dict[str, Any]] = []
    real = aligner.run_worker

    def recording(request: dict[str, Any], timeout_s: float, argv: Any = aligner.WORKER) -> dict[str, Any]:
        answers.append(real(request, timeout_s, argv))
        return answers[-1]

    monkeypatch.setattr(aligner, "run_worker", recording)
    sentences = split(long_reading.text)
    pieces = aligner.plan_pieces(sentences, long_reading.duration_s)
    assert len(pieces) >= 3

    cues = aligner.align(long_reading.audio, sentences, long_reading.duration_s, scratch=tmp_path)

    pids = [answer["pid"] for answer in answers]
    assert len(pids) == len(pieces) + 1 and len(set(pids)) == len(pids)  # the silences, then each piece
    assert os.getpid() not in pids
    errors = [abs(cue[0] - truth) for cue, truth in zip(cues, long_reading.starts_s, strict=True)]
    assert max(errors) <= TOLERANCE_S, [round(e, 2) for e in errors]
    assert all(a[1] <= b[0] + 0.001 for a, b in itertools.pairwise(cues))


def test_a_worker_that_hangs_is_given_up_after_its_timeout(tmp_path: Path) -> None:
    started = time.monotonic()
    with pytest.raises(aligner.AlignmentFailed, match="did not finish within 1 s"):
        aligner.run_worker({}, 1.0, argv=[sys.executable, "-c", "import time; time.sleep(60)"])
    assert time.monotonic() - started < 10


def test_a_worker_that_crashes_says_how() -> None:
    with pytest.raises(aligner.AlignmentFailed, match="exited 3: boom"):
        crash = "import sys; print('boom', file=sys.stderr); sys.exit(3)"
        aligner.run_worker({}, 30.0, argv=[sys.executable, "-c", crash])


def test_alignments_never_use_the_espeak_command_line(
    tmp_path: Path, long_reading: Reading, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no espeak-ng (nor espeak) on PATH, alignment works the same: only the C extension speaks."""
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    sentences = split(long_reading.text)[:4]
    cues = aligner.align(long_reading.audio, sentences, long_reading.starts_s[4] - 0.2, scratch=tmp_path)
    errors = [abs(cue[0] - truth) for cue, truth in zip(cues, long_reading.starts_s[:4], strict=True)]
    assert max(errors) <= TOLERANCE_S


def test_a_missing_c_extension_fails_clearly(monkeypatch: pytest.MonkeyPatch) -> None:
    needs_aligner()
    from aeneas import globalfunctions

    monkeypatch.setattr(globalfunctions, "can_run_c_extension", lambda name: name != "cew")
    assert align_worker.missing_extensions() == ["cew"]
    with pytest.raises(align_worker.AlignmentError, match="C extensions not available: cew"):
        align_worker.align({"fragments": ["一句。"], "audio": "unused.mp3", "ffmpeg": "unused"})


# ---- moderation hints: a skipped sentence ------------------------------------------------------


def test_squeezed_sentences_are_suspects() -> None:
    sentences = [Sentence("春" * 10 + "。", 0) for _ in range(5)] + [Sentence("Hello there, my friend.", 1)]
    cues = [[0.0, 3.0], [3.0, 6.0], [6.0, 7.2], [7.2, 10.0], [10.0, 10.1], [10.1, 11.5]]
    assert hints.suspect_sentences(sentences, cues) == [2, 4]  # 0.12 s a syllable where 0.3 is usual; nothing
    assert hints.syllables("Hello there 你好") == pytest.approx(5 / 3 + 5 / 3 + 2)
    # Two sentences say too little of the reader's pace: only what nobody could read is suspect.
    assert hints.suspect_sentences(sentences[:2], cues[:2]) == []
    assert hints.suspect_sentences(sentences[:2], [[0.0, 3.0], [3.0, 3.9]]) == [1]  # 0.09 s a syllable
    assert hints.suspect_sentences(sentences[:2], [[0.0, 3.0], [3.0, 4.2]]) == []  # 0.12 s: a fast reader


def test_a_skipped_sentence_is_marked_for_the_librarian(tmp_path: Path) -> None:
    """The reader skipped the fourth sentence: the alignment squeezes it, and it is named."""
    needs_aligner()
    spoken = MANDARIN[:3] + MANDARIN[4:8]
    reading = make_reading(tmp_path / "skipped.mp3", spoken, "cmn", seed=4)
    sentences = split("".join(MANDARIN[:8]))
    cues = aligner.align(reading.audio, sentences, reading.duration_s, scratch=tmp_path)
    assert hints.suspect_sentences(sentences, cues) == [3]
