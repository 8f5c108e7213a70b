"""Talking-book exports through HTTP: DAISY 2.02 (a book, and a whole section) checked against the specification's
structure, MP3 folders, memory."""

from __future__ import annotations

import io
import itertools
import re
import subprocess
import tracemalloc
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
from defusedxml import ElementTree
from flask import Flask, render_template_string
from flask.testing import FlaskClient
from mutagen.mp3 import MP3
from sqlalchemy import select

from bench.bench_feeds import HOUR_BYTES, add_sparse_hours
from kiosk.extensions import db
from kiosk.library import catalogue
from kiosk.models import Book, Section, Track
from kiosk.models.texts import ChapterText
from kiosk.storage import store
from tests.conftest import FFMPEG, AuthActions, make_audio
from tests.factories import gen_book, gen_track

XHTML = "{http://www.w3.org/1999/xhtml}"
# The NCC metadata DAISY 2.02 requires (section 2.2 of the specification).
REQUIRED_NCC_META = {
    "dc:creator", "dc:date", "dc:format", "dc:identifier", "dc:language", "dc:publisher", "dc:title",
    "ncc:charset", "ncc:depth", "ncc:files", "ncc:footnotes", "ncc:generator", "ncc:kByteSize", "ncc:maxPageNormal",
    "ncc:multimediaType", "ncc:narrator", "ncc:pageFront", "ncc:pageNormal", "ncc:pageSpecial", "ncc:prodNotes",
    "ncc:setInfo", "ncc:sidebars", "ncc:tocItems", "ncc:totalTime",
}
REQUIRED_SMIL_META = {"dc:format", "dc:identifier", "dc:title", "ncc:generator", "ncc:totalElapsedTime",
                      "ncc:timeInThisSmil"}
NPT = re.compile(r"^npt=(\d+(?:\.\d+)?)s$")


