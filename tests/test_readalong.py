"""Read-along end to end: a chapter's text from an import, a booth take or the console, aligned by
the queue, served as WebVTT, JSON, in the API and as an EPUB with Media Overlays.

The readings are espeak-ng speech in voices, speeds and pitches other than the aligner's own,
with pauses of random length and room noise (``bench.bench_align.make_reading``), so each
sentence's true start is known. The cues are checked against it after the house mastering
(which trims and pads the head): the truth is moved by where sound starts in each file,
measured here with numpy on ffmpeg's decoding.
"""

from __future__ import annotations

import io
import itertools
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import numpy as np
import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import select

from bench.bench_align import ENGLISH, MANDARIN, Reading, make_reading
from kiosk.extensions import db
from kiosk.jobs import tasks
from kiosk.models import BoothText, ChapterText, JobStatus, Recording, Track
from kiosk.readalong import aligner
from kiosk.storage import store
from tests.conftest import FFMPEG, AuthActions
from tests.factories import gen_book, gen_section, gen_track
from tests.helpers import require_tool

TOLERANCE_S = 0.25
CUE = re.compile(r"^(\d\d):(\d\d):(\d\d)\.(\d\d\d) --> (\d\d):(\d\d):(\d\d)\.(\d\d\d)$", re.M)


def needs_aligner() -> None:
    require_tool("espeak-ng", shutil.which("espeak-ng") is not None, "apt-get install espeak-ng")
    require_tool("the aligner (aeneas-ng with its C extensions)", aligner.missing_parts() is None,
                 "pip install '.[align]' after apt-get install festival-dev libestools-dev libespeak-ng-dev")


@pytest.fixture(scope="module")
def mandarin(tmp_path_factory: pytest.TempPathFactory) -> Reading:
    """Eight Mandarin sentences in two paragraphs, 1.2 s of room tone before the first."""
    needs_aligner()
    return make_reading(tmp_path_factory.mktemp("reading") / "reading.mp3", MANDARIN[:8], "cmn", seed=3)


@pytest.fixture(scope="module")
def english(tmp_path_factory: pytest.TempPathFactory) -> Reading:
    """Eight English sentences."""
    needs_aligner()
    return make_reading(tmp_path_factory.mktemp("reading") / "english.mp3", ENGLISH, "en", seed=5)


