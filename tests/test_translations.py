"""Every user-facing string has an English translation, and the compiled catalogue is current."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_english_catalogue_is_complete_and_compiled() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "translations.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_chinese_strings_use_full_width_punctuation() -> None:
    """Beside Chinese characters, commas, colons and brackets are the full-width ones (，：（）)."""
    from babel.messages.pofile import read_po

    catalogue_path = ROOT / "kiosk" / "translations" / "en" / "LC_MESSAGES" / "messages.po"
    with catalogue_path.open("rb") as handle:
        catalogue = read_po(handle)
    chinese = r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]"
    half_width_beside_hanzi = re.compile(rf"{chinese}[(),:;?!]|[(),:;?!]{chinese}")
    offending = [message.id for message in catalogue
                 if isinstance(message.id, str) and half_width_beside_hanzi.search(message.id)]
    assert offending == []
