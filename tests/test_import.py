"""Bulk import: tags, grouping, order, mastering or keeping, covers, the report, idempotence, escaping."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from mutagen.id3 import APIC, ID3, TALB, TIT2
from mutagen.wave import WAVE
from PIL import Image
from sqlalchemy import func, select

from kiosk.extensions import db
from kiosk.ingest import mastering
from kiosk.models import AuditEvent, Book, ImportBatch, JobStatus, Reader, Track
from kiosk.storage import file_sha256, store

from .conftest import FFMPEG

# Pink-noise "syllables" in phrases (as recorder.synth makes them), so speech detection works.
SPEECH = (
    "anoisesrc=c=pink:r=44100:a=0.5:seed={seed}:d={seconds},lowpass=f=3800,highpass=f=120,"
    "volume='0.001+pow(max(0,sin(2*PI*4.3*t+1.7*sin(2*PI*0.7*t))),2)*gt(sin(2*PI*0.22*t+1),-0.45)':eval=frame,"
    "volume={gain_db}dB"
)
CODECS = {
    ".mp3": ["-c:a", "libmp3lame", "-b:a", "96k"], ".m4a": ["-c:a", "aac"], ".flac": ["-c:a", "flac"],
    ".ogg": ["-c:a", "libvorbis"], ".opus": ["-c:a", "libopus"], ".wav": ["-c:a", "pcm_s16le"],
}
HOSTILE = "<script>alert(1)</script>"


def speechy(path: Path, *, gain_db: float = 0.0, seconds: float = 5.0, seed: int = 1, **tags: str) -> Path:
    """Speech-like audio encoded by suffix, with ``tags`` written by ffmpeg."""
    metadata = [arg for key, value in tags.items() for arg in ("-metadata", f"{key}={value}")]
    source = SPEECH.format(seed=seed, seconds=seconds, gain_db=gain_db)
    subprocess.run(
        [FFMPEG, "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi", "-i", source, "-ac", "1",
         *CODECS[path.suffix], *metadata, str(path)],
        check=True,
    )
    return path


def png_bytes(colour: str = "#336699") -> bytes:
    """A small PNG image."""
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), colour).save(buffer, "PNG")
    return buffer.getvalue()


def loudness_lufs(path: Path) -> float:
    """Integrated loudness measured independently with ffmpeg's ebur128."""
    proc = subprocess.run(
        [FFMPEG, "-nostdin", "-hide_banner", "-i", str(path), "-af", "ebur128", "-f", "null", "-"],
        capture_output=True, text=True, check=True,
    )
    summary = proc.stderr[proc.stderr.rfind("Summary:"):]
    return float(summary.split("I:")[1].split("LUFS")[0])


@pytest.fixture
def library(app: Flask, tmp_path: Path) -> Path:
    """A folder of mixed files: two tagged books, a folder-named book, junk and a corrupt file."""
    root = tmp_path / "incoming"
    book = root / "围城"
    book.mkdir(parents=True)
    # Out of order on disk: track numbers decide.
    speechy(book / "c.flac", seed=3, title="第三章", artist="李老师", album="围城", track="3")
    speechy(book / "a.ogg", seed=1, title="第一章", artist="李老师", album="围城", track="1")
    speechy(book / "b.opus", seed=2, title="第二章", artist="李老师", album="围城", track="2/3")
    covered = speechy(root / "cover.mp3", seed=4, title=HOSTILE, artist="王<b>老师</b>", album="带封面<i>的书</i>",
                      track="1")
    id3 = ID3(covered)
    id3.add(APIC(encoding=3, mime="image/png", type=3, desc="Cover", data=png_bytes()))
    id3.save()
    quiet = speechy(root / "quiet.wav", gain_db=-25.0, seed=5)
    wave = WAVE(quiet)  # WAV tags live in an ID3 chunk (what mutagen reads; RIFF INFO is not)
    wave.add_tags()
    wave.tags.add(TIT2(encoding=3, text=["很轻的一章"]))
    wave.tags.add(TALB(encoding=3, text=["轻声"]))
    wave.save()
    with app.app_context():  # already at the house standard: mastered once, then kept as is
        mastered = mastering.master_into_store(
            speechy(root / "raw.m4a", seed=6), mastering.TrackTags(title="标准", album="标准的书", track_number=1)
        )
        shutil.copy(store().path(mastered.key), root / "standard.mp3")
    (root / "raw.m4a").unlink()
    untagged = root / "无标签的书"
    untagged.mkdir()
    speechy(untagged / "第10节.m4a", seed=7)
    speechy(untagged / "第2节.m4a", seed=8)
    (root / "notes.txt").write_text("not audio", encoding="utf-8")
    (root / "broken.flac").write_bytes(b"fLaC\x00\x00\x00\x22" + b"\x13" * 200)
    return root


