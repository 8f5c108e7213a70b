"""The player's beacon: batched reports merge by play id; anything malformed is refused."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import MetaData, select

from kiosk import create_app
from kiosk.cli.setup import prepare_database
from kiosk.extensions import db
from kiosk.models import Play

from .factories import gen_book, gen_track

URL = "/api/v1/plays"


@pytest.fixture
def track_ids(app: Flask, sample_mp3: Path) -> dict[str, int]:
    """A published chapter (60 s), a hidden one, and a chapter in the trash."""
    with app.app_context():
        book = gen_book("测试之书")
        ids = {
            "live": gen_track(book, sample_mp3, title="一", duration_ms=60_000).id,
            "hidden": gen_track(book, sample_mp3, title="二", published=False).id,
            "other": gen_track(book, sample_mp3, title="三", duration_ms=120_000).id,
        }
        return ids


def item(track_id: int, play_id: str = "page0001-1", **fields: Any) -> dict[str, Any]:
    """One report item with sensible defaults."""
    return {"play_id": play_id, "track_id": track_id, "seconds": 20.0, "max_position_s": 20.0,
            "completed": False, **fields}


def send(client: FlaskClient, *items: dict[str, Any], content_type: str = "text/plain;charset=UTF-8"):
    """Post a batch as sendBeacon does (a string body is sent as text/plain)."""
    return client.post(URL, data=json.dumps({"plays": list(items)}), content_type=content_type)


def plays(app: Flask) -> list[Play]:
    """Every stored play."""
    with app.app_context():
        rows = db.session.scalars(select(Play).order_by(Play.id)).all()
        db.session.expunge_all()
        return list(rows)


def test_reports_of_one_play_merge_into_one_row(app: Flask, client: FlaskClient, track_ids: dict[str, int]) -> None:
    """Three batches of the same play id: seconds add up, the furthest position and completion stay."""
    live = track_ids["live"]
    assert send(client, item(live, seconds=25.0, max_position_s=25.0)).status_code == 204
    assert send(client, item(live, seconds=30.5, max_position_s=55.5)).status_code == 204
    assert send(client, item(live, seconds=4.5, max_position_s=60.0, completed=True)).status_code == 204
    [row] = plays(app)
    assert row.play_id == "page0001-1" and row.track_id == live
    assert row.seconds_listened == pytest.approx(60.0)
    assert row.max_position_s == pytest.approx(60.0)
    assert row.completed is True


def test_one_batch_carries_several_plays(app: Flask, client: FlaskClient, track_ids: dict[str, int]) -> None:
    """One request reports two chapters listened on the same page: two rows."""
    response = send(client, item(track_ids["live"], "pageAAAA-1", seconds=60.0, max_position_s=60.0, completed=True),
                    item(track_ids["other"], "pageAAAA-3", seconds=12.0), content_type="application/json")
    assert response.status_code == 204
    rows = plays(app)
    assert [(r.track_id, r.seconds_listened, r.completed) for r in rows] == [
        (track_ids["live"], 60.0, True), (track_ids["other"], 12.0, False)
    ]


def test_position_is_capped_at_the_chapter_length(app: Flask, client: FlaskClient, track_ids: dict[str, int]) -> None:
    """A position a little past the end (browser rounding) is stored as the end."""
    assert send(client, item(track_ids["live"], max_position_s=61.5)).status_code == 204
    assert plays(app)[0].max_position_s == 60.0


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"seconds": -1}, "invalid_report"),
        ({"seconds": 100_000}, "invalid_report"),
        ({"seconds": "20"}, "invalid_report"),
        ({"seconds": True}, "invalid_report"),
        ({"max_position_s": 500.0}, "invalid_report"),  # beyond the end of a 60-second chapter
        ({"play_id": "short"}, "invalid_report"),
        ({"play_id": "has spaces in it"}, "invalid_report"),
        ({"track_id": "1"}, "invalid_report"),
        ({"completed": "yes"}, "invalid_report"),
        ({"extra": 1}, "invalid_report"),
        ({"track_id": 99_999}, "unknown_track"),
    ],
)
def test_bad_items_are_refused(
    app: Flask, client: FlaskClient, track_ids: dict[str, int], change: dict[str, Any], code: str
) -> None:
    """A malformed item refuses the whole batch with 422 and the shared JSON error shape."""
    bad = {**item(track_ids["live"], "page0002-1"), **change}
    response = send(client, item(track_ids["live"]), bad)
    assert response.status_code == 422
    assert response.get_json()["error"] == code and response.get_json()["message"]
    assert plays(app) == []


def test_unpublished_and_trashed_chapters_are_refused(
    app: Flask, client: FlaskClient, track_ids: dict[str, int]
) -> None:
    """Only chapters visitors can play may be reported."""
    assert send(client, item(track_ids["hidden"])).json["error"] == "unknown_track"
    with app.app_context():
        from kiosk.models import Track, utcnow

        db.session.get(Track, track_ids["other"]).deleted_at = utcnow()
        db.session.commit()
    assert send(client, item(track_ids["other"])).status_code == 422


def test_a_play_id_belongs_to_one_chapter(app: Flask, client: FlaskClient, track_ids: dict[str, int]) -> None:
    """Reusing a play id for another chapter is refused."""
    assert send(client, item(track_ids["live"])).status_code == 204
    response = send(client, item(track_ids["other"]))
    assert response.status_code == 422 and response.json["error"] == "play_conflict"


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[]", b'{"plays": []}', b'{"plays": {}}', json.dumps({"plays": [1] * 21}).encode(), b"\xff\xfe"],
)
def test_malformed_bodies_are_refused(client: FlaskClient, track_ids: dict[str, int], body: bytes) -> None:
    """Bodies that are not a list of 1–20 items get 400 or 422 with a JSON error."""
    response = client.post(URL, data=body, content_type="text/plain")
    assert response.status_code in (400, 422)
    assert set(response.get_json()) == {"error", "message"}


def test_oversized_bodies_are_refused(client: FlaskClient, track_ids: dict[str, int]) -> None:
    """More than 8 KiB is a 413 before anything is parsed."""
    response = client.post(URL, data=b"{" + b" " * 10_000 + b"}", content_type="text/plain")
    assert response.status_code == 413
    assert response.get_json()["error"] == "too_large"


def test_beacon_needs_no_csrf_token_but_is_rate_limited(tmp_path: Path, sample_mp3: Path) -> None:
    """With CSRF and limits on (as in production), a beacon lands; past the limit it gets a JSON 429."""
    guarded = create_app({
        "TESTING": True, "KIOSK_DATA_DIR": tmp_path / "guarded", "SECRET_KEY": "k",
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'guarded.sqlite3'}",
        "WTF_CSRF_ENABLED": True, "RATELIMIT_ENABLED": True, "KIOSK_BEACON_LIMIT": "3 per minute",
    })
    with guarded.app_context():
        prepare_database()
        live = gen_track(gen_book("限流之书"), sample_mp3, duration_ms=60_000).id
    client = guarded.test_client()
    statuses = [send(client, item(live)).status_code for _ in range(4)]
    assert statuses == [204, 204, 204, 429]
    assert send(client, item(live)).get_json()["error"] == "too_many_requests"
    with guarded.app_context():
        db.engine.dispose()


PERSONAL = {
    "address": "203.0.113.77",
    "forwarded address": "198.51.100.23",
    "user agent": "Mozilla/5.0 (Linux; Android 13) MicroMessenger/8.0.47 Listener-4f9c2e",
    "cookie": "listener-cookie-8d41b7",
    "referrer": "https://example.org/from-a-chat-7a3e",
}


def every_stored_value(app: Flask) -> str:
    """Every value of every row of every table in the database, as one text."""
    with app.app_context():
        tables = MetaData()
        tables.reflect(db.engine)
        return "\n".join(
            repr(value) for table in tables.sorted_tables
            for row in db.session.execute(select(table)) for value in row
        )


def test_nothing_personal_is_stored(app: Flask, client: FlaskClient, track_ids: dict[str, int]) -> None:
    """A phone's address, agent, cookies and referrer reach the server with a beacon; none of them is kept."""
    client.set_cookie("listener", PERSONAL["cookie"])
    response = client.post(
        URL, data=json.dumps({"plays": [item(track_ids["live"])]}), content_type="text/plain;charset=UTF-8",
        headers={"User-Agent": PERSONAL["user agent"], "Referer": PERSONAL["referrer"],
                 "X-Forwarded-For": PERSONAL["forwarded address"]},
        environ_base={"REMOTE_ADDR": PERSONAL["address"]},
    )
    assert response.status_code == 204
    assert [row.track_id for row in plays(app)] == [track_ids["live"]]  # the play itself was stored
    stored = every_stored_value(app)
    assert [name for name, value in PERSONAL.items() if value in stored] == []


def test_media_range_requests_write_nothing(app: Flask, client: FlaskClient, track_ids: dict[str, int]) -> None:
    """Streaming the audio (with ranges) never creates play rows; only the beacon does."""
    with app.app_context():
        from kiosk.models import Track

        key = db.session.get(Track, track_ids["live"]).audio_key
    for start in (0, 1000, 2000):
        assert client.get(f"/media/{key}", headers={"Range": f"bytes={start}-{start + 999}"}).status_code == 206
    assert plays(app) == []
