"""The published-only tree that a front nginx serves: it holds exactly what /media/ would serve.

Every test changes the catalogue the way a librarian does (through the console over HTTP),
then checks the invariant that matters: for every file in the store, a link in the tree
exists if and only if the app itself answers ``GET /media/<key>`` with 200.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import select

from kiosk.extensions import db
from kiosk.media import public_tree, streaming
from kiosk.models import Book, Section, Track
from kiosk.storage import store
from tests.conftest import AuthActions, make_audio
from tests.factories import gen_book, gen_track


@pytest.fixture(scope="module")
def tones(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Two different short MP3s (two store keys)."""
    folder = tmp_path_factory.mktemp("tones")
    return [make_audio(folder / f"{hz}.mp3", seconds=2, source=f"sine=frequency={hz}") for hz in (220, 330)]


@pytest.fixture
def librarian(auth: AuthActions) -> FlaskClient:
    """The client, signed in as an admin (who may also restore from the trash)."""
    return auth.login("admin")


def tree_root(app: Flask) -> Path:
    """Where the tree lives."""
    return Path(app.config["KIOSK_DATA_DIR"]) / public_tree.TREE_DIR


def linked(app: Flask, key: str) -> bool:
    """Whether ``key`` is in the tree, as the store's own file (a hard link, not a copy)."""
    path = tree_root(app) / key
    if not path.exists():
        return False
    with app.app_context():
        assert os.path.samefile(path, store().path(key))
    return True


def store_keys(app: Flask) -> list[str]:
    """Every audio and cover file in the store."""
    root = Path(app.config["KIOSK_DATA_DIR"])
    return sorted(p.relative_to(root).as_posix() for kind in ("audio", "covers") for p in (root / kind).rglob("*.*"))


def assert_tree_matches_the_app(app: Flask, client: FlaskClient) -> None:
    """Linked exactly when the app serves it: nginx and the app can never disagree."""
    for key in store_keys(app):
        served = client.head(f"/media/{key}").status_code == 200
        assert linked(app, key) == served, key


def make_book(app: Flask, audio: list[Path], title: str = "唐诗三首") -> tuple[int, list[int]]:
    """A published book with one chapter per file."""
    with app.app_context():
        book = gen_book(title)
        return book.id, [gen_track(book, path, title=f"第{n}章").id for n, path in enumerate(audio, 1)]


def key_of(app: Flask, track_id: int) -> str:
    with app.app_context():
        return db.session.get(Track, track_id).audio_key  # type: ignore[union-attr]


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (600, 600), (140, 47, 27)).save(buffer, "PNG")
    return buffer.getvalue()


def give_cover(app: Flask, librarian: FlaskClient, book_id: int) -> list[str]:
    """Upload a cover through the console; the keys of the cover and its thumbnail."""
    response = librarian.post(f"/admin/books/{book_id}/cover", data={"cover": (io.BytesIO(png_bytes()), "c.png")},
                              content_type="multipart/form-data")
    assert response.status_code == 303
    with app.app_context():
        book = db.session.get(Book, book_id)
        return [book.cover_key, book.cover_thumb_key]  # type: ignore[union-attr,list-item]


def section_of(app: Flask, book_id: int) -> int:
    with app.app_context():
        return db.session.get(Book, book_id).section_id  # type: ignore[union-attr]


@pytest.fixture(params=["fast path", "view"])
def door(request: pytest.FixtureRequest, app: Flask) -> str:
    """Which door answers ``/media``: the WSGI fast path (as deployed), or the Flask view alone.

    The fast path answers what visitors may fetch and hands the rest to the view; with it
    taken away, the view answers everything, so both must ask the same question.
    """
    if request.param == "view":
        assert isinstance(app.wsgi_app, streaming.MediaFastPath)
        app.wsgi_app = app.wsgi_app.inner  # type: ignore[method-assign,assignment]
    return str(request.param)


def test_a_published_chapter_is_linked_when_created(app: Flask, client: FlaskClient, tones: list[Path]) -> None:
    _book, (track_id, _) = make_book(app, tones)
    assert linked(app, key_of(app, track_id))
    assert_tree_matches_the_app(app, client)


def test_unpublishing_unlinks_before_the_console_answers(
    app: Flask, librarian: FlaskClient, tones: list[Path]
) -> None:
    _book, (track_id, _) = make_book(app, tones)
    key = key_of(app, track_id)
    assert librarian.post(f"/admin/tracks/{track_id}/published", data={"published": "0"}).status_code == 303
    assert not linked(app, key)
    assert_tree_matches_the_app(app, librarian)
    librarian.post(f"/admin/tracks/{track_id}/published", data={"published": "1"})
    assert linked(app, key)


