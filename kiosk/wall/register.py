"""The register of printed codes: every code ever issued, what it points at now, its scans.

A code is never deleted or renamed; a librarian may only point it at another section
or book (say, when a printed card's section was merged into another).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from kiosk.extensions import db
from kiosk.insights import scans
from kiosk.library import codes
from kiosk.models import Book, CodeTarget, QrCode, Section


class RegisterError(ValueError):
    """A refused change to the register (unknown code or target)."""


@dataclass(frozen=True)
class CodeRow:
    """One issued code as the console lists it."""

    code: str
    kind: str
    target: str
    live: bool
    note: str
    created_at: datetime
    scans: int


def rows() -> list[CodeRow]:
    """Every code ever issued, oldest first, with its target's current name and scan count."""
    counts = scans.counts_by_code()
    issued = db.session.scalars(
        select(QrCode)
        .options(
            selectinload(QrCode.section), selectinload(QrCode.book), selectinload(QrCode.track)
        )
        .order_by(QrCode.created_at, QrCode.code)
    ).all()
    return [_row(qr, counts.get(qr.code, 0)) for qr in issued]


def targets() -> list[tuple[str, str]]:
    """Choices for re-pointing: ``("section:ID", name)`` then ``("book:ID", title)``."""
    sections = db.session.scalars(select(Section).order_by(Section.position, Section.id))
    books = db.session.scalars(select(Book).order_by(Book.sort_key, Book.id))
    return [(f"section:{s.id}", s.name) for s in sections] + [
        (f"book:{b.id}", b.title) for b in books
    ]


def repoint(code: str, target: str) -> tuple[str, str]:
    """Point ``code`` at ``target`` (``"section:ID"`` or ``"book:ID"``); old and new targets.

    The caller commits (with its audit record).
    """
    found = db.session.get(QrCode, codes.normalise_code(code) or "")
    if found is None:
        raise RegisterError(_l("没有这个二维码编号。"))
    kind, target_id = _parse_target(target)
    before = _describe(found)
    found.target_kind = kind
    found.section_id = target_id if kind is CodeTarget.SECTION else None
    found.book_id = target_id if kind is CodeTarget.BOOK else None
    found.track_id = None
    db.session.flush()
    db.session.refresh(found)
    return before, _describe(found)


def _parse_target(target: str) -> tuple[CodeTarget, int]:
    """``"section:3"`` as (SECTION, 3), refusing anything that does not exist."""
    kind_text, _, id_text = target.partition(":")
    model = {"section": Section, "book": Book}.get(kind_text)
    if model is None or not id_text.isdigit() or db.session.get(model, int(id_text)) is None:
        raise RegisterError(_l("请选择一个存在的栏目或图书。"))
    return CodeTarget(kind_text), int(id_text)


def _target(qr: QrCode) -> Section | Book | object | None:
    """The row a code points at now, by its kind."""
    return {CodeTarget.SECTION: qr.section, CodeTarget.BOOK: qr.book, CodeTarget.TRACK: qr.track}[
        qr.target_kind
    ]


def _name(row: object | None) -> str:
    """A target's current name (sections) or title (books, chapters)."""
    if row is None:
        return "—"
    return str(getattr(row, "name", None) or getattr(row, "title", ""))


def _describe(qr: QrCode) -> str:
    """``section:3 中国精神``: kind, id and current name of a code's target."""
    row = _target(qr)
    return f"{qr.target_kind.value}:{getattr(row, 'id', '?')} {_name(row)}"


def _row(qr: QrCode, scan_count: int) -> CodeRow:
    """A listing row for ``qr``."""
    row = _target(qr)
    return CodeRow(
        code=qr.code, kind=qr.target_kind.value, target=_name(row),
        live=bool(getattr(row, "published", False)), note=qr.note,
        created_at=qr.created_at, scans=scan_count,
    )
