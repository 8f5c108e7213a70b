"""What a take is told: broken files named as such, room tone padding, honest verdicts."""

from __future__ import annotations

import math
import struct
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from recorder import synth
from recorder.errors import TooLongError, TooShortError, TruncatedError
from recorder.loudness import Measurement, pause_noise_floor
from recorder.pipeline import analyse, master
from recorder.presets import DEFAULT
from recorder.quality import judge
from recorder.tags import TrackTags
from tests.recorder.helpers import decode, silent_flac
from tests.recorder.measures import speech_edges_s, window_db

GOOD = Measurement(integrated_lufs=-22.0, loudness_range_lu=6.0, true_peak_dbtp=-6.0,
                   sample_peak_dbfs=-6.5, clipping_share=0.0, noise_floor_dbfs=-75.0,
                   dynamic_spread_db=30.0, duration_s=60.0, speech_s=40.0,
                   first_speech_s=0.3, last_speech_end_s=59.0)


def _claim_seconds(wav: Path, seconds: float) -> Path:
    """Rewrite a 16-bit mono 44.1 kHz WAV's RIFF and data sizes to claim ``seconds``."""
    data = bytearray(wav.read_bytes())
    at = data.index(b"data")
    size = round(seconds * 44100) * 2
    data[at + 4:at + 8] = struct.pack("<I", size)
    data[4:8] = struct.pack("<I", at + size)
    wav.write_bytes(bytes(data))
    return wav


def test_wav_whose_header_claims_more_is_incomplete(tmp_path: Path) -> None:
    one_second = synth.speechlike(tmp_path / "take.wav", duration_s=1, level_lufs=-23)
    with pytest.raises(TruncatedError) as info:
        master(_claim_seconds(one_second, 60), tmp_path / "out.mp3", tags=TrackTags(title="x"))
    assert info.value.message_zh.startswith("文件不完整")
    assert not (tmp_path / "out.mp3").exists()


def test_one_second_take_is_too_short(tmp_path: Path) -> None:
    take = synth.speechlike(tmp_path / "take.wav", duration_s=1, level_lufs=-23)
    with pytest.raises(TooShortError) as info:
        analyse(take)
    assert (info.value.code, info.value.message_zh[:4]) == ("too_short", "录音太短")


@pytest.mark.parametrize(("final_lufs", "final_tp", "verdict"), [
    (-18.2, -1.8, "pass"),
    (-20.4, -2.0, "warn"),  # the short take of issue 12: never "very good"
    (-18.0, -1.2, "warn"),  # over the ceiling
])
def test_master_outside_tolerance_is_never_pass(final_lufs: float, final_tp: float,
                                                verdict: str) -> None:
    report = judge(GOOD).with_final(final_lufs, final_tp, DEFAULT)
    assert report.verdict == verdict
    assert ("off_target" in [a.code for a in report.advice]) is (verdict == "warn")


def test_failed_take_stays_failed_when_off_target() -> None:
    report = judge(replace(GOOD, clipping_share=0.05)).with_final(-21.0, -2.0, DEFAULT)
    assert report.verdict == "fail"


def test_head_is_padded_with_the_takes_room_tone(tmp_path: Path) -> None:
    take = synth.speechlike(tmp_path / "take.wav", duration_s=10, level_lufs=-25, seed=2)
    result = master(take, tmp_path / "out.mp3", tags=TrackTags(title="x"))
    data, rate = decode(result.output_path, tmp_path)
    head_s, _ = speech_edges_s(data.mean(axis=1), rate)
    head = window_db(data.mean(axis=1), rate)[: int(head_s * 100) - 5]
    assert head_s == pytest.approx(0.5, abs=0.1)
    # Room tone all the way: no digital silence, and steady (within a few dB of itself).
    assert head.min() > -100.0
    assert np.percentile(head, 90) - np.percentile(head, 10) < 6.0


def test_expressive_reader_is_not_noisy(tmp_path: Path) -> None:
    take = synth.reading(tmp_path / "take.wav", duration_s=32, level_lufs=-26, seed=8)
    report = analyse(take)
    assert "noise" not in [a.code for a in report.advice]
    assert report.verdict != "fail"


def test_hidden_length_over_the_cap_refused_before_decoding(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from recorder import pipeline

    flac = silent_flac(tmp_path / "ten-hours.flac", hours=10, claim_length=False)

    def no_decode(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("decoded a file whose packets already passed the cap")

    monkeypatch.setattr(pipeline, "measure", no_decode)
    with pytest.raises(TooLongError):
        master(flac, tmp_path / "out.mp3", tags=TrackTags(title="x"))


SOFT_SENTENCE = [-44.0, -40.0, -47.0, -41.0, -49.0, -42.0, -45.0, -40.0] * 3  # under the threshold


@pytest.mark.parametrize(("pause", "floor_dbfs"), [
    ([-75.0, -75.5, -74.8, -75.2] * 5, -75.2),  # room tone in the pauses: that is the floor
    ([-math.inf] * 20, -math.inf),  # clean (digital) pauses: no noise at all, not the soft voice
], ids=["room-tone", "clean-pauses"])
def test_soft_sentences_are_not_taken_for_noise(pause: list[float], floor_dbfs: float) -> None:
    """Issue 12: full and soft sentences; the soft ones move with their syllables, room tone does not."""
    full = [-20.0] * 30
    levels = (full + pause + SOFT_SENTENCE + pause) * 3
    assert pause_noise_floor(levels, -38.0, 40.0, DEFAULT) == pytest.approx(floor_dbfs, abs=0.5)
