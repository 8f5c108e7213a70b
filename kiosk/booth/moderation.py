"""The librarians' moderation of booth takes: the queue, approve, reject.

A decision is one transaction: the take is claimed with a conditional UPDATE (``decision``
still ``pending``), the catalogue rows are added, the audit entry is written, and everything
is committed together or rolled back together. Two librarians deciding the same take at once
(or a double submit) get ``NotPending`` and change nothing. Mastering a take again is in
``remaster``; how long originals are kept, in ``originals``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from flask_babel import gettext
from sqlalchemy import ColumnElement, CursorResult, and_, or_, select, update

from kiosk.accounts import auth
from kiosk.booth import originals
from kiosk.extensions import db
from kiosk.ingest import mastering
from kiosk.library import catalogue
from kiosk.models import Book, Decision, JobStatus, Recording, Remaster, Section, Track, User, utcnow

MAX_REASON_CHARS = 500
HISTORY_LIMIT = 30


class ModerationError(Exception):
    """A refused moderation step; ``message`` is Chinese for the librarian, ``field`` the input."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotPending(ModerationError):
    """The take was already decided (a double submit, or another librarian was quicker)."""


@dataclass(frozen=True)
class Placement:
    """Where an approved take goes: an existing book, or a new one made for it."""

    chapter_title: str
    book_id: int | None = None
    position: int | None = None  # 1-based place in the book; None appends
    new_title: str = ""
    new_section_id: int | None = None
    new_author: str = ""


@dataclass(frozen=True)
class ReportView:
    """A take's quality report as the console shows it (``None``: not measured, or silence)."""

    verdict: str
    advice: list[str]
    input_lufs: float | None
    sample_peak_dbfs: float | None
    clipping_percent: float | None
    noise_floor_dbfs: float | None
    speech_percent: float | None
    final_lufs: float | None
    final_true_peak_dbtp: float | None
    input_true_peak_dbtp: float | None = None
    input_lra_lu: float | None = None
    input_plr_db: float | None = None
    final_lra_lu: float | None = None
    final_plr_db: float | None = None
    gain_db: float | None = None
    limited: bool | None = None
    mastered_noise_floor_dbfs: float | None = None
    defects: DefectFigures | None = None


@dataclass(frozen=True)
class DefectFigures:
    """The quality assistant's figures (``recorder.defects``) as the librarian reads them, units in the names."""

    found: list[str]
    snr_db: float | None
    hum_hz: float | None
    hum_level_dbfs: float | None
    hum_below_speech_db: float | None
    master_hum_level_dbfs: float | None
    clipped_runs: int
    clip_level_dbfs: float | None
    plosive_count: int
    plosive_times_s: list[float]
    click_count: int
    click_times_s: list[float]
    gated_s: float | None
    suspect_zero_noise: bool
    speech_s: float | None
    expected_reading_s: float | None
    skipped: dict[str, Any] | None = None


@dataclass(frozen=True)
class TakeCard:
    """Everything the console shows of one take (plain data for the templates)."""

    id: int
    token: str
    title: str
    reader_name: str
    consent: bool
    licence: str
    text_title: str | None
    text_author: str | None
    text_body: str | None
    created_at: datetime
    decided_at: datetime | None
    duration_ms: int | None
    status: str
    decision: str | None
    decision_reason: str | None
    track_id: int | None
    error_message: str | None
    report: ReportView | None
    has_master: bool
    original_present: bool
    original_format: str
    original_kept_until: datetime | None
    remaster: Remaster | None


# ---- queries ------------------------------------------------------------------------------


def pending_takes() -> list[Recording]:
    """Processed takes waiting for a decision, oldest first."""
    return list(db.session.scalars(
        select(Recording)
        .where(Recording.status == JobStatus.DONE, Recording.decision == Decision.PENDING)
        .order_by(Recording.created_at, Recording.id)
    ))


def failed_takes(limit: int = HISTORY_LIMIT) -> list[Recording]:
    """Takes the booth could not master and no librarian has turned down yet, newest first."""
    return list(db.session.scalars(
        select(Recording).where(Recording.status == JobStatus.FAILED, Recording.decision.is_(None))
        .order_by(Recording.created_at.desc(), Recording.id.desc()).limit(limit)
    ))


def decided_takes(limit: int = HISTORY_LIMIT) -> list[Recording]:
    """Recently approved or rejected takes, newest decision first."""
    return list(db.session.scalars(
        select(Recording)
        .where(Recording.decision.in_((Decision.APPROVED, Decision.REJECTED)))
        .order_by(Recording.decided_at.desc(), Recording.id.desc()).limit(limit)
    ))


def take(take_id: int) -> Recording | None:
    """The take ``take_id``, whatever its state."""
    return db.session.get(Recording, take_id)


