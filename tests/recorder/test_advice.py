"""advice: one plain-Chinese piece of advice at a time, most important first; figures for the librarian."""

from __future__ import annotations

import json
import math
import re

import pytest

from recorder.advice import ADVICE_EN, ADVICE_ZH, PRIORITY, advise, figures, first_advice, verdict
from tests.recorder.helpers import gen_findings


def test_clean_take_needs_no_advice() -> None:
    assert advise(gen_findings()) == []
    assert first_advice(gen_findings()) is None
    assert verdict(gen_findings()) == "pass"


@pytest.mark.parametrize(("found", "first"), [
    ({"noise": "warn", "clipping": "fail"}, "clipping"),
    ({"hum": "warn", "plosives": "warn", "clicks": "warn"}, "plosives"),
    ({"gating": "warn", "too_short": "fail", "noise": "fail"}, "too_short"),
    ({"clicks": "warn", "hum": "fail"}, "clicks"),
])
def test_most_important_first(found: dict[str, str], first: str) -> None:
    advice = first_advice(gen_findings(**found))
    assert advice is not None and advice.code == first
    assert [a.code for a in advise(gen_findings(**found))] == [c for c in PRIORITY if c in found]


def test_blank_take_gets_only_that_advice() -> None:
    items = advise(gen_findings(blank="fail", noise="fail", gating="warn"))
    assert [(a.code, a.severity) for a in items] == [("blank", "fail")]


@pytest.mark.parametrize(("lufs", "too_quiet"), [(-35.0, True), (-35.5, True), (-34.9, False), (math.nan, False)])
def test_too_quiet_at_and_under_minus_35(lufs: float, too_quiet: bool) -> None:
    codes = [a.code for a in advise(gen_findings(), integrated_lufs=lufs)]
    assert ("too_quiet" in codes) is too_quiet


def test_plain_words_without_units() -> None:
    for code in PRIORITY:
        text = ADVICE_ZH[code]
        assert re.search(r"[0-9]|LUFS|dB|Hz", text, re.IGNORECASE) is None, text
        assert len(text) <= 30
        assert ADVICE_EN[code]


@pytest.mark.parametrize(("found", "expected"), [
    ({"hum": "warn"}, "warn"), ({"hum": "warn", "clipping": "fail"}, "fail"), ({}, "pass")])
def test_verdict(found: dict[str, str], expected: str) -> None:
    assert verdict(gen_findings(**found)) == expected


def test_librarian_figures_are_json_with_units() -> None:
    data = json.loads(json.dumps(figures(gen_findings(noise="warn")), allow_nan=False))
    assert data["noise"]["found"] is True
    assert data["noise"]["noise_floor_dbfs"] == -72.0
    assert data["hum"]["hum_level_dbfs"] is None
    assert data["clipping"]["clip_level_dbfs"] is None
    assert set(data) == {"duration_s", *PRIORITY} - {"too_quiet", "skipped"}
