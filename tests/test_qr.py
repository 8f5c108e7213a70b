"""QR codes: decoded by an independent decoder (zxing-cpp), followed through the app, degraded."""

from __future__ import annotations

import io
import re
from urllib.parse import urlsplit

import numpy as np
import pytest
import zxingcpp
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image, ImageDraw, ImageFilter

from kiosk.library import catalogue
from kiosk.models import CodeTarget
from kiosk.wall import qr

from .factories import gen_book

BASE = "https://lib.example.org"
_RUN = re.compile(r"M(\d+),(\d+)h(\d+)v1h-\d+z")
_VIEWBOX = re.compile(r'viewBox="0 0 (\d+) (\d+)"')


# ---- helpers shared by the wall and scan tests ------------------------------------------


def decode(image: Image.Image) -> list[zxingcpp.Barcode]:
    """Every QR symbol zxing-cpp finds in ``image``."""
    return [b for b in zxingcpp.read_barcodes(image) if b.format == zxingcpp.BarcodeFormat.QRCode]


def decode_one(image: Image.Image) -> zxingcpp.Barcode:
    """The single QR symbol in ``image`` (fails the test otherwise)."""
    found = decode(image)
    assert len(found) == 1, f"expected one QR code, found {len(found)}"
    return found[0]


def rasterise_svg_symbol(svg_markup: str, module_px: int = 8) -> Image.Image:
    """Draw the module runs of an SVG symbol's path onto a white image (white margin added)."""
    count = int(_VIEWBOX.search(svg_markup).group(1))  # type: ignore[union-attr]
    image = Image.new("L", (count * module_px, count * module_px), 255)
    pen = ImageDraw.Draw(image)
    for x, y, length in _RUN.findall(svg_markup):
        left, top = int(x) * module_px, int(y) * module_px
        pen.rectangle([left, top, left + int(length) * module_px - 1, top + module_px - 1], fill=0)
    return image


def follow(client: FlaskClient, url: str, base: str = BASE) -> tuple[str, str]:
    """Request a decoded URL's path through the app; the final path and page text."""
    assert url.lower().startswith(base.lower()), url
    path = urlsplit(url).path
    response = client.get(path, follow_redirects=True)
    assert response.status_code == 200, (url, response.status_code)
    return response.request.path, response.get_data(as_text=True)


def degrade(symbol: Image.Image, size_px: int, *, seed: int = 7) -> Image.Image:
    """A phone camera's view from afar: few pixels a module, blur, a tilt, dim light, JPEG."""
    small = symbol.convert("L").resize((size_px, size_px), Image.Resampling.BOX)
    blurred = small.filter(ImageFilter.GaussianBlur(radius=0.7))
    tilted = blurred.rotate(5, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=255)
    pixels = np.asarray(tilted, dtype=np.float32)
    dim = 60 + pixels * (150 / 255)  # a dim corner: black is grey, white is grey
    noisy = dim + np.random.default_rng(seed).normal(0, 6, dim.shape)
    camera = Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))
    buffer = io.BytesIO()
    camera.save(buffer, format="JPEG", quality=60)
    return Image.open(io.BytesIO(buffer.getvalue()))


def smallest_decodable_px(
    data: str, sizes: range = range(24, 161, 2)
) -> tuple[int | None, int | None]:
    """The smallest degraded size that decodes, and the size from which every larger one does."""
    source = qr.png_image(data, module_px=16)
    ok = {size: any(b.text == data for b in decode(degrade(source, size))) for size in sizes}
    first = next((size for size in sizes if ok[size]), None)
    reliable = None
    for size in reversed(sizes):
        if not ok[size]:
            break
        reliable = size
    return first, reliable


# ---- the URL -------------------------------------------------------------------------------


def test_landing_url_is_upper_case_for_alphanumeric_mode() -> None:
    assert qr.landing_url("https://Lib.Example.org/", "7k3qx") == "HTTPS://LIB.EXAMPLE.ORG/Q/7K3QX"