def entries(output: str) -> dict[str, str]:
    """File name → the report's word for it, from the CLI's output."""
    found = {}
    for line in output.splitlines():
        parts = line.split()
        if line.startswith("  ") and len(parts) >= 2:
            found[parts[1].rstrip(":")] = parts[0]
    return found


def test_import_reads_tags_groups_orders_and_reports(app: Flask, runner: FlaskCliRunner, library: Path) -> None:
    """One run imports every audio file into books by album/folder, in track order, with a report."""
    result = runner.invoke(args=["import", str(library), "--section", "mingjia-mingpian"])
    assert result.exit_code == 0, result.output
    seen = entries(result.output)
    assert seen["incoming/notes.txt"] == "skipped" and "not audio" in result.output
    assert seen["incoming/broken.flac"] == "skipped" and "unreadable" in result.output
    assert seen["incoming/quiet.wav"] == "mastered"
    assert seen["incoming/standard.mp3"] == "kept"
    assert seen["incoming/围城/a.ogg"] == "mastered"
    assert "Imported 8 file(s)" in result.output and "skipped 2" in result.output
    with app.app_context():
        books = {b.title: b for b in db.session.scalars(select(Book))}
        assert set(books) == {"围城", "带封面<i>的书</i>", "轻声", "标准的书", "无标签的书"}
        assert [t.title for t in books["围城"].tracks] == ["第一章", "第二章", "第三章"]
        assert [t.title for t in books["无标签的书"].tracks] == ["第2节", "第10节"]  # natural order
        assert books["围城"].tracks[0].reader.name == "李老师"
        assert all(b.section.slug == "mingjia-mingpian" for b in books.values())
        covered = books["带封面<i>的书</i>"]
        assert covered.cover_key and covered.cover_thumb_key
        with Image.open(store().path(covered.cover_key)) as image:
            assert image.format == "JPEG" and image.size == (480, 480)
        assert covered.tracks[0].title == HOSTILE  # stored literally
        kept = books["标准的书"].tracks[0]
        assert file_sha256(store().path(kept.audio_key)) == file_sha256(library / "standard.mp3")
        quiet = books["轻声"].tracks[0]
        assert abs(loudness_lufs(store().path(quiet.audio_key)) - app.config["KIOSK_LOUDNESS_TARGET"]) < 1.5
        assert quiet.source_sha256 == file_sha256(library / "quiet.wav")
        assert db.session.scalar(select(func.count()).where(AuditEvent.action == "book_imported")) == 5


def catalogue_size() -> tuple[int, int, int]:
    """How many books, chapters and readers there are."""
    return tuple(db.session.scalar(select(func.count()).select_from(m)) or 0 for m in (Book, Track, Reader))


def test_importing_twice_adds_nothing(app: Flask, runner: FlaskCliRunner, library: Path) -> None:
    """The second run skips every audio file as a duplicate and creates no book or chapter."""
    first = runner.invoke(args=["import", str(library), "--section", "mingjia-mingpian"])
    assert first.exit_code == 0, first.output
    with app.app_context():
        counts = catalogue_size()
    second = runner.invoke(args=["import", str(library), "--section", "mingjia-mingpian"])
    assert second.exit_code == 0, second.output
    assert "Imported 0 file(s)" in second.output
    assert second.output.count("duplicate") == 8
    with app.app_context():
        assert catalogue_size() == counts


def test_a_new_file_joins_the_existing_book(app: Flask, runner: FlaskCliRunner, tmp_path: Path) -> None:
    """A later import of the same album adds chapters to the book instead of a second book."""
    folder = tmp_path / "one"
    folder.mkdir()
    speechy(folder / "1.mp3", seed=11, title="上", album="同名书", track="1")
    assert runner.invoke(args=["import", str(folder), "--section", "kepu-tiandi"]).exit_code == 0
    later = tmp_path / "later.mp3"
    speechy(later, seed=12, title="下", album="同名书", track="2")
    assert runner.invoke(args=["import", str(later), "--section", "kepu-tiandi"]).exit_code == 0
    with app.app_context():
        books = db.session.scalars(select(Book).where(Book.title == "同名书")).all()
        assert len(books) == 1
        assert [t.title for t in books[0].tracks] == ["上", "下"]


