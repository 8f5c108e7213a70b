"""The printable audio wall: cards with QR codes, as an HTML page, an SVG sheet or a PDF.

A card shows a section's (or, for a shelf label, a book's) name, one line of
description, its printed code as a QR symbol at least 5 cm wide on A4, and the
caption 扫码收听. The printed code is the target's *primary* code, which never
changes when the target is renamed or moved. Renderers need a request context
(for the language and templates); the CLI provides one with its base URL.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from markupsafe import Markup

from kiosk.extensions import db
from kiosk.library import catalogue
from kiosk.models import Book, CodeTarget
from kiosk.wall import qr

DESCRIPTION_CHARS = 28
SHEET_CARDS = 9  # the overview sheet is three by three
PAGE_MM = (210.0, 297.0)  # A4 portrait
SHEET_MARGIN_MM = 5.0
# Width of the code itself, quiet zone excluded (that adds four modules a side):
# about a tenth of the scanning distance, so 13 cm reads from 1.3 m or more.
CARD_CODE_MM = 130.0
OVERVIEW_CODE_MM = 50.0


class WallError(Exception):
    """A wall that cannot be produced (unknown book, no CJK font, bad suffix...)."""


@dataclass(frozen=True)
class Card:
    """One printed card: what it says and where its code points."""

    code: str
    url: str
    short_url: str
    name: str
    line: str
    colour: str
    modules: int  # the symbol's width in modules, quiet zone included

    def symbol_mm(self, code_mm: float) -> float:
        """The symbol's printed width (quiet zone included) for a code ``code_mm`` wide."""
        return code_mm * self.modules / (self.modules - 2 * qr.QUIET_ZONE_MODULES)


# ---- cards -------------------------------------------------------------------------------


def section_cards(base_url: str) -> list[Card]:
    """A card for every published section, in wall order (codes issued if missing)."""
    return [
        _card(CodeTarget.SECTION, s.id, base_url, s.name, s.description, s.colour)
        for s in catalogue.wall()
    ]


def book_cards(book_ids: Iterable[int], base_url: str) -> list[Card]:
    """Shelf-label cards for books, in the order given (codes issued if missing)."""
    cards = []
    for book_id in book_ids:
        found = db.session.get(Book, book_id)
        if found is None:
            raise WallError(f"没有编号为 {book_id} 的图书")
        line = found.author or found.section.name
        cards.append(
            _card(CodeTarget.BOOK, found.id, base_url, found.title, line, found.section.colour)
        )
    return cards


def ensure_code(kind: CodeTarget, target_id: int) -> str:
    """The target's printed (primary) code, issuing one if it has none; callers commit."""
    return catalogue.primary_code(kind, target_id) or catalogue.issue_code(
        kind, target_id, note="printed"
    )


def kiosk_tiles(base_url: str) -> list[tuple[catalogue.SectionCard, Markup | None]]:
    """The wall's sections with an inline SVG of each one's printed code (read-only)."""
    tiles = []
    for card in catalogue.wall():
        code = catalogue.primary_code(CodeTarget.SECTION, card.id)
        symbol = qr.svg(qr.landing_url(base_url, code), title=card.name) if code else None
        tiles.append((card, Markup(symbol) if symbol else None))  # noqa: S704 (our own SVG)
    return tiles


# ---- renderers -----------------------------------------------------------------------------


def sheets(cards: list[Card]) -> list[list[Card]]:
    """Cards in groups of nine, one group per overview sheet."""
    return [cards[i : i + SHEET_CARDS] for i in range(0, len(cards), SHEET_CARDS)]


def cell_mm() -> tuple[float, float]:
    """Width and height of one card on the 3×3 overview sheet."""
    width, height = PAGE_MM
    return (width - 2 * SHEET_MARGIN_MM) / 3, (height - 2 * SHEET_MARGIN_MM) / 3


def slot_mm(index: int) -> tuple[float, float]:
    """Top-left corner of the ``index``-th card (0-8) on an overview sheet."""
    width, height = cell_mm()
    row, column = divmod(index, 3)
    return SHEET_MARGIN_MM + column * width, SHEET_MARGIN_MM + row * height


def one_line(text: str, limit: int = DESCRIPTION_CHARS) -> str:
    """The first line of ``text``, cut to ``limit`` characters with an ellipsis."""
    first = (text or "").strip().splitlines()[0].strip() if (text or "").strip() else ""
    return first if len(first) <= limit else first[: limit - 1] + "…"


def _card(
    kind: CodeTarget, target_id: int, base_url: str, name: str, line: str, colour: str
) -> Card:
    code = ensure_code(kind, target_id)
    url = qr.landing_url(base_url, code)
    return Card(
        code=code,
        url=url,
        short_url=_short_url(base_url, code),
        name=name,
        line=one_line(line),
        colour=colour,
        modules=len(qr.matrix(url)),
    )


def _short_url(base_url: str, code: str) -> str:
    """What a person would type: ``lib.example.org/q/7K3QX``."""
    parts = urlsplit(base_url)
    return f"{parts.netloc.lower()}{parts.path.rstrip('/')}/q/{code}"
