"""Encode a filter chain's output to CBR MP3, writing atomically into place."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from recorder import ffmpeg
from recorder.loudness import input_args
from recorder.presets import DEFAULT, Preset

ENCODE_SPEED_FLOOR_X = 5.0  # an encode slower than 5x real time is stuck


@contextlib.contextmanager
def atomic_path(destination: str | os.PathLike[str], *, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside ``destination``; move it into place on success.

    On any exception the temporary file is removed and ``destination`` is untouched, so a
    half-written file never appears under the final name.
    """
    dest = Path(destination)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.stem}.", suffix=suffix or dest.suffix,
                                    dir=dest.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def mp3_argv(
    input_path: Path, output_path: Path, *, filter_chain: str, cap_s: float, preset: Preset,
    input_format: str | None = None,
) -> list[str]:
    """The ffmpeg arguments for one decode → filter → MP3 encode pass.

    Bit-exact flags and no ffmpeg-written metadata make the output a pure function of
    the input, so re-running a job reproduces the same bytes; tags are added afterwards.
    """
    return [
        "-y", *input_args(input_path, cap_s, input_format),
        "-map", "0:a:0", "-vn", "-sn", "-dn", "-map_metadata", "-1", "-map_chapters", "-1",
        "-af", filter_chain,
        "-ar", str(preset.sample_rate_hz), "-ac", str(preset.channels),
        "-c:a", "libmp3lame", "-b:a", f"{preset.bitrate_kbps}k", "-abr", "0",
        "-fflags", "+bitexact", "-flags:a", "+bitexact",
        "-id3v2_version", "0", "-write_id3v1", "0", "-write_xing", "1",
        "-f", "mp3", str(output_path),
    ]


def encode_mp3(
    input_path: str | os.PathLike[str],
    output_path: str | os.PathLike[str],
    *,
    filter_chain: str,
    preset: Preset = DEFAULT,
    input_format: str | None = None,
) -> Path:
    """Decode ``input_path``, apply ``filter_chain`` and write a CBR MP3 atomically.

    Args:
        input_path: Source audio (only read).
        output_path: Destination; replaced atomically when the encode succeeds.
        filter_chain: An ffmpeg ``-af`` chain (see ``recorder.steps``).
        preset: Sample rate, channels, bitrate and the decode cap.
        input_format: Demuxer to force (from ``ProbeResult.demuxer``).

    Raises:
        FfmpegError: The encode failed or timed out; ``output_path`` is untouched.
    """
    output = Path(output_path)
    cap_s = preset.max_duration_s + 1
    with atomic_path(output) as tmp:
        argv = mp3_argv(Path(input_path), tmp, filter_chain=filter_chain, cap_s=cap_s,
                        preset=preset, input_format=input_format)
        ffmpeg.run(argv, timeout_s=60.0 + cap_s / ENCODE_SPEED_FLOOR_X)
    return output
