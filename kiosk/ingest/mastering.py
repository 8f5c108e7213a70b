"""Turn an audio file into a catalogue chapter: master it, store it, describe it.

This and ``pictures`` are the ingest's only modules that call ``recorder`` (the job queue calls
this for booth takes; ``kiosk demo`` and imports call it directly). The source file is only read.
"""

from __future__ import annotations

import errno
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

from flask import current_app

from kiosk.extensions import db
from kiosk.ingest import pictures
from kiosk.library import catalogue
from kiosk.models import Book, Track
from kiosk.storage import store
from recorder import pipeline, synth
from recorder.errors import NoSpaceError, RecorderError, SilentTakeError
from recorder.loudness import Measurement
from recorder.presets import DEFAULT, Preset
from recorder.probe import ProbeResult, probe
from recorder.quality import QualityReport
from recorder.tags import TrackTags, has_pictures

MP3_MIME = "audio/mpeg"

# Re-exported so callers handle recorder failures without importing recorder themselves.
__all__ = [
    "NoSpaceError",
    "ProbeResult",
    "QualityReport",
    "RecorderError",
    "SilentTakeError",
    "StoredAudio",
    "TrackTags",
    "add_chapter",
    "master_into_store",
    "probe_upload",
]


def is_disk_full(error: BaseException) -> bool:
    """Whether ``error`` is a full disk (from ffmpeg or from our own writes), not a fault of the audio."""
    return isinstance(error, NoSpaceError) or (isinstance(error, OSError) and error.errno == errno.ENOSPC)


@dataclass(frozen=True)
class StoredAudio:
    """A mastered recording in the media store, with what was measured of it."""

    key: str
    duration_ms: int
    size_bytes: int
    loudness_lufs: float
    true_peak_dbtp: float
    report: QualityReport


def house_preset() -> Preset:
    """The mastering preset with this library's loudness target (``KIOSK_LOUDNESS_TARGET``)."""
    return replace(DEFAULT, target_lufs=float(current_app.config["KIOSK_LOUDNESS_TARGET"]))


def work_dir() -> Path:
    """A scratch directory on the same filesystem as the store, so renames stay atomic."""
    return store().scratch_dir()


def probe_upload(path: Path) -> ProbeResult:
    """Judge an upload by its content (never its name or MIME type); raises ``RecorderError``."""
    return probe(path, house_preset())


def master_into_store(source: Path, tags: TrackTags, preset: Preset | None = None, *,
                      text: str | None = None) -> StoredAudio:
    """Master ``source`` (to the house standard unless ``preset`` says otherwise) into the store.

    ``text``: what was read aloud (a booth text), so the quality report can tell a reading
    much too short for it. The report (figures, findings, advice) comes back in ``report``.
    """
    with tempfile.TemporaryDirectory(dir=work_dir()) as scratch:
        mastered = Path(scratch) / "master.mp3"
        result = pipeline.master(source, mastered, tags=tags, preset=preset or house_preset(), work_dir=scratch,
                                 text=text)
        key = store().put_file(mastered, "audio", "mp3")
    return StoredAudio(
        key=key,
        duration_ms=result.duration_ms,
        size_bytes=result.size_bytes,
        loudness_lufs=result.integrated_lufs,
        true_peak_dbtp=result.true_peak_dbtp,
        report=result.report,
    )


def add_chapter(book: Book, title: str, reader_name: str, audio: StoredAudio, *, published: bool = True) -> Track:
    """Append a chapter (published unless told) with ``audio`` to ``book`` (the caller commits)."""
    track = Track(
        published=published,
        book=book,
        position=max((t.position for t in book.tracks), default=0) + 1,
        title=title,
        reader=catalogue.reader_named(reader_name) if reader_name.strip() else None,
        duration_ms=audio.duration_ms,
        audio_key=audio.key,
        size_bytes=audio.size_bytes,
        mime_type=MP3_MIME,
        loudness_lufs=audio.loudness_lufs,
        true_peak_dbtp=audio.true_peak_dbtp,
    )
    db.session.add(track)
    db.session.flush()
    catalogue.refresh_book_index(book)
    return track


def synthesise_reading(out_path: Path, *, text: str, fallback_s: float, seed: int) -> Path:
    """A demo reading of ``text``: espeak-ng speech when installed, calm chimes otherwise."""
    return synth.pleasant_reading(out_path, duration_s=fallback_s, seed=seed, text=text)


# ---- bulk import: read what a file says about itself, keep it when it already meets the standard ----
# (Imports are local to keep this block append-only while others edit the top of the module.)

# A file is kept as it is only when it meets the whole house standard (the preset): the
# codec and format of our own masters, loudness and true peak within the tolerance, room
# tone at both ends, and ID3v2.4 tags. Anything less is mastered.
KEEP_ID3_MAJOR_VERSION = 4
HEAD_TOLERANCE_S = 0.1
TAIL_RANGE_S = (1.0, 2.0)


