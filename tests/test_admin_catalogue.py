"""The catalogue console through HTTP: sections, books, covers, chapters, readers, booth texts.

Each test makes a change as a signed-in librarian, then checks the audit log and what a
visitor now sees. Audio is synthesised; loudness is measured independently of the pipeline
(ffmpeg decodes to float PCM, pyloudnorm meters it).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import event, select

from kiosk.extensions import db
from kiosk.library import catalogue
from kiosk.models import AuditEvent, Book, BoothText, CodeTarget, Reader, Recording, Section, Track
from kiosk.storage import store
from recorder import pipeline, synth
from recorder.presets import DEFAULT
from recorder.tags import TrackTags
from tests.conftest import AuthActions
from tests.factories import gen_book, gen_section, gen_track
from tests.recorder.helpers import decode, integrated_lufs

HOSTILE = '<script>alert("x")</script>'


# ---- helpers ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def speech_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Five seconds of quiet speech-like audio (−28 LUFS), as a studio might deliver raw."""
    folder = tmp_path_factory.mktemp("speech")
    return synth.speechlike(folder / "raw.wav", duration_s=5, level_lufs=-28, pad_head_s=0.5,
                            pad_tail_s=0.5)


@pytest.fixture(scope="module")
def mastered_mp3(speech_wav: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An MP3 already at the house standard (−18 LUFS, true peak under −1 dBTP)."""
    out = tmp_path_factory.mktemp("mastered") / "ready.mp3"
    pipeline.master(speech_wav, out, tags=TrackTags(title="ready"), preset=DEFAULT)
    return out


def audit_actions(app: Flask) -> list[tuple[str, str | None, dict[str, Any] | None]]:
    """(action, target id, detail) of every audit event, oldest first."""
    with app.app_context():
        events = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
        return [(e.action, e.target_id, e.detail) for e in events]


def actions(app: Flask) -> list[str]:
    """Just the audit actions, oldest first."""
    return [action for action, _target, _detail in audit_actions(app)]


def make_book(app: Flask, title: str = "唐诗三首", **fields: Any) -> int:
    """A published book in 经典诵读； its id."""
    with app.app_context():
        return gen_book(title, **fields).id


def make_track(app: Flask, book_id: int, audio: Path, **fields: Any) -> int:
    """A published chapter of ``book_id``; its id."""
    with app.app_context():
        return gen_track(db.session.get(Book, book_id), audio, **fields).id


def section_id(app: Flask, slug: str) -> int:
    """The id of a default section."""
    with app.app_context():
        return gen_section(slug).id


def text_of(response: Any) -> str:
    """A response body as text."""
    return response.get_data(as_text=True)


def upload(client: FlaskClient, book_id: int, audio: Path | bytes, *, title: str = "第一章",
           reader: str = "", keep: bool = False, name: str = "chapter.wav") -> Any:
    """Post the new-chapter form of a book."""
    data: dict[str, Any] = {"chapter-title": title, "chapter-reader": reader}
    body = audio if isinstance(audio, bytes) else audio.read_bytes()
    data["chapter-audio"] = (io.BytesIO(body), name)
    if keep:
        data["chapter-keep_as_is"] = "y"
    return client.post(f"/admin/books/{book_id}/tracks", data=data,
                       content_type="multipart/form-data")


def loudness_lufs(path: Path, tmp_dir: Path) -> float:
    """Integrated loudness of an audio file, by pyloudnorm on ffmpeg's float decode (not our meter)."""
    samples, rate = decode(path, tmp_dir)
    return integrated_lufs(samples, rate)


def png_bytes(width: int = 600, height: int = 400, mode: str = "RGB") -> bytes:
    """A real PNG image."""
    buffer = io.BytesIO()
    Image.new(mode, (width, height), "white" if mode == "1" else (200, 60, 40)).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture
def librarian(auth: AuthActions) -> FlaskClient:
    """The client, signed in as a librarian."""
    return auth.login()


# ---- sections ---------------------------------------------------------------------------


def section_form(app: Flask, slug: str, **changes: str) -> dict[str, str]:
    """A section's edit form as it stands, with ``changes``."""
    with app.app_context():
        s = gen_section(slug)
        data = {"name": s.name, "name_en": s.name_en or "", "description": s.description,
                "description_en": s.description_en or "", "colour": s.colour, "icon": s.icon}
    return {**data, **changes}


def test_renaming_a_section_keeps_its_printed_code(app: Flask, librarian: FlaskClient) -> None:
    sid = section_id(app, "kepu-tiandi")
    with app.app_context():
        code = catalogue.primary_code(CodeTarget.SECTION, sid)
    form = section_form(app, "kepu-tiandi", name="科学小站", name_en="Science Corner")
    response = librarian.post(f"/admin/sections/{sid}", data=form)
    assert response.status_code == 303
    assert "科学小站" in text_of(librarian.get("/"))
    landing = librarian.get(f"/q/{code}")
    assert landing.status_code == 302
    assert landing.headers["Location"].endswith("/sections/kepu-tiandi")
    action, target, detail = audit_actions(app)[-1]
    assert (action, target) == ("section_updated", str(sid))
    assert detail["changes"]["name"] == ["科普天地", "科学小站"]
    with app.app_context():
        assert catalogue.primary_code(CodeTarget.SECTION, sid) == code


@pytest.mark.parametrize(
    ("colour", "message"),
    [
        ("#ffff00", "对比度只有 1.1:1"),  # yellow: white text unreadable
        ("#76b041", "至少需要 4.5:1"),
        ("red", "#RRGGBB"),
        ("", "#RRGGBB"),
        ("#12345", "#RRGGBB"),
    ],
)
def test_section_colours_must_carry_white_text(
    app: Flask, librarian: FlaskClient, colour: str, message: str
) -> None:
    sid = section_id(app, "kepu-tiandi")
    form = section_form(app, "kepu-tiandi", name="我改的名字", colour=colour)
    response = librarian.post(f"/admin/sections/{sid}", data=form)
    assert response.status_code == 422
    page = text_of(response)
    assert message in page
    assert 'value="我改的名字"' in page  # what was typed is kept
    with app.app_context():
        assert gen_section("kepu-tiandi").name == "科普天地"


def test_palette_colours_all_pass_and_are_saved_lower_case(app: Flask, librarian: FlaskClient) -> None:
    from kiosk.library.edits import PALETTE, contrast_with_white

    assert all(contrast_with_white(value) >= 4.5 for value, _label in PALETTE)
    sid = section_id(app, "kepu-tiandi")
    librarian.post(f"/admin/sections/{sid}", data=section_form(app, "kepu-tiandi", colour="#1D5C8C"))
    with app.app_context():
        assert gen_section("kepu-tiandi").colour == "#1d5c8c"


def wall_order(client: FlaskClient) -> list[str]:
    """The section slugs in the order the wall shows them."""
    return re.findall(r'href="/sections/([a-z-]+)"', text_of(client.get("/")))


def test_reordering_sections_keeps_positions_dense(app: Flask, librarian: FlaskClient) -> None:
    before = wall_order(librarian)
    sid = section_id(app, before[0])
    assert librarian.post(f"/admin/sections/{sid}/move", data={"direction": "down"}).status_code == 303
    assert wall_order(librarian) == [before[1], before[0], *before[2:]]
    last = section_id(app, before[-1])
    librarian.post(f"/admin/sections/{last}/move", data={"direction": "down"})  # already last
    with app.app_context():
        positions = [s.position for s in db.session.scalars(select(Section).order_by(Section.position))]
    assert positions == list(range(9))
    assert actions(app).count("section_moved") == 2


def test_a_hidden_section_leaves_the_wall(app: Flask, librarian: FlaskClient) -> None:
    sid = section_id(app, "jiankang-shenghuo")
    response = librarian.post(f"/admin/sections/{sid}/published", data={"published": "0"})
    assert response.status_code == 303
    assert "jiankang-shenghuo" not in wall_order(librarian)
    assert librarian.get("/sections/jiankang-shenghuo").status_code == 404
    assert actions(app)[-1] == "section_hidden"
    librarian.post(f"/admin/sections/{sid}/published", data={"published": "1"})
    assert "jiankang-shenghuo" in wall_order(librarian)


def test_a_forged_button_is_a_400(app: Flask, librarian: FlaskClient) -> None:
    sid = section_id(app, "kepu-tiandi")
    assert librarian.post(f"/admin/sections/{sid}/move", data={"direction": "sideways"}).status_code == 400
    assert librarian.post(f"/admin/sections/{sid}/published", data={}).status_code == 400


# ---- books ------------------------------------------------------------------------------


def book_form(app: Flask, slug: str = "jingdian-songdu", **changes: str) -> dict[str, Any]:
    """A new-book form."""
    return {"section_id": str(section_id(app, slug)), "title": "静夜思", "title_en": "",
            "author": "李白", "description": "", **changes}


def test_creating_a_book_gives_it_a_code(app: Flask, librarian: FlaskClient, sample_mp3: Path) -> None:
    response = librarian.post("/admin/books/new", data=book_form(app))
    assert response.status_code == 303
    book_id = int(response.headers["Location"].rsplit("/", 1)[1])
    with app.app_context():
        code = catalogue.primary_code(CodeTarget.BOOK, book_id)
        assert db.session.get(Book, book_id).sort_key.startswith("jing")
    assert code is not None
    assert ("book_created", str(book_id)) == audit_actions(app)[-1][:2]
    make_track(app, book_id, sample_mp3)
    assert librarian.get(f"/q/{code}").headers["Location"].endswith(f"/books/{book_id}")
    assert "静夜思" in text_of(librarian.get("/sections/jingdian-songdu"))


@contextmanager
def statements_run(app: Flask) -> Iterator[list[str]]:
    """Every SQL statement the application's engine sends inside the block."""
    seen: list[str] = []

    def note(_connection: object, _cursor: object, statement: str, *_rest: object) -> None:
        seen.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)


