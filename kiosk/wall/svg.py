"""The wall as one vector SVG in millimetres: 3×3 cards per A4 sheet, sheets stacked downwards.

Text stays text (a print shop's software finds the CJK font by name); the codes
are paths, crisp at any size.
"""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

from kiosk.wall import qr
from kiosk.wall.cards import OVERVIEW_CODE_MM, PAGE_MM, Card, cell_mm, sheets, slot_mm

FONT_FAMILY = (
    "'Noto Sans CJK SC', 'Source Han Sans SC', 'PingFang SC', 'Hiragino Sans GB', "
    "'Microsoft YaHei', 'WenQuanYi Micro Hei', sans-serif"
)


def sheet_svg(cards: list[Card], *, caption: str) -> str:
    """Every card on 3×3 A4 sheets, as one SVG document sized in millimetres."""
    width, height = PAGE_MM
    groups = sheets(cards) or [[]]
    total = height * len(groups)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:g}mm" height="{total:g}mm"'
        f' viewBox="0 0 {width:g} {total:g}" font-family={quoteattr(FONT_FAMILY)}>',
        f'<rect width="{width:g}" height="{total:g}" fill="#fff"/>',
    ]
    for page, group in enumerate(groups):
        top = page * height
        if page:
            parts.append(_cut_line(0, top, width, top))
        for index, card in enumerate(group):
            x, y = slot_mm(index)
            parts.append(_cell(card, x, top + y, caption))
    parts.append("</svg>")
    return "\n".join(parts)


def _cell(card: Card, x: float, y: float, caption: str) -> str:
    """One overview card: colour band, name, description, code, caption, short URL."""
    width, height = cell_mm()
    middle = x + width / 2
    symbol = card.symbol_mm(OVERVIEW_CODE_MM)
    code_top = y + 19.5  # the quiet zone keeps text clear of the code
    modules = qr.matrix(card.url)
    count = len(modules)
    colour = quoteattr(card.colour)
    return "\n".join(
        [
            f"<g><title>{escape(card.name)}</title>",
            f'<rect x="{x:.2f}" y="{y:.2f}" width="{width:.2f}" height="{height:.2f}" fill="none"'
            ' stroke="#bbb" stroke-width="0.25" stroke-dasharray="2 1.5"/>',
            f'<rect x="{x:.2f}" y="{y:.2f}" width="{width:.2f}" height="3" fill={colour}/>',
            _text(middle, y + 12.5, card.name, 9, fill=card.colour, bold=True),
            _text(middle, y + 18, card.line, 3.4, fill="#444"),
            f'<svg x="{middle - symbol / 2:.2f}" y="{code_top:.2f}" width="{symbol:.2f}"'
            f' height="{symbol:.2f}" viewBox="0 0 {count} {count}" shape-rendering="crispEdges">'
            f'<path d="{qr.svg_path(modules)}" fill="#000"/></svg>',
            _text(middle, code_top + symbol + 4.5, caption, 4.6, fill="#1b1b1b", bold=True),
            _text(middle, code_top + symbol + 8.5, card.short_url, 2.6, fill="#666"),
            "</g>",
        ]
    )


def _text(
    x: float, y: float, content: str, size_mm: float, *, fill: str, bold: bool = False
) -> str:
    weight = ' font-weight="700"' if bold else ""
    return (
        f'<text x="{x:.2f}" y="{y:.2f}" font-size="{size_mm:g}" text-anchor="middle"'
        f" fill={quoteattr(fill)}{weight}>{escape(content)}</text>"
    )


def _cut_line(x1: float, y1: float, x2: float, y2: float) -> str:
    return (
        f'<line x1="{x1:g}" y1="{y1:g}" x2="{x2:g}" y2="{y2:g}" stroke="#bbb"'
        ' stroke-width="0.25" stroke-dasharray="2 1.5"/>'
    )
