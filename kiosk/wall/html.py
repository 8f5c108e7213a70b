"""The wall as one self-contained HTML page: overview sheets, then one A4 page per card."""

from __future__ import annotations

from pathlib import Path

from flask import render_template
from flask_babel import gettext
from markupsafe import Markup

from kiosk.wall import qr
from kiosk.wall.cards import CARD_CODE_MM, OVERVIEW_CODE_MM, Card, sheets

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"


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
