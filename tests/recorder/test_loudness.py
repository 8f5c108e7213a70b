"""loudness: one-pass measurement checked against pyloudnorm."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from recorder import synth
from recorder.errors import TooLongError
from recorder.loudness import measure
from recorder.presets import Preset
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
    started = time.monotonic()
    with pytest.raises(TooLongError) as info:
        measure(flac, Preset(max_duration_s=30))
    assert time.monotonic() - started < 10
    assert info.value.code == "too_long"
