"""The printable audio wall: cards with QR codes, as an HTML page, an SVG sheet or a PDF.

A card shows a section's (or, for a shelf label, a book's) name, one line of
description, its printed code as a QR symbol at least 5 cm wide on A4, and the
caption 扫码收听. The printed code is the target's *primary* code, which never
changes when the target is renamed or moved. Renderers need a request context
(for the language and templates); the CLI provides one with its base URL.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from flask import render_template
from flask_babel import gettext
from markupsafe import Markup

from . import catalogue, qr
from .extensions import db
from .models import Book, CodeTarget

STATIC_DIR = Path(__file__).resolve().parent / "static"
FORMATS = (".html", ".svg", ".pdf")
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


def render_html(cards: list[Card], *, title: str | None = None) -> str:
    """A self-contained page: 3×3 overview sheets, then one A4 page per card."""
    css = Markup((STATIC_DIR / "wall.css").read_text(encoding="utf-8"))  # noqa: S704
    symbols = {c.code: Markup(qr.svg(c.url, title=c.name)) for c in cards}  # noqa: S704
    return render_template(
        "wall/print.html",
        cards=cards,
        sheets=sheets(cards),
        symbols=symbols,
        css=css,
        title=title or gettext("有声墙"),
        caption=gettext("扫码收听"),
        card_code_mm=CARD_CODE_MM,
        overview_code_mm=OVERVIEW_CODE_MM,
    )


def render_svg(cards: list[Card]) -> str:
    """A vector sheet in millimetres: 3×3 cards per A4 page, pages stacked downwards."""
    from .wall_svg import sheet_svg

    return sheet_svg(cards, caption=gettext("扫码收听"))


def render_pdf(cards: list[Card]) -> bytes:
    """A print-ready PDF with an embedded CJK font: overview sheets, then one page per card."""
    from .wall_pdf import wall_pdf

    return wall_pdf(cards, caption=gettext("扫码收听"))


RENDERERS: dict[str, Callable[[list[Card]], str | bytes]] = {
    ".html": render_html,
    ".svg": render_svg,
    ".pdf": render_pdf,
}


def render(cards: list[Card], suffix: str) -> bytes:
    """The wall in the format named by a file suffix, as bytes."""
    renderer = RENDERERS.get(suffix.lower())
    if renderer is None:
        raise WallError(f"不支持的文件类型 {suffix!r}，请用 .html、.svg 或 .pdf")
    produced = renderer(cards)
    return produced.encode("utf-8") if isinstance(produced, str) else produced


def write_atomically(path: Path, content: bytes) -> None:
    """Write ``content`` beside ``path`` and rename it into place (no half-written sheets)."""
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        temporary.write_bytes(content)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


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
