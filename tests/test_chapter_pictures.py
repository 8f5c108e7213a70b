"""Chapters' MP3s carry no picture in their tag: new masters, files kept as they are, older masters.

A picture in the tag holds Chromium's ``<audio>`` back for seconds on a slow line (issue 14,
bench/results.md "Listener pages"), so the cover lives on the page and in the feeds instead.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from mutagen.id3 import APIC, ID3, TIT2

from kiosk.extensions import db
from kiosk.ingest import mastering, pictures
from kiosk.jobs import tasks
from kiosk.models import Book, ChapterText, Track
from kiosk.storage import file_sha256, store
from recorder import synth
from recorder.tags import TrackTags, audio_offset, has_pictures
from tests.factories import gen_book, gen_track

COVER = b"\xff\xd8\xff\xe0" + bytes(12_000)  # about the size of the covers masters used to carry


def with_cover(source: Path, target: Path) -> Path:
    """A copy of ``source`` with a title and a 12 KB cover picture in an ID3v2.3 tag."""
    shutil.copyfile(source, target)
    id3 = ID3()
    id3.add(TIT2(encoding=3, text=["第一章"]))
    id3.add(APIC(encoding=3, mime="image/jpeg", type=3, desc="Cover", data=COVER))
    id3.save(target, v2_version=3)
    return target


@pytest.fixture(scope="module")
def speech_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Five seconds of speech-like audio, to master."""
    return synth.speechlike(tmp_path_factory.mktemp("speech") / "raw.wav", duration_s=5, level_lufs=-28,
                            pad_head_s=0.5, pad_tail_s=0.5)


def audio_bytes(path: Path) -> bytes:
    """Everything after the ID3v2 tag: the MP3's audio frames."""
    return path.read_bytes()[audio_offset(path):]


def test_a_new_master_has_no_picture(app: Flask, speech_wav: Path) -> None:
    with app.app_context():
        stored = mastering.master_into_store(speech_wav, TrackTags(title="第一章", album="书"))
        path = store().path(stored.key)
    assert not has_pictures(path)
    assert str(ID3(path)["TALB"]) == "书"


def test_a_kept_file_loses_only_its_picture(app: Flask, speech_wav: Path, tmp_path: Path) -> None:
    with app.app_context():
        plain = store().path(mastering.master_into_store(speech_wav, TrackTags(title="x")).key)
        covered = with_cover(plain, tmp_path / "covered.mp3")
        level = mastering.measure_source(covered)
        assert level.shortfalls == ("tags",)  # ID3v2.3: not kept as it is anyway, so try v2.4
        ID3(covered).save(covered, v2_version=4)
        level = mastering.measure_source(covered)
        assert level.meets_standard
        before = covered.read_bytes()
        kept = mastering.keep_into_store(covered, level)
        stored = store().path(kept.key)
    assert covered.read_bytes() == before  # the source is only read
    assert not has_pictures(stored)
    assert str(ID3(stored)["TIT2"]) == "第一章"
    assert audio_bytes(stored) == audio_bytes(covered)
    assert kept.size_bytes == stored.stat().st_size < covered.stat().st_size - len(COVER)


@pytest.fixture
def old_master(app: Flask, sample_mp3: Path, tmp_path: Path) -> tuple[int, str]:
    """A published chapter whose MP3 (as masters were made before) has the cover in its tag, and an
    aligned text measured in that very file."""
    covered = with_cover(sample_mp3, tmp_path / "old.mp3")
    with app.app_context():
        track = gen_track(gen_book("旧书"), covered)
        db.session.add(ChapterText(track=track, body="一句。", sentences=[{"text": "一句。", "paragraph": 0}],
                                   source="console", cues=[[0.5, 2.0]], aligned_audio_key=track.audio_key))
        db.session.commit()
        return track.id, track.audio_key


def test_older_masters_get_a_copy_without_the_picture(
    app: Flask, client: FlaskClient, old_master: tuple[int, str], tmp_path: Path
) -> None:
    track_id, old_key = old_master
    with app.app_context():
        old_path = store().path(old_key)
        old_audio = audio_bytes(old_path)
        tasks.strip_pictures_from_chapters()  # what every worker queues when it starts
        track = db.session.get(Track, track_id)
        new_key, new_path = track.audio_key, store().path(track.audio_key)
        text = db.session.query(ChapterText).filter_by(track_id=track_id).one()
        assert new_key != old_key
        assert not has_pictures(new_path)
        assert audio_bytes(new_path) == old_audio  # the same audio, byte for byte
        assert str(ID3(new_path)["TIT2"]) == "第一章"
        assert track.size_bytes == new_path.stat().st_size
        assert text.aligned_audio_key == new_key  # read-along timings stay valid
        assert not old_path.exists()
        public = Path(app.config["KIOSK_DATA_DIR"]) / "public"  # what a front nginx serves, at once
        assert (public / new_key).is_file() and not (public / old_key).exists()
        assert new_key == f"audio/{file_sha256(new_path)[:2]}/{file_sha256(new_path)[:32]}.mp3"
        marker = store().root / pictures.DONE_MARKER
        assert marker.is_file()  # so the next start reads no tag at all
        marker.unlink()
        assert pictures.strip_stored_pictures() == 0 and marker.is_file()  # nothing left to do
    page = client.get(f"/tracks/{track_id}").get_data(as_text=True)
    assert f"/media/{new_key}" in page and old_key not in page
    ranged = client.get(f"/media/{new_key}", headers={"Range": "bytes=0-1023"})
    assert ranged.status_code == 206 and len(ranged.data) == 1024
    assert client.get(f"/media/{old_key}").status_code == 404


def test_chapters_sharing_a_file_move_together(app: Flask, old_master: tuple[int, str]) -> None:
    """Identical audio is one file under one key: both chapters move to the one copy."""
    track_id, old_key = old_master
    with app.app_context():
        book = db.session.get(Track, track_id).book
        second = gen_track(book, store().path(old_key), title="第二章")
        db.session.commit()
        assert second.audio_key == old_key  # identical audio shares a key
        moved = pictures.strip_stored_pictures()
        assert moved == 1  # one file, both chapters
        assert pictures.strip_stored_pictures() == 0  # the marker: nothing is read again
        assert {t.audio_key for t in db.session.get(Book, book.id).tracks} == {
            db.session.get(Track, track_id).audio_key}
