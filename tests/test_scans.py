"""Scan statistics: counted once per phone per window, nothing personal stored, never in the way.

How long a redirect takes while another writer holds the database is measured by
``bench/bench_give_up.py`` (a ratio to the unlocked redirect), not asserted here.
"""

from __future__ import annotations

import logging
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import inspect, select, text

from kiosk.extensions import db
from kiosk.insights import scans
from kiosk.library import catalogue
from kiosk.models import CodeTarget, Scan

from .factories import gen_book, gen_section

IPHONE_SAFARI = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)
WECHAT = (
    "Mozilla/5.0 (Linux; Android 13; V2227A Build/TP1A.220624.014; wv) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Version/4.0 Chrome/116.0.0.0 Mobile Safari/537.36 XWEB/1160065 "
    "MMWEBSDK/20231202 MicroMessenger/8.0.47.2560(0x28002F30) WeChat/arm64 Weixin"
)
ANDROID_HUAWEI = (
    "Mozilla/5.0 (Linux; Android 12; HarmonyOS; NOH-AN00) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/99.0.4844.88 HuaweiBrowser/14.0.5.302 Mobile Safari/537.36"
)
ANDROID_CHROME = (
    "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Mobile Safari/537.36"
)
IPHONE_CHROME = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) CriOS/124.0.6367.88 Mobile/15E148 Safari/604.1"
)


def section_code(app: Flask, slug: str = "jingdian-songdu") -> str:
    """The printed code of a default section."""
    with app.app_context():
        return catalogue.primary_code(CodeTarget.SECTION, gen_section(slug).id)


def scan_rows(app: Flask) -> list[tuple[str, str, datetime]]:
    """Every stored scan as (code, kind, time)."""
    with app.app_context():
        rows = db.session.execute(select(Scan.code, Scan.client_kind, Scan.scanned_at)).all()
        return [tuple(row) for row in rows]  # type: ignore[misc]


@pytest.mark.parametrize(
    ("user_agent", "kind"),
    [
        (WECHAT, "wechat"),
        (IPHONE_SAFARI, "safari"),
        (ANDROID_HUAWEI, "android"),
        (ANDROID_CHROME, "chrome"),
        (IPHONE_CHROME, "chrome"),
        ("curl/8.5.0", "other"),
        ("", "other"),
    ],
)
def test_client_kind(user_agent: str, kind: str) -> None:
    assert scans.client_kind(user_agent) == kind