def first_sound_s(path: Path) -> float:
    """Where sound starts in an audio file: the first 10 ms well above the file's quietest tenth."""
    pcm = subprocess.run([FFMPEG, "-nostdin", "-loglevel", "error", "-i", str(path), "-ac", "1", "-ar", "8000",
                          "-f", "s16le", "-"], capture_output=True, check=True).stdout
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64) / 32768
    frames = samples[: len(samples) // 80 * 80].reshape(-1, 80)
    level = 10 * np.log10(np.mean(frames**2, axis=1) + 1e-12)
    loud = np.flatnonzero(level > max(np.percentile(level, 10) + 15, np.percentile(level, 95) - 30))
    return float(loud[0]) * 0.01


def vtt_cues(body: str) -> list[tuple[float, float]]:
    """The (start, end) of every cue of a WebVTT file, parsed on its own."""
    assert body.startswith("WEBVTT\n")

    def seconds(h: str, m: str, s: str, ms: str) -> float:
        return int(h) * 3600 + int(m) * 60 + int(s) + int(ms) / 1000

    return [(seconds(*g[:4]), seconds(*g[4:])) for g in CUE.findall(body)]


def assert_matches_truth(starts_s: list[float], reading: Reading, audio: Path) -> None:
    """Every cue starts within ±0.25 s of its sentence's true start, in ``audio``'s own time."""
    shift_s = first_sound_s(audio) - first_sound_s(reading.audio)
    truth = [t + shift_s for t in reading.starts_s]
    errors = [abs(found - true) for found, true in zip(starts_s, truth, strict=True)]
    assert max(errors) <= TOLERANCE_S, [round(e, 2) for e in errors]


def audio_of(app: Flask, track_id: int) -> Path:
    with app.app_context():
        track = db.session.get(Track, track_id)
        assert track is not None
        return store().path(track.audio_key)


# ---- an imported chapter with its .txt ------------------------------------------------------


def test_imported_chapter_with_its_txt_reads_along(
    app: Flask, client: FlaskClient, runner: FlaskCliRunner, tmp_path: Path, mandarin: Reading
) -> None:
    folder = tmp_path / "春"
    folder.mkdir()
    shutil.copy(mandarin.audio, folder / "01.mp3")
    (folder / "01.txt").write_bytes(mandarin.text.encode("gb18030"))  # a librarian's GBK text file

    result = runner.invoke(args=["import", str(folder), "--section", "jingdian-songdu"])
    assert result.exit_code == 0, result.output
    assert "01.txt" not in result.output  # the text is the chapter's, not a file that failed

    with app.app_context():
        track = db.session.scalars(select(Track)).one()
        track_id, book_id = track.id, track.book_id
    api = client.get(f"/api/v1/tracks/{track_id}").get_json()["track"]
    assert api["transcript_url"] == f"/tracks/{track_id}/transcript.vtt"
    book = client.get(f"/api/v1/books/{book_id}").get_json()["book"]
    assert [t["transcript_url"] for t in book["tracks"]] == [api["transcript_url"]]

    response = client.get(api["transcript_url"])
    assert response.status_code == 200 and response.mimetype == "text/vtt"
    cues = vtt_cues(response.get_data(as_text=True))
    assert len(cues) == len(mandarin.starts_s) == 8
    assert "盼望着，盼望着，东风来了，春天的脚步近了。" in response.get_data(as_text=True)
    assert_matches_truth([start for start, _end in cues], mandarin, audio_of(app, track_id))
    assert cues[0][0] > 0.3  # not the 0.0 aeneas gives: the master keeps ~0.5 s of room tone before speech
    assert all(a_end <= b_start + 0.001 for (_a, a_end), (b_start, _b) in itertools.pairwise(cues))

    data = client.get(f"/tracks/{track_id}/transcript.json").get_json()
    assert data["aligned"] is True and data["vtt_url"] == api["transcript_url"]
    assert [s["paragraph"] for s in data["sentences"]] == [0, 0, 0, 0, 1, 1, 1, 1]
    assert [s["start_s"] for s in data["sentences"]] == pytest.approx([c[0] for c in cues], abs=0.002)
    again = client.get(api["transcript_url"], headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


def test_replaced_audio_is_aligned_again(
    app: Flask, client: FlaskClient, runner: FlaskCliRunner, tmp_path: Path, mandarin: Reading
) -> None:
    """Timings belong to the audio they were measured in: stale at once, measured again by the sweep."""
    with app.app_context():
        from kiosk.readalong import texts

        track = gen_track(gen_book(), mandarin.audio, duration_ms=round(mandarin.duration_s * 1000))
        track_id = track.id
        row = texts.attach(track, mandarin.text, "console")
        # aligned once, in audio that has since been replaced by this chapter's present file
        row.cues, row.aligned_audio_key, row.status = [[0.0, 1.0]] * 8, "audio/replaced.mp3", JobStatus.DONE
        db.session.commit()

    stale = client.get(f"/tracks/{track_id}/transcript.json").get_json()
    assert stale["aligned"] is False and "start_s" not in stale["sentences"][0]
    assert client.get(f"/tracks/{track_id}/transcript.vtt").status_code == 404
    assert client.get(f"/api/v1/tracks/{track_id}").get_json()["track"]["transcript_url"] is None

    with app.app_context():
        tasks._requeue_lost()  # the sweep, every minute in a worker; inline here

    fresh = client.get(f"/tracks/{track_id}/transcript.vtt")
    assert fresh.status_code == 200
    assert_matches_truth([c[0] for c in vtt_cues(fresh.get_data(as_text=True))], mandarin, mandarin.audio)


# ---- a booth take of a known text -----------------------------------------------------------


def test_booth_take_of_a_teleprompter_text_reads_along(
    app: Flask, client: FlaskClient, auth: AuthActions, english: Reading
) -> None:
    with app.app_context():
        text = BoothText(title="The library", author="", body=english.text)
        db.session.add(text)
        db.session.commit()
        text_id, section_id = text.id, gen_section().id
    response = client.post("/api/v1/recordings", data={
        "audio": (english.audio.open("rb"), "take.mp3"), "reader_name": "李读者", "consent": "1",
        "text_id": str(text_id)}, content_type="multipart/form-data")
    assert response.status_code == 202, response.get_data(as_text=True)
    token = response.get_json()["token"]
    auth.login()
    with app.app_context():
        take_id = db.session.scalars(select(Recording.id).where(Recording.token == token)).one()
    approved = client.post(f"/admin/moderation/{take_id}/approve-new", data={
        "new-title": "图书馆", "new-section_id": str(section_id), "new-chapter_title": "第一章"})
    assert approved.status_code == 303

    with app.app_context():
        track_id = db.session.scalars(select(Recording.track_id).where(Recording.token == token)).one()
    assert track_id is not None
    vtt = client.get(f"/tracks/{track_id}/transcript.vtt")
    assert vtt.status_code == 200
    cues = vtt_cues(vtt.get_data(as_text=True))
    assert len(cues) == len(english.starts_s)
    assert_matches_truth([c[0] for c in cues], english, audio_of(app, track_id))
    page = client.get(f"/admin/tracks/{track_id}/text").get_data(as_text=True)
    assert "已对齐" in page and "The library opens at nine in the morning." in page


def test_a_free_reading_has_no_text(app: Flask, client: FlaskClient, auth: AuthActions, english: Reading) -> None:
    response = client.post("/api/v1/recordings", data={
        "audio": (english.audio.open("rb"), "take.mp3"), "reader_name": "李读者", "consent": "1"},
        content_type="multipart/form-data")
    token = response.get_json()["token"]
    auth.login()
    with app.app_context():
        take_id, section_id = db.session.scalars(select(Recording.id).where(Recording.token == token)).one(), \
            gen_section().id
    client.post(f"/admin/moderation/{take_id}/approve-new", data={
        "new-title": "自由朗读集", "new-section_id": str(section_id), "new-chapter_title": "一"})
    with app.app_context():
        track_id = db.session.scalars(select(Recording.track_id).where(Recording.token == token)).one()
        assert db.session.scalars(select(ChapterText)).all() == []
    assert client.get(f"/tracks/{track_id}/transcript.json").status_code == 404
    assert client.get(f"/api/v1/tracks/{track_id}").get_json()["track"]["transcript_url"] is None


# ---- the EPUB with Media Overlays -----------------------------------------------------------


def epubcheck_argv() -> list[str] | None:
    """How to run Debian's epubcheck: its command is the jar itself (run by binfmt, or by java here)."""
    found = shutil.which("epubcheck")
    if found is None:
        return None
    target = Path(found).resolve()
    if target.suffix == ".jar":
        java = shutil.which("java")
        return [java, "-jar", str(target)] if java else None
    return [found]


def test_book_epub_with_media_overlays_passes_epubcheck(
    app: Flask, client: FlaskClient, tmp_path: Path, mandarin: Reading
) -> None:
    checker = epubcheck_argv()
    require_tool("epubcheck", checker is not None, "apt-get install epubcheck")
    assert checker is not None
    with app.app_context():
        book = gen_book("春")
        track = gen_track(book, mandarin.audio, title="春（节选）", duration_ms=round(mandarin.duration_s * 1000))
        track_id, book_id = track.id, book.id
        from kiosk.readalong import jobs, texts

        text_id = texts.attach(track, mandarin.text, "console").id
        db.session.commit()
        jobs.queue_alignment(text_id)
    response = client.get(f"/books/{book_id}/readalong.epub")
    assert response.status_code == 200 and response.mimetype == "application/epub+zip"
    epub = tmp_path / "book.epub"
    epub.write_bytes(response.data)
    checked = subprocess.run([*checker, str(epub)], capture_output=True, text=True, timeout=300)
    assert checked.returncode == 0, checked.stdout + checked.stderr

    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        assert archive.namelist()[0] == "mimetype"
        smil = archive.read("OEBPS/c1.smil").decode()
        page = archive.read("OEBPS/c1.xhtml").decode()
    pars = re.findall(r'<par id="[^"]+"><text src="c1.xhtml#(c1s\d+)"/><audio src="audio/c1.mp3" '
                      r'clipBegin="([\d:.]+)" clipEnd="([\d:.]+)"/></par>', smil)
    assert len(pars) == 8 and all(f'id="{span}"' in page for span, _b, _e in pars)
    vtt = client.get(f"/tracks/{track_id}/transcript.vtt").get_data(as_text=True)
    assert [b for _s, b, _e in pars] == [m[0].split(" --> ")[0] for m in re.finditer(CUE, vtt)]


# ---- the console, and a machine without the aligner --------------------------------------------


def epub_bytes(chapters: list[tuple[str, str]]) -> bytes:
    """A minimal EPUB whose spine lists ``chapters`` (file name, XHTML body) in reverse file order."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("mimetype", "application/epub+zip")
        archive.writestr("META-INF/container.xml", '<?xml version="1.0"?><container version="1.0" '
                         'xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles><rootfile '
                         'full-path="OPS/book.opf" media-type="application/oebps-package+xml"/>'
                         "</rootfiles></container>")
        items = "".join(f'<item id="i{n}" href="text/{name}" media-type="application/xhtml+xml"/>'
                        for n, (name, _body) in enumerate(chapters))
        refs = "".join(f'<itemref idref="i{n}"/>' for n in range(len(chapters)))
        archive.writestr("OPS/book.opf", f'<?xml version="1.0"?><package xmlns="http://www.idpf.org/2007/opf" '
                         f'version="3.0"><manifest>{items}</manifest><spine>{refs}</spine></package>')
        for name, body in chapters:
            archive.writestr(f"OPS/text/{name}", f'<html xmlns="http://www.w3.org/1999/xhtml"><head><title>x</title>'
                             f'<style>p {{ color: red }}</style></head><body>{body}</body></html>')
    return out.getvalue()


@pytest.fixture
def no_aligner(monkeypatch: pytest.MonkeyPatch) -> None:
    """A machine where aeneas is not installed."""
    monkeypatch.setattr(aligner, "missing_parts", lambda: "aeneas")


def test_console_attaches_pasted_and_uploaded_texts_without_the_aligner(
    app: Flask, client: FlaskClient, auth: AuthActions, sample_mp3: Path, no_aligner: None
) -> None:
    with app.app_context():
        track_id = gen_track(gen_book(), sample_mp3).id
    auth.login()
    page = client.get(f"/admin/tracks/{track_id}").get_data(as_text=True)
    assert f"/admin/tracks/{track_id}/text" in page
    assert "这一章还没有文本" in client.get(f"/admin/tracks/{track_id}/text").get_data(as_text=True)

    pasted = client.post(f"/admin/tracks/{track_id}/text", data={"body": "第一句。第二句！\n第三句"})
    assert pasted.status_code == 303
    page = client.get(f"/admin/tracks/{track_id}/text").get_data(as_text=True)
    assert "没有安装对齐工具" in page and "README" in page and "第二句！" in page
    data = client.get(f"/tracks/{track_id}/transcript.json").get_json()
    assert data["aligned"] is False and [s["text"] for s in data["sentences"]] == ["第一句。", "第二句！", "第三句"]
    assert client.get(f"/api/v1/tracks/{track_id}").get_json()["track"]["transcript_url"] is None
    assert client.get(f"/tracks/{track_id}/transcript.vtt").status_code == 404

    gbk = "　　他说：「春天来了。」\r\n我们走吧。".encode("gb18030")
    client.post(f"/admin/tracks/{track_id}/text", data={"document": (io.BytesIO(gbk), "chapter.txt")},
                content_type="multipart/form-data")
    data = client.get(f"/tracks/{track_id}/transcript.json").get_json()
    assert [s["text"] for s in data["sentences"]] == ["他说：「春天来了。」", "我们走吧。"]

    book = epub_bytes([("b.xhtml", "<h1>第二章</h1><p>后来，<b>雨</b>停了。</p>"),
                       ("a.xhtml", "<script>var x = 1;</script><p>雨下着。</p><p>风吹着。</p>")])
    client.post(f"/admin/tracks/{track_id}/text", data={"document": (io.BytesIO(book), "book.epub")},
                content_type="multipart/form-data")
    data = client.get(f"/tracks/{track_id}/transcript.json").get_json()
    assert [s["text"] for s in data["sentences"]] == ["第二章", "后来，雨停了。", "雨下着。", "风吹着。"]
    with app.app_context():
        row = db.session.scalars(select(ChapterText)).one()
        assert row.status is JobStatus.FAILED and "没有安装对齐工具" in (row.error_message or "")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"body": "   "}, "文本是空的"),
        ({"document": (io.BytesIO(b"PK\x03\x04broken"), "book.epub")}, "EPUB 文件打不开"),
        ({"document": (io.BytesIO(b"\x81\x30\xff\xff\xfe"), "odd.txt")}, "读不出这个文本文件的编码"),
        ({"document": (io.BytesIO(b"text"), "chapter.docx")}, "只能读取 .txt 或 .epub"),
    ],
)
def test_console_refuses_texts_it_cannot_read(
    app: Flask, client: FlaskClient, auth: AuthActions, sample_mp3: Path, no_aligner: None,
    data: dict[str, object], message: str,
) -> None:
    with app.app_context():
        track_id = gen_track(gen_book(), sample_mp3).id
    auth.login()
    client.post(f"/admin/tracks/{track_id}/text", data={"body": "原来的文本。"})
    response = client.post(f"/admin/tracks/{track_id}/text", data=data, content_type="multipart/form-data")
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    sentences = client.get(f"/tracks/{track_id}/transcript.json").get_json()["sentences"]
    assert [s["text"] for s in sentences] == ["原来的文本。"]  # nothing half-written


def test_hidden_chapters_texts_are_not_served(
    app: Flask, client: FlaskClient, auth: AuthActions, sample_mp3: Path, no_aligner: None
) -> None:
    with app.app_context():
        hidden = gen_track(gen_book(), sample_mp3, published=False)
        track_id, book_id = hidden.id, hidden.book_id
    auth.login()
    client.post(f"/admin/tracks/{track_id}/text", data={"body": "看不见的一句。"})
    visitor = app.test_client()
    assert visitor.get(f"/tracks/{track_id}/transcript.json").status_code == 404
    assert visitor.get(f"/tracks/{track_id}/transcript.vtt").status_code == 404
    assert visitor.get(f"/books/{book_id}/readalong.epub").status_code == 404


def test_console_removes_a_text_and_asks_for_another_alignment(
    app: Flask, client: FlaskClient, auth: AuthActions, sample_mp3: Path, no_aligner: None
) -> None:
    with app.app_context():
        track_id = gen_track(gen_book(), sample_mp3).id
    auth.login()
    client.post(f"/admin/tracks/{track_id}/text", data={"body": "一句。"})
    with app.app_context():
        first = db.session.scalars(select(ChapterText)).one().finished_at
    assert client.post(f"/admin/tracks/{track_id}/text/realign").status_code == 303
    with app.app_context():
        row = db.session.scalars(select(ChapterText)).one()
        assert row.status is JobStatus.FAILED and row.finished_at is not None and first is not None
        assert row.finished_at >= first and row.attempts == 1  # queued afresh, tried once more
    assert client.post(f"/admin/tracks/{track_id}/text/delete").status_code == 303
    assert client.get(f"/tracks/{track_id}/transcript.json").status_code == 404
    with app.app_context():
        assert db.session.scalars(select(ChapterText)).all() == []


def test_the_player_shows_read_along_only_where_there_is_a_text(
    app: Flask, client: FlaskClient, auth: AuthActions, sample_mp3: Path, no_aligner: None
) -> None:
    with app.app_context():
        book = gen_book()
        plain = gen_track(book, sample_mp3, title="无文本").id
        other_book = gen_book("另一本")
        lone = gen_track(other_book, sample_mp3, title="也无文本").id
        with_text = gen_track(book, sample_mp3, title="有文本").id
    assert "readalong" not in client.get(f"/tracks/{lone}").get_data(as_text=True)  # no chapter has text
    auth.login()
    client.post(f"/admin/tracks/{with_text}/text", data={"body": "一句。"})
    page = client.get(f"/tracks/{with_text}").get_data(as_text=True)
    assert 'id="readalong"' in page and "/static/readalong.js" in page and "只听不看" in page
    assert 'data-url-pattern="/tracks/{id}/transcript.json"' in page
    # the player moves on to the next chapter in place: a chapter of a book with texts carries it too
    assert 'id="readalong"' in client.get(f"/tracks/{plain}").get_data(as_text=True)
    assert client.get(f"/tracks/{plain}/transcript.json").status_code == 404  # and its script hides it
    assert "readalong.js" not in client.get("/sections/jingdian-songdu").get_data(as_text=True)


def test_a_failing_alignment_is_tried_again_then_failed_with_its_reason(
    app: Flask, client: FlaskClient, auth: AuthActions, sample_mp3: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: object, **_kwargs: object) -> list[list[float]]:
        raise aligner.AlignmentFailed("the aligner did not finish within 120 s")

    monkeypatch.setattr(aligner, "missing_parts", lambda: None)
    monkeypatch.setattr(aligner, "align", broken)
    with app.app_context():
        track_id = gen_track(gen_book(), sample_mp3).id
    auth.login()
    client.post(f"/admin/tracks/{track_id}/text", data={"body": "一句。两句。"})
    with app.app_context():
        row = db.session.scalars(select(ChapterText)).one()
        assert row.status is JobStatus.QUEUED and row.attempts == 1  # back in the queue for the sweep
        from kiosk.readalong import jobs

        for _ in range(2):
            jobs.queue_alignment(row.id)
        db.session.expire_all()
        assert row.status is JobStatus.FAILED and row.attempts == 3
    page = client.get(f"/admin/tracks/{track_id}/text").get_data(as_text=True)
    assert "对齐失败：the aligner did not finish within 120 s" in page
    data = client.get(f"/tracks/{track_id}/transcript.json").get_json()
    assert data["aligned"] is False and len(data["sentences"]) == 2  # the text is shown all the same


def test_an_import_with_an_unreadable_text_still_imports_the_chapter(
    app: Flask, runner: FlaskCliRunner, tmp_path: Path, no_aligner: None
) -> None:
    from tests.test_import import speechy

    folder = tmp_path / "书"
    folder.mkdir()
    for seed, (stem, text) in enumerate((("01", "第一章的文字。".encode()), ("02", b"\x81\x30\xff\xff\xfe"))):
        speechy(folder / f"{stem}.wav", seed=seed + 1)
        (folder / f"{stem}.txt").write_bytes(text)
    (folder / "notes.txt").write_text("不是哪一章的文字")  # no audio beside it: not a chapter's text

    result = runner.invoke(args=["import", str(folder), "--section", "jingdian-songdu"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        tracks = db.session.scalars(select(Track).order_by(Track.position)).all()
        assert len(tracks) == 2  # the chapter whose text could not be read is imported all the same
        rows = db.session.scalars(select(ChapterText)).all()
        assert [(r.track_id, r.body, r.source) for r in rows] == [(tracks[0].id, "第一章的文字。", "import")]
