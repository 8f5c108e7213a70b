"""The moderation queue: a booth take approved, rejected or mastered again in the console."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from kiosk.booth import moderation, originals
from kiosk.extensions import db
from kiosk.library import catalogue
from kiosk.models import AuditEvent, Book, Decision, JobStatus, Recording, Remaster, Track, User, utcnow
from kiosk.storage import store
from recorder import synth
from tests.conftest import AuthActions, make_audio
from tests.factories import gen_book, gen_section, gen_track

HOSTILE = "<script>alert(1)</script>"


@pytest.fixture(scope="session")
def booth_take(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Eight seconds of speech-like audio at -24 LUFS with a second of silence either side."""
    folder = tmp_path_factory.mktemp("moderation")
    return synth.speechlike(folder / "take.wav", duration_s=8, level_lufs=-24, pad_head_s=1, pad_tail_s=1)


def submit(client: FlaskClient, audio: Path, reader_name: str = "李读者") -> str:
    """Post a take to the booth's API as the booth does; its token."""
    response = client.post(
        "/api/v1/recordings",
        data={"audio": (audio.open("rb"), audio.name), "reader_name": reader_name, "consent": "1"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 202, response.get_data(as_text=True)
    return response.get_json()["token"]


def take_of(token: str) -> Recording:
    """The take row behind ``token`` (fresh from the database)."""
    db.session.expire_all()
    return db.session.scalars(select(Recording).where(Recording.token == token)).one()


def section_id(slug: str = "jingdian-songdu") -> int:
    """A default section's id."""
    return gen_section(slug).id


def test_booth_take_approved_in_console_streams_on_its_section(
    app: Flask, client: FlaskClient, auth: AuthActions, booth_take: Path
) -> None:
    token = submit(client, booth_take)
    auth.login()
    with app.app_context():
        row = take_of(token)
        take_id, mastered_key, sid = row.id, row.mastered_key, section_id()
    queue = client.get("/admin/moderation").get_data(as_text=True)
    assert "李读者" in queue and f"/admin/moderation/{take_id}/mastered.mp3" in queue

    response = client.post(f"/admin/moderation/{take_id}/approve-new", data={
        "new-title": "春晓诵读", "new-section_id": str(sid), "new-author": "孟浩然", "new-chapter_title": "春晓",
    })
    assert response.status_code == 303

    with app.app_context():
        row = take_of(token)
        assert row.decision is Decision.APPROVED and row.decided_at is not None
        track = db.session.get(Track, row.track_id)
        assert track is not None and track.audio_key == mastered_key and track.reader.name == "李读者"
        book_id, track_id = track.book_id, track.id
        mastered = store().path(mastered_key).read_bytes()
    visitor = app.test_client()  # an anonymous visitor
    assert "春晓诵读" in visitor.get("/sections/jingdian-songdu").get_data(as_text=True)
    assert "春晓" in visitor.get(f"/books/{book_id}").get_data(as_text=True)
    player = visitor.get(f"/tracks/{track_id}").get_data(as_text=True)
    audio_url = re.search(r'src="(/media/[^"]+)"', player).group(1)  # type: ignore[union-attr]
    assert audio_url == visitor.get(f"/api/v1/tracks/{track_id}").get_json()["track"]["audio_url"]
    partial = visitor.get(audio_url, headers={"Range": "bytes=100-4195"})
    assert partial.status_code == 206
    assert partial.data == mastered[100:4196]
    assert partial.headers["Content-Range"] == f"bytes 100-4195/{len(mastered)}"
    home = visitor.get(f"/r/{token}").get_data(as_text=True)
    assert "这段录音已经上架" in home and f"/tracks/{track_id}" in home


def test_approve_into_a_book_at_a_place_shifts_the_others(
    app: Flask, client: FlaskClient, auth: AuthActions, booth_take: Path, sample_mp3: Path
) -> None:
    token = submit(client, booth_take)
    with app.app_context():
        book = gen_book("唐诗三首")
        for title in ("第一首", "第二首", "第三首"):
            gen_track(book, sample_mp3, title=title)
        book_id, take_id = book.id, take_of(token).id
    auth.login()
    page = client.get(f"/admin/moderation/{take_id}").get_data(as_text=True)
    assert 'value="自由朗读"' in page  # the chapter title defaults to the take's title
    response = client.post(f"/admin/moderation/{take_id}/approve", data={
        "book-book_id": str(book_id), "book-chapter_title": "插入的一首", "book-placement": "at",
        "book-position": "2",
    })
    assert response.status_code == 303
    with app.app_context():
        titles = [t.title for t in db.session.get(Book, book_id).tracks]
        positions = [t.position for t in db.session.get(Book, book_id).tracks]
    assert titles == ["第一首", "插入的一首", "第二首", "第三首"]
    assert positions == [1, 2, 3, 4]


def test_approve_asks_for_a_place_when_at_is_chosen(
    app: Flask, client: FlaskClient, auth: AuthActions, booth_take: Path
) -> None:
    token = submit(client, booth_take)
    with app.app_context():
        book_id, take_id = gen_book().id, take_of(token).id
    auth.login()
    response = client.post(f"/admin/moderation/{take_id}/approve", data={
        "book-book_id": str(book_id), "book-chapter_title": "我的标题", "book-placement": "at", "book-position": "",
    })
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "请填写要放在第几章" in page and 'value="我的标题"' in page  # what was typed is kept
    with app.app_context():
        assert take_of(token).decision is Decision.PENDING


def test_a_failure_midway_leaves_nothing_half_done(
    app: Flask, client: FlaskClient, auth: AuthActions, booth_take: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = submit(client, booth_take)
    auth.login()

    def broken(book: Book) -> None:
        raise RuntimeError("disk on fire")

    with app.app_context():
        take_id = take_of(token).id
        actor = db.session.scalars(select(User)).one()
        books_before = db.session.scalar(select(func.count()).select_from(Book))
        monkeypatch.setattr(catalogue, "refresh_book_index", broken)  # runs after the track is added
        placement = moderation.Placement(chapter_title="春晓", new_title="新书", new_section_id=section_id())
        with pytest.raises(RuntimeError):
            moderation.approve(take_id, placement, actor)
        assert db.session.scalar(select(func.count()).select_from(Track)) == 0
        assert db.session.scalar(select(func.count()).select_from(Book)) == books_before
        row = take_of(token)
        assert row.decision is Decision.PENDING and row.track_id is None and row.decided_at is None
        assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "take_approved")) is None


def test_a_second_decision_changes_nothing(
    app: Flask, client: FlaskClient, auth: AuthActions, booth_take: Path
) -> None:
    token = submit(client, booth_take)
    with app.app_context():
        book_id, take_id = gen_book().id, take_of(token).id
    auth.login()
    form = {"book-book_id": str(book_id), "book-chapter_title": "春晓", "book-placement": "end"}
    assert client.post(f"/admin/moderation/{take_id}/approve", data=form).status_code == 303
    again = client.post(f"/admin/moderation/{take_id}/approve", data=form)
    assert again.status_code == 409 and "已经有了决定" in again.get_data(as_text=True)
    late_reject = client.post(f"/admin/moderation/{take_id}/reject", data={"reject-reason": "太吵"})
    assert late_reject.status_code == 409
    with app.app_context():
        row = take_of(token)
        assert row.decision is Decision.APPROVED and row.decision_reason is None
        assert db.session.scalar(select(func.count()).select_from(Track)) == 1


def test_reject_needs_a_reason_that_the_volunteer_then_reads(
    app: Flask, client: FlaskClient, auth: AuthActions, booth_take: Path
) -> None:
    token = submit(client, booth_take)
    with app.app_context():
        take_id = take_of(token).id
    auth.login()
    empty = client.post(f"/admin/moderation/{take_id}/reject", data={"reject-reason": "  "})
    assert empty.status_code == 422 and "请填写不采用的原因" in empty.get_data(as_text=True)
    reason = "背景噪音太大，欢迎安静时再录一次 <b>谢谢</b>"
    assert client.post(f"/admin/moderation/{take_id}/reject", data={"reject-reason": reason}).status_code == 303
    home = client.get(f"/r/{token}").get_data(as_text=True)
    assert "馆员这次没有采用这段录音" in home
    assert "背景噪音太大，欢迎安静时再录一次 &lt;b&gt;谢谢&lt;/b&gt;" in home
    decided = client.get("/admin/moderation").get_data(as_text=True)
    assert "已退回" in decided and "没有等待审核的录音" in decided


def test_remaster_replaces_master_and_report_but_never_the_original(
    app: Flask, client: FlaskClient, auth: AuthActions, booth_take: Path, tmp_path: Path
) -> None:
    from tests.recorder.helpers import decode, integrated_lufs, silence_edges_s

    token = submit(client, booth_take)
    with app.app_context():
        row = take_of(token)
        take_id, first_key, original = row.id, row.mastered_key, store().path(row.original_key)
        first_tail_s = silence_edges_s(*decode(store().path(first_key), tmp_path))[1]
    original_digest = hashlib.sha256(original.read_bytes()).hexdigest()
    auth.login()
    response = client.post(f"/admin/moderation/{take_id}/remaster",
                           data={"remaster-target_lufs": "-22", "remaster-room_tone": "more"})
    assert response.status_code == 303
    with app.app_context():
        row = take_of(token)
        assert row.mastered_key != first_key and row.decision is Decision.PENDING
        assert abs(row.report["final_lufs"] + 22) <= 1
        data, rate = decode(store().path(row.mastered_key), tmp_path)
        assert abs(integrated_lufs(data, rate) + 22) <= 1  # measured independently
        assert silence_edges_s(data, rate)[1] > first_tail_s + 0.5  # more room tone kept at the tail
        assert db.session.scalars(select(Remaster)).one().status is JobStatus.DONE
    assert hashlib.sha256(original.read_bytes()).hexdigest() == original_digest
    page = client.get(f"/admin/moderation/{take_id}").get_data(as_text=True)
    assert "重新处理（-22 LUFS）" in page
    out_of_range = client.post(f"/admin/moderation/{take_id}/remaster",
                               data={"remaster-target_lufs": "-30", "remaster-room_tone": "standard"})
    assert out_of_range.status_code == 422


def test_queue_lists_pending_oldest_first_and_failed_takes(
    app: Flask, client: FlaskClient, auth: AuthActions, booth_take: Path, tmp_path: Path
) -> None:
    submit(client, booth_take, "第一位")
    submit(client, booth_take, "第二位")
    silence = make_audio(tmp_path / "silence.wav", seconds=6, source="anullsrc=r=44100:cl=mono")
    silent_token = submit(client, silence, "静音者")
    auth.login()
    with app.app_context():
        silent_id = take_of(silent_token).id
    page = client.get("/admin/moderation").get_data(as_text=True)
    pending, failed = page.split('id="failed"')
    assert pending.index("第一位") < pending.index("第二位")
    assert "静音者" in failed and "静音者" not in pending
    assert "LUFS" in pending and "保留到做出决定后 30 天" in page
    failed_page = client.get(f"/admin/moderation/{silent_id}?lang=en")
    assert failed_page.status_code == 200 and "failed processing" in failed_page.get_data(as_text=True)


def test_a_failed_take_can_be_turned_down_so_its_original_expires(
    app: Flask, client: FlaskClient, auth: AuthActions, tmp_path: Path
) -> None:
    silence = make_audio(tmp_path / "silence.wav", seconds=6, source="anullsrc=r=44100:cl=mono")
    token = submit(client, silence, "静音者")
    with app.app_context():
        row = take_of(token)
        take_id, original_key = row.id, row.original_key
        assert row.status is JobStatus.FAILED and row.decision is None
        book_id = gen_book().id
    auth.login()
    page = client.get(f"/admin/moderation/{take_id}").get_data(as_text=True)
    assert "处理失败" in page and f'action="/admin/moderation/{take_id}/reject"' in page
    assert f'action="/admin/moderation/{take_id}/approve"' not in page  # nothing to publish
    form = {"book-book_id": str(book_id), "book-chapter_title": "空白", "book-placement": "end"}
    assert client.post(f"/admin/moderation/{take_id}/approve", data=form).status_code == 409

    note = "录音几乎没有声音，可能是麦克风没有打开，欢迎再来录一次"
    assert client.post(f"/admin/moderation/{take_id}/reject", data={"reject-reason": note}).status_code == 303
    home = client.get(f"/r/{token}").get_data(as_text=True)
    assert f"馆员留言：{note}" in home
    queue = client.get("/admin/moderation").get_data(as_text=True)
    failed_section = queue.split('id="failed"')[1].split("<h2")[0]
    assert "静音者" not in failed_section  # no longer waiting; listed with the decided takes
    assert client.post(f"/admin/moderation/{take_id}/reject", data={"reject-reason": note}).status_code == 409
    with app.app_context():
        row = take_of(token)
        assert row.decision is Decision.REJECTED and row.decided_at is not None
        assert store().exists(original_key)  # kept for the 30 days, then deleted by the daily purge
        assert originals.expired_originals(utcnow()) == []
        assert originals.expired_originals(utcnow() + timedelta(days=31)) == [original_key]


def test_only_librarians_hear_the_takes(
    app: Flask, client: FlaskClient, auth: AuthActions, booth_take: Path
) -> None:
    token = submit(client, booth_take)
    with app.app_context():
        take_id = take_of(token).id
        original = store().path(take_of(token).original_key).read_bytes()
    for path in ("/admin/moderation", f"/admin/moderation/{take_id}", f"/admin/moderation/{take_id}/original",
                 f"/admin/moderation/{take_id}/mastered.mp3"):
        response = client.get(path)
        assert response.status_code == 302 and "/admin/login" in response.headers["Location"], path
    assert client.post(f"/admin/moderation/{take_id}/reject", data={"reject-reason": "x"}).status_code == 302
    auth.login()
    assert client.get("/admin/moderation").status_code == 200
    response = client.get(f"/admin/moderation/{take_id}/original", headers={"Range": "bytes=0-99"})
    assert response.status_code == 206 and response.mimetype == "audio/wav"
    assert response.data == original[:100] and "no-store" in response.headers["Cache-Control"]
    assert client.get(f"/admin/moderation/{take_id}/mastered.mp3").mimetype == "audio/mpeg"
    assert client.get("/admin/moderation/99999").status_code == 404


def test_approve_form_refused_without_csrf_token(
    app: Flask, client: FlaskClient, auth: AuthActions, booth_take: Path
) -> None:
    token = submit(client, booth_take)
    with app.app_context():
        book_id, take_id = gen_book().id, take_of(token).id
    auth.login()
    app.config["WTF_CSRF_ENABLED"] = True
    page = client.get(f"/admin/moderation/{take_id}").get_data(as_text=True)
    assert 'name="book-csrf_token"' in page
    response = client.post(f"/admin/moderation/{take_id}/approve", data={
        "book-book_id": str(book_id), "book-chapter_title": "春晓", "book-placement": "end",
    })
    assert response.status_code == 400
    with app.app_context():
        assert take_of(token).decision is Decision.PENDING
        assert db.session.scalar(select(func.count()).select_from(Track)) == 0


def test_hostile_reader_name_is_shown_as_text(
    app: Flask, client: FlaskClient, auth: AuthActions, booth_take: Path
) -> None:
    token = submit(client, booth_take, HOSTILE)
    with app.app_context():
        take_id = take_of(token).id
    auth.login()
    for path in ("/admin/moderation", f"/admin/moderation/{take_id}"):
        page = client.get(path).get_data(as_text=True)
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and HOSTILE not in page
    client.post(f"/admin/moderation/{take_id}/approve-new", data={
        "new-title": "书", "new-section_id": "1", "new-author": "", "new-chapter_title": HOSTILE,
    })
    with app.app_context():
        track_id = take_of(token).track_id
    page = client.get(f"/tracks/{track_id}").get_data(as_text=True)
    assert HOSTILE not in page and "&lt;script&gt;" in page


def _decided_take(key: str, days_ago: float | None, number: int) -> Recording:
    """A take on original ``key``, decided ``days_ago`` (None: still pending)."""
    row = Recording(
        token=f"token-{number}", reader_name="读者", consent=True, licence="CC BY 4.0", title="题",
        original_key=key, original_size_bytes=1, status=JobStatus.DONE,
        decision=Decision.PENDING if days_ago is None else Decision.REJECTED,
        decided_at=None if days_ago is None else utcnow() - timedelta(days=days_ago),
    )
    db.session.add(row)
    return row


def test_expired_originals_are_those_decided_over_30_days_ago_and_needed_by_no_one(app: Flask) -> None:
    with app.app_context():
        keys = [store().put_bytes(f"original {n}".encode(), "originals", "wav") for n in range(5)]
        _decided_take(keys[0], 31, 0)  # expired
        _decided_take(keys[1], 10, 1)  # decided recently
        _decided_take(keys[2], None, 2)  # never decided
        _decided_take(keys[3], 40, 3)  # expired, but the same file is still pending elsewhere
        _decided_take(keys[3], None, 4)
        _decided_take(keys[4], 45, 5)  # two old decisions on one file: expired once
        _decided_take(keys[4], 35, 6)
        db.session.commit()
        assert sorted(originals.expired_originals(utcnow())) == sorted([keys[0], keys[4]])
        assert originals.expired_originals(utcnow() - timedelta(days=3)) == [keys[4]]  # 32 and 42 days

        assert sorted(originals.purge_expired_originals(utcnow())) == sorted([keys[0], keys[4]])
        assert [store().exists(k) for k in keys] == [False, True, True, True, False]
        assert originals.expired_originals(utcnow()) == []  # gone files are not listed again
        assert db.session.scalar(select(func.count()).select_from(Recording)) == 7  # rows stay
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "original_deleted")).all()
        assert len(events) == 2