@pytest.fixture(scope="module")
def voices(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("export-audio")
    return [make_audio(folder / f"{n}.mp3", seconds=seconds, source=f"sine=frequency={300 + 100 * n}")
            for n, seconds in enumerate((3.0, 4.0, 2.0))]


@pytest.fixture
def book_id(app: Flask, voices: list[Path]) -> int:
    with app.app_context():
        book = gen_book("唐诗/三首", author="李白")
        gen_track(book, voices[0], title="静夜思", reader="王晓明", duration_ms=3000)
        gen_track(book, voices[1], title="春晓", reader="李红", duration_ms=4000)
        gen_track(book, voices[2], title="未发布", published=False, duration_ms=2000)
        return book.id


def _zip(client: FlaskClient, path: str) -> zipfile.ZipFile:
    response = client.get(path)
    assert response.status_code == 200, response.data[:300]
    assert response.mimetype == "application/zip"
    assert int(response.headers["Content-Length"]) == len(response.data)
    assert "filename*=UTF-8''" in response.headers["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    assert archive.testzip() is None  # every entry's CRC holds
    return archive


def _meta(tree: ElementTree, tag: str = "meta") -> dict[str, str]:
    return {m.get("name"): m.get("content") for m in tree.iter(tag) if m.get("name")}


def _seconds(npt: str) -> float:
    found = NPT.match(npt)
    assert found, npt
    return float(found.group(1))


def _hms(text: str) -> int:
    hours, minutes, secs = (int(part) for part in text.split(":"))
    return hours * 3600 + minutes * 60 + secs


def _ids(document: ElementTree) -> set[str]:
    return {element.get("id") for element in document.iter() if element.get("id")}


def check_daisy(archive: zipfile.ZipFile, tmp_path: Path) -> tuple[dict[str, str], list[Any], dict[str, Any]]:
    """DAISY 2.02's structure, checked: the fileset, the NCC's metadata and headings, every SMIL's text and
    audio references (both ways), and clips that run end to end over each recording. (NCC meta, headings,
    parsed documents by file name.)"""
    names = archive.namelist()
    folder = PurePosixPath(names[0]).parent
    files = {PurePosixPath(n).name: n for n in names}
    assert all(PurePosixPath(n).parent == folder for n in names)  # one fileset, one folder
    assert all(re.fullmatch(r"[a-z0-9_.-]+", name) for name in files)  # DAISY 2.02: ASCII file names
    documents = {name: ElementTree.fromstring(archive.read(path)) for name, path in files.items()
                 if name.endswith((".html", ".smil"))}
    ncc = documents["ncc.html"]
    assert ncc.tag == f"{XHTML}html"
    meta = _meta(ncc, f"{XHTML}meta")
    assert set(meta) >= REQUIRED_NCC_META, REQUIRED_NCC_META - set(meta)
    assert meta["dc:format"] == "Daisy 2.02"
    assert int(meta["ncc:files"]) == len(names)
    assert int(meta["ncc:kByteSize"]) == -(-sum(info.file_size for info in archive.infolist()) // 1024)

    headings = [h for h in ncc.find(f"{XHTML}body") if re.fullmatch(rf"{re.escape(XHTML)}h[1-6]", h.tag)]
    assert headings[0].tag == f"{XHTML}h1" and headings[0].get("class") == "title"  # 2.02: the first heading
    levels = [int(h.tag[-1]) for h in headings]
    assert all(b - a <= 1 for a, b in itertools.pairwise(levels))  # no level skipped
    assert int(meta["ncc:tocItems"]) == len(headings) and int(meta["ncc:depth"]) == max(levels)

    total_s = 0.0
    lengths: dict[str, float] = {}
    for heading in headings:
        smil_name, _, text_id = heading.find(f"{XHTML}a").get("href").partition("#")
        smil = documents[smil_name]
        assert smil.tag == "smil" and set(_meta(smil)) >= REQUIRED_SMIL_META
        assert abs(_hms(_meta(smil)["ncc:totalElapsedTime"]) - total_s) <= 1
        texts = {text.get("id"): text.get("src") for text in smil.iter("text")}
        target_file, _, target_id = texts[text_id].partition("#")  # the heading's par, and back to its text
        assert target_file in ("ncc.html", "content.html")
        if target_file == "ncc.html":
            assert target_id == heading.get("id")
        for src in texts.values():
            document, _, fragment = src.partition("#")
            assert fragment in _ids(documents[document]), src
        clips = [(a.get("src"), _seconds(a.get("clip-begin")), _seconds(a.get("clip-end"))) for a in smil.iter("audio")]
        assert clips and clips[0][1] == 0 and len({src for src, _, _ in clips}) == 1
        assert clips[0][0] in files, clips[0][0]  # the audio is in the fileset
        assert all(b[1] == pytest.approx(a[2]) for a, b in itertools.pairwise(clips))  # end to end, no gap
        src, end = clips[0][0], clips[-1][2]
        assert _seconds("npt=" + smil.find("body/seq").get("dur")) == pytest.approx(end)
        if src not in lengths:
            clip = tmp_path / src
            clip.write_bytes(archive.read(files[src]))
            lengths[src] = MP3(clip).info.length  # measured from the file, not from the catalogue
            decoded = subprocess.run([FFMPEG, "-v", "error", "-i", str(clip), "-f", "null", "-"], capture_output=True)
            assert decoded.returncode == 0 and not decoded.stderr, decoded.stderr
        assert end <= lengths[src] + 0.1
        total_s += end
    assert abs(_hms(meta["ncc:totalTime"]) - total_s) <= 1
    master = documents["master.smil"]
    assert [ref.get("src") for ref in master.iter("ref")] == [
        h.find(f"{XHTML}a").get("href").partition("#")[0] for h in headings]
    assert {name for name in files if name.endswith(".mp3")} == set(lengths)  # no recording left unplayed
    return meta, headings, documents


def test_daisy_export_passes_a_structural_check_of_ncc_and_smil(client: FlaskClient, book_id: int,
                                                                  tmp_path: Path) -> None:
    meta, headings, documents = check_daisy(_zip(client, f"/books/{book_id}/daisy.zip"), tmp_path)
    assert meta["dc:title"] == "唐诗/三首" and meta["ncc:narrator"] == "王晓明、李红"
    assert meta["ncc:multimediaType"] == "audioNcc" and "content.html" not in documents
    assert [h.find(f"{XHTML}a").text for h in headings] == ["唐诗/三首", "静夜思", "春晓"]


def test_a_chapter_with_read_along_carries_its_text_in_sync(app: Flask, client: FlaskClient, book_id: int,
                                                            tmp_path: Path) -> None:
    sentences = [("床前明月光，", 0), ("疑是地上霜。", 0), ("举头望明月，", 1), ("低头思故乡。", 1)]
    with app.app_context():
        track = db.session.scalars(select(Track).where(Track.book_id == book_id).order_by(Track.position)).first()
        db.session.add(ChapterText(track_id=track.id, body="".join(t for t, _ in sentences), source="console",
                                   sentences=[{"text": t, "paragraph": p} for t, p in sentences],
                                   cues=[[0.4, 0.9], [1.0, 1.6], [1.7, 2.2], [2.3, 2.9]],
                                   aligned_audio_key=track.audio_key))
        db.session.commit()
    meta, _, documents = check_daisy(_zip(client, f"/books/{book_id}/daisy.zip"), tmp_path)
    assert meta["ncc:multimediaType"] == "audioPartText"  # one chapter of two has its text
    content = documents["content.html"]
    spans = [span.text for span in content.iter(f"{XHTML}span")]
    assert spans == [t for t, _ in sentences]
    assert [len(p) for p in content.iter(f"{XHTML}p")] == [2, 2]  # the text's paragraphs kept
    smil = documents["c0001.smil"]
    pars = [(par.find("text").get("src"), par.find("audio")) for par in smil.iter("par")]
    assert pars[0][0] == "content.html#d0001"  # the chapter's heading, read before its first sentence
    assert [_seconds(audio.get("clip-begin")) for _, audio in pars] == [0.0, 0.4, 1.0, 1.7, 2.3]
    assert _seconds(pars[-1][1].get("clip-end")) == 3.0  # the last sentence runs to the chapter's end


def test_mp3_export_is_numbered_files_and_a_playlist_in_order(app: Flask, client: FlaskClient, book_id: int) -> None:
    cover = b"\xff\xd8\xff\xe0" + bytes(2000)
    with app.app_context():
        db.session.get(Book, book_id).cover_key = store().put_bytes(cover, "covers", "jpg")
        db.session.commit()
    archive = _zip(client, f"/books/{book_id}/mp3.zip")
    names = archive.namelist()
    (playlist_name,) = [n for n in names if n.endswith(".m3u8")]
    lines = archive.read(playlist_name).decode("utf-8").splitlines()
    assert lines[0] == "#EXTM3U"
    entries = [line for line in lines if line and not line.startswith("#")]
    assert entries == ["01 静夜思.mp3", "02 春晓.mp3"]  # the unpublished chapter is not exported
    extinf = [line for line in lines if line.startswith("#EXTINF")]
    assert extinf == ["#EXTINF:3,王晓明 - 静夜思", "#EXTINF:4,李红 - 春晓"]
    folder = PurePosixPath(playlist_name).parent
    assert str(folder) == "唐诗 三首"  # a slash in the title does not make a folder
    served = client.get(f"/api/v1/books/{book_id}").get_json()["book"]["tracks"]
    for entry, track in zip(entries, served, strict=True):
        assert archive.read(f"{folder}/{entry}") == client.get(track["audio_url"]).data
    assert archive.read(f"{folder}/cover.jpg") == cover  # beside the MP3s, whose tags carry no picture


def test_no_export_of_a_hidden_book_or_a_book_without_chapters(app: Flask, client: FlaskClient, book_id: int) -> None:
    with app.app_context():
        empty = gen_book("空书")
        empty_id = empty.id
        db.session.get(Book, book_id).published = False
        db.session.commit()
    for path in (f"/books/{book_id}/daisy.zip", f"/books/{book_id}/mp3.zip", f"/books/{empty_id}/mp3.zip"):
        assert client.get(path).status_code == 404


def _sparse_book(title: str, chapters: int, section_slug: str = "jingdian-songdu") -> int:
    """A book of one-hour chapters at 96 kbit/s as sparse files (432 MB per ten that cost no disk)."""
    book = gen_book(title, section_slug=section_slug)
    add_sparse_hours(book, chapters)
    db.session.commit()
    return book.id


def _streamed_peak(client: FlaskClient, path: str) -> tuple[int, int]:
    """Stream ``path`` to the end while tracing Python's memory: (bytes received, peak bytes)."""
    tracemalloc.start()
    try:
        response = client.get(path, buffered=False)
        assert response.status_code == 200
        received, tail = 0, b""
        for chunk in response.response:
            received += len(chunk)
            tail = (tail + chunk)[-65_536:]
        response.close()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert received == int(response.headers["Content-Length"])
    assert b"PK\x05\x06" in tail  # the end of the central directory: a whole archive
    return received, peak


def test_a_ten_hour_book_streams_in_flat_memory(app: Flask, client: FlaskClient) -> None:
    """Ten one-hour chapters; peak Python memory stays small."""
    with app.app_context():
        book_id = _sparse_book("十小时的书", 10)
    for export in ("daisy", "mp3"):
        received, peak = _streamed_peak(client, f"/books/{book_id}/{export}.zip")
        assert received > 10 * HOUR_BYTES
        print(f"{export}: {received / 1e6:.0f} MB streamed, Python peak {peak / 1e6:.2f} MB")
        assert peak < 8_000_000, peak  # under 2 % of the book


# ---- a whole section as one DAISY book -------------------------------------------------------


SECTION = "jingdian-songdu"  # 经典诵读, where gen_book puts books


@pytest.fixture
def section_books(app: Flask, voices: list[Path], book_id: int) -> dict[str, int]:
    """The section holds 唐诗/三首 (two published chapters and one not), 宋词两首 (one, sorting first in pinyin),
    a hidden book, a book with no published chapter, and a book in another section."""
    with app.app_context():
        song = gen_book("宋词两首", author="苏轼")
        gen_track(song, voices[1], title="水调歌头", reader="张三", duration_ms=4000)
        hidden = gen_book("未上架的书", published=False)
        gen_track(hidden, voices[0], title="不该出现的章", duration_ms=3000)
        empty = gen_book("只有草稿的书")
        gen_track(empty, voices[2], title="草稿章", published=False, duration_ms=2000)
        elsewhere = gen_book("别的栏目的书", section_slug="kepu-tiandi")
        gen_track(elsewhere, voices[2], title="别处的章", duration_ms=2000)
        return {"tang": book_id, "song": song.id, "hidden": hidden.id, "empty": empty.id, "elsewhere": elsewhere.id}


def _titles(headings: list[Any]) -> list[tuple[int, str]]:
    return [(int(h.tag[-1]), h.find(f"{XHTML}a").text) for h in headings]


def test_a_section_is_one_daisy_book_section_then_books_then_chapters(client: FlaskClient,
                                                                       section_books: dict[str, int],
                                                                       tmp_path: Path) -> None:
    archive = _zip(client, f"/sections/{SECTION}/daisy.zip")
    meta, headings, documents = check_daisy(archive, tmp_path)
    assert _titles(headings) == [(1, "经典诵读"), (2, "宋词两首"), (3, "水调歌头"),
                                 (2, "唐诗/三首"), (3, "静夜思"), (3, "春晓")]
    # The books in the section page's own order, as the API lists them.
    listed = [b["title"] for b in client.get(f"/api/v1/sections/{SECTION}").get_json()["books"]]
    assert [title for level, title in _titles(headings) if level == 2] == [t for t in listed if t != "只有草稿的书"]
    assert meta["dc:title"] == "经典诵读" and meta["dc:identifier"].endswith(f"/sections/{SECTION}")
    assert meta["ncc:depth"] == "3" and meta["ncc:tocItems"] == "6" and meta["ncc:multimediaType"] == "audioNcc"
    assert meta["ncc:narrator"] == "张三、王晓明、李红"
    assert meta["ncc:totalTime"] == "00:00:14"  # three headings of 0.96 s of silence, and 4 + 3 + 4 s of chapters
    # A book's heading plays the short silence, as the title's does, and points back to itself.
    book_smil = documents[headings[1].find(f"{XHTML}a").get("href").partition("#")[0]]
    assert [a.get("src") for a in book_smil.iter("audio")] == ["title.mp3"]
    # The recordings are exactly the published chapters, byte for byte, in reading order.
    chapters = [name for name in archive.namelist() if name.endswith(".mp3") and not name.endswith("/title.mp3")]
    served = [t["audio_url"] for b in (section_books["song"], section_books["tang"])
              for t in client.get(f"/api/v1/books/{b}").get_json()["book"]["tracks"]]
    assert [archive.read(name) for name in chapters] == [client.get(url).data for url in served]
    assert archive.namelist()[0].startswith(f"section-{SECTION}/")
    assert "filename*=UTF-8''%E7%BB%8F%E5%85%B8%E8%AF%B5%E8%AF%BB%20%28DAISY%29.zip" in client.get(
        f"/sections/{SECTION}/daisy.zip").headers["Content-Disposition"]


def test_unpublished_books_and_chapters_stay_out_of_the_section_book(app: Flask, client: FlaskClient,
                                                                      section_books: dict[str, int],
                                                                      tmp_path: Path) -> None:
    absent = ("未发布", "未上架的书", "不该出现的章", "只有草稿的书", "草稿章", "别的栏目的书", "别处的章")
    ncc_text = _zip(client, f"/sections/{SECTION}/daisy.zip").read(f"section-{SECTION}/ncc.html").decode()
    assert not [title for title in absent if title in ncc_text]
    with app.app_context():  # unpublish 宋词两首's only chapter: the book leaves the export at the next request
        track = db.session.scalars(select(Track).where(Track.book_id == section_books["song"])).one()
        track.published = False
        db.session.commit()
    _, headings, _ = check_daisy(_zip(client, f"/sections/{SECTION}/daisy.zip"), tmp_path)
    assert _titles(headings) == [(1, "经典诵读"), (2, "唐诗/三首"), (3, "静夜思"), (3, "春晓")]


def test_an_unknown_hidden_or_empty_section_answers_404_saying_why(app: Flask, client: FlaskClient,
                                                                   section_books: dict[str, int]) -> None:
    unknown = "没有找到这个栏目，它可能已被移动或下架。"
    empty = "这个栏目还没有上架的有声书。"
    with app.app_context():
        db.session.scalars(select(Section).where(Section.slug == "kepu-tiandi")).one().published = False
        db.session.commit()
    cases = {"no-such-section": unknown, "kepu-tiandi": unknown,  # hidden: as if it were not there
             "fenghuo-jiyi": empty}  # a section without books
    for slug, message in cases.items():
        page = client.get(f"/sections/{slug}/daisy.zip")
        assert page.status_code == 404 and page.mimetype == "text/html"
        assert message in page.get_data(as_text=True)
        answer = client.get(f"/sections/{slug}/daisy.zip", headers={"Accept": "application/json"})
        assert answer.status_code == 404 and answer.get_json() == {"error": "not_found", "message": message}
    with app.app_context():  # a section whose only book has no published chapter is empty too
        for book in db.session.scalars(select(Book).where(Book.id.in_([section_books["tang"], section_books["song"]]))):
            book.published = False
        db.session.commit()
    page = client.get(f"/sections/{SECTION}/daisy.zip")
    assert page.status_code == 404 and empty in page.get_data(as_text=True)


def test_a_section_book_carries_read_along_text_under_its_book(app: Flask, client: FlaskClient,
                                                               section_books: dict[str, int], tmp_path: Path) -> None:
    sentences = [("床前明月光，", 0), ("疑是地上霜。", 0), ("举头望明月，", 1), ("低头思故乡。", 1)]
    with app.app_context():
        track = db.session.scalars(select(Track).where(Track.book_id == section_books["tang"])
                                   .order_by(Track.position)).first()
        db.session.add(ChapterText(track_id=track.id, body="".join(t for t, _ in sentences), source="console",
                                   sentences=[{"text": t, "paragraph": p} for t, p in sentences],
                                   cues=[[0.4, 0.9], [1.0, 1.6], [1.7, 2.2], [2.3, 2.9]],
                                   aligned_audio_key=track.audio_key))
        db.session.commit()
    meta, headings, documents = check_daisy(_zip(client, f"/sections/{SECTION}/daisy.zip"), tmp_path)
    assert meta["ncc:multimediaType"] == "audioPartText"
    content = documents["content.html"]
    outline = [(element.tag.removeprefix(XHTML), element.text) for element in content.find(f"{XHTML}body")
               if element.tag != f"{XHTML}p"]
    assert outline == [("h1", "经典诵读"), ("h2", "唐诗/三首"), ("h3", "静夜思")]  # 宋词两首 has no text
    assert [span.text for span in content.iter(f"{XHTML}span")] == [t for t, _ in sentences]
    smil = documents[headings[4].find(f"{XHTML}a").get("href").partition("#")[0]]  # 静夜思
    assert [_seconds(audio.get("clip-begin")) for audio in smil.iter("audio")] == [0.0, 0.4, 1.0, 1.7, 2.3]


def test_the_section_page_partial_and_the_console_link_to_the_section_book(app: Flask, client: FlaskClient,
                                                                          auth: AuthActions,
                                                                          section_books: dict[str, int]) -> None:
    include = '{% include "feeds/_section_subscribe.html" %}'
    with app.test_request_context("/"):
        card = catalogue.section(SECTION)[0]
        offered = render_template_string(include, section=card)
        bare = render_template_string(include, section=catalogue.section("fenghuo-jiyi")[0])
    assert f'href="/sections/{SECTION}/daisy.zip"' in offered and "（ZIP，3 本书）" in offered  # as the page counts
    assert "daisy.zip" not in bare  # nothing to download, so no link to a 404
    with app.app_context():
        section_id = db.session.scalars(select(Section.id).where(Section.slug == SECTION)).one()
    console = auth.login().get(f"/admin/sections/{section_id}")
    assert f'href="/sections/{SECTION}/daisy.zip"' in console.get_data(as_text=True)


def test_a_twelve_hour_section_streams_in_flat_memory(app: Flask, client: FlaskClient) -> None:
    """Three books of four one-hour chapters (518 MB); peak Python memory stays small."""
    with app.app_context():
        for title in ("第一本", "第二本", "第三本"):
            _sparse_book(title, 4, section_slug="kepu-tiandi")
    received, peak = _streamed_peak(client, "/sections/kepu-tiandi/daisy.zip")
    assert received > 12 * HOUR_BYTES
    print(f"section daisy: {received / 1e6:.0f} MB streamed, Python peak {peak / 1e6:.2f} MB")
    assert peak < 8_000_000, peak