def test_a_book_its_cover_and_its_section_go_and_come_back(
    app: Flask, librarian: FlaskClient, tones: list[Path]
) -> None:
    book_id, track_ids = make_book(app, tones)
    assert librarian.post(f"/admin/books/{book_id}/cover", data={"cover": (io.BytesIO(png_bytes()), "c.png")},
                          content_type="multipart/form-data").status_code == 303
    with app.app_context():
        book = db.session.get(Book, book_id)
        covers = [book.cover_key, book.cover_thumb_key]  # type: ignore[union-attr]
        section_id = book.section_id  # type: ignore[union-attr]
    keys = [key_of(app, t) for t in track_ids]
    assert all(linked(app, key) for key in keys + covers)

    librarian.post(f"/admin/books/{book_id}/published", data={"published": "0"})
    assert not any(linked(app, key) for key in keys + covers)
    assert_tree_matches_the_app(app, librarian)
    librarian.post(f"/admin/books/{book_id}/published", data={"published": "1"})
    assert all(linked(app, key) for key in keys + covers)

    librarian.post(f"/admin/sections/{section_id}/published", data={"published": "0"})
    assert not any(linked(app, key) for key in keys + covers)  # a hidden section hides its books
    assert_tree_matches_the_app(app, librarian)
    librarian.post(f"/admin/sections/{section_id}/published", data={"published": "1"})
    assert all(linked(app, key) for key in keys + covers)

    librarian.post(f"/admin/books/{book_id}/delete")
    assert not any(linked(app, key) for key in keys + covers)
    librarian.post(f"/admin/trash/books/{book_id}/restore")
    assert all(linked(app, key) for key in keys + covers)
    assert_tree_matches_the_app(app, librarian)


def test_a_shared_recording_stays_linked_while_another_chapter_uses_it(
    app: Flask, librarian: FlaskClient, tones: list[Path]
) -> None:
    _book, (one, two) = make_book(app, [tones[0], tones[0]])
    key = key_of(app, one)
    librarian.post(f"/admin/tracks/{one}/delete")
    assert linked(app, key)
    librarian.post(f"/admin/tracks/{two}/published", data={"published": "0"})
    assert not linked(app, key)


def test_replacing_a_file_swaps_the_links(app: Flask, client: FlaskClient, tones: list[Path]) -> None:
    _book, (track_id,) = make_book(app, tones[:1])
    old_key = key_of(app, track_id)
    with app.app_context():
        new_key = store().put_file(tones[1], "audio", ".mp3")
        db.session.get(Track, track_id).audio_key = new_key  # type: ignore[union-attr]
        db.session.commit()
    assert linked(app, new_key)
    assert not linked(app, old_key)
    assert_tree_matches_the_app(app, client)


def test_a_rolled_back_change_leaves_the_tree_alone(app: Flask, tones: list[Path]) -> None:
    _book, (track_id,) = make_book(app, tones[:1])
    key = key_of(app, track_id)
    with app.app_context():
        db.session.get(Track, track_id).published = False  # type: ignore[union-attr]
        db.session.flush()
        db.session.rollback()
        db.session.get(Section, 1).name = "改名不影响文件"  # type: ignore[union-attr]
        db.session.commit()
    assert linked(app, key)


def test_resync_repairs_a_tree_that_drifted(app: Flask, client: FlaskClient, tones: list[Path]) -> None:
    _book, (kept, hidden) = make_book(app, tones)
    kept_key, hidden_key = key_of(app, kept), key_of(app, hidden)
    with app.app_context():
        # What a crash between a commit and its reconciliation leaves: a change the tree missed.
        db.session.execute(db.update(Track).where(Track.id == hidden).values(published=False))
        db.session.commit()
        (tree_root(app) / kept_key).unlink()
        stray = tree_root(app) / "audio" / "notes.txt"
        stray.write_text("not a key: never served, never touched")
        assert linked(app, hidden_key)
        report = public_tree.resync()
    assert (report.linked, report.removed, report.missing) == (1, 1, 0)
    assert linked(app, kept_key)
    assert not linked(app, hidden_key)
    assert stray.exists()
    assert_tree_matches_the_app(app, client)


def test_sync_media_command_reports_and_fails_on_missing_files(app: Flask, tones: list[Path]) -> None:
    _book, (track_id,) = make_book(app, tones[:1])
    runner = app.test_cli_runner()
    result = runner.invoke(args=["sync-media"])
    assert result.exit_code == 0, result.output
    assert "1 published file(s): 0 linked, 0 withdrawn, 0 missing" in result.output
    key = key_of(app, track_id)
    (tree_root(app) / key).unlink()
    with app.app_context():
        store().delete(key)
    result = runner.invoke(args=["sync-media"])
    assert result.exit_code == 1
    assert "missing from the media store" in result.output


