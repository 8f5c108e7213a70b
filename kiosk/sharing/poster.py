"""Share posters: a tall image with the book's cover, title, readers, the library's name and a QR code to it.

The usual way to pass a book on in WeChat: long-press to save or send, no account needed.
Drawn once per look (title, readers, cover, library, address) and kept as a file named by
its digest; a change to any of them draws a new one.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont, ImageOps
from sqlalchemy import select

from kiosk.extensions import db
from kiosk.library import catalogue, covers, fonts
from kiosk.models import CodeTarget, Section
from kiosk.storage import store, write_atomically
from kiosk.wall import qr

WIDTH_PX, HEIGHT_PX = 750, 1100
COVER_PX = 520
QR_PX = 220
MARGIN_PX = 48
STYLE_VERSION = "1"


@dataclass(frozen=True)
class PosterContent:
    """What a poster shows."""

    title: str
    readers: list[str]
    cover_key: str | None
    colour: str  # the section's colour, behind the cover (or instead of it)
    library_name: str
    target_url: str  # what the QR code opens
    reader_label: str  # "朗读：%(names)s", translated
    scan_label: str  # "扫码收听", translated

    def digest(self) -> str:
        """Names the drawn poster: any change of content draws a new one."""
        parts = (STYLE_VERSION, self.title, "、".join(self.readers), self.cover_key or "", self.colour,
                 self.library_name, self.target_url, self.reader_label, self.scan_label)
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:24]


def book_poster(book_id: int, base_url: str, library_name: str, reader_label: str,
                scan_label: str) -> PosterContent | None:
    """What a published book's poster shows; its QR code is the book's printed code, so scans are counted."""
    detail = catalogue.book(book_id)
    if detail is None:
        return None
    summary = detail.summary
    code = catalogue.primary_code(CodeTarget.BOOK, book_id)
    target = qr.landing_url(base_url, code) if code else f"{base_url}/books/{book_id}"
    colour = db.session.scalar(select(Section.colour).where(Section.slug == summary.section_slug)) or "#8c2f1b"
    return PosterContent(title=summary.title, readers=summary.readers, cover_key=summary.cover_key, colour=colour,
                         library_name=library_name, target_url=target, reader_label=reader_label,
                         scan_label=scan_label)


def poster_file(folder: Path, content: PosterContent) -> Path:
    """The poster's PNG, drawn now if it is not kept yet."""
    target = folder / f"{content.digest()}.png"
    if not target.is_file():
        write_atomically(target, draw(content))
    return target


def draw(content: PosterContent) -> bytes:
    """The poster as PNG bytes."""
    image = Image.new("RGB", (WIDTH_PX, HEIGHT_PX), "white")
    canvas = ImageDraw.Draw(image)
    canvas.rectangle((0, 0, WIDTH_PX, MARGIN_PX + COVER_PX // 2), fill=content.colour)
    left = (WIDTH_PX - COVER_PX) // 2
    canvas.rectangle((left - 6, MARGIN_PX - 6, left + COVER_PX + 5, MARGIN_PX + COVER_PX + 5), fill="white")
    image.paste(_cover(content), (left, MARGIN_PX))
    y = MARGIN_PX + COVER_PX + 36
    title_font, text_font, small_font = _font(48, "bold"), _font(30), _font(26)
    if title_font is not None and text_font is not None and small_font is not None:
        for line in _wrap(content.title, 13)[:2]:
            canvas.text((WIDTH_PX // 2, y), line, font=title_font, fill="#222222", anchor="mt")
            y += 64
        if content.readers:
            names = content.reader_label % {"names": "、".join(content.readers[:3])}
            canvas.text((WIDTH_PX // 2, y + 6), names, font=text_font, fill="#555555", anchor="mt")
    code = qr.png_image(content.target_url, module_px=8).resize((QR_PX, QR_PX), Image.Resampling.NEAREST)
    qr_top = HEIGHT_PX - QR_PX - MARGIN_PX
    image.paste(code, (MARGIN_PX, qr_top))
    if text_font is not None and small_font is not None:
        beside = MARGIN_PX + QR_PX + 32
        canvas.text((beside, qr_top + 60), content.library_name, font=text_font, fill="#222222")
        canvas.text((beside, qr_top + 120), content.scan_label, font=small_font, fill="#555555")
    buffer = io.BytesIO()
    image.save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


def _cover(content: PosterContent) -> Image.Image:
    """The book's cover at poster size, or one drawn in the section's colour with the title."""
    if content.cover_key:
        with store().open(content.cover_key) as handle, Image.open(handle) as cover:
            return ImageOps.fit(cover.convert("RGB"), (COVER_PX, COVER_PX), Image.Resampling.LANCZOS)
    drawn = covers.generated_cover(content.title, content.colour, seed=len(content.title))
    with Image.open(io.BytesIO(drawn)) as generated:
        return generated.convert("RGB").resize((COVER_PX, COVER_PX), Image.Resampling.LANCZOS)


def _font(size_px: int, weight: fonts.Weight = "regular") -> ImageFont.FreeTypeFont | None:
    try:
        face = fonts.cjk_face(weight)
    except fonts.FontError:
        return None  # a poster with cover and QR code, and no words, rather than none
    return ImageFont.truetype(str(face.path), size_px, index=face.index)


def _wrap(text: str, per_line: int) -> list[str]:
    return [text[i : i + per_line] for i in range(0, len(text), per_line)] or [""]

