"""The printable wall and the kiosk screen: every format written, read back, decoded, followed."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
import zlib
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from fontTools.cffLib import CFFFontSet
from PIL import Image
from sqlalchemy import delete, func, select

from kiosk.extensions import db
from kiosk.library import catalogue, fonts
from kiosk.library.catalogue import DEFAULT_SECTIONS
from kiosk.models import CodeTarget, QrCode

from .factories import gen_book, gen_section
from .test_qr import BASE, decode, decode_one, follow, rasterise_svg_symbol

NAMES = [name for _, name, _, _, _ in DEFAULT_SECTIONS]
_INLINE_SVG = re.compile(r"<svg[^>]*viewBox=\"0 0 \d+ \d+\".*?</svg>", re.S)
_FONT_FILE = re.compile(rb"/FontFile[23]? (\d+) 0 R")
_SUBSET_NAME = re.compile(r"^[A-Z]{6}\+")
needs_poppler = pytest.mark.skipif(
    shutil.which("pdftoppm") is None or shutil.which("pdftotext") is None,
    reason="poppler-utils (pdftoppm, pdftotext) not installed",
)


def write_wall(runner: FlaskCliRunner, path: Path, *extra: str) -> str:
    """Run ``kiosk wall`` and return its output, failing on a non-zero exit."""
    result = runner.invoke(args=["wall", "--base-url", BASE, "-o", str(path), *extra])
    assert result.exit_code == 0, result.output
    return result.output


def pdf_page_image(pdf: Path, page: int, dpi: int = 150) -> Image.Image:
    """One page of a PDF rendered by poppler."""
    prefix = pdf.with_name(f"{pdf.stem}-p{page}")
    subprocess.run(
        [
            "pdftoppm",
            "-r",
            str(dpi),
            "-png",
            "-f",
            str(page),
            "-l",
            str(page),
            "-singlefile",
            str(pdf),
            str(prefix),
        ],
        check=True,
    )
    return Image.open(prefix.with_suffix(".png"))


def pdf_text(pdf: Path) -> str:
    """The text poppler extracts from a PDF."""
    return subprocess.run(
        ["pdftotext", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout


def pdf_fonts(pdf: Path) -> list[list[str]]:
    """``pdffonts``' rows: name, type..., emb, sub, uni, object id (header left out)."""
    out = subprocess.run(["pdffonts", str(pdf)], check=True, capture_output=True, text=True).stdout
    return [line.split() for line in out.splitlines()[2:]]


def embedded_cff_glyphs(pdf: Path) -> list[int]:
    """How many glyphs each embedded CFF font program holds, read from the raw PDF."""
    data = pdf.read_bytes()
    counts = []
    for match in _FONT_FILE.finditer(data):
        header = re.search(rb"\n%d 0 obj\s*<<(.*?)>>\s*stream\r?\n" % int(match.group(1)), data, re.S)
        length = re.search(rb"/Length (\d+)", header.group(1)) if header else None
        assert header is not None and length is not None
        program = data[header.end() : header.end() + int(length.group(1))]
        if b"/FlateDecode" in header.group(1):
            program = zlib.decompress(program)
        cff = CFFFontSet()
        cff.decompile(io.BytesIO(program), None)
        counts.append(len(cff[cff.fontNames[0]].charset))
    return counts


def svg_symbols(markup: str) -> list[str]:
    """The inline SVG QR symbols in a page or sheet."""
    return [m.group(0) for m in _INLINE_SVG.finditer(markup) if "<path" in m.group(0)]


def expected_paths(app: Flask) -> list[str]:
    """The section pages in wall order."""
    with app.app_context():
        return [f"/sections/{card.slug}" for card in catalogue.wall()]


# ---- the three formats -------------------------------------------------------------------


