"""Pinyin sort keys and search text, so Chinese titles order and match as readers expect.

pypinyin's dictionaries cost ~55 MB per process, and only writes (a new title, an import)
need them, never a visitor's request: they are loaded on first use, not at import.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

_SPACES = re.compile(r"\s+")


def normalise(text: str) -> str:
    """Fold width and case, and drop spaces, for matching user input against stored text."""
    return _SPACES.sub("", unicodedata.normalize("NFKC", text).casefold())


def sort_key(text: str) -> str:
    """A key that orders Chinese by pinyin (tone as tie-break) and Latin text alphabetically.

    ``lazy_pinyin`` leaves non-Han runs as they are, so "AI时代" sorts among the A's.
    """
    from pypinyin import Style, lazy_pinyin

    syllables = lazy_pinyin(normalise(text), style=Style.TONE3, neutral_tone_with_five=True)
    return " ".join(syllables)


def search_text(values: Iterable[str]) -> str:
    """Everything a visitor might type to find ``values``: characters, pinyin, initials."""
    from pypinyin import Style, lazy_pinyin

    variants: list[str] = []
    for value in values:
        if not value:
            continue
        folded = normalise(value)
        variants.append(folded)
        variants.append("".join(lazy_pinyin(folded)))
        variants.append("".join(lazy_pinyin(folded, style=Style.FIRST_LETTER)))
    return "|".join(dict.fromkeys(v for v in variants if v))