def test_an_unpublished_import_shows_nothing_until_a_librarian_publishes(
    app: Flask, client: FlaskClient, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    """--unpublished: a new book arrives hidden; a chapter added to a live book arrives hidden."""
    live = tmp_path / "live"
    live.mkdir()
    speechy(live / "1.mp3", seed=31, title="第一章", album="已上架的书", track="1")
    assert runner.invoke(args=["import", str(live), "--section", "kepu-tiandi"]).exit_code == 0
    hidden = tmp_path / "hidden"
    hidden.mkdir()
    speechy(hidden / "2.mp3", seed=32, title="第二章", album="已上架的书", track="2")
    speechy(hidden / "new.mp3", seed=33, title="序", album="待检查的书", track="1")
    result = runner.invoke(args=["import", str(hidden), "--section", "kepu-tiandi", "--unpublished"])
    assert result.exit_code == 0, result.output
    assert "Nothing imported is published yet" in result.output
    with app.app_context():
        new_book = db.session.scalars(select(Book).where(Book.title == "待检查的书")).one()
        live_book = db.session.scalars(select(Book).where(Book.title == "已上架的书")).one()
        new_id, live_id = new_book.id, live_book.id
        assert not new_book.published and [t.published for t in new_book.tracks] == [True]
        assert live_book.published and [t.published for t in live_book.tracks] == [True, False]
        hidden_keys = [new_book.tracks[0].audio_key, live_book.tracks[1].audio_key]
    section_page = client.get("/sections/kepu-tiandi").get_data(as_text=True)
    assert "待检查的书" not in section_page and "已上架的书" in section_page
    assert "第二章" not in client.get(f"/books/{live_id}").get_data(as_text=True)
    assert client.get(f"/books/{new_id}").status_code == 404
    assert all(client.get(f"/media/{key}").status_code == 404 for key in hidden_keys)
    with app.app_context():
        db.session.get(Book, new_id).published = True  # what the console's 发布 button does
        db.session.commit()
    assert client.get(f"/books/{new_id}").status_code == 200
    assert client.get(f"/media/{hidden_keys[0]}").status_code == 200


def test_unknown_section_is_refused(runner: FlaskCliRunner, tmp_path: Path) -> None:
    """A wrong slug stops before anything is read."""
    result = runner.invoke(args=["import", str(tmp_path), "--section", "nope"])
    assert result.exit_code != 0
    assert "no section" in result.output


def test_links_are_not_followed(app: Flask, runner: FlaskCliRunner, tmp_path: Path) -> None:
    """A symbolic link inside an import folder (pointing anywhere) is skipped, not read."""
    outside = speechy(tmp_path / "outside.mp3", seed=13, album="外面")
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "link.mp3").symlink_to(outside)
    result = runner.invoke(args=["import", str(folder), "--section", "kepu-tiandi"])
    assert result.exit_code == 0, result.output
    assert "symbolic link" in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count(Book.id)).where(Book.title == "外面")) == 0


def test_hostile_tags_are_shown_escaped(app: Flask, client: FlaskClient, runner: FlaskCliRunner, library: Path) -> None:
    """HTML in tags is text on the visitor pages, never markup."""
    assert runner.invoke(args=["import", str(library), "--section", "mingjia-mingpian"]).exit_code == 0
    with app.app_context():
        book = db.session.scalars(select(Book).where(Book.title == "带封面<i>的书</i>")).one()
        book_id, track_id = book.id, book.tracks[0].id
    for url in (f"/books/{book_id}", f"/tracks/{track_id}", "/sections/mingjia-mingpian"):
        page = client.get(url).get_data(as_text=True)
        assert "<script>alert(1)</script>" not in page and "<i>的书</i>" not in page
        assert "&lt;i&gt;的书&lt;/i&gt;" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in client.get(f"/tracks/{track_id}").get_data(as_text=True)


# ---- the console's upload form -------------------------------------------------------------------


