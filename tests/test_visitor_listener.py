"""The listener's pages through HTTP: the book page is a player, deep links, display choices, plurals."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from flask import Flask
from flask.testing import FlaskClient

from tests.factories import gen_book, gen_track

PLAY_BUTTON = re.compile(r'<button type="button" class="play" id="play"([^>]*)>(.*?)</button>')
AUDIO_SRC = re.compile(r'<audio id="audio" preload="none" src="([^"]+)"')


@pytest.fixture
def poems(app: Flask, sample_mp3: Path) -> dict[str, object]:
    """A book of three chapters; its id, the chapters' ids and audio URLs."""
    with app.app_context():
        book = gen_book("唐诗三首")
        tracks = [gen_track(book, sample_mp3, title=t, duration_ms=60_000 * (i + 1))
                  for i, t in enumerate(["静夜思", "登鹳雀楼", "春晓"])]
        return {"book": book.id, "tracks": [t.id for t in tracks], "audio": [f"/media/{t.audio_key}" for t in tracks]}


def test_the_book_page_plays_in_place_its_first_control_a_big_play_button(
    client: FlaskClient, poems: dict[str, list[int]]
) -> None:
    page = client.get(f"/books/{poems['book']}").get_data(as_text=True)
    main = page[page.index("<main"):]
    first_control = re.search(r"<(button|select|input)\b[^>]*>", main)
    assert first_control and 'id="play"' in first_control.group(0)  # before any other control of the book
    assert AUDIO_SRC.search(page).group(1) == poems["audio"][0]  # the first chapter, unless this phone heard another
    assert 'data-follow-url="0"' in page  # the address stays the book's
    assert "开始收听" not in page  # no second page to go through
    assert page.index('id="player"') < page.index('id="chapters"')
    assert '/static/player.js' in page


def test_a_title_that_numbers_its_chapter_is_not_numbered_twice(
    app: Flask, client: FlaskClient, sample_mp3: Path
) -> None:
    with app.app_context():
        book = gen_book("三国演义")
        ids = [gen_track(book, sample_mp3, title=t).id
               for t in ["第1章", "第二回 张翼德怒鞭督邮", "Chapter 3", "桃园结义"]]
        book_id = book.id
    page = client.get(f"/books/{book_id}").get_data(as_text=True)
    text = " ".join(re.sub(r"<[^>]+>", " ", page[page.index('id="chapters"'):]).split())
    listed = text[:text.index("带回家听")]  # the chapter list, then the downloads
    assert "第2章" not in text and "第3章" not in text  # the titles number these themselves
    assert "第4章 桃园结义" in listed and "第4章 桃园结义（MP3）" in text  # a title without a number keeps the page's
    assert listed.count("第1章") == 1 and "第1章 第1章" not in text
    player = client.get(f"/tracks/{ids[0]}").get_data(as_text=True)
    assert re.search(r'id="track-number" hidden>', player)
    assert not re.search(r'id="track-number" hidden>', client.get(f"/tracks/{ids[3]}").get_data(as_text=True))


def test_a_chapter_deep_link_still_opens_that_chapter(client: FlaskClient, poems: dict[str, list[int]]) -> None:
    second = poems["tracks"][1]
    page = client.get(f"/tracks/{second}").get_data(as_text=True)
    assert AUDIO_SRC.search(page).group(1) == poems["audio"][1]
    assert 'data-follow-url="1"' in page
    assert '<span class="chapter-n" id="track-number">第2章</span>' in page
    assert "第2章，共3章" in page
    assert re.search(rf'<li aria-current="true">\s*<a href="/tracks/{second}"', page)


def test_the_player_speaks_plainly_and_says_its_state_once(client: FlaskClient, poems: dict[str, list[int]]) -> None:
    page = client.get(f"/tracks/{poems['tracks'][0]}").get_data(as_text=True)
    attributes, label = PLAY_BUTTON.search(page).groups()
    assert label == "播放" and "aria-pressed" not in attributes  # the label changes, nothing else
    for words in ("后退15秒", "前进15秒", "上一章", "下一章", "添加书签", "报告进度"):
        assert f">{words}</button>" in page
    assert "″" not in page
    assert re.search(r'<button type="button" id="prev" disabled>', page)  # the first chapter has none before it
    region = page[page.index('<section class="player"'):page.index('id="player-words"')]
    assert region.count('role="status"') == 1 and "aria-live" not in region


def test_the_player_offers_speeds_and_a_sleep_timer(client: FlaskClient, poems: dict[str, list[int]]) -> None:
    page = client.get(f"/books/{poems['book']}").get_data(as_text=True)
    speed = page[page.index('id="speed"'):page.index("</select>", page.index('id="speed"'))]
    assert re.findall(r'value="([\d.]+)"', speed) == ["0.5", "0.75", "1", "1.25", "1.5", "1.75", "2"]
    sleep = page[page.index('id="sleep"'):page.index("</select>", page.index('id="sleep"'))]
    assert re.findall(r'<option value="(\w*)"[^>]*>(.*?)</option>', sleep) == [
        ("", "不定时"), ("15", "15分钟"), ("30", "30分钟"), ("60", "60分钟"), ("chapter", "本章结束")]