BOOK_ROW = re.compile(r'<th scope="row"><a href="/admin/books/\d+">([^<]*)</a></th>\s*'
                      r"<td>[^<]*</td>\s*<td>([^<]*)</td>\s*<td>(\d+)</td>")


def listed(response: Any) -> list[tuple[str, str, int]]:
    """(title, section, live chapters) of each line of the console's book list, in order."""
    assert response.status_code == 200
    return [(title, section, int(chapters)) for title, section, chapters in BOOK_ROW.findall(text_of(response))]


def pager_link(response: Any, rel: str) -> str:
    """Where a page's "next" or "prev" pager link leads."""
    found = re.search(rf'rel="{rel}" href="([^"]*)"', text_of(response))
    assert found is not None, rel
    return found.group(1).replace("&amp;", "&")


def test_the_book_list_costs_the_same_few_statements_at_any_size(
    app: Flask, librarian: FlaskClient, sample_mp3: Path
) -> None:
    def add_books(start: int, stop: int) -> None:
        with app.app_context():
            for n in range(start, stop):
                book = gen_book(f"书{n:03d}", section_slug=("jingdian-songdu", "kepu-tiandi")[n % 2])
                if n % 10 == 0:
                    gen_track(book, sample_mp3)

    counts = []
    for start, stop in ((0, 30), (30, 300)):
        add_books(start, stop)
        with statements_run(app) as seen:
            shown = listed(librarian.get("/admin/books"))
        assert len(shown) == min(stop, catalogue.BOOKS_PER_PAGE)
        counts.append(len(seen))
    assert counts[0] == counts[1] <= 10, counts  # 30 books or 300: the same statements