@needs_poppler
def test_pdf_has_every_name_and_its_codes_decode(
    app: Flask, client: FlaskClient, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    pdf = tmp_path / "wall.pdf"
    write_wall(runner, pdf)
    text = subprocess.run(
        ["pdftotext", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout
    assert all(name in text for name in NAMES)
    assert "扫码收听" in text
    fonts = subprocess.run(
        ["pdffonts", str(pdf)], check=True, capture_output=True, text=True
    ).stdout
    assert "CJK" in fonts and " yes " in fonts  # a CJK font, embedded
    overview = decode(pdf_page_image(pdf, 1))
    assert len(overview) == 9
    first_card = decode_one(pdf_page_image(pdf, 2, dpi=50))  # 13 cm code, even at 50 dpi
    assert follow(client, first_card.text)[0] == expected_paths(app)[0]
    assert sorted(follow(client, b.text)[0] for b in overview) == sorted(expected_paths(app))


@needs_poppler
def test_pdf_without_a_system_font_embeds_a_subset_of_the_packaged_one(
    runner: FlaskCliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A machine with Python and nothing else still prints the wall, in Chinese."""
    monkeypatch.setattr(fonts, "FONT_ROOTS", ())  # Debian's fonts-noto-cjk is not there
    pdf = tmp_path / "wall.pdf"
    write_wall(runner, pdf)
    text = pdf_text(pdf)
    assert all(name in text for name in NAMES) and "扫码收听" in text
    rows = pdf_fonts(pdf)
    assert rows and all(_SUBSET_NAME.match(row[0]) for row in rows)  # ABCDEF+Name: a subset
    assert all(row[-5:-2] == ["yes", "yes", "yes"] for row in rows)  # embedded, subset, unicode
    glyphs = embedded_cff_glyphs(pdf)
    assert glyphs and all(count < 1000 for count in glyphs)  # the font itself has 65,535
    assert pdf.stat().st_size < 500_000  # the font file alone is 19 MB


def test_html_prints_on_a4_with_one_card_a_page(
    app: Flask, client: FlaskClient, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    page = tmp_path / "wall.html"
    write_wall(runner, page)
    html = page.read_text(encoding="utf-8")
    assert "@page { size: A4" in html
    positions = [html.index(f'class="card-name">{name}<') for name in NAMES]
    assert positions == sorted(positions)  # wall order
    assert html.count('class="sheet card"') == 9 and html.count('class="sheet overview"') == 1
    symbols = svg_symbols(html)
    assert len(symbols) == 18  # nine on the overview, nine on their own pages
    followed = [follow(client, decode_one(rasterise_svg_symbol(s)).text)[0] for s in symbols[9:]]
    assert followed == expected_paths(app)


def test_svg_is_a_vector_a4_sheet(
    app: Flask, client: FlaskClient, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    sheet = tmp_path / "wall.svg"
    write_wall(runner, sheet)
    root = ET.parse(sheet).getroot()  # noqa: S314  (our own file)
    assert (root.get("width"), root.get("height")) == ("210mm", "297mm")
    markup = sheet.read_text(encoding="utf-8")
    assert all(f">{name}<" in markup for name in NAMES)
    followed = [
        follow(client, decode_one(rasterise_svg_symbol(s)).text)[0] for s in svg_symbols(markup)
    ]
    assert followed == expected_paths(app)


@needs_poppler
def test_a_book_card_prints_as_a_shelf_label(
    app: Flask, client: FlaskClient, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    with app.app_context():
        book_id = gen_book("骆驼祥子", author="老舍").id
    pdf = tmp_path / "label.pdf"
    assert "1 shelf label" in write_wall(runner, pdf, "--book", str(book_id))
    text = subprocess.run(
        ["pdftotext", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout
    assert "骆驼祥子" in text and "老舍" in text
    assert follow(client, decode_one(pdf_page_image(pdf, 2, dpi=60)).text)[0] == f"/books/{book_id}"


# ---- bad input: nothing written ------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--base-url", "lib.example.org"], "http"),
        (["--base-url", "ftp://lib.example.org"], "http"),
        (["--base-url", "https://"], "http"),
        (["--base-url", "https://lib.example.org/?x=1"], "查询参数"),
        ([], "--base-url"),
    ],
)
def test_a_bad_base_url_is_refused_before_anything_is_written(
    runner: FlaskCliRunner, tmp_path: Path, args: list[str], message: str
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    result = runner.invoke(args=["wall", *args, "-o", str(out / "wall.pdf")])
    assert result.exit_code == 2
    assert "--base-url" in result.output and message in result.output
    assert list(out.iterdir()) == []


@pytest.mark.parametrize(("name", "book"), [("wall.docx", None), ("wall.pdf", "999999")])
def test_bad_output_or_book_writes_nothing(
    runner: FlaskCliRunner, tmp_path: Path, name: str, book: str | None
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    args = ["wall", "--base-url", BASE, "-o", str(out / name)] + (["--book", book] if book else [])
    result = runner.invoke(args=args)
    assert result.exit_code != 0
    assert list(out.iterdir()) == []


def test_base_url_comes_from_the_configuration(app: Flask, tmp_path: Path) -> None:
    app.config["KIOSK_BASE_URL"] = "http://192.168.1.20:8000"
    result = app.test_cli_runner().invoke(args=["wall", "-o", str(tmp_path / "w.svg")])
    assert result.exit_code == 0, result.output
    symbol = svg_symbols((tmp_path / "w.svg").read_text(encoding="utf-8"))[0]
    assert decode_one(rasterise_svg_symbol(symbol)).text.startswith("HTTP://192.168.1.20:8000/Q/")


# ---- stable codes ----------------------------------------------------------------------------


def test_renaming_moving_and_reordering_a_section_keeps_its_printed_code(
    app: Flask, client: FlaskClient, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    sheet = tmp_path / "before.svg"
    write_wall(runner, sheet)
    printed = decode_one(
        rasterise_svg_symbol(svg_symbols(sheet.read_text(encoding="utf-8"))[0])
    ).text
    with app.app_context():
        section = gen_section("zhongguo-jingshen")
        section.name, section.slug, section.position = "时代楷模", "shidai-kaimo", 99
        db.session.commit()
    path, page = follow(client, printed)
    assert path == "/sections/shidai-kaimo"
    assert "时代楷模" in page
    write_wall(runner, tmp_path / "after.svg")
    after = svg_symbols((tmp_path / "after.svg").read_text(encoding="utf-8"))
    assert printed in [decode_one(rasterise_svg_symbol(s)).text for s in after]


def test_a_printed_code_is_recorded_once(
    app: Flask, client: FlaskClient, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    """A book's first label issues its code; printing again reuses it, never adds another."""
    with app.app_context():
        book_id = gen_book("呼兰河传").id
        db.session.execute(delete(QrCode).where(QrCode.book_id == book_id))  # never printed
        db.session.commit()
    write_wall(runner, tmp_path / "first.svg", "--book", str(book_id))
    write_wall(runner, tmp_path / "again.svg", "--book", str(book_id))
    printed = [
        decode_one(rasterise_svg_symbol(svg_symbols(sheet.read_text(encoding="utf-8"))[0])).text
        for sheet in (tmp_path / "first.svg", tmp_path / "again.svg")
    ]
    assert printed[0] == printed[1]
    assert follow(client, printed[0])[0] == f"/books/{book_id}"
    with app.app_context():
        recorded = db.session.scalars(select(QrCode.code).where(QrCode.book_id == book_id)).all()
    assert [f"{BASE}/Q/{code}".upper() for code in recorded] == [printed[0]]


def test_reprinting_the_wall_issues_no_new_codes(
    app: Flask, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    write_wall(runner, tmp_path / "a.html")
    with app.app_context():
        before = db.session.scalar(select(func.count()).select_from(QrCode))
    write_wall(runner, tmp_path / "b.html")
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(QrCode)) == before
    first = svg_symbols((tmp_path / "a.html").read_text(encoding="utf-8"))
    second = svg_symbols((tmp_path / "b.html").read_text(encoding="utf-8"))
    assert [decode_one(rasterise_svg_symbol(s)).text for s in first] == [
        decode_one(rasterise_svg_symbol(s)).text for s in second
    ]


# ---- the kiosk screen ---------------------------------------------------------------------------


def test_kiosk_mode_shows_nine_big_tiles_with_scannable_codes(
    app: Flask, client: FlaskClient
) -> None:
    page = client.get("/?kiosk=1").get_data(as_text=True)
    assert page.count('class="kiosk-tile"') == 9
    symbols = svg_symbols(page)
    assert len(symbols) == 9
    followed = [
        follow(client, decode_one(rasterise_svg_symbol(s)).text, base="http://localhost")[0]
        for s in symbols
    ]
    assert followed == expected_paths(app)


def test_kiosk_mode_uses_the_configured_base_url(app: Flask, client: FlaskClient) -> None:
    app.config["KIOSK_BASE_URL"] = BASE
    symbol = svg_symbols(client.get("/?kiosk=1").get_data(as_text=True))[0]
    assert decode_one(rasterise_svg_symbol(symbol)).text.startswith("HTTPS://LIB.EXAMPLE.ORG/Q/")


def test_the_ordinary_wall_has_no_codes(client: FlaskClient) -> None:
    assert svg_symbols(client.get("/").get_data(as_text=True)) == []


# ---- the console's wall area -----------------------------------------------------------------


ADMIN_PAGES = ["/admin/qr", "/admin/qr/{code}.svg", "/admin/qr/{code}.png", "/admin/wall/print"]


def signed_in(app: Flask, client: FlaskClient) -> FlaskClient:
    """``client`` signed in as a librarian."""
    from .test_auth import login, make_user

    make_user(app)
    assert login(client).status_code in (302, 303)
    return client


@pytest.mark.parametrize("page", ADMIN_PAGES)
def test_anonymous_console_requests_go_to_login(app: Flask, client: FlaskClient, page: str) -> None:
    url = page.format(code=section_code_of(app))
    response = client.get(url)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/admin/login?next=")


def test_anonymous_repoint_is_refused(app: Flask, client: FlaskClient) -> None:
    response = client.post("/admin/qr", data={"code": section_code_of(app), "target": "book:1"})
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/admin/login")


def section_code_of(app: Flask, slug: str = "jingdian-songdu") -> str:
    """A default section's printed code."""
    with app.app_context():
        return catalogue.primary_code(CodeTarget.SECTION, gen_section(slug).id)


def test_the_register_lists_every_code_with_its_scans(app: Flask, client: FlaskClient) -> None:
    code = section_code_of(app)
    client.get(f"/Q/{code}")
    page = signed_in(app, client).get("/admin/qr").get_data(as_text=True)
    assert page.count('<th scope="row" class="nowrap">') == 9
    row = page[page.index(f">{code}<") :]
    assert "经典诵读" in row[:400] and "<td>1</td>" in row[:400]


def test_code_downloads_decode(app: Flask) -> None:
    app.config["KIOSK_BASE_URL"] = BASE
    client = signed_in(app, app.test_client())
    code = section_code_of(app)
    png = client.get(f"/admin/qr/{code}.png")
    assert png.mimetype == "image/png" and "attachment" in png.headers["Content-Disposition"]
    assert decode_one(Image.open(io.BytesIO(png.data))).text == f"{BASE.upper()}/Q/{code}"
    svg = client.get(f"/admin/qr/{code}.svg")
    assert svg.mimetype == "image/svg+xml"
    assert decode_one(rasterise_svg_symbol(svg.get_data(as_text=True))).text.endswith(f"/Q/{code}")
    assert client.get("/admin/qr/ZZZZZ.png").status_code == 404


def test_an_old_code_can_point_at_a_book(app: Flask, client: FlaskClient) -> None:
    code = section_code_of(app)
    with app.app_context():
        book_id = gen_book("呼兰河传").id
    signed_in(app, client)
    response = client.post("/admin/qr", data={"code": code.lower(), "target": f"book:{book_id}"})
    assert response.status_code == 303
    assert client.get(f"/Q/{code}").headers["Location"].endswith(f"/books/{book_id}")
    from .test_auth import actions

    assert actions(app)[-1] == "qr_repointed"
    refused = client.post("/admin/qr", data={"code": "ZZZZZ", "target": f"book:{book_id}"})
    assert refused.status_code == 422 and "没有这个二维码编号" in refused.get_data(as_text=True)
    assert client.post("/admin/qr", data={"code": code, "target": "book:999"}).status_code == 422


def test_repointing_needs_a_csrf_token(app: Flask, client: FlaskClient) -> None:
    signed_in(app, client)
    app.config["WTF_CSRF_ENABLED"] = True
    response = client.post("/admin/qr", data={"code": section_code_of(app), "target": "section:1"})
    assert response.status_code == 400


def test_the_console_print_page_is_the_wall(app: Flask, client: FlaskClient) -> None:
    page = signed_in(app, client).get("/admin/wall/print").get_data(as_text=True)
    assert "@page { size: A4" in page
    assert page.count('class="sheet card"') == 9
    assert all(f">{name}<" in page for name in NAMES)
