"""What a chapter's timed text becomes: WebVTT, JSON, and a book's EPUB 3 with Media Overlays.

WebVTT has one cue per sentence (what a ``<track>`` element, Apple Podcasts and
``<podcast:transcript>`` take). The EPUB holds each aligned chapter as an XHTML page whose
sentences are ``<span>``s, its audio, and a SMIL overlay of ``par`` elements (a sentence's
``text`` and its ``audio`` ``clipBegin``/``clipEnd``), which Apple Books and DAISY readers
play in sync. Nothing here touches the database or the request.
"""

from __future__ import annotations

import uuid
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any
from xml.sax.saxutils import escape, quoteattr

from kiosk.readalong.sentences import Sentence, paragraphs

EPUB_NAMESPACE = uuid.UUID("0b7c7a52-5a0e-4f4e-9d55-3f0c8a1f2b61")  # book ids → stable EPUB identifiers


def vtt_time(seconds: float) -> str:
    """``HH:MM:SS.mmm``, as WebVTT and SMIL clock values write time."""
    millis = max(0, round(seconds * 1000))
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}.{millis:03d}"


def webvtt(sentences: Sequence[Sentence], cues: Sequence[Sequence[float]]) -> str:
    """A WebVTT file with one cue per sentence (a cue's text never holds ``-->`` or a blank line)."""
    lines = ["WEBVTT", ""]
    for number, (sentence, (start_s, end_s)) in enumerate(zip(sentences, cues, strict=True), start=1):
        text = sentence.text.replace("-->", "→").replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        lines += [f"s{number}", f"{vtt_time(start_s)} --> {vtt_time(max(end_s, start_s))}", text, ""]
    return "\n".join(lines)


def transcript_json(track_id: int, sentences: Sequence[Sentence], cues: Sequence[Sequence[float]] | None,
                    vtt_url: str | None) -> dict[str, Any]:
    """The sentences (with ``start_s``/``end_s`` when aligned) as the API and the player read them."""
    items: list[dict[str, Any]] = []
    for index, sentence in enumerate(sentences):
        item: dict[str, Any] = {"index": index, "text": sentence.text, "paragraph": sentence.paragraph}
        if cues is not None:
            item["start_s"], item["end_s"] = round(cues[index][0], 3), round(cues[index][1], 3)
        items.append(item)
    return {"track_id": track_id, "aligned": cues is not None, "vtt_url": vtt_url, "sentences": items}


# ---- EPUB 3 with Media Overlays ------------------------------------------------------------


@dataclass(frozen=True)
class EpubChapter:
    """One aligned chapter: its title, sentences, their timing, and its audio file."""

    title: str
    sentences: list[Sentence]
    cues: list[list[float]]
    audio: Path
    duration_s: float


@dataclass(frozen=True)
class EpubBook:
    """The book around the chapters."""

    book_id: int
    title: str
    author: str
    language: str
    chapters: list[EpubChapter]


def write_epub(book: EpubBook, out: IO[bytes]) -> None:
    """Write ``book`` as an EPUB 3 with Media Overlays to ``out`` (``mimetype`` first, stored)."""
    with zipfile.ZipFile(out, "w") as epub:
        epub.writestr(zipfile.ZipInfo("mimetype"), "application/epub+zip", compress_type=zipfile.ZIP_STORED)
        deflate = {"compress_type": zipfile.ZIP_DEFLATED}
        epub.writestr("META-INF/container.xml", CONTAINER, **deflate)
        epub.writestr("OEBPS/package.opf", _package(book), **deflate)
        epub.writestr("OEBPS/nav.xhtml", _nav(book), **deflate)
        epub.writestr("OEBPS/style.css", STYLE, **deflate)
        for number, chapter in enumerate(book.chapters, start=1):
            epub.writestr(f"OEBPS/c{number}.xhtml", _chapter_page(book, chapter, number), **deflate)
            epub.writestr(f"OEBPS/c{number}.smil", _overlay(chapter, number), **deflate)
            epub.write(chapter.audio, f"OEBPS/audio/c{number}.mp3", compress_type=zipfile.ZIP_STORED)