def test_the_book_list_is_paged_like_the_section_page(
    app: Flask, librarian: FlaskClient, sample_mp3: Path
) -> None:
    per_page = catalogue.BOOKS_PER_PAGE
    titles = [f"书{n:03d}" for n in range(per_page + 12)]
    for title in titles:
        make_book(app, title)
    make_book(app, "别处的书", section_slug="kepu-tiandi")
    first_book = make_book(app, "阿Q正传")  # sorts first (a…)
    make_track(app, first_book, sample_mp3, title="第一章")
    trashed = make_track(app, first_book, sample_mp3, title="第二章")
    assert librarian.post(f"/admin/tracks/{trashed}/delete").status_code == 303
    everything = [("阿Q正传", "经典诵读", 1)] + [(t, "经典诵读", 0) for t in titles] + [("别处的书", "科普天地", 0)]

    page_one = librarian.get("/admin/books")
    assert listed(page_one) == everything[:per_page]
    assert "第 1 / 2 页" in text_of(page_one) and 'rel="prev"' not in text_of(page_one)
    page_two = librarian.get(pager_link(page_one, "next"))
    assert listed(page_two) == everything[per_page:]
    assert 'rel="next"' not in text_of(page_two) and 'rel="prev"' in text_of(page_two)

    jingdian = section_id(app, "jingdian-songdu")
    filtered = librarian.get(f"/admin/books?section={jingdian}&page=2")
    assert listed(filtered) == everything[per_page:-1]  # the other section's book is left out
    assert f"section={jingdian}" in pager_link(filtered, "prev")  # the filter holds while paging
    for odd, same_as in (("0", 1), ("-3", 1), ("abc", 1), ("", 1), ("99999999999999999999", 2)):
        expected = everything[:per_page] if same_as == 1 else everything[per_page:]
        assert listed(librarian.get(f"/admin/books?page={odd}")) == expected, odd


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"title": "   "}, "请填写书名。"),
        ({"title": "长" * 300}, "最多 256 个字符。"),
        ({"section_id": "999"}, "请选择栏目。"),
        ({"section_id": "abc"}, "请选择栏目。"),
    ],
)
def test_book_form_errors_keep_what_was_typed(
    app: Flask, librarian: FlaskClient, changes: dict[str, str], message: str
) -> None:
    response = librarian.post("/admin/books/new", data=book_form(app, author="我输入的作者", **changes))
    assert response.status_code == 422
    assert message in text_of(response)
    assert 'value="我输入的作者"' in text_of(response)


