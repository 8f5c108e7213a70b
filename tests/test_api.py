"""The JSON API matches the pages and shows only the published catalogue."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.factories import gen_book, gen_track


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


def test_healthz(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json()["checks"] == {"database": True, "media_store": True}
