"""Statistics for a period: QR scans, plays and hours listened, per section, book, track and day.

Days are library days in Asia/Shanghai. Rows are selected by a plain time range and counted
in Python, so the same code runs on SQLite and PostgreSQL (no database date functions).
A play "started" when its first beacon arrived; it is "past 30 s" when 30 seconds or more
were listened, and "completed" when the player reported the chapter's end.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask_babel import gettext
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from kiosk.extensions import db
from kiosk.models import Book, Play, QrCode, Scan, Section, Track

LIBRARY_TZ = ZoneInfo("Asia/Shanghai")
DEFAULT_DAYS = 30
MAX_DAYS = 366
PAST_THRESHOLD_S = 30.0


class PeriodError(ValueError):
    """A period the librarian typed that cannot be used (the message says why)."""


@dataclass(frozen=True)
class Period:
    """Library days from ``start`` to ``end``, both included."""

    start: date
    end: date

    def bounds_utc(self) -> tuple[datetime, datetime]:
        """The period as a half-open UTC range [from, to)."""
        lo = datetime.combine(self.start, time(), LIBRARY_TZ).astimezone(UTC)
        hi = datetime.combine(self.end + timedelta(days=1), time(), LIBRARY_TZ).astimezone(UTC)
        return lo, hi

    def days(self) -> list[date]:
        """Every day of the period, in order."""
        return [self.start + timedelta(days=n) for n in range((self.end - self.start).days + 1)]


def library_today() -> date:
    """Today's date at the library."""
    return datetime.now(LIBRARY_TZ).date()


def default_period(today: date | None = None) -> Period:
    """The last ``DEFAULT_DAYS`` days, today included."""
    end = today or library_today()
    return Period(end - timedelta(days=DEFAULT_DAYS - 1), end)


def parse_period(start_text: str | None, end_text: str | None) -> Period:
    """The period from two ``YYYY-MM-DD`` strings (blank ones take the defaults)."""
    default = default_period()
    try:
        end = date.fromisoformat(end_text) if end_text else default.end
        start = date.fromisoformat(start_text) if start_text else end - timedelta(days=DEFAULT_DAYS - 1)
    except ValueError as error:
        raise PeriodError(gettext("日期格式应为 年-月-日，例如 2024-05-01。")) from error
    if start > end:
        raise PeriodError(gettext("开始日期不能晚于结束日期。"))
    if (end - start).days + 1 > MAX_DAYS:
        raise PeriodError(gettext("时间段最长 %(n)d 天。", n=MAX_DAYS))
    return Period(start, end)


def local_day(moment: datetime) -> date:
    """The library day of a stored time (SQLite gives naive UTC, PostgreSQL aware times)."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(LIBRARY_TZ).date()


@dataclass
class Figures:
    """Plays counted one way or another, and the time listened."""

    started: int = 0
    past_30s: int = 0
    completed: int = 0
    seconds: float = 0.0

    @property
    def hours(self) -> float:
        """Time listened in hours."""
        return self.seconds / 3600

    def add(self, seconds: float, completed: bool) -> None:
        """Count one play."""
        self.started += 1
        self.past_30s += int(seconds >= PAST_THRESHOLD_S)
        self.completed += int(completed)
        self.seconds += seconds


@dataclass
class SectionStats:
    """One section's scans and plays."""

    id: int
    slug: str
    name: str
    scans: int = 0
    plays: Figures = field(default_factory=Figures)

    @property
    def scan_to_play(self) -> float | None:
        """Plays started on the section's chapters per scan of its codes (``None`` without scans)."""
        return self.plays.started / self.scans if self.scans else None


@dataclass
class ItemStats:
    """A book's or a chapter's plays."""

    id: int
    title: str
    book: str
    section: str
    plays: Figures = field(default_factory=Figures)


@dataclass(frozen=True)
class CodeStats:
    """Scans of one printed code."""

    code: str
    kind: str
    target: str
    section: str
    scans: int


@dataclass(frozen=True)
class DayStats:
    """One day's scans and plays started."""

    day: date
    scans: int
    plays: int


@dataclass
class Statistics:
    """Everything the statistics page and the CSV exports show for a period."""

    period: Period
    totals: Figures
    purged: Figures  # plays of chapters since purged from the trash (in ``totals`` and their section)
    scans: int
    sections: list[SectionStats]
    books: list[ItemStats]
    tracks: list[ItemStats]
    codes: list[CodeStats]
    days: list[DayStats]


@dataclass(frozen=True)
class _CodeTarget:
    """Where a code points and the section that counts its scans."""

    kind: str
    label: str
    section_id: int | None


def _code_targets() -> dict[str, _CodeTarget]:
    """Every issued code mapped to its target (a book's or chapter's code counts for its section)."""
    codes = db.session.scalars(
        select(QrCode).options(
            selectinload(QrCode.section), selectinload(QrCode.book), selectinload(QrCode.track).selectinload(Track.book)
        )
    )
    targets = {}
    for qr in codes:
        if qr.section is not None:
            targets[qr.code] = _CodeTarget(qr.target_kind.value, qr.section.name, qr.section.id)
        elif qr.book is not None:
            targets[qr.code] = _CodeTarget(qr.target_kind.value, qr.book.title, qr.book.section_id)
        elif qr.track is not None:
            targets[qr.code] = _CodeTarget(qr.target_kind.value, qr.track.title, qr.track.book.section_id)
        else:
            targets[qr.code] = _CodeTarget(qr.target_kind.value, "", None)
    return targets