def test_upload_form_imports_and_shows_the_report(
    app: Flask, client: FlaskClient, auth, tmp_path: Path
) -> None:
    """Many files in one upload: queued (run inline in tests), then the report page lists them."""
    auth.login()
    assert client.get("/admin/import").status_code == 200
    one = speechy(tmp_path / "01.mp3", seed=21, title="一", album="上传的书", track="1")
    two = speechy(tmp_path / "02.flac", seed=22, title="二", album="上传的书", track="2")
    files = [(one.open("rb"), "01.mp3"), (two.open("rb"), "02.flac"), (io.BytesIO(b"hello"), "readme.txt")]
    response = client.post(
        "/admin/import", data={"section": "kepu-tiandi", "files": files, "fallback_title": ""},
        content_type="multipart/form-data",
    )
    assert response.status_code == 303, response.get_data(as_text=True)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "上传的书" in page and "readme.txt" in page and "http-equiv" not in page  # finished: no refresh
    with app.app_context():
        batch = db.session.scalars(select(ImportBatch)).one()
        assert batch.status == JobStatus.DONE
        assert json.dumps(batch.report)  # stored as JSON
        book = db.session.scalars(select(Book).where(Book.title == "上传的书")).one()
        assert [t.title for t in book.tracks] == ["一", "二"]
        assert not any((store().scratch_dir() / "imports").iterdir())  # uploads cleaned away


def test_upload_form_can_import_unpublished(app: Flask, client: FlaskClient, auth, tmp_path: Path) -> None:
    auth.login()
    one = speechy(tmp_path / "01.mp3", seed=41, title="一", album="先检查", track="1")
    response = client.post(
        "/admin/import", data={"section": "kepu-tiandi", "files": [(one.open("rb"), "01.mp3")], "unpublished": "y"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "这批导入的内容还没有上架" in page
    with app.app_context():
        book = db.session.scalars(select(Book).where(Book.title == "先检查")).one()
        assert not book.published
        assert db.session.scalars(select(ImportBatch)).one().publish is False
    assert "先检查" not in client.get("/sections/kepu-tiandi").get_data(as_text=True)
    assert "先检查" in client.get("/admin/books").get_data(as_text=True)


def test_upload_form_validates(client: FlaskClient, auth) -> None:
    """No files or no section: the form comes back with the reason and 422."""
    auth.login()
    response = client.post("/admin/import", data={"section": "kepu-tiandi"}, content_type="multipart/form-data")
    assert response.status_code == 422
    assert "请选择要导入的文件" in response.get_data(as_text=True)


def test_anonymous_cannot_import(client: FlaskClient) -> None:
    """The console's import pages send anonymous visitors to the login."""
    response = client.get("/admin/import")
    assert response.status_code == 302 and "/admin/login" in response.headers["Location"]


def test_an_mp3_already_in_the_store_is_a_duplicate(
    app: Flask, runner: FlaskCliRunner, sample_mp3: Path
) -> None:
    """A chapter added another way (booth, demo) is recognised by its audio's content key."""
    from .factories import gen_book, gen_track

    with app.app_context():
        gen_track(gen_book("已有的书"), sample_mp3)
    result = runner.invoke(args=["import", str(sample_mp3), "--section", "kepu-tiandi"])
    assert result.exit_code == 0, result.output
    assert "duplicate" in result.output and "Imported 0 file(s)" in result.output


def test_only_a_file_meeting_the_whole_standard_is_kept(app: Flask, tmp_path: Path) -> None:
    """Issue 12: a 48 kHz VBR MP3 with ID3v2.3 and no room tone, at the right loudness, is mastered."""
    raw = speechy(tmp_path / "raw.wav", seconds=8.0, seed=9)
    vbr = tmp_path / "vbr.mp3"
    gain_db = -18.0 - loudness_lufs(raw)
    subprocess.run([FFMPEG, "-nostdin", "-loglevel", "error", "-y", "-i", str(raw), "-af", f"volume={gain_db:.2f}dB",
                    "-ar", "48000", "-c:a", "libmp3lame", "-q:a", "4", "-id3v2_version", "3", "-metadata", "title=x",
                    str(vbr)], check=True)
    with app.app_context():
        level = mastering.measure_source(vbr)
        assert not level.meets_standard
        assert {"bitrate", "format", "tags", "room_tone"} <= set(level.shortfalls)
        ours = mastering.master_into_store(raw, mastering.TrackTags(title="标准"))
        assert mastering.measure_source(store().path(ours.key)).shortfalls == ()