def test_a_base_path_keeps_its_case() -> None:
    assert qr.landing_url("http://lib.example.org:8080/Audio", "7K3QX") == (
        "HTTP://LIB.EXAMPLE.ORG:8080/Audio/Q/7K3QX"
    )


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "lib.example.org",
        "ftp://lib.example.org",
        "https://",
        "/relative",
        "https://lib.example.org/?a=1",
        "https://lib.example.org/#x",
        "https://u:p@lib.example.org",
        "https://lib.example.org:99999",
        "javascript:alert(1)",
    ],
)
def test_bad_base_urls_are_refused(raw: str) -> None:
    with pytest.raises(qr.BaseUrlError):
        qr.validate_base_url(raw)


def test_a_base_with_a_path_still_decodes_exactly() -> None:
    data = qr.landing_url("https://lib.example.org/Audio", "7K3QX")
    assert decode_one(qr.png_image(data, module_px=6)).text == data


# ---- the symbols -------------------------------------------------------------------------------


def test_every_section_code_fits_version_3_in_alphanumeric_mode(app: Flask) -> None:
    with app.app_context():
        codes = [catalogue.primary_code(CodeTarget.SECTION, s.id) for s in catalogue.wall()]
    assert len(codes) == 9
    for code in codes:
        data = qr.landing_url(BASE, code)
        symbol = qr.build(data)
        assert symbol.version <= 3
        assert [segment.mode for segment in symbol.data_list] == [qr.qrcode.util.MODE_ALPHA_NUM]
        barcode = decode_one(qr.png_image(data, module_px=4))
        assert barcode.text == data
        assert int(barcode.extra["Version"]) <= 3  # as the independent decoder reads it
        assert barcode.extra["ECLevel"] == "Q"
        assert len(qr.matrix(data)) == 4 * int(barcode.extra["Version"]) + 17 + 8  # quiet zone


def test_a_long_base_falls_back_to_m_to_stay_small() -> None:
    data = qr.landing_url("https://audio.library.taiyuan.example.gov.cn", "7K3QX")
    barcode = decode_one(qr.png_image(data, module_px=4))
    assert barcode.text == data
    assert barcode.extra["ECLevel"] == "M"
    assert int(barcode.extra["Version"]) <= 3


def test_section_pngs_and_svgs_decode_and_lead_to_their_section(
    app: Flask, client: FlaskClient
) -> None:
    with app.app_context():
        sections = [
            (s.slug, catalogue.primary_code(CodeTarget.SECTION, s.id)) for s in catalogue.wall()
        ]
    for slug, code in sections:
        data = qr.landing_url(BASE, code)
        png = Image.open(io.BytesIO(qr.png(data)))
        from_svg = rasterise_svg_symbol(qr.svg(data, size="50mm"))
        assert decode_one(png).text == data
        assert decode_one(from_svg).text == data
        assert follow(client, data)[0] == f"/sections/{slug}"


def test_a_book_code_decodes_and_leads_to_its_book(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        book = gen_book("骆驼祥子")
        code = catalogue.primary_code(CodeTarget.BOOK, book.id)
        book_id = book.id
    data = qr.landing_url(BASE, code)
    path, page = follow(client, decode_one(qr.png_image(data)).text)
    assert path == f"/books/{book_id}"
    assert "骆驼祥子" in page


def test_section_codes_survive_a_distant_dim_camera(app: Flask) -> None:
    """Report the smallest symbol size (pixels, quiet zone included) that still decodes."""
    with app.app_context():
        rows = [
            (s.name, catalogue.primary_code(CodeTarget.SECTION, s.id)) for s in catalogue.wall()
        ]
    print("\nsection  code   modules  smallest-px  reliable-from-px  (px/module at reliable)")
    for name, code in rows:
        data = qr.landing_url(BASE, code)
        modules = len(qr.matrix(data))
        first, reliable = smallest_decodable_px(data)
        per_module = f"{reliable / modules:.1f}" if reliable else "-"
        print(f"{name}  {code}  {modules:>7}  {first!s:>11}  {reliable!s:>16}  {per_module}")
        assert reliable is not None and reliable <= 120, (name, first, reliable)
