"""Split a chapter's text into sentences the way a Chinese reader reads it aloud.

A sentence ends at 。！？；… (and their half-width !?), at an English full stop that is
followed by a space or the end, and at every line break (each line of a Chinese text is a
paragraph). Closing quotes and brackets after the end — 」』”’")）》 — stay with their
sentence, as does a run of enders (``？！``, ``……``). A fragment with no letter or digit of
its own (a lone ``——``) joins the sentence before it. Paragraphs are numbered, so a long
chapter can be aligned in pieces cut between paragraphs.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

ENDERS = frozenset("。！？；…!?｡")
CLOSERS = frozenset("」』”’\"')）)》〉】〕]｣")
# "Mr. Li" is no sentence end, nor "3.14", nor "e.g. this".
ABBREVIATIONS = frozenset({"mr", "mrs", "ms", "dr", "st", "prof", "sr", "jr", "vs", "etc", "e.g", "i.e", "no", "p"})
SPACE = re.compile(r"[ \t\u3000\u00a0]+")


@dataclass(frozen=True)
class Sentence:
    """One sentence: its text (trimmed) and the number of the paragraph it is in (from 0)."""

    text: str
    paragraph: int

    def as_dict(self) -> dict[str, object]:
        """As stored in ``ChapterText.sentences``."""
        return {"text": self.text, "paragraph": self.paragraph}


def normalise(text: str) -> str:
    """NFC, Unix line breaks, no BOM or control characters, runs of spaces made one."""
    text = unicodedata.normalize("NFC", text.replace("\ufeff", ""))
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n").replace("\u2029", "\n")
    kept = "".join(c for c in text if c == "\n" or unicodedata.category(c) != "Cc" or c == "\t")
    return "\n".join(SPACE.sub(" ", line).strip() for line in kept.split("\n"))


def split(text: str) -> list[Sentence]:
    """The sentences of ``text``, in order, each with its paragraph number."""
    sentences: list[Sentence] = []
    paragraph = 0
    for line in normalise(text).split("\n"):
        pieces = _split_line(line)
        if not pieces:
            continue
        sentences.extend(Sentence(piece, paragraph) for piece in pieces)
        paragraph += 1
    return sentences


def _split_line(line: str) -> list[str]:
    """The sentences of one line (one paragraph)."""
    pieces: list[str] = []
    start = 0
    i = 0
    while i < len(line):
        if _ends_here(line, i):
            end = i + 1
            while end < len(line) and (line[end] in ENDERS or line[end] == "."):
                end += 1
            while end < len(line) and line[end] in CLOSERS:
                end += 1
            _add(pieces, line[start:end])
            start = i = end
            continue
        i += 1
    _add(pieces, line[start:])
    return pieces


def _ends_here(line: str, i: int) -> bool:
    """Whether the character at ``i`` ends a sentence."""
    char = line[i]
    if char in ENDERS:
        return True
    if char != ".":
        return False
    after = line[i + 1 : i + 2]
    if after == ".":  # "..." is an ellipsis: it ends where the dots end
        return True
    if after and after not in " " and after not in CLOSERS:
        return False  # 3.14, example.org
    word = re.search(r"([A-Za-z.]+)$", line[:i])
    return not (word and word.group(1).lower() in ABBREVIATIONS)


def _add(pieces: list[str], piece: str) -> None:
    """Append a trimmed piece; one with nothing to read joins the piece before it."""
    piece = piece.strip()
    if not piece:
        return
    if pieces and not any(c.isalnum() for c in piece):
        pieces[-1] += piece
        return
    pieces.append(piece)


def paragraphs(sentences: list[Sentence]) -> list[list[int]]:
    """The indexes of ``sentences`` grouped by paragraph, in order."""
    groups: dict[int, list[int]] = {}
    for index, sentence in enumerate(sentences):
        groups.setdefault(sentence.paragraph, []).append(index)
    return list(groups.values())
