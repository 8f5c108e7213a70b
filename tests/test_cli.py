"""The ``kiosk`` commands as an operator runs them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from mutagen.mp3 import MP3

from kiosk.extensions import db
from kiosk.models import Book, Section, Track


def test_init_is_safe_to_run_twice(app: Flask, runner: FlaskCliRunner) -> None:
    first = runner.invoke(args=["init"])
    second = runner.invoke(args=["init"])
    assert first.exit_code == 0 and second.exit_code == 0
    assert "0 new section(s)" in second.output
    with app.app_context():
        assert db.session.query(Section).count() == 9


@pytest.mark.slow
def test_demo_makes_real_playable_audio_and_is_safe_to_run_twice(
    app: Flask, client: FlaskClient, runner: FlaskCliRunner
) -> None:
    first = runner.invoke(args=["demo"])
    assert first.exit_code == 0, first.output
    second = runner.invoke(args=["demo"])
    assert "0 new book(s)" in second.output
    with app.app_context():
        books = db.session.scalars(db.select(Book)).all()
        tracks = db.session.scalars(db.select(Track)).all()
        sections = {b.section_id for b in books}
        assert len(books) >= 5 and len(sections) >= 4
        assert all(b.cover_key and b.cover_thumb_key for b in books)
        media = Path(app.config["KIOSK_DATA_DIR"])
        for track in tracks:
            audio = MP3(media / track.audio_key)
            assert audio.info.length > 15  # tens of seconds of real audio
            assert abs(audio.info.length * 1000 - track.duration_ms) < 500
            assert track.loudness_lufs is not None and abs(track.loudness_lufs + 18) < 1
    assert_every_page_renders_and_matches_the_api(client)


def assert_every_page_renders_and_matches_the_api(client: FlaskClient) -> None:
    """Walk the demo as a visitor would: every section, book and chapter page, and its audio."""
    for section in client.get("/api/v1/sections").get_json()["sections"]:
        section_page = client.get(section["url"]).get_data(as_text=True)
        assert section["name"] in section_page
        for book in client.get(f"/api/v1/sections/{section['slug']}").get_json()["books"]:
            assert book["title"] in section_page
            book_page = client.get(book["url"])
            assert book_page.status_code == 200
            for track in client.get(f"/api/v1/books/{book['id']}").get_json()["book"]["tracks"]:
                assert track["title"] in book_page.get_data(as_text=True)
                player = client.get(track["url"]).get_data(as_text=True)
                assert track["audio_url"] in player
                assert client.get(track["audio_url"], headers={"Range": "bytes=0-1"}).status_code == 206


def test_console_script_is_installed_and_lists_the_contract_commands() -> None:
    kiosk = Path(sys.executable).with_name("kiosk")
    result = subprocess.run([str(kiosk), "--help"], capture_output=True, text=True, check=True)
    for command in ("serve", "init", "demo"):
        assert command in result.stdout
