"""Mastering keeps the reader's dynamics: every master measured independently against its take.

The corpus runs from -40 to -6 LUFS, with a 5 s take, takes whose speech starts at once,
expressive readings (full and soft sentences 9 dB apart, emphasised syllables, and room
tone between, or the digital silence a browser's noise suppression leaves) and a take
whose peaks need no limiting. Loudness is pyloudnorm's, true peak
ffmpeg's ``ebur128=peak=true``, and the dynamics are compared on 10 ms windows of take
and master aligned in time (``tests/recorder/measures.py``).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from recorder import synth
from recorder.pipeline import master
from recorder.presets import DEFAULT
from recorder.tags import TrackTags
from tests.helpers import require_tool
from tests.recorder.measures import (
    Levels,
    levels,
    loud_syllable_extra_loss_db,
    speech_edges_s,
    window_db,
)

FLOAT_WAV = ["-c:a", "pcm_f32le"]
TARGET_LUFS, CEILING_DBTP = DEFAULT.target_lufs, DEFAULT.true_peak_ceiling_dbtp
ALLOWED_PLR_DB = CEILING_DBTP - TARGET_LUFS  # 16.5: what the ceiling leaves at the target
LOUDNESS_TOLERANCE_LU = 0.5
PEAK_WITHIN_DB = 1.0  # a limited master's peaks end this close under the ceiling
MIN_LIMITED_PLR_DB = ALLOWED_PLR_DB - PEAK_WITHIN_DB
PLAIN_PLR_TOLERANCE_DB = 0.75  # LAME takes ~0.45 LU of loudness and keeps the peaks: the ratio rises that much
MAX_EXTRA_LOSS_DB = 1.5


def _gentle(path: Path) -> Path:
    """A take whose peaks sit only 14 dB over its loudness (soft chimes): a plain gain is enough."""
    return synth.pleasant_reading(path, duration_s=12, seed=2)


def _espeak(path: Path) -> Path:
    """Chinese read by espeak-ng (a real voice's peaks and pauses)."""
    require_tool("espeak-ng", shutil.which("espeak-ng") is not None, "apt-get install espeak-ng")
    return synth.speech("床前明月光，疑是地上霜。举头望明月，低头思故乡。白日依山尽，黄河入海流。", path)


CORPUS: dict[str, Callable[[Path], Path]] = {
    "speech-40": lambda p: synth.speechlike(p, duration_s=15, level_lufs=-40, seed=40, codec_args=FLOAT_WAV),
    "speech-27": lambda p: synth.speechlike(p, duration_s=15, level_lufs=-27, seed=27, codec_args=FLOAT_WAV),
    "speech-16": lambda p: synth.speechlike(p, duration_s=15, level_lufs=-16, seed=16, codec_args=FLOAT_WAV),
    "speech-6": lambda p: synth.speechlike(p, duration_s=15, level_lufs=-6, seed=6, codec_args=FLOAT_WAV),
    "reading-24": lambda p: synth.reading(p, duration_s=24, level_lufs=-24, seed=3, codec_args=FLOAT_WAV),
    "reading-clean-pauses": lambda p: synth.reading(p, duration_s=23.5, level_lufs=-26, seed=8,
                                                    room_below_speech_db=300),
    "reading-10": lambda p: synth.reading(p, duration_s=24, level_lufs=-10, seed=4, codec_args=FLOAT_WAV),
    "short-5s": lambda p: synth.speechlike(p, duration_s=5, level_lufs=-30, seed=9, sample_rate_hz=48000),
    "starts-at-0.08s": lambda p: synth.speechlike(p, duration_s=12, level_lufs=-25, seed=11, pad_head_s=0.08),
    "gentle-chimes": _gentle,
    "espeak": _espeak,
}


@pytest.fixture(scope="module", params=sorted(CORPUS))
def mastered(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
             ) -> tuple[Levels, np.ndarray, int, Levels, np.ndarray, int]:
    """One take of the corpus and its master, both measured: (take levels, samples, rate, master ...)."""
    work = tmp_path_factory.mktemp(request.param)
    take = CORPUS[request.param](work / "take.wav")
    result = master(take, work / "master.mp3", tags=TrackTags(title=request.param))
    return (*levels(take, work), *levels(result.output_path, work))


def test_master_reaches_target_under_ceiling(mastered) -> None:
    _, _, _, out, _, _ = mastered
    assert out.lufs == pytest.approx(TARGET_LUFS, abs=LOUDNESS_TOLERANCE_LU)
    assert out.true_peak_dbtp <= CEILING_DBTP


def test_room_tone_head_and_tail(mastered) -> None:
    _, _, _, _, samples, rate = mastered
    head_s, tail_s = speech_edges_s(samples, rate)
    assert head_s == pytest.approx(DEFAULT.head_room_tone_s, abs=0.1)
    assert 1.0 <= tail_s <= 2.0


def test_dynamics_kept(mastered) -> None:
    """The ratio is kept, or lowered only to what the ceiling allows, and only at the peaks."""
    take, take_samples, take_rate, out, samples, rate = mastered
    reduction_db = take.plr_db - out.plr_db
    if take.plr_db + PLAIN_PLR_TOLERANCE_DB < ALLOWED_PLR_DB:
        assert out.plr_db == pytest.approx(take.plr_db, abs=PLAIN_PLR_TOLERANCE_DB)
        reduction_db = 0.0
    else:
        assert out.plr_db >= MIN_LIMITED_PLR_DB
        assert out.true_peak_dbtp >= CEILING_DBTP - PEAK_WITHIN_DB
    extra_db = loud_syllable_extra_loss_db(window_db(take_samples, take_rate),
                                           window_db(samples, rate), reduction_db)
    assert extra_db <= MAX_EXTRA_LOSS_DB