def test_moving_and_renaming_a_book(app: Flask, librarian: FlaskClient, sample_mp3: Path) -> None:
    book_id = make_book(app)
    make_track(app, book_id, sample_mp3)
    form = book_form(app, "mingjia-mingpian", title="春江花月夜", author="张若虚")
    assert librarian.post(f"/admin/books/{book_id}", data=form).status_code == 303
    assert "春江花月夜" in text_of(librarian.get("/sections/mingjia-mingpian"))
    assert "春江花月夜" not in text_of(librarian.get("/sections/jingdian-songdu"))
    assert "春江花月夜" in text_of(librarian.get("/search?q=chunjiang"))  # pinyin index refreshed
    assert "春江花月夜" in text_of(librarian.get("/search?q=张若虚"))
    moved = [d for a, _t, d in audit_actions(app) if a == "book_moved"]
    assert moved == [{"old": "jingdian-songdu", "new": "mingjia-mingpian", "ip": "127.0.0.1"}]
    assert "book_updated" in actions(app)


def test_unpublishing_a_book_hides_it(app: Flask, librarian: FlaskClient, sample_mp3: Path) -> None:
    book_id = make_book(app)
    make_track(app, book_id, sample_mp3)
    librarian.post(f"/admin/books/{book_id}/published", data={"published": "0"})
    assert librarian.get(f"/books/{book_id}").status_code == 404
    assert actions(app)[-1] == "book_unpublished"
    librarian.post(f"/admin/books/{book_id}/published", data={"published": "1"})
    assert librarian.get(f"/books/{book_id}").status_code == 200


