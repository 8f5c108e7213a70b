"""A full disk is told apart from a broken file: the take is fine, the disk is not."""

from __future__ import annotations

from pathlib import Path

import pytest

from recorder import ffmpeg
from recorder.errors import FfmpegError, NoSpaceError
from tests.helpers import require_tool

FULL_DEVICE = Path("/dev/full")  # every write to it fails with ENOSPC, as on a full disk


def test_ffmpeg_writing_to_a_full_disk_raises_no_space_not_a_decoding_error() -> None:
    require_tool("/dev/full", FULL_DEVICE.exists())
    with pytest.raises(NoSpaceError) as caught:
        ffmpeg.run(["-f", "lavfi", "-i", "sine=frequency=440:duration=5", "-f", "wav", "-y", str(FULL_DEVICE)])
    assert caught.value.code == "no_space"
    assert not isinstance(caught.value, FfmpegError)  # nobody catching FfmpegError calls it "not audio"


def test_a_broken_input_is_still_an_ffmpeg_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    with pytest.raises(FfmpegError):
        ffmpeg.run(["-i", str(broken), "-f", "null", "-"])
