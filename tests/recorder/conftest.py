"""Fixtures for the recorder tests: synthesized takes, made under tmp paths."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from recorder import synth
from recorder.tags import TrackTags
from tests.helpers import require_tool


@pytest.fixture(scope="session")
def takes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A session directory for synthesized takes."""
    return tmp_path_factory.mktemp("takes")


@pytest.fixture(scope="session")
def padded_take(takes: Path) -> Path:
    """12 s of speech-like audio at -23 LUFS between 5 s of digital silence each side."""
    return synth.speechlike(takes / "padded.wav", duration_s=12, level_lufs=-23,
                            pad_head_s=5, pad_tail_s=5)


@pytest.fixture
def espeak_ng() -> None:
    """espeak-ng, the speech synthesiser of the demo: skipped without it (failed under CI)."""
    require_tool("espeak-ng", shutil.which("espeak-ng") is not None, "apt-get install espeak-ng")


@pytest.fixture
def tags() -> TrackTags:
    """Ordinary tags for a booth recording."""
    return TrackTags(title="静夜思", artist="李读者", album="唐诗三首", genre="经典诵读",
                     track_number=2, language="zho", licence="CC BY 4.0",
                     comment="录制于图书馆")