def test_take_page_shows_the_quality_figures_with_units(
    app: Flask, client: FlaskClient, auth: AuthActions, tmp_path: Path
) -> None:
    """Issue 12: the librarian sees every figure (hum, floor, peaks, dynamics); the volunteer only words."""
    soundfile = pytest.importorskip("soundfile")
    from bench.bench_defects import RATE_HZ, inject_hum, loudness_lufs, read_wav, room_tone

    speech = read_wav(synth.speechlike(tmp_path / "speech.wav", duration_s=12, level_lufs=-23, seed=5,
                                       codec_args=["-c:a", "pcm_f32le"]))
    clean = speech + room_tone(len(speech), -65.0, 5)
    soundfile.write(tmp_path / "hum.wav", inject_hum(clean, loudness_lufs(clean) + 33.0, 50.0), RATE_HZ,
                    subtype="PCM_24")
    token = submit(client, tmp_path / "hum.wav")
    auth.login()
    with app.app_context():
        row = take_of(token)
        take_id, report = row.id, row.report
    assert report["findings"]["hum"]["found"]
    page = client.get(f"/admin/moderation/{take_id}").get_data(as_text=True)
    figures = page[page.index("全部测量数据"):]
    hum = report["findings"]["hum"]
    for shown in (f"{hum['hum_hz']:.2f} Hz", f"{hum['hum_level_dbfs']:.1f} dBFS", "已滤除",
                  f"{report['input_true_peak_dbtp']:.1f} dBTP", f"{report['noise_floor_dbfs']:.1f} dBFS",
                  f"{report['input_loudness_range_lu']:.1f} LU", f"{report['final_loudness_range_lu']:.1f} LU",
                  f"{report['final_true_peak_dbtp'] - report['final_lufs']:.1f} dB", "0 段", "0 次"):
        assert shown in page, shown
    assert "电源嗡嗡声" in figures and "喷麦声" in figures and "咔哒声" in figures
    master_hum = hum["master_hum_level_dbfs"]
    assert ("测不到" if master_hum is None else f"{master_hum:.1f} dBFS") in figures
    status = client.get(f"/api/v1/recordings/{token}").get_json()
    assert status["advice"]["code"] == "hum" and "dB" not in status["advice"]["text"]
