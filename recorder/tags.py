"""Write ID3v2.4 tags to a mastered MP3, and read basic tags from common audio formats.

A master carries no picture in its tag. Chromium's ``<audio>`` (FFmpeg's demuxer) makes an
attached picture a stream of its own and reports the MP3 playable only after about a minute of
audio has arrived, so on a slow line a chapter with a 12 KB cover in its tag waited 2.7–4.5 s
from the tap to sound, and 0.3–0.5 s without it (bench/results.md, "Listener pages"). The cover
reaches listeners on the page, in the feeds' artwork, beside the MP3s in an export and on the
lock screen through the Media Session API instead.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import mutagen
from mutagen.flac import FLAC
from mutagen.id3 import (
    COMM,
    ID3,
    TALB,
    TCON,
    TCOP,
    TIT2,
    TLAN,
    TPE1,
    TRCK,
    TXXX,
    WCOP,
    ID3NoHeaderError,
)
from mutagen.mp4 import MP4
from mutagen.oggopus import OggOpus
from mutagen.oggvorbis import OggVorbis

from recorder.errors import NotAudioError


@dataclass(frozen=True)
class TrackTags:
    """Tags for a mastered recording. Strings are stored exactly as given.

    Attributes:
        title: Track title (TIT2).
        artist: The reader (TPE1).
        album: The book (TALB).
        genre: The library section (TCON).
        track_number: Chapter or part number (TRCK).
        language: ISO 639-2 code (TLAN), e.g. ``"zho"``.
        licence: Licence text (TCOP), e.g. ``"CC BY 4.0"``.
        licence_url: Licence URL (WCOP), optional.
        comment: Free comment (COMM).
    """

    title: str = ""
    artist: str = ""
    album: str = ""
    genre: str = ""
    track_number: int | None = None
    language: str = "zho"
    licence: str = ""
    licence_url: str = ""
    comment: str = ""


@dataclass(frozen=True)
class ReadTags:
    """Basic tags read from an existing audio file (for bulk import).

    Attributes:
        title: Title or "".
        artist: Artist or "".
        album: Album or "".
        track_number: Track number, if present and numeric.
        cover: Embedded front cover bytes, if any.
        duration_s: Duration according to the file's headers, if known.
    """

    title: str = ""
    artist: str = ""
    album: str = ""
    track_number: int | None = None
    cover: bytes | None = None
    duration_s: float | None = None


def write_tags(path: str | os.PathLike[str], tags: TrackTags) -> None:
    """Replace all ID3 tags of the MP3 at ``path`` (pictures included) with ``tags`` (ID3v2.4)."""
    try:
        id3 = ID3(path)
        id3.clear()
    except ID3NoHeaderError:
        id3 = ID3()
    for frame in _frames(tags):
        id3.add(frame)
    id3.save(path, v2_version=4, v1=0)


def _frames(tags: TrackTags) -> list[mutagen.id3.Frame]:
    """The ID3 frames for ``tags``, skipping empty fields."""
    utf8 = 3
    frames: list[mutagen.id3.Frame] = []
    text_frames = ((TIT2, tags.title), (TPE1, tags.artist), (TALB, tags.album),
                   (TCON, tags.genre), (TLAN, tags.language), (TCOP, tags.licence))
    for cls, value in text_frames:
        if value:
            frames.append(cls(encoding=utf8, text=[value]))
    if tags.track_number is not None:
        frames.append(TRCK(encoding=utf8, text=[str(tags.track_number)]))
    if tags.licence:
        frames.append(TXXX(encoding=utf8, desc="LICENSE", text=[tags.licence]))
    if tags.licence_url:
        frames.append(WCOP(url=tags.licence_url))
    if tags.comment:
        frames.append(COMM(encoding=utf8, lang=_lang3(tags.language), desc="", text=[tags.comment]))
    return frames


def _lang3(language: str) -> str:
    """A three-letter ID3 language code (``"und"`` if unusable)."""
    return language if len(language) == 3 and language.isascii() else "und"


def has_pictures(path: str | os.PathLike[str]) -> bool:
    """Whether the MP3 at ``path`` has a picture (APIC) in its ID3v2 tag."""
    try:
        return bool(ID3(path).getall("APIC"))
    except ID3NoHeaderError:
        return False


def strip_pictures(path: str | os.PathLike[str]) -> bool:
    """Remove every picture from the ID3v2 tag of the MP3 at ``path``, in place; whether any was.

    The other frames and the audio frames after the tag are left exactly as they were.
    """
    try:
        id3 = ID3(path)
    except ID3NoHeaderError:
        return False
    if not id3.getall("APIC"):
        return False
    id3.delall("APIC")
    # v1=1: an ID3v1 tag the file had stays, none is added. No padding: mutagen would otherwise
    # keep the picture's bytes as zeros in a long file, for every listener to download.
    id3.save(path, v2_version=4, v1=1, padding=lambda _info: 0)
    return True


def audio_offset(path: str | os.PathLike[str]) -> int:
    """Where the audio of the MP3 at ``path`` starts: the size of its ID3v2 tag (0 without one)."""
    try:
        return int(ID3(path).size)
    except ID3NoHeaderError:
        return 0


def read_tags(path: str | os.PathLike[str]) -> ReadTags:
    """Read title, artist, album, track, cover and duration from MP3/M4A/M4B/FLAC/OGG/OPUS/WAV.

    Raises:
        NotAudioError: mutagen does not recognise the file.
    """
    try:
        audio = mutagen.File(Path(path))
    except mutagen.MutagenError as exc:
        raise NotAudioError(f"cannot read tags of {path}: {exc}") from exc
    if audio is None:
        raise NotAudioError(f"unrecognised audio file {path}")
    duration = getattr(audio.info, "length", None)
    base = ReadTags(duration_s=float(duration) if duration else None)
    if isinstance(audio, MP4):
        return _from_mp4(audio, base)
    if isinstance(audio, FLAC | OggVorbis | OggOpus):
        return _from_vorbis(audio, base)
    if isinstance(audio.tags, ID3):
        return _from_id3(audio.tags, base)
    return base


def _from_id3(id3: ID3, base: ReadTags) -> ReadTags:
    """Tags from an ID3 block (MP3, WAV, AIFF)."""
    covers = id3.getall("APIC")
    return ReadTags(
        title=_first(id3.get("TIT2")),
        artist=_first(id3.get("TPE1")),
        album=_first(id3.get("TALB")),
        track_number=_track(_first(id3.get("TRCK"))),
        cover=covers[0].data if covers else None,
        duration_s=base.duration_s,
    )


def _from_mp4(audio: MP4, base: ReadTags) -> ReadTags:
    """Tags from an MP4/M4A/M4B atom list."""
    tags: Mapping[str, Any] = audio.tags or {}
    track = tags.get("trkn")
    covers = tags.get("covr")
    return ReadTags(
        title=_first(tags.get("\xa9nam")),
        artist=_first(tags.get("\xa9ART")),
        album=_first(tags.get("\xa9alb")),
        track_number=track[0][0] if track and track[0][0] else None,
        cover=bytes(covers[0]) if covers else None,
        duration_s=base.duration_s,
    )


def _from_vorbis(audio: FLAC | OggVorbis | OggOpus, base: ReadTags) -> ReadTags:
    """Tags from Vorbis comments (FLAC, Ogg Vorbis, Opus)."""
    tags = cast("Mapping[str, Any]", audio.tags or {})  # a FLAC's tags block is its Vorbis comment
    pictures = getattr(audio, "pictures", [])
    return ReadTags(
        title=_first(tags.get("title")),
        artist=_first(tags.get("artist")),
        album=_first(tags.get("album")),
        track_number=_track(_first(tags.get("tracknumber"))),
        cover=pictures[0].data if pictures else None,
        duration_s=base.duration_s,
    )


def _first(value: object) -> str:
    """First text value of a frame or list, or ""."""
    if value is None:
        return ""
    items = getattr(value, "text", value)
    if isinstance(items, list | tuple):
        return str(items[0]) if items else ""
    return str(items)


def _track(text: str) -> int | None:
    """Track number from ``"3"`` or ``"3/12"``."""
    head = text.split("/")[0].strip()
    return int(head) if head.isdigit() else None
