"""tags: ID3v2.4 written literally, read back by mutagen and by ffmpeg; read_tags formats."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from mutagen.id3 import APIC, ID3, TALB, TIT2, TPE1, TRCK
from mutagen.wave import WAVE

from recorder import synth
from recorder.tags import TrackTags, audio_offset, has_pictures, read_tags, strip_pictures, write_tags
from tests.recorder.helpers import ffmpeg, ffmpeg_metadata

JPEG = b"\xff\xd8\xff\xe0" + bytes(64)


@pytest.fixture
def mp3(tmp_path: Path) -> Path:
    return synth.tone(tmp_path / "t.mp3", duration_s=1)


def test_frames_written(mp3: Path, tags: TrackTags) -> None:
    write_tags(mp3, replace(tags, licence_url="https://creativecommons.org/licenses/by/4.0/"))
    id3 = ID3(mp3)
    assert id3.version[:2] == (2, 4)
    assert str(id3["TIT2"]) == "静夜思"
    assert str(id3["TPE1"]) == "李读者"
    assert str(id3["TALB"]) == "唐诗三首"
    assert str(id3["TCON"]) == "经典诵读"
    assert str(id3["TRCK"]) == "2"
    assert str(id3["TLAN"]) == "zho"
    assert str(id3["TCOP"]) == "CC BY 4.0"
    assert id3["WCOP"].url.startswith("https://creativecommons.org")
    assert not id3.getall("APIC")  # no picture: it holds Chromium's <audio> back (module docstring)
    meta = ffmpeg_metadata(mp3)
    assert meta["title"] == "静夜思"
    assert meta["album"] == "唐诗三首"


def test_hostile_and_long_strings_literal(mp3: Path) -> None:
    script = "<script>alert('x')</script>&amp;"
    long_text = "长" * 2000
    write_tags(mp3, TrackTags(title=script, artist=long_text, comment=long_text))
    assert str(ID3(mp3)["TIT2"]) == script
    assert str(ID3(mp3)["TPE1"]) == long_text
    meta = ffmpeg_metadata(mp3)
    assert meta["title"] == script
    assert meta["artist"] == long_text


def test_rewrite_replaces_old_tags(mp3: Path, tags: TrackTags) -> None:
    write_tags(mp3, tags)
    write_tags(mp3, TrackTags(title="新"))
    id3 = ID3(mp3)
    assert str(id3["TIT2"]) == "新"
    assert "TALB" not in id3


def _with_picture(mp3: Path) -> Path:
    id3 = ID3()
    id3.add(TIT2(encoding=3, text=["有封面"]))
    id3.add(APIC(encoding=3, mime="image/jpeg", type=3, desc="Cover", data=JPEG * 200))
    id3.save(mp3, v2_version=3)
    return mp3


def test_write_tags_drops_a_picture_the_file_had(mp3: Path) -> None:
    write_tags(_with_picture(mp3), TrackTags(title="新"))
    assert not has_pictures(mp3)
    assert str(ID3(mp3)["TIT2"]) == "新"


def test_strip_pictures_keeps_other_frames_and_every_audio_byte(mp3: Path) -> None:
    _with_picture(mp3)
    audio_before = mp3.read_bytes()[audio_offset(mp3):]
    assert has_pictures(mp3)
    assert strip_pictures(mp3) is True
    assert not has_pictures(mp3)
    assert str(ID3(mp3)["TIT2"]) == "有封面"
    assert mp3.read_bytes()[audio_offset(mp3):] == audio_before
    assert strip_pictures(mp3) is False  # nothing left to do
    assert ffmpeg_metadata(mp3)["title"] == "有封面"


def test_strip_pictures_without_a_tag(mp3: Path) -> None:
    before = mp3.read_bytes()
    if audio_offset(mp3):
        ID3(mp3).delete(mp3)
        before = mp3.read_bytes()
    assert strip_pictures(mp3) is False
    assert mp3.read_bytes() == before


@pytest.mark.parametrize("suffix", [".mp3", ".m4a", ".m4b", ".flac", ".ogg", ".opus", ".wav"])
def test_read_tags_formats(tmp_path: Path, suffix: str) -> None:
    source = synth.tone(tmp_path / "src.wav", duration_s=2)
    out = tmp_path / f"tagged{suffix}"
    extra = ["-f", "ipod"] if suffix == ".m4b" else []
    ffmpeg("-i", str(source), "-metadata", "title=标题", "-metadata", "artist=读者",
           "-metadata", "album=书", "-metadata", "track=3/9", *extra, str(out))
    if suffix == ".wav":  # taggers put ID3 in WAV; ffmpeg writes RIFF INFO, which we skip
        wave = WAVE(out)
        wave.add_tags()
        for frame in (TIT2(text=["标题"]), TPE1(text=["读者"]), TALB(text=["书"]),
                      TRCK(text=["3/9"])):
            wave.tags.add(frame)
        wave.save()
    result = read_tags(out)
    assert (result.title, result.artist, result.album, result.track_number) == (
        "标题", "读者", "书", 3)
    assert result.duration_s == pytest.approx(2.0, abs=0.1)


def test_read_tags_cover(mp3: Path) -> None:
    """Import still reads a cover from a file's tag (for the book), though masters carry none."""
    assert read_tags(_with_picture(mp3)).cover == JPEG * 200