def _scans(lo: datetime, hi: datetime) -> list[tuple[str, datetime]]:
    """(code, time) of every scan in the range."""
    rows = db.session.execute(select(Scan.code, Scan.scanned_at).where(Scan.scanned_at >= lo, Scan.scanned_at < hi))
    return [(code, at) for code, at in rows]


@dataclass(frozen=True)
class _Play:
    """One play row: its chapter (``None`` once purged), the section it was played in, and its figures."""

    track_id: int | None
    section_id: int | None
    started_at: datetime
    seconds: float
    completed: bool


def _plays(lo: datetime, hi: datetime) -> list[_Play]:
    """Every play started in the range."""
    rows = db.session.execute(
        select(Play.track_id, Play.section_id, Play.started_at, Play.seconds_listened, Play.completed)
        .where(Play.started_at >= lo, Play.started_at < hi)
    )
    return [_Play(track_id, section_id, at, float(seconds), bool(done))
            for track_id, section_id, at, seconds, done in rows]


def _tracks(track_ids: set[int]) -> dict[int, Track]:
    """The played chapters with their books (deleted ones too: their plays happened)."""
    if not track_ids:
        return {}
    rows = db.session.scalars(select(Track).where(Track.id.in_(track_ids)).options(selectinload(Track.book)))
    return {t.id: t for t in rows}


def compute(period: Period) -> Statistics:
    """The statistics of ``period``."""
    lo, hi = period.bounds_utc()
    sections = {
        s.id: SectionStats(s.id, s.slug, s.name)
        for s in db.session.scalars(select(Section).order_by(Section.position, Section.id))
    }
    targets, scans, plays = _code_targets(), _scans(lo, hi), _plays(lo, hi)
    for code, _at in scans:
        target = targets.get(code)
        if target is not None and target.section_id in sections:
            sections[target.section_id].scans += 1
    books, tracks, totals, purged = _count_plays(
        plays, _tracks({p.track_id for p in plays if p.track_id is not None}), sections
    )
    return Statistics(
        period=period,
        totals=totals,
        purged=purged,
        scans=len(scans),
        sections=list(sections.values()),
        books=sorted(books.values(), key=lambda b: (-b.plays.seconds, -b.plays.started, b.title)),
        tracks=sorted(tracks.values(), key=lambda t: (-t.plays.seconds, -t.plays.started, t.book, t.title)),
        codes=_code_rows(scans, targets, sections),
        days=_day_rows(period, scans, plays),
    )


def _count_plays(
    plays: list[_Play], tracks: dict[int, Track], sections: dict[int, SectionStats],
) -> tuple[dict[int, ItemStats], dict[int, ItemStats], Figures, Figures]:
    """Plays added up per book, per chapter, per section and in total; and those of purged chapters."""
    books: dict[int, ItemStats] = {}
    by_track: dict[int, ItemStats] = {}
    totals, purged = Figures(), Figures()
    for play in plays:
        track = tracks.get(play.track_id) if play.track_id is not None else None
        if track is None:  # purged from the trash: counted in its section and the totals only
            counted = [purged, totals]
            section = sections.get(play.section_id) if play.section_id is not None else None
        else:
            book: Book = track.book
            section = sections.get(book.section_id)
            section_name = section.name if section else ""
            if track.id not in by_track:
                by_track[track.id] = ItemStats(track.id, track.title, book.title, section_name)
            if book.id not in books:
                books[book.id] = ItemStats(book.id, book.title, book.title, section_name)
            counted = [by_track[track.id].plays, books[book.id].plays, totals]
        if section is not None:
            counted.append(section.plays)
        for figures in counted:
            figures.add(play.seconds, play.completed)
    return books, by_track, totals, purged


def _code_rows(
    scans: list[tuple[str, datetime]], targets: dict[str, _CodeTarget], sections: dict[int, SectionStats],
) -> list[CodeStats]:
    """Scans per code, most scanned first."""
    counts = Counter(code for code, _at in scans)
    rows = []
    for code, count in counts.most_common():
        target = targets.get(code, _CodeTarget("", "", None))
        section = sections.get(target.section_id) if target.section_id is not None else None
        rows.append(CodeStats(code, target.kind, target.label, section.name if section else "", count))
    return rows


def _day_rows(
    period: Period, scans: list[tuple[str, datetime]], plays: list[_Play],
) -> list[DayStats]:
    """Scans and plays started on each library day of the period."""
    scans_by_day: defaultdict[date, int] = defaultdict(int)
    plays_by_day: defaultdict[date, int] = defaultdict(int)
    for _code, at in scans:
        scans_by_day[local_day(at)] += 1
    for play in plays:
        plays_by_day[local_day(play.started_at)] += 1
    return [DayStats(day, scans_by_day[day], plays_by_day[day]) for day in period.days()]