def latest_remaster(take_id: int) -> Remaster | None:
    """The most recent re-mastering request of ``take_id``."""
    return db.session.scalar(
        select(Remaster).where(Remaster.recording_id == take_id)
        .order_by(Remaster.created_at.desc(), Remaster.id.desc()).limit(1)
    )


def section_choices() -> list[Section]:
    """Every section, in wall order (hidden ones too: a librarian may prepare one)."""
    return list(db.session.scalars(select(Section).order_by(Section.position, Section.id)))


def books_by_section() -> list[tuple[Section, list[Book]]]:
    """Books not in the trash, grouped by section in wall order, for the approve form."""
    books = db.session.scalars(
        select(Book).where(Book.deleted_at.is_(None)).order_by(Book.sort_key, Book.id)
    ).all()
    grouped = [(section, [b for b in books if b.section_id == section.id]) for section in section_choices()]
    return [(section, shelf) for section, shelf in grouped if shelf]


def report_view(report: dict[str, Any] | None) -> ReportView | None:
    """The stored report dict (see ``recorder.quality.QualityReport``) as console figures."""
    if not report:
        return None

    def percent(name: str) -> float | None:
        value = report.get(name)
        return None if value is None else round(float(value) * 100, 2)

    return ReportView(
        verdict=str(report.get("verdict", "")),
        advice=[str(item.get("text_zh", "")) for item in report.get("advice") or [] if isinstance(item, dict)],
        input_lufs=report.get("input_lufs"),
        sample_peak_dbfs=report.get("sample_peak_dbfs"),
        clipping_percent=percent("clipping_share"),
        noise_floor_dbfs=report.get("noise_floor_dbfs"),
        speech_percent=percent("speech_ratio"),
        final_lufs=report.get("final_lufs"),
        final_true_peak_dbtp=report.get("final_true_peak_dbtp"),
        input_true_peak_dbtp=report.get("input_true_peak_dbtp"),
        input_lra_lu=report.get("input_loudness_range_lu"),
        input_plr_db=_difference(report.get("input_true_peak_dbtp"), report.get("input_lufs")),
        final_lra_lu=report.get("final_loudness_range_lu"),
        final_plr_db=_difference(report.get("final_true_peak_dbtp"), report.get("final_lufs")),
        gain_db=report.get("gain_db"),
        limited=report.get("limited"),
        mastered_noise_floor_dbfs=report.get("mastered_noise_floor_dbfs"),
        defects=defect_figures(report.get("findings")),
    )


def _difference(peak: Any, loudness: Any) -> float | None:
    """Peak-to-loudness ratio (dB) from a stored peak and loudness, when both were measured."""
    return None if peak is None or loudness is None else round(float(peak) - float(loudness), 1)


def defect_figures(findings: Any) -> DefectFigures | None:
    """The stored findings dict (``recorder.defects.Findings.to_dict``) as console figures; None for older reports."""
    if not isinstance(findings, dict):
        return None

    def part(code: str) -> dict[str, Any]:
        value = findings.get(code)
        return value if isinstance(value, dict) else {}

    hum, clipping, plosives, clicks = part("hum"), part("clipping"), part("plosives"), part("clicks")
    return DefectFigures(
        found=[code for code, value in findings.items() if isinstance(value, dict) and value.get("found")],
        snr_db=part("noise").get("snr_db"),
        hum_hz=hum.get("hum_hz"),
        hum_level_dbfs=hum.get("hum_level_dbfs"),
        hum_below_speech_db=hum.get("hum_below_speech_db"),
        master_hum_level_dbfs=hum.get("master_hum_level_dbfs"),
        clipped_runs=int(clipping.get("clipped_runs") or 0),
        clip_level_dbfs=clipping.get("clip_level_dbfs"),
        plosive_count=int(plosives.get("plosive_count") or 0),
        plosive_times_s=list(plosives.get("times_s") or []),
        click_count=int(clicks.get("click_count") or 0),
        click_times_s=list(clicks.get("times_s") or []),
        gated_s=part("gating").get("gated_s"),
        suspect_zero_noise=bool(part("gating").get("suspect_zero_noise")),
        speech_s=part("too_short").get("speech_s", part("blank").get("speech_s")),
        expected_reading_s=part("too_short").get("expected_reading_s"),
        skipped=findings.get("skipped") if isinstance(findings.get("skipped"), dict) else None,
    )


def card(row: Recording) -> TakeCard:
    """A take as plain data for the console's pages."""
    text = row.text
    return TakeCard(
        id=row.id, token=row.token, title=row.title, reader_name=row.reader_name, consent=row.consent,
        licence=row.licence, text_title=text.title if text else None, text_author=text.author if text else None,
        text_body=text.body if text else None, created_at=row.created_at, decided_at=row.decided_at,
        duration_ms=row.duration_ms, status=row.status.value,
        decision=row.decision.value if row.decision else None, decision_reason=row.decision_reason,
        track_id=row.track_id, error_message=row.error_message, report=report_view(row.report),
        has_master=row.mastered_key is not None, original_present=originals.present(row),
        original_format=row.original_format, original_kept_until=originals.kept_until(row),
        remaster=latest_remaster(row.id),
    )


