"""The console's statistics: scans and listening for a period, as SVG charts, tables and CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from flask import Blueprint, Flask, render_template, request
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from werkzeug.wrappers import Response

from kiosk.accounts import auth
from kiosk.insights import figures as stats
from kiosk.insights.charts import Bar, Series, bar_chart, daily_chart
from kiosk.web import console

bp = auth.protect_blueprint(Blueprint("admin_stats", __name__, url_prefix="/admin"))

TOP_BOOKS = 10
TOP_TRACKS = 20
SCANS_COLOUR = "#1d5c8c"
PLAYS_COLOUR = "#b3261e"
HOURS_COLOUR = "#2e7d32"


def _hours(seconds: float) -> str:
    """Hours listened as shown on the page."""
    return gettext("%(h).1f 小时", h=seconds / 3600)


def _charts(figures: stats.Statistics) -> dict[str, Markup]:
    """The page's charts for ``figures``."""
    none = gettext("这段时间没有数据。")
    days = [d.day for d in figures.days]
    top_books = figures.books[:TOP_BOOKS]
    return {
        "daily": daily_chart(
            "chart-daily", gettext("每天的扫码与播放"),
            gettext("折线图：每天扫码次数和开始播放次数，数据见下方表格。"), days,
            [Series(gettext("扫码"), [d.scans for d in figures.days], SCANS_COLOUR),
             Series(gettext("开始播放"), [d.plays for d in figures.days], PLAYS_COLOUR)],
        ),
        "sections": bar_chart(
            "chart-sections", gettext("各栏目开始播放次数"), gettext("条形图：每个栏目的开始播放次数。"),
            [Bar(s.name, s.plays.started, str(s.plays.started)) for s in figures.sections],
            colour=PLAYS_COLOUR, empty_text=none,
        ),
        "scans": bar_chart(
            "chart-scans", gettext("各栏目扫码次数"), gettext("条形图：每个栏目的二维码被扫的次数。"),
            [Bar(s.name, s.scans, str(s.scans)) for s in figures.sections],
            colour=SCANS_COLOUR, empty_text=none,
        ),
        "books": bar_chart(
            "chart-books", gettext("收听时长最多的图书"), gettext("条形图：收听小时数最多的图书。"),
            [Bar(b.title, b.plays.seconds, _hours(b.plays.seconds)) for b in top_books],
            colour=HOURS_COLOUR, empty_text=none,
        ),
    }


@bp.get("/stats")
def page() -> Response:
    """Statistics for ``?from=YYYY-MM-DD&to=YYYY-MM-DD`` (the last 30 days by default)."""
    typed = {"from": request.args.get("from", ""), "to": request.args.get("to", "")}
    try:
        period = stats.parse_period(typed["from"], typed["to"])
    except stats.PeriodError as error:
        body = render_template("admin/stats/page.html", error=str(error), typed=typed, figures=None)
        return Response(body, status=400, mimetype="text/html")
    figures = stats.compute(period)
    typed = {"from": period.start.isoformat(), "to": period.end.isoformat()}
    body = render_template("admin/stats/page.html", error=None, typed=typed, figures=figures,
                           charts=_charts(figures), top_tracks=TOP_TRACKS)
    return Response(body, mimetype="text/html")


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(cell: object) -> object:
    """A text cell that a spreadsheet would read as a formula gets a leading apostrophe (OWASP).

    Titles come from the tags of imported files: ``=HYPERLINK(...)`` must stay text.
    """
    if isinstance(cell, str) and cell.startswith(FORMULA_STARTS):
        return "'" + cell
    return cell


def _csv(name: str, period: stats.Period, header: list[str], rows: Iterable[list[object]]) -> Response:
    """A CSV download, UTF-8 with a BOM so that Excel reads Chinese correctly."""
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows([spreadsheet_safe(cell) for cell in row] for row in rows)
    response = Response(buffer.getvalue().encode("utf-8"), mimetype="text/csv; charset=utf-8")
    filename = f"{name}-{period.start.isoformat()}_{period.end.isoformat()}.csv"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _figures_columns() -> list[str]:
    """Column headings shared by every export."""
    return [gettext("开始播放"), gettext("播放超过30秒"), gettext("播完"), gettext("收听小时数")]


def _figures_cells(figures: stats.Figures) -> list[object]:
    """The cells of ``_figures_columns``."""
    return [figures.started, figures.past_30s, figures.completed, round(figures.hours, 3)]


def _period_or_400() -> stats.Period | Response:
    """The requested period, or a 400 response saying what is wrong with it."""
    try:
        return stats.parse_period(request.args.get("from"), request.args.get("to"))
    except stats.PeriodError as error:
        return Response(str(error), status=400, mimetype="text/plain")


@bp.get("/stats/tracks.csv")
def tracks_csv() -> Response:
    """Per-chapter figures of the period."""
    period = _period_or_400()
    if isinstance(period, Response):
        return period
    figures = stats.compute(period)
    header = [gettext("章节编号"), gettext("章节"), gettext("图书"), gettext("栏目"), *_figures_columns()]
    rows = ([t.id, t.title, t.book, t.section, *_figures_cells(t.plays)] for t in figures.tracks)
    return _csv("stats-tracks", period, header, rows)


@bp.get("/stats/sections.csv")
def sections_csv() -> Response:
    """Per-section figures of the period, with scans and the scan-to-play rate."""
    period = _period_or_400()
    if isinstance(period, Response):
        return period
    figures = stats.compute(period)
    header = [gettext("栏目"), gettext("扫码次数"), *_figures_columns(), gettext("扫码后播放率")]
    rows = (
        [s.name, s.scans, *_figures_cells(s.plays), "" if s.scan_to_play is None else round(s.scan_to_play, 3)]
        for s in figures.sections
    )
    return _csv("stats-sections", period, header, rows)


def init_app(app: Flask) -> None:
    """Register the blueprint and show it in the console's navigation."""
    app.register_blueprint(bp)
    console.add_area(app, "admin_stats.page", _l("统计"), _l("扫码、播放和收听时长，可导出 CSV"))
