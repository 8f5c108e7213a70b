"""Podcast feeds through HTTP, read as podcast apps read them: feedparser, Apple's rules, the podcast namespace."""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import feedparser
import pytest
from defusedxml import ElementTree
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image

from kiosk.extensions import db
from kiosk.models import Book, Section, Track
from kiosk.models.texts import ChapterText
from tests.conftest import make_audio
from tests.factories import gen_book, gen_track

ITUNES = "{http://www.itunes.com/dtds/podcast-1.0.dtd}"
PODCAST = "{https://podcastindex.org/namespace/1.0}"
# The namespace's own UUIDv5 namespace for podcast:guid, as its specification gives it.
PODCAST_GUID_NS = uuid.UUID("ead4c236-bf58-58c6-a2c6-a6b28d128cb6")


@dataclass
class Library:
    """Two published books in one section, one more in another, and a hidden chapter."""

    book_id: int
    other_book_id: int
    track_ids: list[int]
    hidden_track_id: int


@pytest.fixture(scope="module")
def chimes(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Three different short MP3s (different bytes, so different keys and lengths)."""
    folder = tmp_path_factory.mktemp("feeds-audio")
    return [make_audio(folder / f"{hz}.mp3", seconds=2 + index, source=f"sine=frequency={hz}")
            for index, hz in enumerate((330, 440, 550))]


@pytest.fixture
def library(app: Flask, chimes: list[Path]) -> Library:
    with app.app_context():
        book = gen_book("唐诗三首", author="李白", description="三首唐诗的诵读")
        tracks = [gen_track(book, chimes[0], title="静夜思", reader="王晓明", duration_ms=2000),
                  gen_track(book, chimes[1], title="春晓", reader="李红", duration_ms=3000)]
        hidden = gen_track(book, chimes[2], title="未完成", published=False)
        other = gen_book("边城", section_slug="mingjia-mingpian")
        gen_track(other, chimes[2], title="第一章", reader="张三", duration_ms=4000)
        return Library(book.id, other.id, [t.id for t in tracks], hidden.id)


def _feed_paths(client: FlaskClient) -> Iterator[str]:
    """Every section's feed and every published book's feed, found through the public API."""
    for section in client.get("/api/v1/sections").get_json()["sections"]:
        yield f"/sections/{section['slug']}/feed.xml"
        for book in client.get(f"/api/v1/sections/{section['slug']}").get_json()["books"]:
            yield f"/books/{book['id']}/feed.xml"


def _local(url: str) -> str:
    """The path (and query) of an absolute URL the app made, to ask the test client."""
    parts = urlsplit(url)
    assert parts.scheme in ("http", "https") and parts.netloc, url
    return parts.path + (f"?{parts.query}" if parts.query else "")


def apple_problems(xml: bytes) -> list[str]:
    """What Apple Podcasts' required tags miss in a feed (our own reading of its rules)."""
    channel = ElementTree.fromstring(xml).find("channel")
    problems = [f"channel lacks {tag}" for tag in ("title", "description", "language", f"{ITUNES}explicit")
                if not (channel.findtext(tag) or "").strip()]
    image = channel.find(f"{ITUNES}image")
    if image is None or not image.get("href", "").startswith("http"):
        problems.append("channel lacks itunes:image")
    category = channel.find(f"{ITUNES}category")
    if category is None or not category.get("text"):
        problems.append("channel lacks itunes:category")
    if channel.findtext(f"{ITUNES}explicit") not in ("true", "false"):
        problems.append("itunes:explicit is not true/false")
    for item in channel.findall("item"):
        enclosure = item.find("enclosure")
        if not (item.findtext("title") or "").strip():
            problems.append("an item lacks its title")
        if enclosure is None or not enclosure.get("length", "").isdigit() or not enclosure.get("type"):
            problems.append(f"{item.findtext('title')}: enclosure without url, length or type")
        if not item.findtext("guid"):
            problems.append(f"{item.findtext('title')}: no guid")
        if not (item.findtext(f"{ITUNES}duration") or "").replace(":", "").isdigit():
            problems.append(f"{item.findtext('title')}: no itunes:duration")
    return problems


def test_every_section_and_book_feed_parses_and_meets_apples_rules(client: FlaskClient, library: Library) -> None:
    paths = list(_feed_paths(client))
    assert len(paths) == 9 + 2  # nine sections, two published books
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.mimetype == "application/rss+xml"
        parsed = feedparser.parse(response.data)
        assert not parsed.bozo, (path, parsed.get("bozo_exception"))
        assert parsed.version == "rss20"
        assert parsed.feed.title
        assert apple_problems(response.data) == [], path


def test_a_books_feed_is_a_serial_audiobook_with_numbered_chapters(client: FlaskClient, library: Library) -> None:
    response = client.get(f"/books/{library.book_id}/feed.xml")
    channel = ElementTree.fromstring(response.data).find("channel")
    assert channel.findtext(f"{ITUNES}type") == "serial"
    assert channel.findtext(f"{PODCAST}medium") == "audiobook"
    assert channel.findtext(f"{PODCAST}locked") == "yes"
    assert channel.findtext(f"{PODCAST}license") == "CC-BY-4.0"
    self_url = channel.find("{http://www.w3.org/2005/Atom}link").get("href")
    bare = urlsplit(self_url)
    expected = uuid.uuid5(PODCAST_GUID_NS, (bare.netloc + bare.path).rstrip("/"))
    assert uuid.UUID(channel.findtext(f"{PODCAST}guid")) == expected
    narrators = [(p.text, p.get("role")) for p in channel.findall(f"{PODCAST}person")]
    assert narrators == [("王晓明", "narrator"), ("李红", "narrator")]
    items = channel.findall("item")
    assert [i.findtext("title") for i in items] == ["静夜思", "春晓"]  # the unpublished chapter is not there
    assert [i.findtext(f"{ITUNES}episode") for i in items] == ["1", "2"]
    assert [i.findtext(f"{ITUNES}duration") for i in items] == ["0:02", "0:03"]
    assert all(i.find(f"{PODCAST}transcript") is None for i in items)  # no chapter has read-along timing
    section = ElementTree.fromstring(client.get("/sections/jingdian-songdu/feed.xml").data).find("channel")
    assert section.findtext(f"{ITUNES}type") == "episodic"
    # A chapter keeps one guid in every feed it is in.
    assert {i.findtext("guid") for i in items} <= {i.findtext("guid") for i in section.findall("item")}


def test_every_enclosure_is_exactly_as_long_as_the_served_file(client: FlaskClient, library: Library) -> None:
    checked = 0
    for path in _feed_paths(client):
        for entry in feedparser.parse(client.get(path).data).entries:
            (enclosure,) = entry.enclosures
            served = client.get(_local(enclosure.href))
            assert served.status_code == 200
            assert served.mimetype == enclosure.type == "audio/mpeg"
            assert len(served.data) == int(enclosure.length)
            checked += 1
    assert checked == 2 * 3  # each of the three chapters in its book's feed and in its section's


def test_artwork_is_a_square_jpeg_apple_accepts(client: FlaskClient, library: Library) -> None:
    for path in (f"/books/{library.book_id}/feed.xml", "/sections/kepu-tiandi/feed.xml"):
        parsed = feedparser.parse(client.get(path).data)
        art = client.get(_local(parsed.feed.image.href))
        assert art.status_code == 200 and art.mimetype == "image/jpeg"
        with Image.open(io.BytesIO(art.data)) as image:
            assert image.format == "JPEG" and image.mode == "RGB"
            assert image.width == image.height and 1400 <= image.width <= 3000


def test_an_unpublished_chapter_leaves_the_feed_at_once(app: Flask, client: FlaskClient, library: Library) -> None:
    path = f"/books/{library.book_id}/feed.xml"
    first = client.get(path)
    titles = [e.title for e in feedparser.parse(first.data).entries]
    assert titles == ["静夜思", "春晓"]
    with app.app_context():
        db.session.get(Track, library.track_ids[0]).published = False
        db.session.commit()
    # Even a client that remembers the old validators gets the new feed, not a 304.
    again = client.get(path, headers={"If-None-Match": first.headers["ETag"],
                                      "If-Modified-Since": first.headers["Last-Modified"]})
    assert again.status_code == 200
    assert [e.title for e in feedparser.parse(again.data).entries] == ["春晓"]
    section_titles = [e.title for e in feedparser.parse(client.get("/sections/jingdian-songdu/feed.xml").data).entries]
    assert not any("静夜思" in title for title in section_titles)


def test_a_repeated_request_gets_304(client: FlaskClient, library: Library) -> None:
    path = f"/books/{library.book_id}/feed.xml"
    first = client.get(path)
    assert first.headers["ETag"] and first.headers["Last-Modified"]
    assert first.headers["Cache-Control"] == "no-cache"
    by_etag = client.get(path, headers={"If-None-Match": first.headers["ETag"]})
    by_date = client.get(path, headers={"If-Modified-Since": first.headers["Last-Modified"]})
    assert (by_etag.status_code, by_date.status_code) == (304, 304)
    assert by_etag.data == b""
    assert client.get(path).headers["Last-Modified"] == first.headers["Last-Modified"]  # the same bytes, the same date


def test_a_chapter_with_read_along_timing_links_its_webvtt(app: Flask, client: FlaskClient, library: Library) -> None:
    with app.app_context():
        track = db.session.get(Track, library.track_ids[1])
        db.session.add(ChapterText(track_id=track.id, body="春眠不觉晓。处处闻啼鸟。", source="console",
                                   sentences=[{"text": "春眠不觉晓。", "paragraph": 0},
                                              {"text": "处处闻啼鸟。", "paragraph": 0}],
                                   cues=[[0.0, 1.2], [1.4, 2.8]], aligned_audio_key=track.audio_key))
        db.session.commit()
    feed = ElementTree.fromstring(client.get(f"/books/{library.book_id}/feed.xml").data)
    items = feed.find("channel").findall("item")
    assert [i.find(f"{PODCAST}transcript") is not None for i in items] == [False, True]
    transcript = items[1].find(f"{PODCAST}transcript")
    assert transcript.get("type") == "text/vtt"
    vtt = client.get(_local(transcript.get("url")))
    assert vtt.status_code == 200 and vtt.mimetype == "text/vtt"
    assert vtt.get_data(as_text=True).startswith("WEBVTT") and "春眠不觉晓。" in vtt.get_data(as_text=True)


@pytest.mark.parametrize("hide", ["book", "section"])
def test_a_hidden_book_or_section_has_no_feed(app: Flask, client: FlaskClient, library: Library, hide: str) -> None:
    with app.app_context():
        book = db.session.get(Book, library.book_id)
        if hide == "book":
            book.published = False
        else:
            db.session.get(Section, book.section_id).published = False
        db.session.commit()
    assert client.get(f"/books/{library.book_id}/feed.xml").status_code == 404
    assert client.get(f"/books/{library.book_id}/artwork.jpg").status_code == 404
    if hide == "section":
        assert client.get("/sections/jingdian-songdu/feed.xml").status_code == 404


def test_book_and_section_pages_can_link_their_feeds(app: Flask, library: Library) -> None:
    from flask import render_template_string

    with app.test_request_context("/"):
        book_link = render_template_string("{{ take_home_feed(book=b).url }}", b=_Summary(library.book_id))
        section_link = render_template_string("{{ take_home_feed(section=s).url }}", s=_Slug("kepu-tiandi"))
        qr_svg = render_template_string("{{ take_home_feed(section=s).qr_svg }}", s=_Slug("kepu-tiandi"))
    assert book_link == f"http://localhost/books/{library.book_id}/feed.xml"
    assert section_link == "http://localhost/sections/kepu-tiandi/feed.xml"
    assert qr_svg.startswith("<svg") and "<path" in qr_svg


def test_the_section_subscribe_partial_offers_the_feed_and_its_qr_code(app: Flask) -> None:
    from flask import render_template

    from kiosk.library import catalogue

    with app.test_request_context("/sections/kepu-tiandi"):
        found = catalogue.section("kepu-tiandi")
        assert found is not None
        html = render_template("feeds/_section_subscribe.html", section=found[0])
    assert 'href="http://localhost/sections/kepu-tiandi/feed.xml"' in html
    assert "<svg" in html and "用播客应用订阅" in html


@dataclass
class _Summary:
    id: int
    title: str = "唐诗三首"


@dataclass
class _Slug:
    slug: str
    name: str = "科普天地"
