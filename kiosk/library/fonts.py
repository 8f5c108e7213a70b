"""Which CJK font draws Chinese: the one lookup behind the printed wall and the generated covers.

In order: the file ``KIOSK_CJK_FONT`` names; Noto Sans CJK (or Source Han Sans,
WenQuanYi) installed on this machine, e.g. by Debian's ``fonts-noto-cjk``; last,
the Noto Sans CJK collection that the ``noto-cjk-sans-otc`` package ships (SIL
OFL 1.1, byte for byte Debian's regular face), so a machine with Python and
nothing else still prints and draws Chinese. That package has no bold weight:
asked for bold, the lookup answers with the regular face rather than nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Literal

from flask import current_app, has_app_context
from fontTools.ttLib import TTCollection

Weight = Literal["regular", "bold"]

FONT_ROOTS: tuple[Path, ...] = (
    Path("/usr/share/fonts"), Path("/usr/local/share/fonts"), Path.home() / ".fonts",
)
SYSTEM_FONT_NAMES: dict[Weight, tuple[str, ...]] = {
    "regular": ("NotoSansCJK-Regular.ttc", "NotoSansCJKsc-Regular.otf", "NotoSansSC-Regular.otf",
                "SourceHanSansSC-Regular.otf", "SourceHanSans-Regular.ttc",
                "wqy-microhei.ttc", "wqy-zenhei.ttc"),
    "bold": ("NotoSansCJK-Bold.ttc", "NotoSansCJKsc-Bold.otf", "NotoSansSC-Bold.otf",
             "SourceHanSansSC-Bold.otf", "SourceHanSans-Bold.ttc"),
}
PACKAGED_FONT = ("noto_cjk_sans_otc", "NotoSansCJK-Regular.ttc")  # (package, file)
COLLECTION_SUFFIXES = (".ttc", ".otc")


class FontError(LookupError):
    """No CJK font can be had (or ``KIOSK_CJK_FONT`` names a file that is not there)."""


@dataclass(frozen=True)
class FontFace:
    """A font file and, in a collection, the index of the Simplified Chinese face."""

    path: Path
    index: int = 0


def cjk_face(weight: Weight = "regular") -> FontFace:
    """The font to draw Chinese in: configured, else the system's, else the packaged one."""
    path = configured_font()
    if path is None:
        path = system_font(weight)
    if path is None and weight == "bold":
        return cjk_face("regular")
    if path is None:
        path = packaged_font()
    if path is None:
        raise FontError("没有找到中文字体：请安装 fonts-noto-cjk 或 noto-cjk-sans-otc，"
                        "或用 KIOSK_CJK_FONT 指定字体文件")
    return FontFace(path, sc_index(path))


def configured_font() -> Path | None:
    """The file ``KIOSK_CJK_FONT`` names, if set; a name that is not a file is an error."""
    setting = current_app.config.get("KIOSK_CJK_FONT") if has_app_context() else None
    if not setting:
        return None
    path = Path(setting)
    if not path.is_file():
        raise FontError(f"KIOSK_CJK_FONT 指定的字体文件不存在：{path}")
    return path


def system_font(weight: Weight) -> Path | None:
    """The first of the known CJK font files for ``weight`` installed on this machine."""
    return _search(FONT_ROOTS, SYSTEM_FONT_NAMES[weight])


def packaged_font() -> Path | None:
    """The font file shipped inside the ``noto-cjk-sans-otc`` package, if it is installed."""
    package, name = PACKAGED_FONT
    try:
        path = Path(str(files(package) / name))
    except ModuleNotFoundError:
        return None
    return path if path.is_file() else None


@cache
def _search(roots: tuple[Path, ...], names: tuple[str, ...]) -> Path | None:
    """The first of ``names`` (in their order) found under ``roots``; walked once per process."""
    for root in roots:
        if not root.is_dir():
            continue
        by_name = {path.name: path for path in root.rglob("*") if path.name in names}
        for name in names:
            if name in by_name:
                return by_name[name]
    return None


@cache
def sc_index(path: Path) -> int:
    """In a collection, the face for Simplified Chinese (else the first face).

    Noto's collections open with the Japanese face; drawing Chinese with it gives
    Japanese glyph shapes for characters such as 骨 or 直.
    """
    if path.suffix.lower() not in COLLECTION_SUFFIXES:
        return 0
    faces = TTCollection(str(path), lazy=True).fonts
    for index, face in enumerate(faces):
        family = face["name"].getDebugName(1) or ""
        if family.endswith(" SC") or " SC " in family:
            return index
    return 0
