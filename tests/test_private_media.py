"""What is not published is never cached: a volunteer's own take and the console's previews are
``private, no-store``; only published media are ``public, immutable`` (the probe found all of them
sent ``public, immutable`` for a year, the console's ``no-store`` losing to it)."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from kiosk.extensions import db
from kiosk.library import covers
from kiosk.models import Book
from kiosk.storage import store
from recorder import synth
from tests.conftest import AuthActions
from tests.factories import gen_book, gen_track

PRIVATE = "private, no-store"


@pytest.fixture
def unpublished(app: Flask, sample_mp3: Path) -> dict[str, object]:
    with app.app_context():
        book = gen_book("未发布的书")
        published = gen_track(book, sample_mp3, title="第一章")
        hidden = gen_track(book, sample_mp3, title="第二章", published=False)
        db.session.commit()
        return {"book": book.id, "hidden": hidden.id, "public_url": f"/media/{published.audio_key}"}


def test_a_consoles_preview_of_an_unpublished_chapter_is_not_cached(
    app: Flask, client: FlaskClient, unpublished: dict[str, object]
) -> None:
    AuthActions(app, client).login()
    response = client.get(f"/admin/tracks/{unpublished['hidden']}/audio", headers={"Range": "bytes=0-99"})
    assert response.status_code == 206
    assert response.headers["Cache-Control"] == PRIVATE


def test_published_media_stay_immutable(client: FlaskClient, unpublished: dict[str, object]) -> None:
    response = client.get(str(unpublished["public_url"]), headers={"Range": "bytes=0-99"})
    assert response.status_code == 206
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"


def test_a_volunteers_own_take_is_not_cached(client: FlaskClient, tmp_path: Path) -> None:
    take = synth.speechlike(tmp_path / "take.wav", duration_s=3, level_lufs=-24, pad_head_s=1, pad_tail_s=1)
    accepted = client.post("/api/v1/recordings", content_type="multipart/form-data",
                           data={"reader_name": "李读者", "consent": "1", "audio": (take.open("rb"), "take.wav")})
    assert accepted.status_code == 202
    response = client.get(f"/r/{accepted.get_json()['token']}/audio", headers={"Range": "bytes=0-99"})
    assert response.status_code == 206
    assert response.headers["Cache-Control"] == PRIVATE


def test_a_consoles_cover_preview_is_not_cached(
    app: Flask, client: FlaskClient, unpublished: dict[str, object]
) -> None:
    with app.app_context():
        book = db.session.get(Book, unpublished["book"])
        assert book is not None
        book.cover_key = store().put_bytes(covers.generated_cover("未发布的书", "#1d5c8c", 1), "covers", "jpg")
        db.session.commit()
    AuthActions(app, client).login()
    response = client.get(f"/admin/books/{unpublished['book']}/cover.jpg")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == PRIVATE