def test_a_commit_whose_tree_update_fails_still_stands(
    app: Flask, tones: list[Path], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    _book, (track_id,) = make_book(app, tones[:1])

    def broken(*_args: object) -> None:
        raise PermissionError("read-only store")

    monkeypatch.setattr(public_tree.PublicTree, "unlink", broken)
    with app.app_context():
        db.session.get(Track, track_id).published = False  # type: ignore[union-attr]
        db.session.commit()
        assert db.session.scalar(select(Track.published).where(Track.id == track_id)) is False
    assert "published-only tree NOT updated" in caplog.text


def test_reconciliations_wait_for_one_another(app: Flask, tones: list[Path]) -> None:
    """Another process holding the tree's lock delays a commit's update; nothing is skipped."""
    import fcntl
    import threading

    _book, (track_id,) = make_book(app, tones[:1])
    key = key_of(app, track_id)
    lock_path = Path(app.config["KIOSK_DATA_DIR"]) / public_tree.LOCK_FILE
    with lock_path.open("a") as other:
        fcntl.flock(other, fcntl.LOCK_EX)  # as another web node's reconciliation would
        released = threading.Event()

        def let_go() -> None:
            released.set()  # set before unlocking: the commit cannot get the lock before this
            fcntl.flock(other, fcntl.LOCK_UN)

        release = threading.Timer(0.3, let_go)
        release.start()
        with app.app_context():
            db.session.get(Track, track_id).published = False  # type: ignore[union-attr]
            db.session.commit()
        unlinked_after_release = released.is_set()
        release.join()
    assert unlinked_after_release  # the commit's unlink waited for the other holder
    assert not linked(app, key)


Step = tuple[str, dict[str, str]]  # a console POST: its path (with {book} and {section}) and form
HIDING: dict[str, tuple[Step, Step]] = {
    # what a librarian does: the POST that hides a book's files, and the POST that brings them back
    "hide its section": (("/admin/sections/{section}/published", {"published": "0"}),
                         ("/admin/sections/{section}/published", {"published": "1"})),
    "unpublish the book": (("/admin/books/{book}/published", {"published": "0"}),
                           ("/admin/books/{book}/published", {"published": "1"})),
    "delete the book": (("/admin/books/{book}/delete", {}), ("/admin/trash/books/{book}/restore", {})),
}


def console_post(librarian: FlaskClient, step: Step, book_id: int, section_id: int) -> int:
    """Make one console change; its status."""
    path, form = step
    return librarian.post(path.format(book=book_id, section=section_id), data=form).status_code


@pytest.mark.parametrize("change", sorted(HIDING))
def test_covers_answer_404_and_leave_the_tree_at_the_very_next_request(
    app: Flask, librarian: FlaskClient, tones: list[Path], door: str, change: str
) -> None:
    book_id, (track_id,) = make_book(app, tones[:1])
    covers, section_id = give_cover(app, librarian, book_id), section_of(app, book_id)
    files = [*covers, key_of(app, track_id)]
    assert [librarian.get(f"/media/{key}").status_code for key in files] == [200, 200, 200]
    assert all(linked(app, key) for key in files)

    hide, show = HIDING[change]
    assert console_post(librarian, hide, book_id, section_id) == 303
    assert [librarian.get(f"/media/{key}").status_code for key in files] == [404, 404, 404]
    assert not any(linked(app, key) for key in files)
    assert "没有找到" in librarian.get(f"/media/{covers[0]}").get_data(as_text=True)

    assert console_post(librarian, show, book_id, section_id) == 303
    assert [librarian.get(f"/media/{key}").status_code for key in files] == [200, 200, 200]
    assert all(linked(app, key) for key in files)


def test_moving_a_book_into_a_hidden_section_takes_its_cover_down(
    app: Flask, librarian: FlaskClient, tones: list[Path], door: str
) -> None:
    book_id, _tracks = make_book(app, tones[:1])
    covers = give_cover(app, librarian, book_id)
    with app.app_context():
        hidden = db.session.scalars(select(Section).where(Section.slug == "fenghuo-jiyi")).one()
        hidden.published, hidden_id = False, hidden.id
        db.session.commit()
    form = {"section_id": str(hidden_id), "title": "唐诗三首", "title_en": "", "author": "", "description": ""}
    assert librarian.post(f"/admin/books/{book_id}", data=form).status_code == 303
    assert [librarian.get(f"/media/{key}").status_code for key in covers] == [404, 404]
    assert not any(linked(app, key) for key in covers)
    assert_tree_matches_the_app(app, librarian)


def test_a_booth_original_is_never_served_even_beside_a_published_chapter(
    app: Flask, client: FlaskClient, tones: list[Path], door: str
) -> None:
    """Only the kinds visitors may fetch are public: a volunteer's raw take is not one of them."""
    _book, (track_id,) = make_book(app, tones[:1])
    with app.app_context():
        original = store().put_file(tones[0], "originals", ".mp3")
        assert store().exists(original)
    assert client.get(f"/media/{key_of(app, track_id)}").status_code == 200
    assert client.get(f"/media/{original}").status_code == 404
    with app.app_context():
        public_tree.resync()
    assert not linked(app, original)
