"""Identify a file's audio by content (not extension), using ffmpeg alone.

imageio-ffmpeg ships no ffprobe, so we ask ffmpeg to open the file and decode its first
half second of audio to nowhere: that proves the file is decodable audio, and the input
banner on stderr tells us the container, codec, rate, channels and claimed duration.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from recorder import ffmpeg
from recorder.errors import FfmpegError, NotAudioError, TooLargeError
from recorder.presets import DEFAULT, Preset

PROBE_DECODE_S = 0.5
PROBE_TIMEOUT_S = 60.0
ESTIMATED_DURATION = "Estimating duration from bitrate"
WAV_HEADER_SCAN_BYTES = 64 * 1024

_INPUT_RE = re.compile(r"^Input #0, ([^,]+(?:,[^,]+)*?), from ", re.MULTILINE)
_DURATION_RE = re.compile(r"Duration: (\d+):(\d{2}):(\d{2}(?:\.\d+)?)")
_AUDIO_RE = re.compile(r"Stream #0:\d+[^:]*: Audio: (.+)$", re.MULTILINE)
_RATE_RE = re.compile(r"(\d+) Hz")
_LAYOUT_CHANNELS = {"mono": 1, "stereo": 2, "2.1": 3, "quad": 4, "5.0": 5, "5.1": 6, "7.1": 8}


@dataclass(frozen=True)
class ProbeResult:
    """What ffmpeg says about a file's first audio stream.

    Attributes:
        format_name: Demuxer name(s), e.g. ``"mp3"`` or ``"mov,mp4,m4a,3gp,3g2,mj2"``.
        codec: Audio codec name, e.g. ``"mp3"``, ``"pcm_s24le"``.
        sample_rate_hz: Sample rate of the stream.
        channels: Channel count (0 if ffmpeg did not say).
        duration_s: Duration claimed by the container, or None when unknown.
        duration_estimated: ffmpeg only estimated ``duration_s`` from the bitrate.
        has_audio: Always True for a returned result (otherwise NotAudioError is raised).
        size_bytes: Size of the file.
    """

    format_name: str
    codec: str
    sample_rate_hz: int
    channels: int
    duration_s: float | None
    has_audio: bool
    size_bytes: int
    duration_estimated: bool = False

    @property
    def demuxer(self) -> str:
        """The demuxer to pin when decoding this file again (``-f``)."""
        return self.format_name.split(",")[0]


def probe(path: str | os.PathLike[str], preset: Preset = DEFAULT) -> ProbeResult:
    """Open ``path`` with ffmpeg, decode a little audio and describe it.

    Args:
        path: The file to inspect. It is only read.
        preset: Supplies ``max_size_bytes``.

    Raises:
        NotAudioError: Empty, unreadable, no audio stream, or not decodable.
        TooLargeError: Bigger than ``preset.max_size_bytes``.
    """
    file = Path(path)
    try:
        size_bytes = file.stat().st_size
    except OSError as exc:
        raise NotAudioError(f"cannot read {file}: {exc}") from exc
    if size_bytes == 0:
        raise NotAudioError(f"{file} is empty")
    if size_bytes > preset.max_size_bytes:
        raise TooLargeError(f"{file} is {size_bytes} bytes > {preset.max_size_bytes}")
    with _neutral_name(file) as neutral:
        argv = ["-i", str(neutral), "-map", "0:a:0", "-t", str(PROBE_DECODE_S), "-f", "null", "-"]
        try:
            proc = ffmpeg.run(argv, timeout_s=PROBE_TIMEOUT_S, label="probe")
        except FfmpegError as exc:
            raise NotAudioError(f"{file} is not decodable audio: {exc.stderr_tail[-300:]}") from exc
    info = parse_banner(proc.stderr, size_bytes=size_bytes)
    if info.demuxer == "wav" and info.duration_estimated:
        claimed_s = wav_header_seconds(file)
        if claimed_s is not None:  # ffmpeg clamps a data size larger than the file: we don't
            info = replace(info, duration_s=claimed_s, duration_estimated=False)
    return info


def wav_header_seconds(path: Path) -> float | None:
    """The duration a RIFF/WAVE header states (data size over byte rate), or None.

    None for a streaming header (size 0 or 0xFFFFFFFF) or one we cannot read.
    """
    try:
        with path.open("rb") as handle:
            head = handle.read(WAV_HEADER_SCAN_BYTES)
    except OSError:
        return None
    if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return None
    byte_rate, at = 0, 12
    while at + 8 <= len(head):
        chunk, size = head[at:at + 4], int.from_bytes(head[at + 4:at + 8], "little")
        if chunk == b"fmt " and at + 20 <= len(head):
            byte_rate = int.from_bytes(head[at + 16:at + 20], "little")
        if chunk == b"data":
            unknown = size in (0, 0xFFFFFFFF) or byte_rate <= 0
            return None if unknown else size / byte_rate
        at += 8 + size + (size & 1)
    return None


@contextlib.contextmanager
def _neutral_name(file: Path) -> Iterator[Path]:
    """A symlink without extension, so ffmpeg detects the format by content alone.

    (ffmpeg lets an image extension such as ``.png`` outvote the bytes.) Falls back to
    the real path where symlinks are not possible.
    """
    with tempfile.TemporaryDirectory(prefix="probe-") as tmp:
        link = Path(tmp) / "input"
        try:
            link.symlink_to(file.resolve())
        except OSError:
            link = file
        yield link


def parse_banner(stderr: str, *, size_bytes: int) -> ProbeResult:
    """Parse the ``Input #0`` section of ffmpeg's stderr into a ProbeResult.

    Raises:
        NotAudioError: The banner shows no audio stream.
    """
    section = _input_section(stderr)
    fmt = _INPUT_RE.search(section)
    audio = _AUDIO_RE.search(section)
    if fmt is None or audio is None:
        raise NotAudioError("no audio stream found")
    fields = [f.strip() for f in audio.group(1).split(",")]
    codec = fields[0].split(" ")[0]
    rate = _RATE_RE.search(audio.group(1))
    return ProbeResult(
        format_name=fmt.group(1),
        codec=codec,
        sample_rate_hz=int(rate.group(1)) if rate else 0,
        channels=_channels(fields),
        duration_s=_duration(section),
        has_audio=True,
        size_bytes=size_bytes,
        duration_estimated=ESTIMATED_DURATION in stderr,
    )


def _input_section(stderr: str) -> str:
    """Return stderr from ``Input #0`` up to the output/mapping part."""
    start = stderr.find("Input #0")
    if start < 0:
        return ""
    end_candidates = [i for i in (stderr.find("Stream mapping", start),
                                  stderr.find("Output #0", start)) if i >= 0]
    return stderr[start:min(end_candidates)] if end_candidates else stderr[start:]


def _duration(section: str) -> float | None:
    """Return the container's claimed duration in seconds, or None for ``N/A``."""
    match = _DURATION_RE.search(section)
    if not match:
        return None
    hours, minutes, seconds = match.groups()
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def _channels(fields: list[str]) -> int:
    """Return the channel count from a stream description's comma fields."""
    for field in fields:
        name = field.split("(")[0].strip()
        if name in _LAYOUT_CHANNELS:
            return _LAYOUT_CHANNELS[name]
        match = re.fullmatch(r"(\d+) channels", name)
        if match:
            return int(match.group(1))
    return 0
