"""Text answers are compressed for slow lines; audio, partial and streamed answers are not."""

from __future__ import annotations

import gzip
from pathlib import Path

import brotli
import pytest
from flask import Flask
from flask.testing import FlaskClient

from kiosk.extensions import db
from tests.factories import gen_book, gen_track

GZIP = {"Accept-Encoding": "gzip"}


@pytest.fixture
def book_id(app: Flask, sample_mp3: Path) -> int:
    with app.app_context():
        book = gen_book("唐诗三首")
        for title in ("静夜思", "春晓"):
            gen_track(book, sample_mp3, title=title)
        db.session.commit()
        return book.id


def test_a_book_page_is_gzipped_and_reads_the_same(client: FlaskClient, book_id: int) -> None:
    plain = client.get(f"/books/{book_id}")
    packed = client.get(f"/books/{book_id}", headers=GZIP)
    assert packed.status_code == 200 and packed.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in packed.headers["Vary"]
    assert gzip.decompress(packed.data) == plain.data
    assert int(packed.headers["Content-Length"]) == len(packed.data) < len(plain.data) / 3


def test_brotli_where_the_phone_takes_it(client: FlaskClient, book_id: int) -> None:
    packed = client.get(f"/books/{book_id}", headers={"Accept-Encoding": "gzip, deflate, br, zstd"})
    assert packed.headers["Content-Encoding"] == "br"
    assert brotli.decompress(packed.data) == client.get(f"/books/{book_id}").data


@pytest.mark.parametrize("path", ["/static/kiosk.css", "/static/player.js", "/sw.js"])
def test_styles_and_scripts_are_gzipped_and_revalidate(client: FlaskClient, path: str) -> None:
    packed = client.get(path, headers=GZIP)
    assert packed.status_code == 200 and packed.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(packed.data) == client.get(path).data
    again = client.get(path, headers={**GZIP, "If-None-Match": packed.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""


def test_a_feed_still_answers_304_to_its_compressed_etag(client: FlaskClient, book_id: int) -> None:
    path = f"/books/{book_id}/feed.xml"
    first = client.get(path, headers=GZIP)
    assert first.headers["Content-Encoding"] == "gzip"
    again = client.get(path, headers={**GZIP, "If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""


def test_audio_is_never_compressed(client: FlaskClient, book_id: int) -> None:
    audio_url = client.get(f"/api/v1/books/{book_id}").get_json()["book"]["tracks"][0]["audio_url"]
    whole = client.get(audio_url, headers=GZIP)
    part = client.get(audio_url, headers={**GZIP, "Range": "bytes=100-199"})
    assert "Content-Encoding" not in whole.headers and "Content-Encoding" not in part.headers
    assert part.status_code == 206 and part.data == whole.data[100:200]


def test_a_partial_answer_is_sent_as_it_is(client: FlaskClient) -> None:
    """Content-Range counts the file's bytes: compressing the part would make it a lie."""
    whole = client.get("/static/kiosk.css").data
    part = client.get("/static/kiosk.css", headers={**GZIP, "Range": "bytes=0-999"})
    assert part.status_code == 206 and "Content-Encoding" not in part.headers
    assert part.data == whole[:1000]


def test_a_streamed_export_passes_as_it_is(client: FlaskClient, book_id: int) -> None:
    exported = client.get(f"/books/{book_id}/mp3.zip", headers=GZIP)
    assert exported.status_code == 200 and "Content-Encoding" not in exported.headers
    assert int(exported.headers["Content-Length"]) == len(exported.data)
