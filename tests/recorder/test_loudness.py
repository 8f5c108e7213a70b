"""loudness: one-pass measurement checked against pyloudnorm.

How quickly an overlong file is refused is measured by ``bench/bench_give_up.py``.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from recorder import synth
from recorder.errors import TooLongError
from recorder.loudness import measure, pause_noise_floor
from recorder.presets import DEFAULT, Preset
from tests.recorder.helpers import decode, integrated_lufs, silent_flac


def test_integrated_matches_pyloudnorm(padded_take: Path, tmp_path: Path) -> None:
    data, rate = decode(padded_take, tmp_path)
    assert measure(padded_take).integrated_lufs == pytest.approx(
        integrated_lufs(data, rate), abs=0.5)


def test_speech_edges_found(padded_take: Path) -> None:
    m = measure(padded_take)
    assert m.first_speech_s == pytest.approx(5.0, abs=0.3)
    assert m.last_speech_end_s is not None
    assert 14.0 <= m.last_speech_end_s <= 17.1  # the synthetic reading may end in a pause
    assert m.duration_s == pytest.approx(22.0, abs=0.15)
    assert 3.0 < m.speech_s < 12.0


def test_noise_has_no_speech(tmp_path: Path) -> None:
    m = measure(synth.noise(tmp_path / "n.wav", duration_s=5, level_dbfs=-35))
    assert not m.has_speech
    assert m.noise_floor_dbfs == pytest.approx(-45, abs=8)


def test_decoded_length_capped_when_header_is_silent(tmp_path: Path) -> None:
    flac = silent_flac(tmp_path / "unknown-length.flac", hours=2, claim_length=False)
    with pytest.raises(TooLongError) as info:
        measure(flac, Preset(max_duration_s=30))
    assert info.value.code == "too_long"


def test_sample_peak_only_measurement(padded_take: Path) -> None:
    m = measure(padded_take, true_peak=False)
    assert math.isnan(m.true_peak_dbtp)
    assert m.peak_db == m.conditioned_peak_dbfs
    assert -30 < m.peak_db < 0


SPEECH_DBFS, THRESHOLD_DBFS, SPREAD_DB = -20.0, -40.0, 30.0


@pytest.mark.parametrize(("levels", "expected"), [
    ([SPEECH_DBFS] * 100, math.nan),  # a reader who never pauses: unknown, not "noisy"
    ([SPEECH_DBFS] * 50 + [-45.0] * 8 + [SPEECH_DBFS] * 50, math.nan),  # 0.8 s, all near speech
    ([SPEECH_DBFS] * 50 + [-45.0] * 4 + [-70.0] * 20 + [-45.0] * 4 + [SPEECH_DBFS] * 50, -70.0),
    ([SPEECH_DBFS] * 50 + [-math.inf] * 40, -math.inf),  # a digital-silence tail is no noise
], ids=["no-pause", "short-pause", "long-pause", "digital-silence"])
def test_noise_floor_only_from_pauses(levels: list[float], expected: float) -> None:
    floor = pause_noise_floor(levels, THRESHOLD_DBFS, SPREAD_DB, DEFAULT)
    if math.isnan(expected):
        assert math.isnan(floor)
    else:
        assert floor == expected
