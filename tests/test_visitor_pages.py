"""Visitor pages through HTTP: the wall, sections, books, player, search and QR landings."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from kiosk.extensions import db
from kiosk.library import catalogue
from kiosk.models import CodeTarget, Section
from tests.factories import gen_book, gen_section, gen_track

# The order of the physical wall's nine sections, which the screen must follow.
WALL_ORDER = ["中国精神", "烽火记忆", "前沿解读", "经典诵读", "三晋文化",
              "童声童趣", "名家名篇", "科普天地", "健康生活"]
TILE = re.compile(r'<a class="tile[^"]*" href="(/sections/[^"]+)"[^>]*>\s*<span class="tile-name">(.*?)</span>')


def test_wall_shows_the_nine_sections_in_order_and_each_tile_opens_its_section(client: FlaskClient) -> None:
    tiles = TILE.findall(client.get("/").get_data(as_text=True))
    assert [name for _href, name in tiles] == WALL_ORDER  # the order printed on the physical wall
    for href, name in tiles:
        section_page = client.get(href)
        assert section_page.status_code == 200
        assert f">{name}</h1>" in section_page.get_data(as_text=True)


def test_wall_is_chinese_first_and_accessible(client: FlaskClient) -> None:
    page = client.get("/").get_data(as_text=True)
    assert '<html lang="zh-CN">' in page
    assert 'name="viewport"' in page
    assert '<label for="q"' in page  # the search box is labelled


def test_hidden_section_leaves_the_wall_and_its_page(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        gen_section("fenghuo-jiyi").published = False
        db.session.commit()
    assert "烽火记忆" not in client.get("/").get_data(as_text=True)
    assert client.get("/sections/fenghuo-jiyi").status_code == 404


def test_a_hidden_section_hides_its_books_chapters_search_hits_and_codes(
    app: Flask, client: FlaskClient, sample_mp3: Path
) -> None:
    with app.app_context():
        book = gen_book("边城", section_slug="fenghuo-jiyi")
        track = gen_track(book, sample_mp3)
        pages = [f"/books/{book.id}", f"/tracks/{track.id}"]
        code = catalogue.primary_code(CodeTarget.BOOK, book.id)
    assert [client.get(path).status_code for path in pages] == [200, 200]
    assert "边城" in client.get("/search?q=biancheng").get_data(as_text=True)
    assert client.get(f"/q/{code}").status_code == 302
    with app.app_context():
        gen_section("fenghuo-jiyi").published = False
        db.session.commit()
    assert [client.get(path).status_code for path in pages] == [404, 404]
    assert "边城" not in client.get("/search?q=biancheng").get_data(as_text=True)
    landing = client.get(f"/q/{code}")
    assert landing.status_code == 200 and "正在更新" in landing.get_data(as_text=True)


def test_section_lists_books_by_pinyin_with_reader_and_duration(
    app: Flask, client: FlaskClient, sample_mp3: Path
) -> None:
    with app.app_context():
        for title in ["中国诗词", "阿Q正传", "边城", "安徒生童话"]:
            gen_track(gen_book(title), sample_mp3, reader="林静", duration_ms=125_000)
    page = client.get("/sections/jingdian-songdu").get_data(as_text=True)
    titles = re.findall(r'<span class="book-title">(.*?)</span>', page)
    # a （阿， 安） < b （边） < z （中）: pinyin order, not code-point order
    assert titles == ["阿Q正传", "安徒生童话", "边城", "中国诗词"]
    assert "朗读：林静" in page
    assert "2 分 5 秒" in page


def test_book_page_lists_published_chapters_in_order(app: Flask, client: FlaskClient, sample_mp3: Path) -> None:
    with app.app_context():
        book = gen_book("唐诗三首")
        gen_track(book, sample_mp3, title="静夜思")
        gen_track(book, sample_mp3, title="草稿", published=False)
        gen_track(book, sample_mp3, title="春晓")
        book_id = book.id
    page = client.get(f"/books/{book_id}").get_data(as_text=True)
    assert page.index("静夜思") < page.index("春晓")
    assert "草稿" not in page


def test_player_carries_catalogue_duration_and_chapters(app: Flask, client: FlaskClient, sample_mp3: Path) -> None:
    with app.app_context():
        book = gen_book("唐诗三首")
        first = gen_track(book, sample_mp3, title="静夜思", duration_ms=61_500)
        second = gen_track(book, sample_mp3, title="春晓")
        ids, key = (first.id, second.id), first.audio_key
    page = client.get(f"/tracks/{ids[0]}").get_data(as_text=True)
    assert f'src="/media/{key}"' in page
    assert 'preload="none"' in page and "autoplay" not in page  # fetched once the page has painted
    assert '<span id="duration">1:01</span>' in page
    assert 'max="61.5"' in page
    assert f'data-id="{ids[1]}"' in page  # the next chapter is there to continue into
    assert '>后退15秒</button>' in page


def test_section_page_is_small(app: Flask, client: FlaskClient, sample_mp3: Path) -> None:
    with app.app_context():
        for n in range(30):
            gen_track(gen_book(f"第{n}本书"), sample_mp3)
    html = client.get("/sections/jingdian-songdu").data
    css = client.get("/static/kiosk.css").data
    assert len(html) + len(css) < 50 * 1024


@pytest.mark.parametrize("query", ["唐诗", "tangshi", "TANG SHI", "tss", "王晓明", "wangxiaoming", "李白"])
def test_search_finds_by_characters_pinyin_author_and_reader(
    app: Flask, client: FlaskClient, sample_mp3: Path, query: str
) -> None:
    with app.app_context():
        gen_track(gen_book("唐诗三首", author="李白"), sample_mp3, reader="王晓明")
        gen_track(gen_book("边城", author="沈从文"), sample_mp3, reader="林静")
    page = client.get("/search", query_string={"q": query}).get_data(as_text=True)
    assert "唐诗三首" in page
    assert "边城" not in page


def test_search_handles_wildcards_and_long_input(client: FlaskClient) -> None:
    for query in ["%", "_", "\\", "x" * 5000, "<script>alert(1)</script>"]:
        response = client.get("/search", query_string={"q": query})
        assert response.status_code == 200
        assert "<script>alert" not in response.get_data(as_text=True)


def test_qr_code_survives_renaming(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        section = gen_section("qianyan-jiedu")
        code = catalogue.primary_code(CodeTarget.SECTION, section.id)
        section.name, section.slug = "科技前沿", "keji-qianyan"
        db.session.commit()
    for path in (f"/q/{code}", f"/Q/{code}", f"/q/{code.lower()}"):
        response = client.get(path)
        assert response.status_code == 302
        assert response.headers["Location"] == "/sections/keji-qianyan"


def test_qr_code_of_book_redirects_and_unpublished_target_is_friendly(
    app: Flask, client: FlaskClient, sample_mp3: Path
) -> None:
    with app.app_context():
        book = gen_book("边城")
        gen_track(book, sample_mp3)
        code = catalogue.primary_code(CodeTarget.BOOK, book.id)
        book_id = book.id
    assert client.get(f"/q/{code}").headers["Location"] == f"/books/{book_id}"
    with app.app_context():
        db.session.get(type(book), book_id).published = False
        db.session.commit()
    response = client.get(f"/q/{code}")
    assert response.status_code == 200
    assert "正在更新" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "path",
    ["/sections/nope", "/books/999999", "/books/abc", "/books/-1", "/tracks/1.5", "/tracks/99999999999999999999",
     "/q/ZZZZZ", "/q/!!", "/nothing-here", "/" + "x" * 3000],
)
def test_unknown_things_get_a_friendly_chinese_404(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert "没有找到" in page and "Traceback" not in page
    assert "回到有声墙" in page


def test_english_by_browser_language_and_by_switch(client: FlaskClient) -> None:
    english = client.get("/", headers={"Accept-Language": "en-US,en;q=0.9"}).get_data(as_text=True)
    assert '<html lang="en">' in english
    assert "The Chinese Spirit" in english
    assert "Audio Wall" in english
    chinese = client.get("/", headers={"Accept-Language": "zh-CN,zh;q=0.9"}).get_data(as_text=True)
    assert "有声墙" in chinese
    switched = client.get("/?lang=en")
    assert "lang=en" in switched.headers["Set-Cookie"]
    assert '<html lang="en">' in client.get("/").get_data(as_text=True)  # remembered
    assert '<html lang="zh-CN">' in client.get("/?lang=zh").get_data(as_text=True)


def test_every_section_has_a_printed_code(app: Flask) -> None:
    with app.app_context():
        sections = db.session.scalars(db.select(Section)).all()
        assert all(catalogue.primary_code(CodeTarget.SECTION, s.id) for s in sections)


def test_big_sections_are_paged_and_stay_small(app: Flask, client: FlaskClient, sample_mp3: Path) -> None:
    with app.app_context():
        for n in range(60):
            gen_track(gen_book(f"书{n:02d}"), sample_mp3)
    first = client.get("/sections/jingdian-songdu").get_data(as_text=True)
    second = client.get("/sections/jingdian-songdu?page=2").get_data(as_text=True)
    assert first.count('class="book"') == 48 and second.count('class="book"') == 12
    assert 'rel="next"' in first and 'rel="prev"' in second and 'rel="next"' not in second
    assert "第 1 / 2 页" in first
    for odd in ("?page=0", "?page=-3", "?page=abc", "?page=99999999999999999999"):
        assert client.get("/sections/jingdian-songdu" + odd).status_code == 200
    api = client.get("/api/v1/sections/jingdian-songdu?page=2").get_json()
    assert (api["page"], api["pages"], api["total_books"], len(api["books"])) == (2, 2, 60, 12)
    assert api["section"]["book_count"] == 60
