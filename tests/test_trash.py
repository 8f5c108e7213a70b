"""The trash: deleted books and chapters vanish for visitors, come back on restore, and are
purged for good after 30 days — their files only when nothing else uses them."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from kiosk.extensions import db
from kiosk.jobs import tasks
from kiosk.library import catalogue, covers
from kiosk.library.trash import purge_trash
from kiosk.models import AuditEvent, Book, ChapterUpload, CodeTarget, QrCode, Recording, Track, utcnow
from kiosk.storage import store
from tests.conftest import AuthActions, make_audio
from tests.factories import gen_book, gen_track


@pytest.fixture(scope="module")
def tones(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Three different short MP3s (different content, so different store keys)."""
    folder = tmp_path_factory.mktemp("tones")
    return [make_audio(folder / f"{hz}.mp3", seconds=2, source=f"sine=frequency={hz}")
            for hz in (220, 330, 440)]


def make_book(app: Flask, audio: list[Path], title: str = "唐诗三首") -> tuple[int, list[int]]:
    """A book with one chapter per file; its id and the chapter ids."""
    with app.app_context():
        book = gen_book(title)
        ids = [gen_track(book, path, title=f"第{n}章").id for n, path in enumerate(audio, 1)]
        return book.id, ids


def key_of(app: Flask, track_id: int) -> str:
    """A chapter's audio key."""
    with app.app_context():
        return db.session.get(Track, track_id).audio_key


def last_action(app: Flask) -> str:
    """The newest audit action."""
    with app.app_context():
        return db.session.scalar(select(AuditEvent.action).order_by(AuditEvent.id.desc()).limit(1))


def test_a_deleted_chapter_is_gone_until_an_admin_restores_it(
    app: Flask, client: FlaskClient, auth: AuthActions, tones: list[Path]
) -> None:
    book_id, (first, second, third) = make_book(app, tones)
    key = key_of(app, second)
    auth.login()
    assert client.post(f"/admin/tracks/{second}/delete").status_code == 303
    assert last_action(app) == "track_deleted"
    assert client.get(f"/media/{key}").status_code == 404
    assert client.get(f"/tracks/{second}").status_code == 404
    # The book page numbers its chapters itself (第1章, 第2章 …): the deleted one is looked for by its link.
    assert f'href="/tracks/{second}"' not in client.get(f"/books/{book_id}").get_data(as_text=True)
    assert client.get(f"/admin/tracks/{second}").status_code == 404
    assert client.post(f"/admin/trash/tracks/{second}/restore").status_code == 403  # librarians can't
    auth.logout()
    auth.login("admin")
    trash = client.get("/admin/trash").get_data(as_text=True)
    assert '<th scope="row">第2章</th>' in trash
    assert client.post(f"/admin/trash/tracks/{second}/restore").status_code == 303
    assert last_action(app) == "track_restored"
    assert client.get(f"/media/{key}").status_code == 200
    page = client.get(f"/books/{book_id}").get_data(as_text=True)
    links = [page.index(f'href="/tracks/{track_id}"') for track_id in (first, second, third)]
    assert links == sorted(links)  # back in its place
    assert '<th scope="row">第2章</th>' not in client.get("/admin/trash").get_data(as_text=True)


def test_a_deleted_book_takes_its_pages_and_files_offline(
    app: Flask, client: FlaskClient, auth: AuthActions, tones: list[Path]
) -> None:
    book_id, (track_id, *_rest) = make_book(app, tones[:1], title="将进酒")
    key = key_of(app, track_id)
    with app.app_context():
        code = catalogue.primary_code(CodeTarget.BOOK, book_id)
    auth.login()
    assert client.post(f"/admin/books/{book_id}/delete").status_code == 303
    assert client.get(f"/books/{book_id}").status_code == 404
    assert client.get(f"/media/{key}").status_code == 404
    assert "将进酒" not in client.get("/sections/jingdian-songdu").get_data(as_text=True)
    assert f'href="/admin/books/{book_id}"' not in client.get("/admin/books").get_data(as_text=True)
    assert client.get(f"/q/{code}").status_code == 200  # the printed code says "updating"
    auth.logout()
    auth.login("admin")
    assert "将进酒" in client.get("/admin/trash").get_data(as_text=True)
    client.post(f"/admin/trash/books/{book_id}/restore")
    assert client.get(f"/books/{book_id}").status_code == 200
    assert client.get(f"/media/{key}").status_code == 200
    assert client.get(f"/q/{code}").status_code == 302


def test_a_chapter_of_a_trashed_book_waits_for_its_book(
    app: Flask, client: FlaskClient, auth: AuthActions, tones: list[Path]
) -> None:
    book_id, (track_id, *_rest) = make_book(app, tones[:1])
    auth.login("admin")
    client.post(f"/admin/tracks/{track_id}/delete")
    client.post(f"/admin/books/{book_id}/delete")
    response = client.post(f"/admin/trash/tracks/{track_id}/restore")
    assert "请先恢复那本书" in client.get(response.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Track, track_id).deleted_at is not None


def test_a_shared_recording_stays_online_while_another_chapter_uses_it(
    app: Flask, client: FlaskClient, auth: AuthActions, tones: list[Path]
) -> None:
    _book, (one, two) = make_book(app, [tones[0], tones[0]])
    key = key_of(app, one)
    assert key == key_of(app, two)
    auth.login()
    client.post(f"/admin/tracks/{one}/delete")
    assert client.get(f"/media/{key}").status_code == 200


