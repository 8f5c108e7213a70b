"""synth: fixtures and demo audio."""

from __future__ import annotations

from pathlib import Path

import pytest

from recorder import synth
from recorder.errors import EspeakMissingError
from tests.recorder.helpers import decode, integrated_lufs


def test_speechlike_level(tmp_path: Path) -> None:
    path = synth.speechlike(tmp_path / "s.wav", duration_s=10, level_lufs=-30)
    data, rate = decode(path, tmp_path)
    assert integrated_lufs(data, rate) == pytest.approx(-30, abs=1.0)


def test_pleasant_reading_length(tmp_path: Path) -> None:
    path = synth.pleasant_reading(tmp_path / "demo.mp3", duration_s=4, seed=3)
    data, rate = decode(path, tmp_path)
    assert len(data) / rate == pytest.approx(4, abs=0.1)
    assert integrated_lufs(data, rate) > -40


@pytest.mark.usefixtures("espeak_ng")
def test_espeak_speech(tmp_path: Path) -> None:
    path = synth.speech("欢迎来到图书馆", tmp_path / "s.wav", lang="cmn")
    data, rate = decode(path, tmp_path)
    assert len(data) / rate > 0.5


def test_espeak_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(synth.shutil, "which", lambda _name: None)
    with pytest.raises(EspeakMissingError):
        synth.speech("你好", tmp_path / "s.wav")
    path = synth.pleasant_reading(tmp_path / "d.wav", duration_s=2, text="你好")
    assert path.stat().st_size > 1000