# ---- decisions (each commits its own transaction) -----------------------------------------


# A processed take waits for approval or rejection. A take the booth could not master can
# only be turned down (with a word for the volunteer), which also starts its original's
# 30 days: without a decision it would be kept for ever.
APPROVABLE = and_(Recording.status == JobStatus.DONE, Recording.decision == Decision.PENDING)
REJECTABLE = or_(APPROVABLE, and_(Recording.status == JobStatus.FAILED, Recording.decision.is_(None)))


def _claim(take_id: int, decidable: ColumnElement[bool], **values: Any) -> None:
    """Mark an undecided take decided, in the caller's transaction; ``NotPending`` if it is not."""
    claimed = cast(CursorResult[Any], db.session.execute(
        update(Recording).where(Recording.id == take_id, decidable).values(decided_at=utcnow(), **values)
    )).rowcount
    if claimed != 1:
        raise NotPending(gettext("这段录音已经有了决定（可能是另一位馆员刚刚处理过），没有做任何更改。"))


def approve(take_id: int, placement: Placement, actor: User) -> Track:
    """Publish a pending take as a chapter, all in one transaction; returns the new track."""
    try:
        _claim(take_id, APPROVABLE, decision=Decision.APPROVED, decision_reason=None)
        row = db.session.get(Recording, take_id, populate_existing=True)
        assert row is not None and row.mastered_key is not None  # noqa: S101 - claimed: done takes have one
        book = _target_book(placement)
        track = _add_track(book, row, placement)
        catalogue.refresh_book_index(book)
        row.track_id = track.id
        from kiosk.readalong import jobs, texts  # read-along: the teleprompter text becomes the chapter's

        text = texts.attach(track, row.text.body, "booth") if row.text is not None else None
        auth.audit("take_approved", actor=actor, target=row, track_id=track.id, book_id=book.id,
                   reader=row.reader_name)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    if text is not None:
        jobs.queue_alignment(text.id)  # after the commit: the chapter's master is published
    return track


def _target_book(placement: Placement) -> Book:
    """The existing book chosen, or a new published one (flushed)."""
    if placement.book_id is not None:
        book = db.session.get(Book, placement.book_id)
        if book is None or book.deleted_at is not None:
            raise ModerationError(gettext("所选的书不存在或已在回收站中。"), "book_id")
        return book
    section = db.session.get(Section, placement.new_section_id) if placement.new_section_id else None
    if section is None:
        raise ModerationError(gettext("请选择书所在的栏目。"), "section_id")
    if not placement.new_title.strip():
        raise ModerationError(gettext("请填写书名。"), "title")
    return catalogue.new_book(section, placement.new_title.strip(), author=placement.new_author.strip())


def _add_track(book: Book, row: Recording, placement: Placement) -> Track:
    """A published chapter on the take's mastered file, at the chosen place (others shift down)."""
    last = max((t.position for t in book.tracks), default=0)
    position = last + 1
    if placement.position is not None and placement.position <= last:
        position = max(1, placement.position)
        db.session.execute(
            update(Track).where(Track.book_id == book.id, Track.position >= position)
            .values(position=Track.position + 1)
        )
    track = Track(
        book=book, position=position, title=placement.chapter_title.strip() or row.title,
        reader=catalogue.reader_named(row.reader_name), duration_ms=row.duration_ms or 0,
        audio_key=row.mastered_key, size_bytes=row.size_bytes or 0, mime_type=mastering.MP3_MIME,
        loudness_lufs=row.loudness_lufs, true_peak_dbtp=row.true_peak_dbtp,
    )
    db.session.add(track)
    db.session.flush()
    db.session.refresh(book, attribute_names=["tracks"])  # the shifted positions, in order
    return track


def reject(take_id: int, reason: str, actor: User) -> None:
    """Decline a pending (or failed) take with a reason the volunteer reads on their take-home page."""
    text = reason.strip()
    if not text:
        raise ModerationError(gettext("请填写不采用的原因，录音者会看到它。"), "reason")
    if len(text) > MAX_REASON_CHARS:
        raise ModerationError(gettext("原因太长了，请少于 500 个字。"), "reason")
    try:
        _claim(take_id, REJECTABLE, decision=Decision.REJECTED, decision_reason=text)
        row = db.session.get(Recording, take_id, populate_existing=True)
        auth.audit("take_rejected", actor=actor, target=row, reason=text)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise

