"""Podcast artwork: a 1400 px square JPEG (Apple asks 1400–3000 px) from a book's cover or a section's look.

Drawn once per source and kept as a file named by its digest, so a feed names its artwork's
URL without drawing it, and a new cover gets a new URL.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont, ImageOps

from kiosk.library import fonts
from kiosk.storage import store, write_atomically

ARTWORK_PX = 1400
JPEG_QUALITY = 85
STYLE_VERSION = "1"  # bump to redraw every artwork after a change of look


def version(source: str, library_name: str) -> str:
    """The digest naming the artwork drawn from ``source`` (a cover key, or ``section:NAME:COLOUR…``)."""
    return hashlib.sha256(f"{STYLE_VERSION}|{source}|{library_name}".encode()).hexdigest()[:20]


def artwork_file(folder: Path, source: str, library_name: str) -> Path:
    """The artwork's file, drawn now if it is not kept yet."""
    target = folder / f"{version(source, library_name)}.jpg"
    if not target.is_file():
        write_atomically(target, _draw(source, library_name))
    return target


def _draw(source: str, library_name: str) -> bytes:
    if source.startswith("section:"):
        _, name, colour, *title = source.split(":", 3)
        image = section_card(title[0] if title else name, colour, library_name)
    else:
        with store().open(source) as handle, Image.open(handle) as cover:
            image = ImageOps.fit(cover.convert("RGB"), (ARTWORK_PX, ARTWORK_PX), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=JPEG_QUALITY, optimize=True)
    return buffer.getvalue()


def section_card(title: str, colour_hex: str, library_name: str) -> Image.Image:
    """A plain card in the section's colour with the title large and the library's name small."""
    image = Image.new("RGB", (ARTWORK_PX, ARTWORK_PX), colour_hex)
    draw = ImageDraw.Draw(image)
    try:
        face = fonts.cjk_face("bold")
    except fonts.FontError:
        return image  # the colour alone: still a valid, square artwork
    lines = [title[i : i + 6] for i in range(0, min(len(title), 18), 6)]
    big = ImageFont.truetype(str(face.path), 180, index=face.index)
    small = ImageFont.truetype(str(face.path), 72, index=face.index)
    top = (ARTWORK_PX - len(lines) * 220) // 2 - 80
    for row, line in enumerate(lines):
        draw.text((ARTWORK_PX // 2, top + row * 220), line, font=big, fill="white", anchor="mt")
    draw.text((ARTWORK_PX // 2, ARTWORK_PX - 160), library_name, font=small, fill="white", anchor="mt")
    return image

