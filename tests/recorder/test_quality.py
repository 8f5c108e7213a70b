"""quality: verdicts and advice from measurements."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import pytest

from recorder import synth
from recorder.loudness import Measurement
from recorder.pipeline import analyse
from recorder.quality import judge

GOOD = Measurement(integrated_lufs=-22.0, loudness_range_lu=6.0, true_peak_dbtp=-6.0,
                   sample_peak_dbfs=-6.5, clipping_share=0.0, noise_floor_dbfs=-75.0,
                   dynamic_spread_db=30.0, duration_s=60.0, speech_s=40.0,
                   first_speech_s=0.3, last_speech_end_s=59.0)


@pytest.mark.parametrize(("changes", "verdict", "codes"), [
    ({}, "pass", []),
    ({"integrated_lufs": -48.0, "noise_floor_dbfs": -100.0}, "warn", ["too_quiet"]),
    ({"clipping_share": 0.003, "sample_peak_dbfs": 0.0}, "warn", ["clipping"]),
    ({"clipping_share": 0.05, "sample_peak_dbfs": 0.0}, "fail", ["clipping"]),
    ({"noise_floor_dbfs": -52.0}, "warn", ["noisy"]),  # -48 dBFS after +4 dB mastering
    ({"noise_floor_dbfs": -42.0}, "fail", ["noisy"]),
    ({"noise_floor_dbfs": math.nan}, "pass", []),  # too little pause to tell: not judged
    ({"first_speech_s": None, "last_speech_end_s": None, "speech_s": 0.0}, "fail", ["silent"]),
])
def test_verdicts(changes: dict[str, object], verdict: str, codes: list[str]) -> None:
    report = judge(replace(GOOD, **changes))
    assert report.verdict == verdict
    assert [a.code for a in report.advice] == codes


def test_advice_in_chinese() -> None:
    report = judge(replace(GOOD, integrated_lufs=-48.0, noise_floor_dbfs=-100.0))
    assert report.advice[0].text_zh == "声音太小，请靠近话筒"


def test_to_dict_is_json() -> None:
    silent = replace(GOOD, integrated_lufs=-70.0, true_peak_dbtp=-math.inf,
                     sample_peak_dbfs=-math.inf, noise_floor_dbfs=-math.inf,
                     first_speech_s=None, last_speech_end_s=None, speech_s=0.0)
    data = json.loads(json.dumps(judge(silent).to_dict(), allow_nan=False))
    assert data["verdict"] == "fail"
    assert data["input_true_peak_dbtp"] is None
    assert data["advice"][0]["code"] == "silent"


@pytest.mark.usefixtures("espeak_ng")
def test_fast_reader_not_called_noisy(tmp_path: Path) -> None:
    # espeak-ng hardly pauses: its quietest windows are speech, not room noise.
    take = synth.speech("床前明月光，疑是地上霜。举头望明月，低头思故乡。", tmp_path / "s.wav")
    report = analyse(take)
    assert "noisy" not in [a.code for a in report.advice]
    assert report.verdict != "fail"