CONTAINER = """<?xml version="1.0" encoding="UTF-8"?>
<container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">
  <rootfiles><rootfile full-path="OEBPS/package.opf" media-type="application/oebps-package+xml"/></rootfiles>
</container>
"""
STYLE = ".-epub-media-overlay-active { background-color: #ffe8a3; }\np { line-height: 1.8; }\n"


def _package(book: EpubBook) -> str:
    modified = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    total_s = sum(chapter.duration_s for chapter in book.chapters)
    items, spine, durations = [], [], []
    for n, chapter in enumerate(book.chapters, start=1):
        items += [
            f'<item id="c{n}" href="c{n}.xhtml" media-type="application/xhtml+xml" media-overlay="o{n}"/>',
            f'<item id="o{n}" href="c{n}.smil" media-type="application/smil+xml"/>',
            f'<item id="a{n}" href="audio/c{n}.mp3" media-type="audio/mpeg"/>',
        ]
        spine.append(f'<itemref idref="c{n}"/>')
        durations.append(f'<meta property="media:duration" refines="#o{n}">{vtt_time(chapter.duration_s)}</meta>')
    author = f"<dc:creator>{escape(book.author)}</dc:creator>" if book.author else ""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="book-id" xml:lang="{book.language}">
  <metadata xmlns:dc="http://purl.org/dc/elements/1.1/">
    <dc:identifier id="book-id">urn:uuid:{uuid.uuid5(EPUB_NAMESPACE, str(book.book_id))}</dc:identifier>
    <dc:title>{escape(book.title)}</dc:title>
    <dc:language>{book.language}</dc:language>
    {author}
    <meta property="dcterms:modified">{modified}</meta>
    <meta property="media:active-class">-epub-media-overlay-active</meta>
    <meta property="media:duration">{vtt_time(total_s)}</meta>
    {"".join(durations)}
  </metadata>
  <manifest>
    <item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" properties="nav"/>
    <item id="css" href="style.css" media-type="text/css"/>
    {"".join(items)}
  </manifest>
  <spine>{"".join(spine)}</spine>
</package>
"""


def _page(book: EpubBook, title: str, body: str, extra: str = "") -> str:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE html>
<html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops" lang="{book.language}" \
xml:lang="{book.language}">
<head><meta charset="utf-8"/><title>{escape(title)}</title>{extra}</head>
<body>{body}</body>
</html>
"""


def _nav(book: EpubBook) -> str:
    entries = "".join(f'<li><a href="c{n}.xhtml">{escape(c.title)}</a></li>'
                      for n, c in enumerate(book.chapters, start=1))
    body = f'<nav epub:type="toc" id="toc"><h1>{escape(book.title)}</h1><ol>{entries}</ol></nav>'
    return _page(book, book.title, body)


def _chapter_page(book: EpubBook, chapter: EpubChapter, number: int) -> str:
    blocks = []
    for group in paragraphs(chapter.sentences):
        spans = "".join(f'<span id="c{number}s{i + 1}">{escape(chapter.sentences[i].text)}</span>' for i in group)
        blocks.append(f"<p>{spans}</p>")
    heading = f"<h1>{escape(chapter.title)}</h1>"
    body = f'<section epub:type="chapter" id="c{number}sec">{heading}{"".join(blocks)}</section>'
    return _page(book, chapter.title, body, '<link rel="stylesheet" type="text/css" href="style.css"/>')


def _overlay(chapter: EpubChapter, number: int) -> str:
    pars = []
    for index, (start_s, end_s) in enumerate(chapter.cues, start=1):
        text = quoteattr(f"c{number}.xhtml#c{number}s{index}")
        pars.append(f'<par id="c{number}p{index}"><text src={text}/>'
                    f'<audio src="audio/c{number}.mp3" clipBegin="{vtt_time(start_s)}" '
                    f'clipEnd="{vtt_time(max(end_s, start_s + 0.001))}"/></par>')
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<smil xmlns="http://www.w3.org/ns/SMIL" xmlns:epub="http://www.idpf.org/2007/ops" version="3.0">
  <body><seq id="c{number}seq" epub:textref="c{number}.xhtml#c{number}sec" epub:type="chapter">
    {"".join(pars)}
  </seq></body>
</smil>
"""