def test_a_scan_is_recorded_with_nothing_personal(app: Flask, client: FlaskClient) -> None:
    code = section_code(app)
    before = datetime.now(UTC)
    response = client.get(
        f"/Q/{code}", headers={"User-Agent": WECHAT}, environ_base={"REMOTE_ADDR": "203.0.113.9"}
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/sections/jingdian-songdu")
    [(stored_code, kind, at)] = scan_rows(app)
    assert (stored_code, kind) == (code, "wechat")
    at = at if at.tzinfo else at.replace(tzinfo=UTC)  # SQLite hands back naive UTC
    assert before - timedelta(seconds=1) <= at <= datetime.now(UTC) + timedelta(seconds=1)
    with app.app_context():
        columns = {c["name"] for c in inspect(db.engine).get_columns("scans")}
        dumped = " ".join(
            str(v) for row in db.session.execute(text("SELECT * FROM scans")) for v in row
        )
    assert columns == {"id", "code", "scanned_at", "client_kind"}
    assert "203.0.113.9" not in dumped and "MicroMessenger" not in dumped


def test_one_phone_counts_once_per_window(app: Flask, client: FlaskClient) -> None:
    code = section_code(app)
    first = client.get(f"/q/{code.lower()}", headers={"User-Agent": IPHONE_SAFARI})
    cookie = first.headers["Set-Cookie"]
    assert f"seen_{code}=1" in cookie
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert f"Max-Age={scans.DEDUP_WINDOW_S}" in cookie
    for _ in range(3):  # the same phone scans again and again within the window
        again = client.get(f"/Q/{code}", headers={"User-Agent": IPHONE_SAFARI})
        assert again.status_code == 302
    assert len(scan_rows(app)) == 1
    app.test_client().get(f"/Q/{code}", headers={"User-Agent": ANDROID_HUAWEI})  # another phone
    client.delete_cookie(f"seen_{code}")  # the window has passed: the cookie expired
    client.get(f"/Q/{code}", headers={"User-Agent": IPHONE_SAFARI})
    assert sorted(kind for _, kind, _ in scan_rows(app)) == ["android", "safari", "safari"]


def test_the_window_is_per_code(app: Flask, client: FlaskClient) -> None:
    client.get(f"/Q/{section_code(app, 'jingdian-songdu')}")
    client.get(f"/Q/{section_code(app, 'kepu-tiandi')}")
    assert len(scan_rows(app)) == 2


def test_head_requests_and_unknown_codes_are_not_counted(app: Flask, client: FlaskClient) -> None:
    assert client.head(f"/Q/{section_code(app)}").status_code == 302
    assert client.get("/Q/ZZZZZ").status_code == 404
    assert scan_rows(app) == []


def test_an_unpublished_target_still_counts_and_says_updating(
    app: Flask, client: FlaskClient
) -> None:
    with app.app_context():
        book = gen_book("正在修订的书", published=False)
        code = catalogue.primary_code(CodeTarget.BOOK, book.id)
    response = client.get(f"/Q/{code}")
    assert response.status_code == 200
    assert "正在更新" in response.get_data(as_text=True)
    assert [c for c, _, _ in scan_rows(app)] == [code]


def test_a_failed_write_is_logged_and_the_visitor_goes_through(
    app: Flask, client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    code = section_code(app)
    with app.app_context():
        db.session.execute(text("DROP TABLE scans"))
        db.session.commit()
    with caplog.at_level(logging.WARNING, logger="kiosk.insights.scans"):
        response = client.get(f"/Q/{code}")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/sections/jingdian-songdu")
    assert "Set-Cookie" not in response.headers or "seen_" not in response.headers["Set-Cookie"]
    assert any("not recorded" in r.getMessage() for r in caplog.records)


@pytest.mark.sqlite_only  # holds SQLite's own write lock; tests/test_postgres_redis.py has PostgreSQL's
def test_a_locked_database_does_not_hold_up_the_redirect(
    app: Flask, client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    """Another writer holds the database until the redirect has come back: the scan gives up, the visitor goes on."""
    code = section_code(app)
    locker = sqlite3.connect(
        app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///"), isolation_level=None
    )
    locker.execute("BEGIN IMMEDIATE")  # another writer holds the database
    try:
        with caplog.at_level(logging.WARNING, logger="kiosk.insights.scans"):
            response = client.get(f"/Q/{code}")
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/sections/jingdian-songdu")
    assert any("not recorded" in r.getMessage() for r in caplog.records)
    assert scan_rows(app) == []
    client.get(f"/Q/{code}")  # the lock is gone and the pooled connection is patient again
    assert len(scan_rows(app)) == 1


def test_counts(app: Flask, client: FlaskClient) -> None:
    code = section_code(app)
    for agent in (WECHAT, IPHONE_SAFARI, WECHAT):
        app.test_client().get(f"/Q/{code}", headers={"User-Agent": agent})
    with app.app_context():
        assert scans.counts_by_code() == {code: 3}
        assert scans.counts_by_kind(code) == {"wechat": 2, "safari": 1}


@pytest.mark.parametrize(
    "path",
    [
        "/q/",
        "/q/" + "A" * 200,
        "/q/!!!",
        "/Q/ZZZZZ",
        "/q/%E4%B8%AD%E6%96%87",
        "/q/..%2F..%2Fetc",
        "/q/7K3QX%20OR%201=1",
    ],
)
def test_unknown_or_malformed_codes_answer_a_friendly_404(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert "没有找到" in page
    assert "Traceback" not in page and "sqlalchemy" not in page.lower()


def test_a_nul_byte_in_a_code_is_refused_in_words_and_not_counted(app: Flask, client: FlaskClient) -> None:
    """A NUL byte is refused before any view runs (tests/test_edge_inputs.py): a 400 in words, no scan."""
    response = client.get(f"/q/{section_code(app)}%00")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "无法识别的字符" in page and "Traceback" not in page
    assert scan_rows(app) == []