@dataclass(frozen=True)
class SourceTags:
    """What an audio file's own tags say (strings exactly as found; "" when absent)."""

    title: str
    artist: str
    album: str
    track_number: int | None
    cover: bytes | None
    duration_s: float | None


@dataclass(frozen=True)
class SourceLevel:
    """How an import source measured: its codec, loudness and peak, and whether it may be kept.

    ``shortfalls`` names each part of the standard the file misses (empty: it may be kept).
    """

    codec: str
    integrated_lufs: float
    true_peak_dbtp: float
    duration_ms: int
    meets_standard: bool
    report: QualityReport
    shortfalls: tuple[str, ...] = ()


def read_source_tags(path: Path) -> SourceTags:
    """Tags of an audio file (MP3, M4A/M4B, FLAC, OGG, OPUS, WAV); ``RecorderError`` if unreadable."""
    from recorder.tags import read_tags

    found = read_tags(path)
    return SourceTags(
        title=found.title.strip(), artist=found.artist.strip(), album=found.album.strip(),
        track_number=found.track_number, cover=found.cover, duration_s=found.duration_s,
    )


def measure_source(path: Path) -> SourceLevel:
    """Probe and measure ``path`` once (``RecorderError`` when it is not decodable audio)."""
    from recorder.loudness import measure
    from recorder.quality import judge

    preset = house_preset()
    info = probe(path, preset)
    # Without the rumble filter: a filter's phase shift lifts the peaks of a limited master.
    measured = measure(path, replace(preset, highpass_hz=0), work_dir=work_dir(), input_format=info.demuxer)
    shortfalls = (*format_shortfalls(path, info, preset), *level_shortfalls(measured, preset))
    return SourceLevel(
        codec=info.codec,
        integrated_lufs=measured.integrated_lufs,
        true_peak_dbtp=measured.true_peak_dbtp,
        duration_ms=round(measured.duration_s * 1000),
        meets_standard=not shortfalls,
        report=judge(measured, preset),
        shortfalls=shortfalls,
    )


def format_shortfalls(path: Path, info: ProbeResult, preset: Preset) -> list[str]:
    """Where a file's format differs from our masters': MP3, CBR at the bitrate, rate, mono, ID3v2.4."""
    from mutagen import MutagenError
    from mutagen.id3 import ID3, ID3NoHeaderError
    from mutagen.mp3 import MP3, BitrateMode

    if info.demuxer != "mp3" or info.codec != "mp3":
        return ["codec"]
    found: list[str] = []
    try:
        stream = MP3(path).info
        try:
            id3_major = ID3(path).version[1]
        except ID3NoHeaderError:
            id3_major = 0
    except MutagenError:
        return ["codec"]
    if stream is None:
        return ["codec"]
    if stream.bitrate_mode not in (BitrateMode.CBR, BitrateMode.UNKNOWN) \
            or round(stream.bitrate / 1000) != preset.bitrate_kbps:
        found.append("bitrate")
    if (stream.sample_rate, stream.channels) != (preset.sample_rate_hz, preset.channels):
        found.append("format")
    if id3_major != KEEP_ID3_MAJOR_VERSION:
        found.append("tags")
    return found


def level_shortfalls(measured: Measurement, preset: Preset) -> list[str]:
    """Where a file's loudness, true peak or room tone at either end miss the standard."""
    import math

    found: list[str] = []
    if abs(measured.integrated_lufs - preset.target_lufs) > preset.tolerance_lu:
        found.append("loudness")
    if not math.isfinite(measured.true_peak_dbtp) or measured.true_peak_dbtp > preset.true_peak_ceiling_dbtp:
        found.append("peak")
    if not measured.has_speech or measured.last_speech_end_s is None or measured.first_speech_s is None:
        return [*found, "room_tone"]
    head_s = measured.first_speech_s
    tail_s = measured.duration_s - measured.last_speech_end_s
    head_ok = abs(head_s - preset.head_room_tone_s) <= HEAD_TOLERANCE_S
    edges_ok = head_ok and TAIL_RANGE_S[0] <= tail_s <= TAIL_RANGE_S[1]
    if not edges_ok or measured.room_tone_s is None:  # no live room tone: cut short, or digital silence
        found.append("room_tone")
    return found


def keep_into_store(source: Path, level: SourceLevel) -> StoredAudio:
    """Put an MP3 that already meets the standard into the store: its audio and tags as they are,
    but for a picture in its tag, which is left out (``kiosk.ingest.pictures``)."""
    if has_pictures(source):
        stripped = pictures.store_without_pictures(source)
        key, size_bytes = stripped.key, stripped.size_bytes
    else:
        key, size_bytes = store().put_file(source, "audio", "mp3"), source.stat().st_size
    return StoredAudio(
        key=key,
        duration_ms=level.duration_ms,
        size_bytes=size_bytes,
        loudness_lufs=level.integrated_lufs,
        true_peak_dbtp=level.true_peak_dbtp,
        report=level.report,
    )
