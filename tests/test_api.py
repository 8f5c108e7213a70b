"""The JSON API matches the pages and shows only the published catalogue."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image

from kiosk.extensions import db
from kiosk.library import covers
from kiosk.storage import store
from tests.factories import gen_book, gen_section, gen_track


@pytest.fixture
def catalogue_ids(app: Flask, sample_mp3: Path) -> dict[str, int]:
    with app.app_context():
        book = gen_book("边城", author="沈从文")
        first = gen_track(book, sample_mp3, title="第一章", reader="林静", duration_ms=6_000)
        second = gen_track(book, sample_mp3, title="第二章", reader="林静", duration_ms=4_500)
        gen_track(book, sample_mp3, title="未发布", published=False)
        return {"book": book.id, "first": first.id, "second": second.id}


def test_sections_in_wall_order(client: FlaskClient) -> None:
    data = client.get("/api/v1/sections").get_json()
    assert [s["name"] for s in data["sections"]][:3] == ["中国精神", "烽火记忆", "前沿解读"]
    assert len(data["sections"]) == 9


def test_section_books_with_duration(client: FlaskClient, catalogue_ids: dict[str, int]) -> None:
    data = client.get("/api/v1/sections/jingdian-songdu").get_json()
    (book,) = data["books"]
    assert book["title"] == "边城"
    assert book["duration_s"] == 10.5
    assert book["readers"] == ["林静"]


def test_book_lists_published_tracks_with_audio(client: FlaskClient, catalogue_ids: dict[str, int]) -> None:
    data = client.get(f"/api/v1/books/{catalogue_ids['book']}").get_json()["book"]
    assert [t["title"] for t in data["tracks"]] == ["第一章", "第二章"]
    for track in data["tracks"]:
        assert client.get(track["audio_url"], headers={"Range": "bytes=0-1"}).status_code == 206


def test_track_matches_its_page(client: FlaskClient, catalogue_ids: dict[str, int]) -> None:
    data = client.get(f"/api/v1/tracks/{catalogue_ids['first']}").get_json()["track"]
    assert data["reader"] == "林静"
    assert data["duration_s"] == 6.0
    assert data["next_id"] == catalogue_ids["second"]
    assert data["previous_id"] is None
    page = client.get(data["url"]).get_data(as_text=True)
    assert data["audio_url"] in page and data["title"] in page


@pytest.mark.parametrize("path", ["/api/v1/sections/nope", "/api/v1/books/0", "/api/v1/tracks/123456", "/api/v1/nope"])
def test_errors_are_json_with_the_shared_shape(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    body = response.get_json()
    assert body["error"] == "not_found"
    assert body["message"]


def test_wrong_method_is_405_json(client: FlaskClient) -> None:
    response = client.delete("/api/v1/sections")
    assert response.status_code == 405
    assert response.get_json()["error"] == "method_not_allowed"
    assert "GET" in response.headers["Allow"]


def test_search_api(client: FlaskClient, catalogue_ids: dict[str, int]) -> None:
    assert [b["title"] for b in client.get("/api/v1/search?q=biancheng").get_json()["books"]] == ["边城"]


def test_a_hidden_sections_books_and_their_files_leave_the_api_and_media(
    app: Flask, client: FlaskClient, sample_mp3: Path
) -> None:
    """What the API links to, /media serves; once the section is hidden, neither is there."""
    image = io.BytesIO()
    Image.new("RGB", (500, 500), (30, 90, 140)).save(image, "PNG")
    with app.app_context():
        book = gen_book("边城", section_slug="fenghuo-jiyi")
        track = gen_track(book, sample_mp3)
        renditions = covers.renditions(image.getvalue())
        book.cover_key = store().put_bytes(renditions.large_jpeg, "covers", "jpg")
        book.cover_thumb_key = store().put_bytes(renditions.thumb_jpeg, "covers", "jpg")
        db.session.commit()
        api = [f"/api/v1/books/{book.id}", f"/api/v1/tracks/{track.id}", "/api/v1/sections/fenghuo-jiyi"]
    data = client.get(api[0]).get_json()["book"]
    files = [data["cover_url"], data["cover_thumb_url"], data["tracks"][0]["audio_url"]]
    assert [client.get(url).status_code for url in files] == [200, 200, 200]
    assert client.get(files[0]).headers["Content-Type"] == "image/jpeg"

    with app.app_context():
        gen_section("fenghuo-jiyi").published = False
        db.session.commit()
    assert [client.get(path).status_code for path in api] == [404, 404, 404]
    assert client.get("/api/v1/search?q=biancheng").get_json()["books"] == []
    assert [client.get(url).status_code for url in files] == [404, 404, 404]
    assert "fenghuo-jiyi" not in [s["slug"] for s in client.get("/api/v1/sections").get_json()["sections"]]


def test_healthz(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json()["checks"] == {"database": True, "media_store": True}
