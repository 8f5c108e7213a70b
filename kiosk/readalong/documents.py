"""Read a chapter's text from a file a librarian has: plain text (UTF-8 or GB18030) or an EPUB.

An EPUB's chapters are read in its spine's order; each XHTML block element (``p``, ``h1``…,
``li``, ``div``, ``br``) ends a line, so paragraphs stay paragraphs. Scripts and styles are
skipped. Nothing here touches the database.
"""

from __future__ import annotations

import io
import posixpath
import zipfile
from html.parser import HTMLParser
from xml.etree import ElementTree

from flask_babel import gettext

MAX_FILE_BYTES = 20 * 1024 * 1024
BLOCKS = frozenset({"p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "tr", "section"})
SKIPPED = frozenset({"script", "style", "head", "title"})
OPF_NS = {"opf": "http://www.idpf.org/2007/opf", "c": "urn:oasis:names:tc:opendocument:xmlns:container"}


class UnreadableText(Exception):
    """A file we cannot read a text from; ``message`` says why, for the librarian."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def read_text_file(filename: str, data: bytes) -> str:
    """The text of a ``.txt`` or ``.epub`` file."""
    if len(data) > MAX_FILE_BYTES:
        raise UnreadableText(gettext("文件太大了，最大 20 MiB。"))
    name = filename.lower()
    if name.endswith(".epub") or data[:4] == b"PK\x03\x04":
        return epub_text(data)
    if name.endswith(".txt") or not name:
        return decode_text(data)
    raise UnreadableText(gettext("只能读取 .txt 或 .epub 文件。"))


def decode_text(data: bytes) -> str:
    """Plain text in UTF-8 (with or without BOM), UTF-16 with BOM, or GB18030 (GBK, GB2312)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise UnreadableText(gettext("读不出这个文本文件的编码，请存成 UTF-8 或 GB18030 再上传。"))


def epub_text(data: bytes) -> str:
    """The text of every XHTML document of an EPUB's spine, in reading order."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as book:
            documents = _spine(book)
            parts = [xhtml_text(book.read(path).decode("utf-8", "replace")) for path in documents]
    except (zipfile.BadZipFile, KeyError, ElementTree.ParseError, ValueError) as error:
        raise UnreadableText(gettext("这个 EPUB 文件打不开或不完整。")) from error
    text = "\n".join(part for part in parts if part.strip())
    if not text.strip():
        raise UnreadableText(gettext("这个 EPUB 文件里没有文字。"))
    return text


def _spine(book: zipfile.ZipFile) -> list[str]:
    """The paths of the spine's documents, from ``META-INF/container.xml`` and the package file."""
    container = ElementTree.fromstring(book.read("META-INF/container.xml"))  # noqa: S314 - no entities expanded
    rootfile = container.find(".//c:rootfile", OPF_NS)
    if rootfile is None:
        raise ValueError("no rootfile")
    opf_path = rootfile.attrib["full-path"]
    package = ElementTree.fromstring(book.read(opf_path))  # noqa: S314
    base = posixpath.dirname(opf_path)
    items = {item.attrib["id"]: item.attrib["href"] for item in package.iterfind(".//opf:manifest/opf:item", OPF_NS)}
    spine = [ref.attrib["idref"] for ref in package.iterfind(".//opf:spine/opf:itemref", OPF_NS)]
    return [posixpath.normpath(posixpath.join(base, items[idref])) for idref in spine if idref in items]


class _TextOfXhtml(HTMLParser):
    """Collects an XHTML document's text, a line per block element."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in SKIPPED:
            self.skipping += 1
        elif tag in BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in SKIPPED:
            self.skipping = max(0, self.skipping - 1)
        elif tag in BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data.replace("\n", " "))


def xhtml_text(markup: str) -> str:
    """The text of one XHTML document, block elements on lines of their own."""
    parser = _TextOfXhtml()
    parser.feed(markup)
    parser.close()
    lines = ("".join(parser.parts)).split("\n")
    return "\n".join(line.strip() for line in lines if line.strip())
