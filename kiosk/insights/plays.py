"""Play reports from the player's beacon: strict validation, then one upserted row per play id.

A phone sends at most one small batch a minute (and one when the page is hidden), never a
request per second or per media range. Each item says how many seconds were listened since
the last batch, how far the play got and whether it finished; the row for its play id adds
the seconds up and keeps the furthest position. No address, cookie or user agent is stored.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask_babel import gettext
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from kiosk.extensions import db
from kiosk.library.visibility import BOOK_VISIBLE, TRACK_VISIBLE
from kiosk.models import Book, Play, Section, Track, utcnow

MAX_BODY_BYTES = 8 * 1024
MAX_ITEMS = 20
MAX_SECONDS_PER_REPORT = 900.0  # batches come every ~60 s; a sleeping phone may hold one longer
POSITION_SLACK_S = 30.0  # the catalogue's duration and the browser's may differ a little
RELISTEN_FACTOR = 3  # a play's total may exceed its chapter's length (seeking back), within reason
PLAY_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")
FIELDS = frozenset({"play_id", "track_id", "seconds", "max_position_s", "completed"})


class BeaconError(ValueError):
    """A refused report: HTTP ``status``, machine ``code`` and a human ``message``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass(frozen=True)
class PlayReport:
    """One validated item of a batch."""

    play_id: str
    track_id: int
    seconds: float
    max_position_s: float
    completed: bool


def _invalid(detail: str) -> BeaconError:
    """A 422 for a malformed item."""
    return BeaconError(422, "invalid_report", gettext("播放记录格式有误：%(detail)s", detail=detail))


def _number(value: Any, name: str, maximum: float) -> float:
    """A finite, non-negative JSON number no bigger than ``maximum``."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _invalid(name)
    if not 0 <= value <= maximum:
        raise _invalid(name)
    return float(value)


def _item(raw: Any) -> PlayReport:
    """One item, checked field by field (unknown or missing fields are refused)."""
    if not isinstance(raw, dict) or set(raw) != FIELDS:
        raise _invalid("fields")
    play_id, track_id = raw["play_id"], raw["track_id"]
    if not isinstance(play_id, str) or not PLAY_ID.fullmatch(play_id):
        raise _invalid("play_id")
    if isinstance(track_id, bool) or not isinstance(track_id, int) or track_id <= 0:
        raise _invalid("track_id")
    if not isinstance(raw["completed"], bool):
        raise _invalid("completed")
    return PlayReport(
        play_id=play_id, track_id=track_id,
        seconds=_number(raw["seconds"], "seconds", MAX_SECONDS_PER_REPORT),
        max_position_s=_number(raw["max_position_s"], "max_position_s", 24 * 3600.0),
        completed=raw["completed"],
    )


def parse(body: bytes) -> list[PlayReport]:
    """The items of a beacon body ``{"plays": [...]}``; ``BeaconError`` when it is not one."""
    if len(body) > MAX_BODY_BYTES:
        raise BeaconError(413, "too_large", gettext("播放记录太大了。"))
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise BeaconError(400, "bad_json", gettext("播放记录不是有效的 JSON。")) from error
    items = data.get("plays") if isinstance(data, dict) else None
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_ITEMS:
        raise _invalid("plays")
    return [_item(item) for item in items]


def _durations_s(track_ids: set[int]) -> dict[int, float]:
    """The catalogue durations of those tracks that visitors may play."""
    rows = db.session.execute(
        select(Track.id, Track.duration_ms)
        .join(Book, Track.book_id == Book.id)
        .join(Section, Book.section_id == Section.id)
        .where(Track.id.in_(track_ids), TRACK_VISIBLE, BOOK_VISIBLE, Section.published.is_(True))
    )
    return {track_id: duration_ms / 1000 for track_id, duration_ms in rows}


def _check_against_catalogue(reports: list[PlayReport]) -> dict[int, float]:
    """Every track exists and is published, and no position lies beyond its end."""
    durations = _durations_s({r.track_id for r in reports})
    for report in reports:
        duration_s = durations.get(report.track_id)
        if duration_s is None:
            raise BeaconError(422, "unknown_track", gettext("没有这个章节。"))
        if report.max_position_s > duration_s + POSITION_SLACK_S:
            raise _invalid("max_position_s")
    return durations


def record(reports: list[PlayReport]) -> None:
    """Merge ``reports`` into their plays' rows and commit (all of them, or none)."""
    durations = _check_against_catalogue(reports)
    for attempt in range(2):
        try:
            _apply(reports, durations)
            db.session.commit()
            return
        except IntegrityError:  # another report of the same new play was inserted meanwhile
            db.session.rollback()
            if attempt:
                raise


def _sections_of(track_ids: set[int]) -> dict[int, int]:
    """The section of each chapter's book now (kept on the play: it outlives the chapter)."""
    rows = db.session.execute(
        select(Track.id, Book.section_id).join(Book, Track.book_id == Book.id).where(Track.id.in_(track_ids))
    )
    return {track_id: section_id for track_id, section_id in rows}


def _apply(reports: list[PlayReport], durations: dict[int, float]) -> None:
    """Add or update one row per play id (in the session)."""
    ids = {r.play_id for r in reports}
    rows = {p.play_id: p for p in db.session.scalars(select(Play).where(Play.play_id.in_(ids)))}
    sections = _sections_of({r.track_id for r in reports})
    now = utcnow()
    for report in reports:
        row = rows.get(report.play_id)
        if row is None:
            row = Play(play_id=report.play_id, track_id=report.track_id, section_id=sections.get(report.track_id),
                       seconds_listened=0.0,
                       max_position_s=0.0, completed=False,
                       started_at=now - timedelta(seconds=report.seconds))
            db.session.add(row)
            rows[report.play_id] = row
        elif row.track_id != report.track_id:
            raise BeaconError(422, "play_conflict", gettext("播放编号与章节不符。"))
        duration_s = durations[report.track_id]
        row.seconds_listened = min(row.seconds_listened + report.seconds, RELISTEN_FACTOR * duration_s + 60)
        row.max_position_s = max(row.max_position_s, min(report.max_position_s, duration_s))
        row.completed = row.completed or report.completed
        row.updated_at = now
