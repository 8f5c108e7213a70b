"""Statistics: scans and plays of a constructed dataset across sections and days, page, CSV, access."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from kiosk.extensions import db
from kiosk.insights import figures as stats
from kiosk.insights import scans
from kiosk.insights.charts import nice_ceiling
from kiosk.library import catalogue
from kiosk.library.trash import purge_trash
from kiosk.models import CodeTarget, Play, Track, utcnow

from .factories import gen_book, gen_section, gen_track

PERIOD = stats.Period(date(2024, 5, 1), date(2024, 5, 3))
QUERY = "from=2024-05-01&to=2024-05-03"


def utc(day: int, hour: int, minute: int = 0, month: int = 5) -> datetime:
    """A moment in 2024, UTC."""
    return datetime(2024, month, day, hour, minute, tzinfo=UTC)


def add_play(number: int, track_id: int, at: datetime, seconds: float, completed: bool = False) -> None:
    """A stored play as the beacon would have left it."""
    db.session.add(Play(play_id=f"play{number:06d}", track_id=track_id, started_at=at, updated_at=at,
                        seconds_listened=seconds, max_position_s=seconds, completed=completed))


@pytest.fixture
def dataset(app: Flask, sample_mp3: Path) -> dict[str, object]:
    """Two sections; scans of section, book and chapter codes and plays on both sides of the period."""
    with app.app_context():
        classics, science = gen_section("jingdian-songdu"), gen_section("kepu-tiandi")
        book_a = gen_book("<b>唐诗</b>三百首")
        a1 = gen_track(book_a, sample_mp3, title="静夜思", duration_ms=600_000)
        a2 = gen_track(book_a, sample_mp3, title="春晓", duration_ms=3_600_000)
        book_b = gen_book("星空", section_slug="kepu-tiandi")
        b1 = gen_track(book_b, sample_mp3, title="月亮", duration_ms=60_000)
        code_s1 = catalogue.issue_code(CodeTarget.SECTION, classics.id)
        code_s2 = catalogue.issue_code(CodeTarget.SECTION, science.id)
        code_a = catalogue.primary_code(CodeTarget.BOOK, book_a.id)
        code_b1 = catalogue.issue_code(CodeTarget.TRACK, b1.id)
        db.session.commit()
        for code, at in [
            (code_s1, utc(1, 2)), (code_s1, utc(1, 3)),
            (code_s1, utc(30, 17, month=4)),  # 01:00 on 1 May in Shanghai: counts on 1 May
            (code_a, utc(2, 5)),
            (code_s2, utc(2, 6)),
            (code_b1, utc(3, 15, 59)),  # 23:59 on 3 May in Shanghai: inside
            (code_b1, utc(3, 16, 30)),  # 00:30 on 4 May in Shanghai: outside
            (code_s2, utc(30, 15, month=4)),  # 23:00 on 30 April in Shanghai: outside
        ]:
            assert scans.record(code, "wechat", at=at)
        add_play(1, a1.id, utc(1, 3), 600, completed=True)
        add_play(2, a1.id, utc(2, 4), 20)
        add_play(3, a1.id, utc(2, 9), 45)
        add_play(4, a2.id, utc(3, 1), 3600, completed=True)
        add_play(5, b1.id, utc(3, 2), 10)
        add_play(6, b1.id, utc(29, 2, month=4), 100)  # before the period
        db.session.commit()
        return {"code_s1": code_s1, "code_s2": code_s2, "code_a": code_a, "code_b1": code_b1,
                "a1": a1.id, "b1": b1.id, "book_a": book_a.id}


def test_figures_per_section_book_track_code_and_day(app: Flask, dataset: dict[str, object]) -> None:
    """Every number of the constructed dataset, counted by hand."""
    with app.app_context():
        figures = stats.compute(PERIOD)
    assert figures.scans == 6
    assert (figures.totals.started, figures.totals.past_30s, figures.totals.completed) == (5, 3, 2)
    assert figures.totals.seconds == pytest.approx(4275)
    by_slug = {s.slug: s for s in figures.sections}
    classics, science = by_slug["jingdian-songdu"], by_slug["kepu-tiandi"]
    assert (classics.scans, classics.plays.started, classics.plays.past_30s, classics.plays.completed) == (4, 4, 3, 2)
    assert classics.plays.hours == pytest.approx(4265 / 3600)
    assert classics.scan_to_play == pytest.approx(1.0)
    assert (science.scans, science.plays.started, science.plays.seconds) == (2, 1, 10)
    assert science.scan_to_play == pytest.approx(0.5)
    assert by_slug["jiankang-shenghuo"].scan_to_play is None  # no scans: no rate
    assert [b.title for b in figures.books] == ["<b>唐诗</b>三百首", "星空"]  # most listened first
    assert [(t.title, t.plays.started, t.plays.past_30s) for t in figures.tracks] == [
        ("春晓", 1, 1), ("静夜思", 3, 2), ("月亮", 1, 0)
    ]
    assert {c.code: c.scans for c in figures.codes} == {
        dataset["code_s1"]: 3, dataset["code_a"]: 1, dataset["code_s2"]: 1, dataset["code_b1"]: 1
    }
    assert {c.code: c.section for c in figures.codes}[dataset["code_b1"]] == "科普天地"
    assert [(d.day.day, d.scans, d.plays) for d in figures.days] == [(1, 3, 1), (2, 2, 2), (3, 1, 2)]


def test_default_period_is_the_last_30_days() -> None:
    """Blank dates: thirty days ending today in Shanghai."""
    period = stats.parse_period("", None)
    assert period.end == stats.library_today()
    assert len(period.days()) == 30


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        ("2024-13-01", "2024-05-03", "日期格式应为"),
        ("2024-05-04", "2024-05-03", "开始日期不能晚于结束日期"),
        ("2022-01-01", "2024-05-03", "时间段最长 366 天"),
    ],
)
def test_bad_periods_are_refused(app: Flask, client: FlaskClient, auth, start: str, end: str, message: str) -> None:
    """The page answers 400 with the reason and keeps what the librarian typed."""
    auth.login()
    response = client.get(f"/admin/stats?from={start}&to={end}")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert message in page and f'value="{start}"' in page


def test_page_shows_accessible_charts_and_tables(client: FlaskClient, auth, dataset: dict[str, object]) -> None:
    """SVG charts with a title and description, tables of the same numbers, hostile titles escaped."""
    auth.login()
    response = client.get(f"/admin/stats?{QUERY}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert page.count('<svg xmlns="http://www.w3.org/2000/svg" class="chart"') == 4
    assert 'role="img"' in page and 'aria-labelledby="chart-daily-title chart-daily-desc"' in page
    assert '<title id="chart-books-title">' in page and "<desc id=" in page
    assert "<b>唐诗</b>" not in page and "&lt;b&gt;唐诗&lt;/b&gt;三百首" in page
    assert "<script" not in page
    assert "2024-05-03" in page and "50%" in page  # the science section's scan-to-play rate
    assert 'href="/admin/stats/tracks.csv?from=2024-05-01&amp;to=2024-05-03"' in page


def test_empty_period_renders(client: FlaskClient, auth) -> None:
    """A library with no scans or plays yet still gets a page (with empty charts)."""
    auth.login()
    response = client.get("/admin/stats")
    assert response.status_code == 200
    assert "这段时间没有数据。" in response.get_data(as_text=True)


def read_csv(body: bytes) -> list[list[str]]:
    """Rows of a CSV download that must start with a UTF-8 BOM."""
    assert body.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def test_csv_exports(client: FlaskClient, auth, dataset: dict[str, object]) -> None:
    """Per-section and per-chapter CSV, UTF-8 with BOM, Chinese intact, numbers as on the page."""
    auth.login()
    response = client.get(f"/admin/stats/sections.csv?{QUERY}")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert 'filename="stats-sections-2024-05-01_2024-05-03.csv"' in response.headers["Content-Disposition"]
    rows = read_csv(response.data)
    assert rows[0] == ["栏目", "扫码次数", "开始播放", "播放超过30秒", "播完", "收听小时数", "扫码后播放率"]
    by_name = {row[0]: row for row in rows[1:]}
    assert by_name["经典诵读"] == ["经典诵读", "4", "4", "3", "2", str(round(4265 / 3600, 3)), "1.0"]
    assert by_name["科普天地"][1:3] == ["2", "1"] and by_name["科普天地"][-1] == "0.5"
    assert by_name["健康生活"][-1] == ""
    tracks = read_csv(client.get(f"/admin/stats/tracks.csv?{QUERY}").data)
    assert tracks[0][:4] == ["章节编号", "章节", "图书", "栏目"]
    hours = str(round(665 / 3600, 3))
    assert [str(dataset["a1"]), "静夜思", "<b>唐诗</b>三百首", "经典诵读", "3", "2", "1", hours] in tracks


def test_csv_refuses_bad_periods(client: FlaskClient, auth) -> None:
    """A CSV link with an impossible period says why."""
    auth.login()
    response = client.get("/admin/stats/tracks.csv?from=2024-05-04&to=2024-05-01")
    assert response.status_code == 400


@pytest.mark.parametrize("path", ["/admin/stats", "/admin/stats/sections.csv", "/admin/stats/tracks.csv"])
def test_statistics_need_a_login(client: FlaskClient, path: str) -> None:
    """Anonymous visitors are sent to the login page, never shown numbers."""
    response = client.get(path)
    assert response.status_code == 302 and "/admin/login" in response.headers["Location"]


def test_axis_tops_are_round_numbers() -> None:
    """The daily chart's axis ends on 1, 2 or 5 times a power of ten."""
    assert [nice_ceiling(v) for v in (0, 1, 3, 7, 11, 180, 501)] == [1, 1, 5, 10, 20, 200, 1000]


