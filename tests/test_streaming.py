"""RFC 9110 range requests against the real app, byte-exact, as real players send them."""

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
def media(app: Flask, sample_mp3: Path) -> tuple[str, bytes]:
    """The audio URL of a published chapter and the exact bytes behind it."""
    with app.app_context():
        track = gen_track(gen_book(), sample_mp3)
        url = f"/media/{track.audio_key}"
    return url, sample_mp3.read_bytes()


def test_whole_file_advertises_ranges_and_caching(client: FlaskClient, media: tuple[str, bytes]) -> None:
    url, body = media
    response = client.get(url)
    assert response.status_code == 200
    assert response.data == body
    assert response.headers["Accept-Ranges"] == "bytes"
    assert response.headers["Content-Length"] == str(len(body))
    assert response.headers["Content-Type"] == "audio/mpeg"
    assert "immutable" in response.headers["Cache-Control"]
    assert response.headers["ETag"].startswith('"') and not response.headers["ETag"].startswith('W/')
    assert response.headers["Last-Modified"]


@pytest.mark.parametrize(
    ("header", "first", "last"),
    [
        ("bytes=0-1", 0, 1),  # Safari's probe
        ("bytes=100-", 100, None),
        ("bytes=100-199", 100, 199),
        ("bytes=-500", -500, None),
        ("bytes=0-", 0, None),
        ("bytes=10-99999999999999999999", 10, None),  # end past the file: clamped
        ("BYTES = 5 - 9", 5, 9),
    ],
)
def test_single_range_is_exact(
    client: FlaskClient, media: tuple[str, bytes], header: str, first: int, last: int | None
) -> None:
    url, body = media
    size = len(body)
    start = first if first >= 0 else size + first
    end = size - 1 if last is None else last
    response = client.get(url, headers={"Range": header})
    assert response.status_code == 206
    assert response.headers["Content-Range"] == f"bytes {start}-{end}/{size}"
    assert response.headers["Content-Length"] == str(end - start + 1)
    assert response.data == body[start : end + 1]


@pytest.mark.parametrize("header", ["bytes=999999999-", "bytes=-0", "bytes=99999999999999999999-"])
def test_unsatisfiable_range_is_416(client: FlaskClient, media: tuple[str, bytes], header: str) -> None:
    url, body = media
    response = client.get(url, headers={"Range": header})
    assert response.status_code == 416
    assert response.headers["Content-Range"] == f"bytes */{len(body)}"


@pytest.mark.parametrize(
    "header", ["bytes=5-1", "bytes=abc", "bytes=-", "items=0-1", "bytes=0-1,5-9", "bytes=--5", "bytes=-5-"]
)
def test_malformed_or_multiple_ranges_get_whole_file(
    client: FlaskClient, media: tuple[str, bytes], header: str
) -> None:
    url, body = media
    response = client.get(url, headers={"Range": header})
    assert response.status_code == 200
    assert response.data == body


def test_if_range_with_current_etag_honours_range(client: FlaskClient, media: tuple[str, bytes]) -> None:
    url, body = media
    etag = client.head(url).headers["ETag"]
    response = client.get(url, headers={"Range": "bytes=10-19", "If-Range": etag})
    assert response.status_code == 206
    assert response.data == body[10:20]


@pytest.mark.parametrize("validator", ['"stale-etag"', 'W/"weak"', "Wed, 21 Oct 2015 07:28:00 GMT"])
def test_if_range_with_stale_validator_sends_whole_file(
    client: FlaskClient, media: tuple[str, bytes], validator: str
) -> None:
    url, body = media
    response = client.get(url, headers={"Range": "bytes=10-19", "If-Range": validator})
    assert response.status_code == 200
    assert response.data == body


def test_if_range_with_last_modified_date_honours_range(client: FlaskClient, media: tuple[str, bytes]) -> None:
    url, body = media
    modified = client.head(url).headers["Last-Modified"]
    response = client.get(url, headers={"Range": "bytes=-4", "If-Range": modified})
    assert response.status_code == 206
    assert response.data == body[-4:]


def test_conditional_get_answers_304(client: FlaskClient, media: tuple[str, bytes]) -> None:
    url, _ = media
    first = client.get(url)
    by_etag = client.get(url, headers={"If-None-Match": first.headers["ETag"]})
    assert by_etag.status_code == 304
    assert by_etag.data == b""
    by_date = client.get(url, headers={"If-Modified-Since": first.headers["Last-Modified"]})
    assert by_date.status_code == 304
    changed = client.get(url, headers={"If-None-Match": '"something-else"'})
    assert changed.status_code == 200


