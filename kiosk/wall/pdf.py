"""The wall as a print-shop PDF (fpdf2): a CJK font really embedded, codes drawn as vectors.

The font comes from ``kiosk.library.fonts`` (``KIOSK_CJK_FONT``, else the
system's Noto Sans CJK, else the copy the ``noto-cjk-sans-otc`` package ships)
and only the glyphs used are embedded (fpdf2 subsets it). Every character is
checked against the font first, so a missing glyph is an error, never a tofu
box on a printed wall.
"""

from __future__ import annotations

from fpdf import FPDF
from fpdf.fonts import TTFFont

from kiosk.library import fonts
from kiosk.wall import qr
from kiosk.wall.cards import (
    CARD_CODE_MM,
    OVERVIEW_CODE_MM,
    PAGE_MM,
    Card,
    WallError,
    cell_mm,
    sheets,
    slot_mm,
)

PT_PER_MM = 72 / 25.4
GREY = (102, 102, 102)
INK = (27, 27, 27)


def wall_pdf(cards: list[Card], *, caption: str) -> bytes:
    """Overview sheets (3×3), then one A4 page per card, as PDF bytes."""
    pdf = _new_document()
    _check_glyphs(pdf, [caption, *(t for c in cards for t in (c.name, c.line, c.short_url))])
    for group in sheets(cards):
        pdf.add_page()
        for index, card in enumerate(group):
            _overview_card(pdf, card, *slot_mm(index), caption)
    for card in cards:
        pdf.add_page()
        _full_card(pdf, card, caption)
    return bytes(pdf.output())


def _cjk_faces() -> tuple[fonts.FontFace, fonts.FontFace]:
    """The regular and the bold face (the same face when there is no bold one)."""
    try:
        return fonts.cjk_face("regular"), fonts.cjk_face("bold")
    except fonts.FontError as error:
        raise WallError(str(error)) from error


def _new_document() -> FPDF:
    pdf = FPDF(orientation="portrait", unit="mm", format="A4")
    pdf.set_auto_page_break(auto=False)
    pdf.set_margin(0)
    pdf.set_creator("有声图书馆")
    pdf.set_title("有声墙")
    pdf.set_lang("zh-CN")
    regular, bold = _cjk_faces()
    pdf.add_font("cjk", "", str(regular.path), collection_font_number=regular.index)
    if bold != regular:  # the same face twice would be embedded twice
        pdf.add_font("cjk", "B", str(bold.path), collection_font_number=bold.index)
    return pdf


def _check_glyphs(pdf: FPDF, texts: list[str]) -> None:
    """Refuse to print characters the font cannot draw (they would come out as boxes)."""
    for key in _font_keys(pdf):
        font = pdf.fonts[key]
        cmap = font.cmap if isinstance(font, TTFFont) else {}  # PDF's core fonts draw no Chinese
        missing = sorted(
            {ch for text in texts for ch in text if not ch.isspace() and ord(ch) not in cmap}
        )
        if missing:
            raise WallError(f"字体里没有这些字，无法打印：{''.join(missing)}")


def _full_card(pdf: FPDF, card: Card, caption: str) -> None:
    """The card glued to the wall: band, big name, one line, a 13 cm code, caption."""
    width, height = PAGE_MM
    pdf.set_fill_color(*_rgb(card.colour))
    pdf.rect(0, 0, width, 14, style="F")
    _centred(pdf, 0, 30, width, card.name, 27, bold=True, colour=_rgb(card.colour))
    _centred(pdf, 0, 64, width, card.line, 7, colour=(68, 68, 68))
    symbol = card.symbol_mm(CARD_CODE_MM)
    _draw_code(pdf, card.url, (width - symbol) / 2, 74, symbol)
    _centred(pdf, 0, 74 + symbol + 1, width, caption, 12, bold=True, colour=INK)
    _centred(pdf, 0, 74 + symbol + 16, width, card.short_url, 4.5, colour=GREY)
    _centred(pdf, 0, height - 14, width, "有声图书馆", 4.5, colour=(102, 102, 102))  # #666: 5.7:1 on white


def _overview_card(pdf: FPDF, card: Card, x: float, y: float, caption: str) -> None:
    """One of nine cards on an overview sheet, framed by cut guides."""
    width, height = cell_mm()
    pdf.set_draw_color(187, 187, 187)
    pdf.set_line_width(0.25)
    with pdf.local_context():
        pdf.set_dash_pattern(dash=2, gap=1.5)
        pdf.rect(x, y, width, height, style="D")
    pdf.set_fill_color(*_rgb(card.colour))
    pdf.rect(x, y, width, 3, style="F")
    _centred(pdf, x, y + 4.5, width, card.name, 9, bold=True, colour=_rgb(card.colour))
    _centred(pdf, x, y + 14.5, width, card.line, 3.4, colour=(68, 68, 68))
    symbol = card.symbol_mm(OVERVIEW_CODE_MM)
    code_top = y + 19.5
    _draw_code(pdf, card.url, x + (width - symbol) / 2, code_top, symbol)
    _centred(pdf, x, code_top + symbol + 0.3, width, caption, 4.6, bold=True, colour=INK)
    _centred(pdf, x, code_top + symbol + 5.6, width, card.short_url, 2.6, colour=GREY)


def _draw_code(pdf: FPDF, data: str, x: float, y: float, size_mm: float) -> None:
    """The symbol as filled rectangles, one per run of dark modules (quiet zone included)."""
    modules = qr.matrix(data)
    module_mm = size_mm / len(modules)
    seam_mm = min(0.02, module_mm / 20)  # rows overlap a hair so viewers show no white seams
    pdf.set_fill_color(0, 0, 0)
    for column, row, length in qr.dark_runs(modules):
        pdf.rect(x + column * module_mm, y + row * module_mm,
                 length * module_mm, module_mm + seam_mm, style="F")


def _centred(pdf: FPDF, x: float, y: float, width: float, text: str, size_mm: float, *,
             bold: bool = False, colour: tuple[int, int, int]) -> None:
    """One line of text centred in ``width``, its box's top at ``y``."""
    pdf.set_font("cjk", "B" if bold and "cjkB" in _font_keys(pdf) else "", size_mm * PT_PER_MM)
    pdf.set_text_color(*colour)
    pdf.set_xy(x, y)
    pdf.cell(width, size_mm * 1.25, text, align="C")


def _rgb(colour: str) -> tuple[int, int, int]:
    value = colour.lstrip("#")
    if len(value) != 6:
        return INK
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


def _font_keys(pdf: FPDF) -> list[str]:
    """The CJK faces added to ``pdf``: ``cjk`` and, when there is a bold face, ``cjkB``."""
    return [key for key in ("cjk", "cjkB") if key in pdf.fonts]
