"""Turn an audio file into a catalogue chapter: master it, store it, describe it.

This is the only service that calls ``recorder`` (the job queue calls it for booth
takes; ``kiosk demo`` and imports call it directly). The source file is only read.
"""

from __future__ import annotations

import errno
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

from flask import current_app

from kiosk.extensions import db
from kiosk.library import catalogue
from kiosk.models import Book, Track
from kiosk.storage import store
from recorder import pipeline, synth
from recorder.errors import NoSpaceError, RecorderError, SilentTakeError
from recorder.presets import DEFAULT, Preset
from recorder.probe import ProbeResult, probe
from recorder.quality import QualityReport
from recorder.tags import TrackTags

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


def master_into_store(source: Path, tags: TrackTags, preset: Preset | None = None) -> StoredAudio:
    """Master ``source`` (to the house standard unless ``preset`` says otherwise) into the store."""
    with tempfile.TemporaryDirectory(dir=work_dir()) as scratch:
        mastered = Path(scratch) / "master.mp3"
        result = pipeline.master(source, mastered, tags=tags, preset=preset or house_preset(), work_dir=scratch)
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

KEEP_TOLERANCE_LU = 1.0  # an import within ±1 LU of the target is not re-encoded
KEEP_MAX_TRUE_PEAK_DBTP = -1.0


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
    """How an import source measured: its codec, loudness and peak, and whether it may be kept."""

    codec: str
    integrated_lufs: float
    true_peak_dbtp: float
    duration_ms: int
    meets_standard: bool
    report: QualityReport


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
    import math

    from recorder.loudness import measure
    from recorder.quality import judge

    preset = house_preset()
    info = probe(path, preset)
    measured = measure(path, preset, work_dir=work_dir(), input_format=info.demuxer)
    level_ok = abs(measured.integrated_lufs - preset.target_lufs) <= KEEP_TOLERANCE_LU
    peak_ok = math.isfinite(measured.true_peak_dbtp) and measured.true_peak_dbtp <= KEEP_MAX_TRUE_PEAK_DBTP
    return SourceLevel(
        codec=info.codec,
        integrated_lufs=measured.integrated_lufs,
        true_peak_dbtp=measured.true_peak_dbtp,
        duration_ms=round(measured.duration_s * 1000),
        meets_standard=level_ok and peak_ok and info.demuxer == "mp3" and info.codec == "mp3",
        report=judge(measured, preset),
    )


def keep_into_store(source: Path, level: SourceLevel) -> StoredAudio:
    """Put an MP3 that already meets the standard into the store unchanged."""
    key = store().put_file(source, "audio", "mp3")
    return StoredAudio(
        key=key,
        duration_ms=level.duration_ms,
        size_bytes=source.stat().st_size,
        loudness_lufs=level.integrated_lufs,
        true_peak_dbtp=level.true_peak_dbtp,
        report=level.report,
    )
