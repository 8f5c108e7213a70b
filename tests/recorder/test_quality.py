"""quality: verdicts and advice from measurements and the defect analysis, in recorder.advice's words."""

from __future__ import annotations

import json
import math
import re
from dataclasses import replace
from pathlib import Path

import pytest

from recorder import synth
from recorder.advice import ADVICE_ZH
from recorder.loudness import Measurement
from recorder.pipeline import analyse
from recorder.presets import DEFAULT
from recorder.quality import judge
from tests.recorder.helpers import gen_findings

GOOD = Measurement(integrated_lufs=-22.0, loudness_range_lu=6.0, true_peak_dbtp=-6.0,
                   sample_peak_dbfs=-6.5, clipping_share=0.0, noise_floor_dbfs=-75.0,
                   dynamic_spread_db=30.0, duration_s=60.0, speech_s=40.0,
                   first_speech_s=0.3, last_speech_end_s=59.0)
SILENT = {"first_speech_s": None, "last_speech_end_s": None, "speech_s": 0.0}
UNITS = re.compile(r"LUFS|LU\b|dB|dBFS|dBTP|Hz|%", re.IGNORECASE)


@pytest.mark.parametrize(("changes", "verdict", "codes"), [
    ({}, "pass", []),
    ({"integrated_lufs": -48.0, "noise_floor_dbfs": -100.0}, "warn", ["too_quiet"]),
    ({"integrated_lufs": -35.0}, "warn", ["too_quiet"]),  # issue 12: exactly -35.0 is too quiet
    ({"integrated_lufs": -34.9}, "pass", []),
    ({"clipping_share": 0.003, "sample_peak_dbfs": 0.0}, "warn", ["clipping"]),
    ({"clipping_share": 0.05, "sample_peak_dbfs": 0.0}, "fail", ["clipping"]),
    (SILENT, "fail", ["blank"]),
])
def test_verdicts_without_the_analysis(changes: dict[str, object], verdict: str, codes: list[str]) -> None:
    report = judge(replace(GOOD, **changes))
    assert report.verdict == verdict
    assert [a.code for a in report.advice] == codes
    assert report.findings is None


@pytest.mark.parametrize(("found", "lufs", "verdict", "first"), [
    ({}, -22.0, "pass", None),
    ({}, -35.0, "warn", "too_quiet"),
    ({"noise": "warn", "hum": "warn"}, -22.0, "warn", "noise"),
    ({"hum": "fail"}, -22.0, "fail", "hum"),
    ({"clipping": "fail", "plosives": "warn"}, -40.0, "fail", "too_quiet"),
    ({"blank": "fail", "noise": "fail"}, -22.0, "fail", "blank"),
])
def test_verdict_and_first_advice_from_findings(found: dict[str, str], lufs: float, verdict: str,
                                                first: str | None) -> None:
    report = judge(replace(GOOD, integrated_lufs=lufs), DEFAULT, gen_findings(**found))
    assert report.verdict == verdict
    assert (report.advice[0].code if report.advice else None) == first
    assert report.findings is not None and report.findings["noise"]["noise_floor_dbfs"] == -72.0
    assert report.noise_floor_dbfs == -72.0  # the analysis's floor: the quietest 500 ms
    assert report.mastered_noise_floor_dbfs == pytest.approx(-72.0 + DEFAULT.target_lufs - lufs)


def test_advice_in_plain_chinese_without_units() -> None:
    report = judge(replace(GOOD, integrated_lufs=-48.0), DEFAULT, gen_findings(noise="warn", clicks="warn"))
    assert report.advice[0].text_zh == ADVICE_ZH["too_quiet"]
    for item in report.advice:
        assert re.search(r"[\u4e00-\u9fff]", item.text_zh) and not UNITS.search(item.text_zh)


def test_a_failed_take_stays_failed_and_off_target_is_added() -> None:
    report = judge(GOOD, DEFAULT, gen_findings(clipping="fail")).with_final(-21.0, -2.0, DEFAULT)
    assert report.verdict == "fail"
    assert [a.code for a in report.advice] == ["clipping", "off_target"]


def test_to_dict_is_json() -> None:
    silent = replace(GOOD, integrated_lufs=-70.0, true_peak_dbtp=-math.inf,
                     sample_peak_dbfs=-math.inf, noise_floor_dbfs=-math.inf, **SILENT)
    data = json.loads(json.dumps(judge(silent, DEFAULT, gen_findings(blank="fail")).to_dict(), allow_nan=False))
    assert data["verdict"] == "fail"
    assert data["input_true_peak_dbtp"] is None
    assert data["advice"] == [{"code": "blank", "text_zh": ADVICE_ZH["blank"], "severity": "fail",
                               "text_en": data["advice"][0]["text_en"]}]
    assert data["findings"]["hum"]["hum_level_dbfs"] is None


@pytest.mark.usefixtures("espeak_ng")
def test_fast_reader_not_called_noisy(tmp_path: Path) -> None:
    # espeak-ng hardly pauses: its quietest windows are speech, not room noise.
    take = synth.speech("床前明月光，疑是地上霜。举头望明月，低头思故乡。", tmp_path / "s.wav")
    report = analyse(take)
    assert "noise" not in [a.code for a in report.advice]
    assert report.verdict != "fail"