def post_cover(client: FlaskClient, book_id: int, data: bytes, name: str = "cover.png") -> Any:
    """Post the cover form of a book."""
    return client.post(f"/admin/books/{book_id}/cover", data={"cover": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def test_a_cover_is_re_encoded_never_served_as_uploaded(app: Flask, librarian: FlaskClient) -> None:
    book_id = make_book(app)
    upload_bytes = png_bytes()
    assert post_cover(librarian, book_id, upload_bytes).status_code == 303
    with app.app_context():
        book = db.session.get(Book, book_id)
        large, thumb = book.cover_key, book.cover_thumb_key
    served = librarian.get(f"/media/{large}")
    assert served.status_code == 200
    assert served.mimetype == "image/jpeg"
    assert served.data != upload_bytes
    assert Image.open(io.BytesIO(served.data)).size == (480, 480)
    assert Image.open(io.BytesIO(librarian.get(f"/media/{thumb}").data)).size == (160, 160)
    assert actions(app)[-1] == "book_cover_set"


@pytest.mark.parametrize(
    ("data", "status", "message"),
    [
        (b"<html>not an image</html>", 415, "这不是可以识别的图片"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 64, 415, "这不是可以识别的图片"),  # a corrupt PNG
        (png_bytes(9000, 9000, mode="1"), 413, "图片的像素太多了"),  # 81 Mpx: a bomb
        (png_bytes(7000, 7000, mode="1"), 413, "图片的像素太多了"),  # 49 Mpx: over the limit
    ],
)
def test_bad_covers_are_refused_with_the_reason(
    app: Flask, librarian: FlaskClient, data: bytes, status: int, message: str
) -> None:
    book_id = make_book(app)
    response = post_cover(librarian, book_id, data)
    assert response.status_code == status
    assert message in text_of(response)
    with app.app_context():
        assert db.session.get(Book, book_id).cover_key is None


# ---- chapters ---------------------------------------------------------------------------


def chapter_titles(client: FlaskClient, book_id: int) -> list[str]:
    """The chapter titles of a visitor's book page, in order."""
    return re.findall(r'<span class="chapter-title">([^<]*)</span>', text_of(client.get(f"/books/{book_id}")))


def test_an_uploaded_recording_is_mastered_into_a_chapter(
    app: Flask, librarian: FlaskClient, speech_wav: Path, tmp_path: Path
) -> None:
    book_id = make_book(app)
    response = upload(librarian, book_id, speech_wav, title="第一回", reader="孙老师")
    assert response.status_code == 303
    assert "录音已处理完毕" in text_of(librarian.get(response.headers["Location"]))
    assert chapter_titles(librarian, book_id) == ["第一回"]
    with app.app_context():
        track = db.session.get(Book, book_id).tracks[0]
        key, reader = track.audio_key, track.reader.name
        path = store().path(key)
    assert reader == "孙老师"
    assert abs(loudness_lufs(speech_wav, tmp_path) - (-28)) <= 1.0  # it came in quiet
    assert abs(loudness_lufs(path, tmp_path) - (-18)) <= 1.0  # and went out at the house level
    assert librarian.get(f"/media/{key}").status_code == 200
    assert {"track_upload_received", "track_created"} <= set(actions(app))
    assert "孙老师" in text_of(librarian.get("/search?q=sunlaoshi"))


def test_keep_as_is_keeps_a_file_that_meets_the_standard(
    app: Flask, librarian: FlaskClient, mastered_mp3: Path
) -> None:
    book_id = make_book(app)
    response = upload(librarian, book_id, mastered_mp3, keep=True, name="ready.mp3")
    assert "文件已符合标准，保持原样" in text_of(librarian.get(response.headers["Location"]))
    with app.app_context():
        key = db.session.get(Book, book_id).tracks[0].audio_key
    assert librarian.get(f"/media/{key}").data == mastered_mp3.read_bytes()


def test_keep_as_is_is_refused_for_a_file_outside_the_standard(
    app: Flask, librarian: FlaskClient, speech_wav: Path, tmp_path: Path
) -> None:
    book_id = make_book(app)
    response = upload(librarian, book_id, speech_wav, keep=True)
    page = text_of(librarian.get(response.headers["Location"]))
    assert "只有 MP3 文件可以保持原样" in page
    with app.app_context():
        path = store().path(db.session.get(Book, book_id).tracks[0].audio_key)
    assert abs(loudness_lufs(path, tmp_path) - (-18)) <= 1.0  # mastered after all


def test_keep_as_is_measures_loudness_of_an_mp3(
    app: Flask, librarian: FlaskClient, tmp_path: Path
) -> None:
    quiet = synth.speechlike(tmp_path / "quiet.mp3", duration_s=4, level_lufs=-30, pad_head_s=0.5)
    book_id = make_book(app)
    response = upload(librarian, book_id, quiet, keep=True, name="quiet.mp3")
    page = text_of(librarian.get(response.headers["Location"]))
    assert "不符合标准" in page
    assert "LUFS" in page


@pytest.mark.parametrize(
    ("body", "name", "status", "message"),
    [
        (b"just some text, not audio\n" * 40, "notes.mp3", 415, "这不是可以识别的音频文件"),
        (b"ID3\x04\x00\x00\x00\x00\x00\x00" + bytes(range(256)) * 40, "broken.mp3", 415,
         "这不是可以识别的音频文件"),
        (png_bytes(), "cover.png", 415, "这不是可以识别的音频文件"),
        (b"", "empty.wav", 415, "这不是可以识别的音频文件"),
    ],
)
def test_refused_uploads_say_why_and_keep_the_title(
    app: Flask, librarian: FlaskClient, body: bytes, name: str, status: int, message: str
) -> None:
    book_id = make_book(app)
    response = upload(librarian, book_id, body, title="我输入的标题", name=name)
    assert response.status_code == status
    assert message in text_of(response)
    assert 'value="我输入的标题"' in text_of(response)
    with app.app_context():
        assert db.session.get(Book, book_id).tracks == []


def test_an_upload_without_a_file_asks_for_one(app: Flask, librarian: FlaskClient) -> None:
    book_id = make_book(app)
    response = librarian.post(f"/admin/books/{book_id}/tracks", data={"chapter-title": "第一章"})
    assert response.status_code == 422
    assert "请选择音频文件。" in text_of(response)


def test_an_oversized_upload_is_refused(app: Flask, librarian: FlaskClient, speech_wav: Path) -> None:
    app.config["MAX_CONTENT_LENGTH"] = 50_000
    book_id = make_book(app)
    response = upload(librarian, book_id, speech_wav)
    assert response.status_code == 413
    assert "文件太大了" in text_of(response)


def test_renaming_a_chapter_and_typing_a_new_reader(
    app: Flask, librarian: FlaskClient, sample_mp3: Path
) -> None:
    book_id = make_book(app)
    track_id = make_track(app, book_id, sample_mp3, title="旧标题", reader="王晓明")
    response = librarian.post(f"/admin/tracks/{track_id}", data={"title": "新标题", "reader": "李秀英"})
    assert response.status_code == 303
    page = text_of(librarian.get(f"/books/{book_id}"))
    assert "新标题" in page
    assert "李秀英" in page
    assert "李秀英" in text_of(librarian.get("/search?q=lixiuying"))
    assert f'href="/books/{book_id}"' not in text_of(librarian.get("/search?q=王晓明"))
    detail = audit_actions(app)[-1][2]
    assert detail["changes"] == {"title": ["旧标题", "新标题"], "reader": ["王晓明", "李秀英"]}
    bad = librarian.post(f"/admin/tracks/{track_id}", data={"title": " ", "reader": "我输入的"})
    assert bad.status_code == 422
    assert "请填写章节标题。" in text_of(bad)
    assert 'value="我输入的"' in text_of(bad)


def test_reordering_chapters_shows_on_the_book_page(
    app: Flask, librarian: FlaskClient, sample_mp3: Path
) -> None:
    book_id = make_book(app)
    ids = [make_track(app, book_id, sample_mp3, title=title) for title in ("一", "二", "三")]
    librarian.post(f"/admin/tracks/{ids[2]}/move", data={"direction": "up"})
    assert chapter_titles(librarian, book_id) == ["一", "三", "二"]
    assert actions(app)[-1] == "track_moved"
    response = librarian.post(f"/admin/books/{book_id}/order", data={"order": f"{ids[1]},{ids[0]},{ids[2]}"})
    assert response.status_code == 303
    assert chapter_titles(librarian, book_id) == ["二", "一", "三"]
    stale = librarian.post(f"/admin/books/{book_id}/order", data={"order": f"{ids[1]},{ids[0]}"})
    assert stale.status_code == 303
    assert "章节列表已变化" in text_of(librarian.get(stale.headers["Location"]))
    with app.app_context():
        assert [t.position for t in db.session.get(Book, book_id).tracks] == [1, 2, 3]


def test_replacing_audio_gives_a_new_url_and_keeps_the_old_file(
    app: Flask, librarian: FlaskClient, sample_mp3: Path, speech_wav: Path
) -> None:
    book_id = make_book(app)
    track_id = make_track(app, book_id, sample_mp3)
    with app.app_context():
        old_key = db.session.get(Track, track_id).audio_key
    response = librarian.post(
        f"/admin/tracks/{track_id}/audio", data={"audio": (io.BytesIO(speech_wav.read_bytes()), "new.wav")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 303
    with app.app_context():
        track = db.session.get(Track, track_id)
        new_key = track.audio_key
        assert store().exists(old_key)
    assert new_key != old_key
    assert librarian.get(f"/media/{new_key}").status_code == 200
    action, target, detail = audit_actions(app)[-1]
    assert (action, target, detail["old"], detail["new"]) == ("track_audio_replaced", str(track_id), old_key, new_key)


def test_unpublishing_a_chapter_takes_its_audio_down(
    app: Flask, librarian: FlaskClient, sample_mp3: Path
) -> None:
    book_id = make_book(app)
    track_id = make_track(app, book_id, sample_mp3)
    with app.app_context():
        key = db.session.get(Track, track_id).audio_key
    librarian.post(f"/admin/tracks/{track_id}/published", data={"published": "0"})
    assert librarian.get(f"/media/{key}").status_code == 404
    assert librarian.get(f"/admin/tracks/{track_id}/audio").status_code == 200  # librarians still hear it
    assert actions(app)[-1] == "track_unpublished"


# ---- readers ----------------------------------------------------------------------------


def test_editing_a_reader_profile(app: Flask, librarian: FlaskClient, sample_mp3: Path) -> None:
    book_id = make_book(app)
    make_track(app, book_id, sample_mp3, reader="王晓明")
    with app.app_context():
        reader_id = db.session.scalar(select(Reader.id).where(Reader.name == "王晓明"))
    response = librarian.post(f"/admin/readers/{reader_id}", data={"name": "王小明", "bio": "退休语文教师"})
    assert response.status_code == 303
    assert "王小明" in text_of(librarian.get(f"/books/{book_id}"))
    assert "王小明" in text_of(librarian.get("/search?q=wangxiaoming"))
    assert actions(app)[-1] == "reader_updated"


def test_merging_duplicate_readers(app: Flask, librarian: FlaskClient, sample_mp3: Path) -> None:
    book_id = make_book(app)
    make_track(app, book_id, sample_mp3, title="一", reader="张 老师")
    make_track(app, book_id, sample_mp3, title="二", reader="张老师")
    with app.app_context():
        dup, keep = (db.session.scalar(select(Reader.id).where(Reader.name == n)) for n in ("张 老师", "张老师"))
    clash = librarian.post(f"/admin/readers/{dup}", data={"name": "张老师", "bio": ""})
    assert clash.status_code == 422
    assert "请使用“合并”" in text_of(clash)
    response = librarian.post(f"/admin/readers/{dup}/merge", data={"target": str(keep)})
    assert response.status_code == 303
    with app.app_context():
        assert db.session.get(Reader, dup) is None
        assert {t.reader_id for t in db.session.get(Book, book_id).tracks} == {keep}
    action, target, detail = audit_actions(app)[-1]
    assert (action, target, detail["merged"], detail["tracks"]) == ("readers_merged", str(keep), "张 老师", 1)
    assert "张 老师" not in text_of(librarian.get(f"/books/{book_id}"))


def test_merging_into_nobody_is_refused(app: Flask, librarian: FlaskClient, sample_mp3: Path) -> None:
    make_track(app, make_book(app), sample_mp3, reader="独一位")
    with app.app_context():
        only = db.session.scalar(select(Reader.id))
    response = librarian.post(f"/admin/readers/{only}/merge", data={"target": str(only)})
    assert response.status_code == 422
    assert "请选择要保留的朗读者。" in text_of(response)


# ---- booth texts ------------------------------------------------------------------------


def text_titles(app: Flask, published_only: bool = False) -> list[str]:
    """Booth text titles in order."""
    with app.app_context():
        query = select(BoothText).order_by(BoothText.position, BoothText.id)
        return [t.title for t in db.session.scalars(query) if t.published or not published_only]


def test_booth_texts_from_creation_to_deletion(app: Flask, librarian: FlaskClient) -> None:
    for title in ("静夜思", "春晓"):
        form = {"title": title, "author": "", "body": "床前明月光"}
        assert librarian.post("/admin/texts/new", data=form).status_code == 303
    assert text_titles(app) == ["静夜思", "春晓"]
    with app.app_context():
        first, second = db.session.scalars(select(BoothText.id).order_by(BoothText.position)).all()
    librarian.post(f"/admin/texts/{second}/move", data={"direction": "up"})
    assert text_titles(app) == ["春晓", "静夜思"]
    librarian.post(f"/admin/texts/{first}", data={"title": "静夜思（李白）", "author": "李白", "body": "举头望明月"})
    librarian.post(f"/admin/texts/{second}/published", data={"published": "0"})
    assert text_titles(app, published_only=True) == ["静夜思（李白）"]
    librarian.post(f"/admin/texts/{second}/delete")
    assert text_titles(app) == ["静夜思（李白）"]
    assert actions(app)[-5:] == ["text_created", "text_moved", "text_updated", "text_hidden", "text_deleted"]
    empty = librarian.post("/admin/texts/new", data={"title": "只有标题", "body": ""})
    assert empty.status_code == 422
    assert "请填写正文。" in text_of(empty)
    assert 'value="只有标题"' in text_of(empty)


def test_a_text_someone_read_can_only_be_hidden(app: Flask, librarian: FlaskClient) -> None:
    with app.app_context():
        text = BoothText(title="读过的", author="", body="正文")
        db.session.add(text)
        db.session.flush()
        db.session.add(Recording(token="t" * 20, reader_name="甲", consent=True, licence="CC BY 4.0",
                                 text_id=text.id, title="读过的", original_key="originals/aa/" + "a" * 32 + ".wav",
                                 original_size_bytes=1))
        db.session.commit()
        text_id = text.id
    response = librarian.post(f"/admin/texts/{text_id}/delete")
    assert "不能删除" in text_of(librarian.get(response.headers["Location"]))
    assert text_titles(app) == ["读过的"]


# ---- security: CSRF, escaping, roles ----------------------------------------------------


def test_forms_refuse_a_post_without_the_csrf_token(app: Flask, librarian: FlaskClient) -> None:
    app.config["WTF_CSRF_ENABLED"] = True
    sid = section_id(app, "kepu-tiandi")
    refused = librarian.post(f"/admin/sections/{sid}", data=section_form(app, "kepu-tiandi", name="偷改"))
    assert refused.status_code == 400
    page = text_of(librarian.get(f"/admin/sections/{sid}"))
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page) or re.search(
        r'name="csrf_token" value="([^"]+)"', page)
    assert token
    form = section_form(app, "kepu-tiandi", name="正常改名", csrf_token=token.group(1))
    assert librarian.post(f"/admin/sections/{sid}", data=form).status_code == 303
    with app.app_context():
        assert gen_section("kepu-tiandi").name == "正常改名"


def test_hostile_strings_are_stored_as_text_and_shown_escaped(
    app: Flask, librarian: FlaskClient, sample_mp3: Path
) -> None:
    response = librarian.post("/admin/books/new", data=book_form(app, title=HOSTILE, author=HOSTILE))
    book_id = int(response.headers["Location"].rsplit("/", 1)[1])
    track_id = make_track(app, book_id, sample_mp3)
    librarian.post(f"/admin/tracks/{track_id}", data={"title": HOSTILE, "reader": HOSTILE})
    sid = section_id(app, "jingdian-songdu")
    librarian.post(f"/admin/sections/{sid}", data=section_form(app, "jingdian-songdu", name=HOSTILE[:64]))
    with app.app_context():
        assert db.session.get(Book, book_id).title == HOSTILE
    pages = [f"/admin/books/{book_id}", f"/admin/tracks/{track_id}", "/admin/books", "/admin/readers",
             "/admin/sections", f"/books/{book_id}", "/", "/sections/jingdian-songdu"]
    for path in pages:
        page = text_of(librarian.get(path))
        assert "<script>alert" not in page, path
        assert "&lt;script&gt;" in page, path


def test_librarians_may_edit_but_not_open_the_trash(app: Flask, librarian: FlaskClient) -> None:
    assert librarian.get("/admin/sections").status_code == 200
    assert librarian.get("/admin/trash").status_code == 403
    assert 'href="/admin/trash"' not in text_of(librarian.get("/admin/"))
    assert 'href="/admin/books"' in text_of(librarian.get("/admin/"))


def test_anonymous_visitors_are_sent_to_login(client: FlaskClient) -> None:
    response = client.get("/admin/books")
    assert response.status_code == 302
    assert "/admin/login" in response.headers["Location"]
    assert client.post("/admin/books/new", data={}).status_code == 302


def test_every_console_page_renders(app: Flask, auth: AuthActions, sample_mp3: Path) -> None:
    client = auth.login("admin")
    book_id = make_book(app)
    track_id = make_track(app, book_id, sample_mp3)
    with app.app_context():
        reader_id = db.session.scalar(select(Reader.id))
    client.post("/admin/texts/new", data={"title": "春晓", "body": "春眠不觉晓"})
    for path in ("/admin/sections", f"/admin/sections/{section_id(app, 'kepu-tiandi')}", "/admin/books",
                 "/admin/books/new", f"/admin/books/{book_id}", f"/admin/tracks/{track_id}",
                 "/admin/readers", f"/admin/readers/{reader_id}", "/admin/texts", "/admin/texts/new",
                 "/admin/texts/1", "/admin/trash", "/admin/audit"):
        assert client.get(path).status_code == 200, path
