"""QR codes for printed codes: the shortest scannable URL, as crisp SVG or as PNG.

A code's URL is ``BASE/Q/<CODE>`` in upper case, so the whole string falls in QR's
alphanumeric mode (5.5 bits a character instead of 8): scheme and host are
case-insensitive, and the app answers ``/Q/<code>`` as well as ``/q/<code>``.
A base URL with a path (``https://lib.example.org/Audio``) keeps that path's case,
since a server may not treat it case-insensitively; the encoder then mixes a short
byte-mode segment into the symbol, which costs a few modules but stays correct.
"""

from __future__ import annotations

import functools
import io
import ipaddress
from collections.abc import Iterator
from urllib.parse import urlsplit

import qrcode
from flask import current_app, request
from PIL import Image
from qrcode.constants import ERROR_CORRECT_M, ERROR_CORRECT_Q

QUIET_ZONE_MODULES = 4
# Q (25 % recovery) survives smudges and glare on a wall; fall back to M only when
# Q would push the symbol past version 3, whose modules would then be smaller.
MAX_VERSION_FOR_Q = 3
SVG_CACHE_SIZE = 1024  # symbols kept per process (a few KB each): every section's and the busy books'

Matrix = list[list[bool]]


class BaseUrlError(ValueError):
    """A base URL that cannot be printed in a QR code."""


def validate_base_url(raw: str) -> str:
    """``raw`` as an absolute http(s) base URL without a trailing slash, or ``BaseUrlError``."""
    parts = urlsplit(raw.strip())
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise BaseUrlError("必须是以 http:// 或 https:// 开头的完整网址，例如 https://lib.example.org")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise BaseUrlError("网址中不能带查询参数、锚点或用户名密码")
    try:
        parts.port  # noqa: B018  (raises on a malformed port)
    except ValueError as error:
        raise BaseUrlError("网址的端口号无效") from error
    return raw.strip().rstrip("/")


def is_local_address(base_url: str) -> bool:
    """Whether ``base_url`` names this computer itself (loopback), which no phone can reach."""
    host = (urlsplit(base_url).hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback or ipaddress.ip_address(host).is_unspecified
    except ValueError:
        return False


def landing_url(base_url: str, code: str) -> str:
    """The URL printed for ``code``: scheme, host, ``/Q/`` and the code upper-cased."""
    parts = urlsplit(validate_base_url(base_url))
    origin = f"{parts.scheme}://{parts.netloc}".upper()
    return f"{origin}{parts.path.rstrip('/')}/Q/{code.upper()}"


def configured_base_url() -> str:
    """``KIOSK_BASE_URL`` if set, else the address this request came to (web views only)."""
    return current_app.config.get("KIOSK_BASE_URL") or request.url_root.rstrip("/")


def build(data: str) -> qrcode.QRCode:
    """The smallest symbol for ``data``: error correction Q when it fits version 3, else M."""
    symbol = _fitted(data, ERROR_CORRECT_Q)
    if symbol.version > MAX_VERSION_FOR_Q:
        symbol = _fitted(data, ERROR_CORRECT_M)
    return symbol


def matrix(data: str) -> Matrix:
    """The modules of ``data``'s symbol, quiet zone included (``True`` is dark)."""
    return build(data).get_matrix()


def dark_runs(modules: Matrix) -> Iterator[tuple[int, int, int]]:
    """Horizontal runs of dark modules as ``(x, y, length)``, for compact vector drawing."""
    for y, row in enumerate(modules):
        x = 0
        while x < len(row):
            if not row[x]:
                x += 1
                continue
            start = x
            while x < len(row) and row[x]:
                x += 1
            yield start, y, x - start


def svg_path(modules: Matrix) -> str:
    """The dark modules as one SVG path in module units."""
    return "".join(f"M{x},{y}h{n}v1h-{n}z" for x, y, n in dark_runs(modules))


@functools.lru_cache(maxsize=SVG_CACHE_SIZE)
def svg(data: str, *, size: str | None = None, title: str = "") -> str:
    """A standalone, path-based SVG of ``data``'s symbol; ``size`` like ``"50mm"``.

    Remembered per process: making a symbol costs about 18 ms of pure Python (the eight masks
    are scored), and the section and book pages show their feed's code on every view.
    """
    modules = matrix(data)
    count = len(modules)
    dimensions = f' width="{size}" height="{size}"' if size else ""
    label = f"<title>{_escape(title)}</title>" if title else ""
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {count} {count}"{dimensions}'
        f' shape-rendering="crispEdges" role="img">{label}'
        f'<rect width="{count}" height="{count}" fill="#fff"/>'
        f'<path d="{svg_path(modules)}" fill="#000"/></svg>'
    )


def png_image(data: str, *, module_px: int = 10) -> Image.Image:
    """``data``'s symbol as a black-and-white Pillow image, ``module_px`` pixels a module."""
    symbol = build(data)
    symbol.box_size = module_px
    return symbol.make_image(fill_color="black", back_color="white").get_image().convert("L")


def png(data: str, *, module_px: int = 10) -> bytes:
    """``data``'s symbol as PNG bytes."""
    buffer = io.BytesIO()
    png_image(data, module_px=module_px).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def _fitted(data: str, error_correction: int) -> qrcode.QRCode:
    symbol = qrcode.QRCode(
        version=None, error_correction=error_correction, border=QUIET_ZONE_MODULES
    )
    symbol.add_data(data)
    symbol.make(fit=True)
    return symbol


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