@pytest.mark.parametrize(
    "path", ["/", "/sections/jingdian-songdu", "/search?q=tang", "/books/{book}", "/tracks/{track}"]
)
def test_every_visitor_page_has_the_text_size_and_contrast_control(
    client: FlaskClient, poems: dict[str, list[int]], path: str
) -> None:
    page = client.get(path.format(book=poems["book"], track=poems["tracks"][0])).get_data(as_text=True)
    sizes = re.findall(r'<button type="submit" name="text" value="(\d+)"[^>]*aria-pressed="(\w+)"', page)
    assert sizes == [("100", "true"), ("125", "false"), ("150", "false"), ("200", "false")]
    assert '>高对比度</button>' in page
    assert '<html lang="zh-CN">' in page  # no class: the standard size, normal contrast


def test_the_booth_screen_has_no_display_control(client: FlaskClient) -> None:
    assert 'name="textsize"' not in client.get("/booth").get_data(as_text=True)
    assert 'name="text"' not in client.get("/booth").get_data(as_text=True)


def test_a_display_choice_is_remembered_and_rendered_by_the_server(
    client: FlaskClient, poems: dict[str, list[int]]
) -> None:
    back = f"/books/{poems['book']}"
    answer = client.get("/display", query_string={"text": "200", "next": back})
    assert answer.status_code == 303 and answer.headers["Location"] == back
    assert "textsize=200" in answer.headers["Set-Cookie"]
    client.get("/display", query_string={"contrast": "high", "next": back})
    page = client.get(back).get_data(as_text=True)
    assert '<html lang="zh-CN" class="text-200 contrast-high">' in page
    assert re.search(r'value="200" class="size-200" aria-pressed="true"', page)
    assert re.search(r'name="contrast" value="normal" class="contrast-toggle" aria-pressed="true"', page)


@pytest.mark.parametrize(
    "query",
    [{"text": "999"}, {"text": "<script>"}, {"contrast": "neon"}, {"next": "//evil.example/"},
     {"next": "https://evil.example/"}, {"next": "/\\evil.example"}, {"next": "/x\r\nSet-Cookie: a=b"}],
)
def test_a_bad_display_request_changes_nothing_and_stays_on_this_site(
    client: FlaskClient, query: dict[str, str]
) -> None:
    answer = client.get("/display", query_string=query)
    assert answer.status_code == 303
    assert answer.headers["Location"] in ("/", query.get("next"))
    assert answer.headers["Location"].startswith("/") and not answer.headers["Location"].startswith("//")
    assert "Set-Cookie" not in answer.headers or "lang=" in answer.headers["Set-Cookie"]
    assert "\n" not in answer.headers["Location"]


def test_no_text_size_adjust_that_would_stop_wechat_font_setting(client: FlaskClient) -> None:
    css = client.get("/static/kiosk.css").get_data(as_text=True)
    assert not re.search(r"text-size-adjust\s*:\s*(100%|none)", css)
    assert re.search(r"html\.text-200 \{ font-size: 225%; \}", css)  # 200 % of the 18 px base
    heights = [float(h) for h in re.findall(r"line-height: ([\d.]+)", css)]
    assert heights and min(heights) >= 1.3  # MIIT: line spacing at least 1.3
    wall = client.get("/static/wall.css").get_data(as_text=True)
    screen = wall[wall.index("body.kiosk-screen"):]  # the wall's screen; the printed cards before it are paper
    assert all(float(h) >= 1.3 for h in re.findall(r"line-height: ([\d.]+)", screen))


@pytest.fixture
def english_plurals(tmp_path: Path, limited_app: Callable[..., Flask]) -> Flask:
    """The app with an English catalogue that has the visitor pages' plural forms (as the lead's will)."""
    catalog = Catalog(locale="en")
    catalog.add(("%(num)d 章", "%(num)d 章"), ("%(num)d chapter", "%(num)d chapters"))
    catalog.add(("%(num)d 本书", "%(num)d 本书"), ("%(num)d book", "%(num)d books"))
    catalog.add(("“%(q)s”找到 %(num)d 本书", "“%(q)s”找到 %(num)d 本书"),
                ("%(num)d book found for “%(q)s”", "%(num)d books found for “%(q)s”"))
    folder = tmp_path / "plurals" / "en" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    with (folder / "messages.mo").open("wb") as out:
        write_mo(out, catalog)
    # Flask-Babel merges the folders in order: the project's catalogue, then these forms.
    return limited_app(RATELIMIT_ENABLED=False, BABEL_TRANSLATION_DIRECTORIES=f"translations;{folder.parents[1]}")


def test_english_pages_count_one_book_and_one_chapter_in_the_singular(english_plurals: Flask, sample_mp3: Path) -> None:
    with english_plurals.app_context():
        one = gen_book("边城")
        gen_track(one, sample_mp3)
        many = gen_book("唐诗三首", section_slug="fenghuo-jiyi")
        gen_track(many, sample_mp3)
        gen_track(many, sample_mp3)
        gen_book("春", section_slug="fenghuo-jiyi")
        many_id = many.id
    client = english_plurals.test_client()
    english = {"Accept-Language": "en"}
    wall = client.get("/", headers=english).get_data(as_text=True)
    assert ">1 book<" in wall and ">2 books<" in wall and "1 books" not in wall
    section = client.get("/sections/jingdian-songdu", headers=english).get_data(as_text=True)
    assert "1 chapter ·" in section and "1 chapters" not in section
    assert "2 chapters ·" in client.get(f"/books/{many_id}", headers=english).get_data(as_text=True)
    found = client.get("/search?q=biancheng", headers=english).get_data(as_text=True)
    assert "1 book found for “biancheng”" in found
