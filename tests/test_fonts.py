"""The CJK font: configured, else the system's, else the packaged one; covers keep their titles."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import numpy as np
import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from fontTools.ttLib import TTCollection
from PIL import Image

from kiosk.library import covers, fonts

from .test_qr import BASE
from .test_wall import pdf_fonts

TITLE_AREA = (0, 140, 480, 420)  # left, top, right, bottom: where three lines of title go
INK_MIN = 240  # the title is drawn in white; the translucent circles never come this close


@pytest.fixture
def no_system_font(monkeypatch: pytest.MonkeyPatch) -> None:
    """A machine with Python and nothing else: the system-font search finds nothing."""
    monkeypatch.setattr(fonts, "FONT_ROOTS", ())


def title_ink(png: bytes) -> np.ndarray:
    """A mask of the near-white pixels in a cover's title area."""
    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("RGB").crop(TITLE_AREA))
    return pixels.min(axis=2) >= INK_MIN


# ---- covers ---------------------------------------------------------------------------------


@pytest.mark.parametrize("colour", ["#1d5c8c", "#b5651d", "#f2c14e"])
def test_a_cover_drawn_without_a_system_font_has_its_title(no_system_font: None, colour: str) -> None:
    untitled = title_ink(covers.generated_cover("", colour, seed=7))
    titled = title_ink(covers.generated_cover("骆驼祥子", colour, seed=7))
    assert untitled.sum() == 0
    assert titled.sum() > 1500  # four 64 px characters' worth of white strokes


def test_each_title_is_drawn_in_its_own_glyphs(no_system_font: None) -> None:
    """Missing glyphs would be drawn as identical boxes; real ones differ."""
    first = title_ink(covers.generated_cover("骆驼祥子", "#1d5c8c", seed=7))
    second = title_ink(covers.generated_cover("呼兰河传", "#1d5c8c", seed=7))
    assert (first != second).sum() > 1000


def test_a_stored_cover_keeps_its_title(no_system_font: None) -> None:
    """The JPEG renditions the demo stores still carry the title."""
    large = covers.renditions(covers.generated_cover("木兰辞", "#1d5c8c", seed=3)).large_jpeg
    blank = covers.renditions(covers.generated_cover("", "#1d5c8c", seed=3)).large_jpeg
    assert title_ink(large).sum() > 1000 and title_ink(blank).sum() == 0


# ---- which font ---------------------------------------------------------------------------


def test_without_a_system_font_the_packaged_one_draws_simplified_chinese(no_system_font: None) -> None:
    face = fonts.cjk_face("bold")
    collection = TTCollection(str(face.path), lazy=True)
    font = collection.fonts[face.index]
    assert font["name"].getDebugName(1) == "Noto Sans CJK SC"
    assert all(ord(ch) in font.getBestCmap() for ch in "经典诵读扫码收听有声图书馆")


def test_nothing_at_all_is_an_error_that_says_what_to_install(
    no_system_font: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fonts, "PACKAGED_FONT", ("no_such_font_package", "x.ttc"))
    with pytest.raises(fonts.FontError, match="fonts-noto-cjk"):
        fonts.cjk_face()


@pytest.mark.skipif(shutil.which("pdffonts") is None, reason="poppler-utils not installed")
def test_the_systems_bold_face_is_kept_where_present(runner: FlaskCliRunner, tmp_path: Path) -> None:
    if fonts.system_font("bold") is None:
        pytest.skip("no system CJK bold face on this machine")
    pdf = tmp_path / "wall.pdf"
    assert runner.invoke(args=["wall", "--base-url", BASE, "-o", str(pdf)]).exit_code == 0
    names = [row[0] for row in pdf_fonts(pdf)]
    assert len(names) == 2 and any(name.endswith("Bold") for name in names)


@pytest.mark.skipif(shutil.which("pdffonts") is None, reason="poppler-utils not installed")
def test_the_configured_font_comes_first(app: Flask, runner: FlaskCliRunner, tmp_path: Path) -> None:
    packaged = fonts.packaged_font()
    assert packaged is not None
    app.config["KIOSK_CJK_FONT"] = str(packaged)  # regular only, whatever the system has
    pdf = tmp_path / "wall.pdf"
    assert runner.invoke(args=["wall", "--base-url", BASE, "-o", str(pdf)]).exit_code == 0
    names = [row[0] for row in pdf_fonts(pdf)]
    assert len(names) == 1 and names[0].endswith("+NotoSansCJKSC")


def test_a_configured_font_that_is_not_there_stops_the_wall(
    app: Flask, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    missing = tmp_path / "gone.ttc"
    app.config["KIOSK_CJK_FONT"] = str(missing)
    out = tmp_path / "out"
    out.mkdir()
    result = runner.invoke(args=["wall", "--base-url", BASE, "-o", str(out / "wall.pdf")])
    assert result.exit_code != 0
    assert str(missing) in result.output
    assert list(out.iterdir()) == []
