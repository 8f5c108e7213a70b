"""The installable web app through HTTP: service worker, manifest, a book's download list, the take-home partials."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from kiosk.extensions import db
from kiosk.models import Book
from tests.conftest import make_audio
from tests.factories import gen_book, gen_track


@pytest.fixture
def book_id(app: Flask, sample_mp3: Path, tmp_path: Path) -> int:
    other = make_audio(tmp_path / "other.mp3", seconds=3, source="sine=frequency=660")
    with app.app_context():
        book = gen_book("朝花夕拾")
        gen_track(book, sample_mp3, title="狗·猫·鼠", reader="王晓明")
        gen_track(book, other, title="阿长与山海经", reader="李红", duration_ms=3000)
        gen_track(book, other, title="未发布", published=False)
        return book.id


def test_the_service_worker_is_served_from_the_root_for_the_whole_site(client: FlaskClient) -> None:
    response = client.get("/sw.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert response.headers["Service-Worker-Allowed"] == "/"
    assert response.headers["Cache-Control"] == "no-cache"
    body = response.get_data(as_text=True)
    vendor = re.search(r'importScripts\("([^"]+)"\)', body).group(1)
    bundle = client.get(vendor)
    assert bundle.status_code == 200 and b"kioskRange" in bundle.data
    assert len(bundle.data) < 8_000  # Workbox's createPartialResponse alone, minified


def test_the_manifest_makes_the_site_installable(client: FlaskClient) -> None:
    response = client.get("/manifest.webmanifest")
    assert response.mimetype == "application/manifest+json"
    manifest = response.get_json()
    assert manifest["start_url"] == "/" and manifest["display"] == "standalone" and manifest["name"]
    sizes = {icon["sizes"] for icon in manifest["icons"]}
    assert {"192x192", "512x512"} <= sizes
    for icon in manifest["icons"]:
        assert client.get(icon["src"]).mimetype == "image/png"


def test_a_book_download_lists_its_pages_cover_and_whole_mp3s(client: FlaskClient, book_id: int) -> None:
    plan = client.get(f"/books/{book_id}/offline.json").get_json()
    api = client.get(f"/api/v1/books/{book_id}").get_json()["book"]
    assert plan["pages"] == [f"/books/{book_id}", *(t["url"] for t in api["tracks"])]
    assert [a["url"] for a in plan["audio"]] == [t["audio_url"] for t in api["tracks"]]  # published only
    assert plan["size_bytes"] == sum(len(client.get(a["url"]).data) for a in plan["audio"])
    for page in plan["pages"]:
        assert client.get(page).status_code == 200


def test_book_page_offers_download_with_its_size_first_and_the_ways_home(client: FlaskClient, book_id: int) -> None:
    page = client.get(f"/books/{book_id}").get_data(as_text=True)
    plan = client.get(f"/books/{book_id}/offline.json").get_json()
    size_text = f"{plan['size_bytes'] / 1000:.0f} KB"
    assert f"全书 2 章，共 {size_text}" in page
    assert f"下载到手机（{size_text}）" in page
    assert ('<link rel="alternate" type="application/rss+xml" title="朝花夕拾" '
            f'href="http://localhost/books/{book_id}/feed.xml">') in page
    assert '<link rel="manifest" href="/manifest.webmanifest">' in page
    assert f'href="/books/{book_id}/daisy.zip"' in page and f'href="/books/{book_id}/mp3.zip"' in page
    assert f'href="/books/{book_id}/poster.png"' in page
    assert re.search(r'<script src="/static/offline\.js[^"]*" defer>', page)
    assert "在默认浏览器中打开" in page  # the iOS-WeChat fallback, shown by offline.js only there
    assert re.findall(r'download="([^"]+)"', page) == ["01 狗·猫·鼠.mp3", "02 阿长与山海经.mp3"]  # the fallback's MP3s
    assert "data-wechat-config" not in page  # no official account configured: no share card


def test_section_page_links_its_feed(client: FlaskClient, book_id: int) -> None:
    page = client.get("/sections/jingdian-songdu").get_data(as_text=True)
    assert ('<link rel="alternate" type="application/rss+xml" title="经典诵读" '
            'href="http://localhost/sections/jingdian-songdu/feed.xml">') in page


def test_a_configured_wechat_account_adds_the_share_card(app: Flask, client: FlaskClient, book_id: int) -> None:
    app.config.update(KIOSK_WECHAT_APPID="wx0123456789abcdef", KIOSK_WECHAT_SECRET="s")  # noqa: S106 - a test's
    page = client.get(f"/books/{book_id}").get_data(as_text=True)
    assert 'data-wechat-config="/api/v1/wechat/share-config"' in page
    assert f'data-share-image="http://localhost/books/{book_id}/artwork.jpg"' in page


def test_a_hidden_book_has_nothing_to_download(app: Flask, client: FlaskClient, book_id: int) -> None:
    with app.app_context():
        db.session.get(Book, book_id).published = False
        db.session.commit()
    assert client.get(f"/books/{book_id}/offline.json").status_code == 404

