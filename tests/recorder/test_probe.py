"""probe: judge files by content with ffmpeg alone."""

from __future__ import annotations

import os
import zlib
from pathlib import Path

import pytest

from recorder import synth
from recorder.errors import NotAudioError, TooLargeError
from recorder.presets import Preset
from recorder.probe import probe


def _png_bytes() -> bytes:
    """A valid 1x1 PNG."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (len(data).to_bytes(4, "big") + kind + data
                + zlib.crc32(kind + data).to_bytes(4, "big"))
    ihdr = (1).to_bytes(4, "big") * 2 + bytes([8, 0, 0, 0, 0])
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(b"\0\0")) + chunk(b"IEND", b""))


def test_wav_described(tmp_path: Path) -> None:
    path = synth.tone(tmp_path / "t.wav", duration_s=2, sample_rate_hz=8000)
    result = probe(path)
    assert (result.format_name, result.codec, result.sample_rate_hz, result.channels) == (
        "wav", "pcm_s16le", 8000, 1)
    assert result.duration_s == pytest.approx(2.0, abs=0.05)


def test_mp3_judged_by_content_not_name(tmp_path: Path) -> None:
    path = synth.tone(tmp_path / "t.mp3", duration_s=1, channels=2)
    renamed = path.rename(tmp_path / "t.png")
    result = probe(renamed)
    assert (result.codec, result.channels) == ("mp3", 2)


@pytest.mark.parametrize("content", [b"", _png_bytes(), os.urandom(64 * 1024), b"ID3" + bytes(500)],
                         ids=["empty", "png", "random", "id3-only"])
def test_not_audio(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "take.mp3"
    path.write_bytes(content)
    with pytest.raises(NotAudioError) as info:
        probe(path)
    assert info.value.code == "not_audio"
    assert info.value.message_zh == "文件不是可识别的音频"


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(NotAudioError):
        probe(tmp_path / "nope.wav")


def test_too_large(tmp_path: Path) -> None:
    path = synth.tone(tmp_path / "t.wav", duration_s=1)
    with pytest.raises(TooLargeError) as info:
        probe(path, Preset(max_size_bytes=1000))
    assert info.value.code == "too_large"