def test_head_has_headers_and_no_body(client: FlaskClient, media: tuple[str, bytes]) -> None:
    url, body = media
    response = client.head(url)
    assert response.status_code == 200
    assert response.headers["Content-Length"] == str(len(body))
    assert response.data == b""
    partial = client.head(url, headers={"Range": "bytes=0-1"})
    assert partial.status_code == 206
    assert partial.headers["Content-Length"] == "2"


def test_content_type_follows_format(app: Flask, client: FlaskClient, tmp_path: Path) -> None:
    from tests.conftest import make_audio

    with app.app_context():
        book = gen_book()
        ogg = gen_track(book, make_audio(tmp_path / "a.ogg", seconds=1, source="sine=frequency=330"))
        ogg.mime_type = "audio/ogg"
        db.session.commit()
        url = f"/media/{ogg.audio_key}"
    assert client.get(url).headers["Content-Type"] == "audio/ogg"


def test_unpublished_track_is_404(app: Flask, client: FlaskClient, sample_mp3: Path) -> None:
    with app.app_context():
        track = gen_track(gen_book(), sample_mp3, published=False)
        url = f"/media/{track.audio_key}"
    assert client.get(url).status_code == 404


def test_unpublished_book_hides_its_audio(app: Flask, client: FlaskClient, media: tuple[str, bytes]) -> None:
    url, _ = media
    with app.app_context():
        from kiosk.models import Book

        for book in db.session.scalars(db.select(Book)):
            book.published = False
        db.session.commit()
    assert client.get(url).status_code == 404


def test_a_cover_is_streamed_like_audio_until_its_section_is_hidden(app: Flask, client: FlaskClient) -> None:
    image = io.BytesIO()
    Image.new("RGB", (400, 400), (120, 40, 20)).save(image, "PNG")
    with app.app_context():
        book = gen_book("边城", section_slug="fenghuo-jiyi")
        book.cover_key = store().put_bytes(covers.renditions(image.getvalue()).large_jpeg, "covers", "jpg")
        db.session.commit()
        url, body = f"/media/{book.cover_key}", store().path(book.cover_key).read_bytes()
    response = client.get(url, headers={"Range": "bytes=0-3"})
    assert response.status_code == 206
    assert response.data == body[:4] == b"\xff\xd8\xff" + body[3:4]  # a JPEG's first bytes, exactly
    assert response.headers["Content-Type"] == "image/jpeg"
    assert response.headers["Content-Range"] == f"bytes 0-3/{len(body)}"
    with app.app_context():
        gen_section("fenghuo-jiyi").published = False
        db.session.commit()
    assert client.get(url, headers={"Range": "bytes=0-3"}).status_code == 404
    assert client.head(url).status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "/media/../kiosk.sqlite3",
        "/media/audio/../../secret_key",
        "/media/%2e%2e/%2e%2e/etc/passwd",
        "/media/audio/ab/" + "0" * 32 + ".mp3",
        "/media/secret_key",
        "/media/" + "a" * 5000,
    ],
)
def test_no_path_reaches_the_file_system(client: FlaskClient, media: tuple[str, bytes], path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert b"test-secret" not in response.data


def test_missing_file_behind_published_track_is_404_and_logged(
    app: Flask, client: FlaskClient, media: tuple[str, bytes], caplog: pytest.LogCaptureFixture
) -> None:
    url, _ = media
    (Path(app.config["KIOSK_DATA_DIR"]) / url.removeprefix("/media/")).unlink()
    response = client.get(url)
    assert response.status_code == 404
    assert "media file missing" in caplog.text
    # and the pages around it still render
    assert client.get("/sections/jingdian-songdu").status_code == 200


def test_accel_redirect_mode_hands_over_to_nginx(app: Flask, client: FlaskClient, media: tuple[str, bytes]) -> None:
    url, _ = media
    app.config["KIOSK_ACCEL_REDIRECT"] = "/_internal_media/"
    response = client.get(url)
    assert response.status_code == 200
    assert response.headers["X-Accel-Redirect"] == "/_internal_media/" + url.removeprefix("/media/")
    assert response.data == b""
