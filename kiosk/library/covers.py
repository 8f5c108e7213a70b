"""Cover images: every upload is decoded, resized and re-encoded, never served as sent.

Two sizes are kept: a 480 px square for the book page and lock screen, and a
160 px thumbnail so a section list stays small on weak 4G.
"""

from __future__ import annotations

import io
import logging
import random
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont, ImageOps

from kiosk.library import fonts

log = logging.getLogger(__name__)

LARGE_PX = 480
THUMB_PX = 160
JPEG_QUALITY = 82
MAX_SOURCE_PIXELS = 40_000_000  # refuse decompression bombs
TITLE_PX = 64


class CoverError(ValueError):
    """The bytes are not an image we can use as a cover."""


@dataclass(frozen=True)
class CoverImages:
    """The re-encoded JPEG renditions of one cover."""

    large_jpeg: bytes
    thumb_jpeg: bytes


def _encode(image: Image.Image, size_px: int) -> bytes:
    square = ImageOps.fit(image, (size_px, size_px), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    square.save(buffer, "JPEG", quality=JPEG_QUALITY, optimize=True, progressive=True)
    return buffer.getvalue()


def renditions(data: bytes) -> CoverImages:
    """Decode any common image format and produce our two JPEG sizes."""
    Image.MAX_IMAGE_PIXELS = MAX_SOURCE_PIXELS
    try:
        with Image.open(io.BytesIO(data)) as source:
            source.load()
            image = ImageOps.exif_transpose(source).convert("RGB")
    except (OSError, ValueError, Image.DecompressionBombError) as error:
        raise CoverError(str(error)) from error
    return CoverImages(large_jpeg=_encode(image, LARGE_PX), thumb_jpeg=_encode(image, THUMB_PX))


def _cjk_font(size_px: int) -> ImageFont.FreeTypeFont | None:
    """The bold CJK face (or the regular one) at ``size_px``; ``None`` leaves the cover untitled."""
    try:
        face = fonts.cjk_face("bold")
    except fonts.FontError as error:
        log.warning("cover drawn without its title: %s", error)
        return None
    return ImageFont.truetype(str(face.path), size_px, index=face.index)


def generated_cover(title: str, colour_hex: str, seed: int) -> bytes:
    """A calm generated cover for demo books: the section colour, soft circles, the title if a CJK font exists."""
    rng = random.Random(seed)  # noqa: S311 - decoration, not security
    base = Image.new("RGB", (LARGE_PX, LARGE_PX), colour_hex)
    overlay = Image.new("RGBA", base.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    for _ in range(7):
        radius = rng.randint(40, 200)
        x, y = rng.randint(0, LARGE_PX), rng.randint(0, LARGE_PX)
        draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=(255, 255, 255, rng.randint(18, 48)))
    image = Image.alpha_composite(base.convert("RGBA"), overlay)
    font = _cjk_font(TITLE_PX)
    if font is not None:
        text_draw = ImageDraw.Draw(image)
        lines = [title[i : i + 6] for i in range(0, min(len(title), 18), 6)]
        for row, line in enumerate(lines):
            text_draw.text((40, 150 + row * 84), line, font=font, fill=(255, 255, 255, 255))
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "PNG")
    return buffer.getvalue()
