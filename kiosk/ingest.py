"""Turn an audio file into a catalogue chapter: master it, store it, describe it.

This is the only service that calls ``recorder`` (the job queue calls it for booth
takes; ``kiosk demo`` and imports call it directly). The source file is only read.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

from flask import current_app

from recorder import pipeline, synth
from recorder.errors import RecorderError, SilentTakeError
from recorder.presets import DEFAULT, Preset
from recorder.probe import ProbeResult, probe
from recorder.quality import QualityReport
from recorder.tags import TrackTags

from . import catalogue
from .extensions import db
from .models import Book, Track
from .storage import store

MP3_MIME = "audio/mpeg"

# Re-exported so callers handle recorder failures without importing recorder themselves.
__all__ = [
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


def master_into_store(source: Path, tags: TrackTags) -> StoredAudio:
    """Master ``source`` to the house standard and put the MP3 into the store."""
    with tempfile.TemporaryDirectory(dir=work_dir()) as scratch:
        mastered = Path(scratch) / "master.mp3"
        result = pipeline.master(source, mastered, tags=tags, preset=house_preset(), work_dir=scratch)
        key = store().put_file(mastered, "audio", "mp3")
    return StoredAudio(
        key=key,
        duration_ms=result.duration_ms,
        size_bytes=result.size_bytes,
        loudness_lufs=result.integrated_lufs,
        true_peak_dbtp=result.true_peak_dbtp,
        report=result.report,
    )


def add_chapter(book: Book, title: str, reader_name: str, audio: StoredAudio) -> Track:
    """Append a published chapter with ``audio`` to ``book`` (the caller commits)."""
    track = Track(
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