def trash_at(app: Flask, model: type[Book] | type[Track], row_id: int, days_ago: float) -> None:
    """Put a row in the trash as if deleted ``days_ago`` days ago."""
    with app.app_context():
        db.session.get(model, row_id).deleted_at = utcnow() - timedelta(days=days_ago)
        db.session.commit()


def test_purge_removes_only_what_is_older_than_thirty_days(app: Flask, tones: list[Path]) -> None:
    _book_id, (old, recent, kept) = make_book(app, tones)
    old_key, recent_key = key_of(app, old), key_of(app, recent)
    trash_at(app, Track, old, 31)
    trash_at(app, Track, recent, 29)
    with app.app_context():
        report = purge_trash(utcnow())
        assert report.track_ids == [old]
        assert report.deleted_keys == [old_key]
        assert db.session.get(Track, old) is None
        assert db.session.get(Track, recent) is not None
        assert db.session.get(Track, kept) is not None
        assert not store().exists(old_key)
        assert store().exists(recent_key)
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "trash_purged"))
        assert event.detail["tracks"] == [old]


def test_purge_keeps_a_file_another_chapter_still_uses(app: Flask, tones: list[Path]) -> None:
    _book, (gone, stays) = make_book(app, [tones[1], tones[1]])
    key = key_of(app, gone)
    trash_at(app, Track, gone, 40)
    with app.app_context():
        report = purge_trash(utcnow())
        assert report.track_ids == [gone]
        assert report.deleted_keys == []
        assert store().exists(key)
        assert db.session.get(Track, stays).audio_key == key


def test_purging_a_book_takes_its_chapters_and_cover_but_not_its_code(
    app: Flask, client: FlaskClient, tones: list[Path]
) -> None:
    book_id, track_ids = make_book(app, tones[:2], title="木兰辞")
    keys = [key_of(app, t) for t in track_ids]
    with app.app_context():
        book = db.session.get(Book, book_id)
        images = covers.renditions(covers.generated_cover("木兰辞", "#1d5c8c", 1))
        book.cover_key = store().put_bytes(images.large_jpeg, "covers", "jpg")
        book.cover_thumb_key = store().put_bytes(images.thumb_jpeg, "covers", "jpg")
        cover_keys = [book.cover_key, book.cover_thumb_key]
        code = catalogue.primary_code(CodeTarget.BOOK, book_id)
        db.session.commit()
    trash_at(app, Book, book_id, 31)
    with app.app_context():
        report = purge_trash(utcnow())
        assert report.book_ids == [book_id]
        assert sorted(report.track_ids) == sorted(track_ids)
        assert sorted(report.deleted_keys) == sorted(keys + cover_keys)
        assert db.session.get(Book, book_id) is None
        assert all(not store().exists(k) for k in keys + cover_keys)
        assert db.session.get(QrCode, code).book_id is None
    assert client.get(f"/q/{code}").status_code == 200  # still resolves: "updating"


def test_a_second_purge_finds_nothing(app: Flask, tones: list[Path]) -> None:
    _book, (track_id,) = make_book(app, tones[2:])
    trash_at(app, Track, track_id, 31)
    with app.app_context():
        assert purge_trash(utcnow()).track_ids == [track_id]
        again = purge_trash(utcnow())
        assert (again.book_ids, again.track_ids, again.deleted_keys) == ([], [], [])


def test_the_daily_job_runs_the_purge(app: Flask, tones: list[Path]) -> None:
    _book, (track_id,) = make_book(app, tones[:1])
    trash_at(app, Track, track_id, 45)
    with app.app_context():
        tasks.purge_trash_daily.call_local()
        assert db.session.get(Track, track_id) is None


def test_purge_detaches_rows_that_point_at_a_purged_chapter(app: Flask, tones: list[Path]) -> None:
    _book, (track_id,) = make_book(app, tones[:1])
    with app.app_context():
        code = catalogue.issue_code(CodeTarget.TRACK, track_id)
        take = Recording(token="k" * 20, reader_name="甲", consent=True, licence="CC BY 4.0", title="读",
                         original_key="originals/ab/" + "b" * 32 + ".wav", original_size_bytes=1,
                         track_id=track_id)
        db.session.add(take)
        db.session.commit()
        take_id = take.id
    trash_at(app, Track, track_id, 31)
    with app.app_context():
        assert purge_trash(utcnow()).track_ids == [track_id]
        assert db.session.get(Recording, take_id).track_id is None  # the take's history stays
        assert db.session.get(QrCode, code).track_id is None


def test_originals_of_finished_uploads_go_after_the_trash_period(
    app: Flask, client: FlaskClient, auth: AuthActions, tmp_path: Path
) -> None:
    from recorder import synth

    raw = synth.speechlike(tmp_path / "raw.wav", duration_s=3, level_lufs=-26, pad_head_s=0.5)
    with app.app_context():
        book_id = gen_book("出师表").id
    auth.login()
    client.post(f"/admin/books/{book_id}/tracks", content_type="multipart/form-data",
                data={"chapter-title": "前出师表", "chapter-audio": (raw.open("rb"), "raw.wav")})
    with app.app_context():
        upload = db.session.scalar(select(ChapterUpload))
        original, audio = upload.original_key, upload.track.audio_key
        assert store().exists(original)
        report = purge_trash(utcnow())
        assert report.deleted_keys == []  # still within the period
        upload.finished_at = utcnow() - timedelta(days=31)
        db.session.commit()
        report = purge_trash(utcnow())
        assert report.deleted_keys == [original]
        assert not store().exists(original)
        assert store().exists(audio)
        assert db.session.scalar(select(ChapterUpload)) is None
    assert client.get(f"/media/{audio}").status_code == 200
