"""The wall in the format a file name asks for (HTML, SVG or PDF), written whole or not at all."""

from __future__ import annotations

from collections.abc import Callable

from flask_babel import gettext

from kiosk.wall.cards import Card, WallError
from kiosk.wall.html import render_html
from kiosk.wall.svg import sheet_svg

FORMATS = (".html", ".svg", ".pdf")


def render_svg(cards: list[Card]) -> str:
    """A vector sheet in millimetres: 3×3 cards per A4 page, pages stacked downwards."""
    return sheet_svg(cards, caption=gettext("扫码收听"))


def render_pdf(cards: list[Card]) -> bytes:
    """A print-ready PDF with an embedded CJK font: overview sheets, then one page per card.

    fpdf2 is imported here, not with the module: the ``kiosk`` command registers the wall's
    commands in every web process, and fpdf2 with fontTools would add about 20 MB to each.
    """
    from kiosk.wall.pdf import wall_pdf

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
