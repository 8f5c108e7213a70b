"""Visitors cannot find a book through a recording they cannot hear (the probe found one by the
reader of an unpublished chapter); librarians still find it by any reader."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from kiosk.extensions import db
from kiosk.models import Track, utcnow
from tests.conftest import AuthActions
from tests.factories import gen_book, gen_track

UNHEARD_READER = "赵秘密"


@pytest.fixture
def book_with_a_hidden_reader(app: Flask, sample_mp3: Path) -> dict[str, int]:
    with app.app_context():
        book = gen_book("山水游记")
        gen_track(book, sample_mp3, title="第一章", reader="王晓明")
        hidden = gen_track(book, sample_mp3, title="第二章", reader=UNHEARD_READER, published=False)
        db.session.commit()
        return {"book": book.id, "hidden": hidden.id}


def found_by_visitors(client: FlaskClient, query: str) -> list[int]:
    return [b["id"] for b in client.get(f"/api/v1/search?q={query}").get_json()["books"]]


def set_chapter(app: Flask, track_id: int, **values: object) -> None:
    with app.app_context():
        track = db.session.get(Track, track_id)
        assert track is not None
        for name, value in values.items():
            setattr(track, name, value)
        db.session.commit()


def test_a_reader_of_an_unpublished_chapter_finds_nothing(
    app: Flask, client: FlaskClient, book_with_a_hidden_reader: dict[str, int]
) -> None:
    assert found_by_visitors(client, UNHEARD_READER) == []
    assert found_by_visitors(client, "zhaomimi") == []  # nor in pinyin
    assert book_with_a_hidden_reader["book"] in found_by_visitors(client, "王晓明")
    assert "山水游记" not in client.get(f"/search?q={UNHEARD_READER}").get_data(as_text=True)


def test_publishing_the_chapter_makes_its_reader_findable_and_deleting_it_hides_them_again(
    app: Flask, client: FlaskClient, book_with_a_hidden_reader: dict[str, int]
) -> None:
    set_chapter(app, book_with_a_hidden_reader["hidden"], published=True)
    assert found_by_visitors(client, UNHEARD_READER) == [book_with_a_hidden_reader["book"]]
    set_chapter(app, book_with_a_hidden_reader["hidden"], deleted_at=utcnow())
    assert found_by_visitors(client, UNHEARD_READER) == []


def test_librarians_find_the_book_by_any_reader(
    app: Flask, client: FlaskClient, book_with_a_hidden_reader: dict[str, int]
) -> None:
    AuthActions(app, client).login()
    page = client.get(f"/admin/books?q={UNHEARD_READER}").get_data(as_text=True)
    assert "山水游记" in page
