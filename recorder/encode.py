"""Encode a filter chain's output to CBR MP3 and measure what was encoded, in one run.

The encoded stream is decoded again inside the same ffmpeg (a loopback decoder, ``-dec``)
and metered with true peak, so verifying the MP3 costs no second process, no second read
of the file, and runs on the other core while LAME encodes.
"""

from __future__ import annotations

import contextlib
import math
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from recorder import ffmpeg, steps
from recorder.loudness import parse_summary
from recorder.presets import DEFAULT, Preset

ENCODE_SPEED_FLOOR_X = 5.0  # an encode slower than 5x real time is stuck


@dataclass(frozen=True)
class EncodedLevels:
    """Loudness, true peak and loudness range of an MP3 as encoded (its own bitstream decoded again)."""

    integrated_lufs: float
    true_peak_dbtp: float
    loudness_range_lu: float = math.nan


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
    inputs: list[str], output_path: Path, *, filter_graph: str, output_label: str,
    preset: Preset,
) -> list[str]:
    """The ffmpeg arguments for one decode → filter → MP3 encode → verify pass.

    Bit-exact flags and no ffmpeg-written metadata make the output a pure function of
    the input, so re-running a job reproduces the same bytes; tags are added afterwards.
    The second output meters the encoded stream through a loopback decoder.
    """
    return [
        "-y", *inputs,
        "-filter_complex", filter_graph, "-map", output_label,
        "-map_metadata", "-1", "-map_chapters", "-1",
        "-ar", str(preset.sample_rate_hz), "-ac", str(preset.channels),
        "-c:a", "libmp3lame", "-b:a", f"{preset.bitrate_kbps}k", "-abr", "0",
        "-compression_level", str(preset.mp3_compression_level),
        "-fflags", "+bitexact", "-flags:a", "+bitexact",
        "-id3v2_version", "0", "-write_id3v1", "0", "-write_xing", "1",
        "-f", "mp3", str(output_path),
        "-dec", "0:0", "-filter_complex", f"[dec:0]{steps.loudness_meter(true_peak=True)}[verify]",
        "-map", "[verify]", "-f", "null", "-",
    ]


def encode_mp3(
    inputs: list[str],
    output_path: str | os.PathLike[str],
    *,
    filter_graph: str,
    output_label: str,
    preset: Preset = DEFAULT,
) -> EncodedLevels:
    """Decode the inputs, run ``filter_graph``, write its ``output_label`` as CBR MP3, meter it.

    Args:
        inputs: Input options, each ending in ``-i PATH`` (``loudness.input_args`` for a
            take, ``loudness.raw_input_args`` for its kept conditioned signal).
        output_path: Destination; replaced atomically when the encode succeeds.
        filter_graph: An ffmpeg ``-filter_complex`` graph (see ``recorder.steps``).
        output_label: The graph's output to encode, e.g. ``"[master]"``.
        preset: Sample rate, channels, bitrate and the decode cap.

    Returns:
        Integrated loudness and true peak of the encoded MP3.

    Raises:
        FfmpegError: The encode failed or timed out; ``output_path`` is untouched.
    """
    cap_s = preset.max_duration_s + 1
    with atomic_path(Path(output_path)) as tmp:
        argv = mp3_argv(inputs, tmp, filter_graph=filter_graph, output_label=output_label,
                        preset=preset)
        proc = ffmpeg.run(argv, timeout_s=60.0 + cap_s / ENCODE_SPEED_FLOOR_X, label="encode")
    summary = parse_summary(proc.stderr)
    return EncodedLevels(summary["integrated_lufs"], summary["true_peak_dbtp"], summary["loudness_range_lu"])