def test_beacon_plays_show_up_in_statistics(app: Flask, client: FlaskClient, dataset: dict[str, object]) -> None:
    """End to end: a play reported by the beacon today is counted in today's statistics."""
    report = {"play_id": "pagebeef-1", "track_id": dataset["b1"], "seconds": 45, "max_position_s": 45,
              "completed": False}
    body = json.dumps({"plays": [report]})
    assert client.post("/api/v1/plays", data=body, content_type="text/plain").status_code == 204
    with app.app_context():
        today = stats.library_today()
        figures = stats.compute(stats.Period(today - timedelta(days=1), today))
    assert (figures.totals.started, figures.totals.past_30s) == (1, 1)
    assert figures.days[-1].plays == 1


def test_plays_of_a_purged_chapter_still_count(
    app: Flask, client: FlaskClient, auth, dataset: dict[str, object]
) -> None:
    """Emptying the trash never changes the statistics of a period that is over."""
    report = {"play_id": "pagebeef-2", "track_id": dataset["b1"], "seconds": 45, "max_position_s": 45,
              "completed": False}
    assert client.post("/api/v1/plays", data=json.dumps({"plays": [report]}),
                       content_type="text/plain").status_code == 204
    today = stats.library_today()
    period = stats.Period(today - timedelta(days=1), today)
    with app.app_context():
        before = stats.compute(period)
        track = db.session.get(Track, dataset["b1"])
        track.deleted_at = utcnow() - timedelta(days=31)  # in the trash long enough to be purged
        db.session.commit()
        assert purge_trash(utcnow()).track_ids == [dataset["b1"]]
        after = stats.compute(period)
    assert (after.totals.started, after.totals.seconds) == (before.totals.started, before.totals.seconds) == (1, 45)
    science_before = {s.slug: s.plays.started for s in before.sections}["kepu-tiandi"]
    assert {s.slug: s.plays.started for s in after.sections}["kepu-tiandi"] == science_before == 1
    assert after.purged.started == 1 and after.tracks == [] and after.books == []
    auth.login()
    page = client.get(f"/admin/stats?from={period.start}&to={period.end}").get_data(as_text=True)
    assert "其中 1 次播放的章节已从回收站永久删除" in page
