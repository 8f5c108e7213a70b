"""A book, or a whole section, as a DAISY 2.02 talking book: an NCC, one SMIL 1.0 file per heading, a master
SMIL, and the MP3s. One builder serves both: what it publishes is a ``Publication``.

The NCC (``ncc.html``, XHTML 1.0) opens with ``h1 class="title"`` naming the publication, as DAISY
2.02 requires of its first heading. A book's chapters are ``h2`` under it. A section's books are
``h2`` and their chapters ``h3`` (the structure section → book → chapter). Every heading points
to the ``text`` element of a SMIL ``par`` whose ``audio`` is the clip to play. The title's clip,
and each book heading's in a section, is a second of silence (``title.mp3``, written here byte by
byte) since the library has no recorded titles: a heading must not replay a chapter. File names
are ASCII, as 2.02 asks.

Where read-along has timed a chapter's text, the publication carries that text in sync: a content
document (``content.html``) holds the chapters' sentences, and the chapter's SMIL has one
``par`` per sentence, its clip running from the sentence's start to the next one's, so
playing straight through still plays every moment of the recording. The NCC then says
``audioPartText`` (some chapters) or ``audioFullText`` (all).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property

from markupsafe import escape

from kiosk.exports.book import Chapter, ExportedBook, ExportedSection, TimedSentence

GENERATOR = "youshengtushuguan-kiosk"
# One MPEG-1 Layer III frame, 32 kbit/s, 48 kHz, mono: a 4-byte header and 92 zero bytes
# (all-zero side information: no coded samples), 1,152 samples = 24 ms of silence.
SILENT_FRAME = bytes((0xFF, 0xFB, 0x14, 0xC4)) + bytes(92)
TITLE_FRAMES = 40  # 0.96 s
TITLE_MS = TITLE_FRAMES * 24
TITLE_AUDIO = "title.mp3"
TITLE_CLASS = ' class="title"'
CONTENT = "content.html"
SILENT_HEADING_MS = 50  # a chapter whose first sentence starts sooner has a heading par without audio

SMIL_DOCTYPE = '<!DOCTYPE smil PUBLIC "-//W3C//DTD SMIL 1.0//EN" "http://www.w3.org/TR/REC-smil/SMIL10.dtd">'
XHTML_DOCTYPE = ('<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" '
                 '"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">')


@dataclass(frozen=True)
class Entry:
    """One heading of the NCC: its SMIL file, its audio file and how long it plays.

    ``chapter`` is the recording it plays; the title's and the books' headings have none (they play silence).
    """

    level: int
    heading_id: str
    smil: str
    audio: str
    title: str
    duration_ms: int
    text_id: str
    sentences: tuple[TimedSentence, ...] = ()
    chapter: Chapter | None = None


@dataclass(frozen=True)
class Publication:
    """What one DAISY fileset publishes: a book, or a section whose books are headings of their own."""

    title: str
    creator: str
    subject: str
    date: str  # yyyy-mm-dd, dc:date
    path: str  # on the site: the publication's page, its dc:identifier
    folder: str  # the fileset's folder in the ZIP
    books: tuple[ExportedBook, ...]
    nested: bool  # a section: each book an h2 under the title, its chapters h3

    @property
    def chapters(self) -> list[Chapter]:
        """Every chapter, in reading order."""
        return [chapter for book in self.books for chapter in book.chapters]

    @property
    def readers(self) -> list[str]:
        """Its readers, in the order they first read."""
        return list(dict.fromkeys(reader for book in self.books for reader in book.readers))

    @cached_property
    def entries(self) -> list[Entry]:
        """The title, then (in a section) each book's heading followed by its chapters, in reading order."""
        count = len(self.chapters) + (len(self.books) if self.nested else 0)
        width = max(4, len(str(count)))
        listed = [Entry(1, f"h{0:0{width}d}", "title.smil", TITLE_AUDIO, self.title, TITLE_MS, f"t{0:0{width}d}")]
        number = 0
        for book in self.books:
            if self.nested:
                number += 1
                listed.append(Entry(2, f"h{number:0{width}d}", f"b{number:0{width}d}.smil", TITLE_AUDIO, book.title,
                                    TITLE_MS, f"t{number:0{width}d}"))
            for chapter in book.chapters:
                number += 1
                name = f"c{number:0{width}d}"
                listed.append(Entry(3 if self.nested else 2, f"h{number:0{width}d}", f"{name}.smil", f"{name}.mp3",
                                    chapter.title, chapter.duration_ms, f"t{number:0{width}d}", chapter.sentences,
                                    chapter))
        return listed


def of_book(book: ExportedBook) -> Publication:
    """A book as its own publication: its title the h1, its chapters h2."""
    return Publication(book.title, book.author or book.section, book.section, book.created_on, f"/books/{book.id}",
                       f"book-{book.id}", (book,), nested=False)


def of_section(section: ExportedSection) -> Publication:
    """A section as one publication: its name the h1, its books h2 in visitor order, their chapters h3."""
    authors = {book.author for book in section.books}
    creator = authors.pop() if len(authors) == 1 and "" not in authors else section.name
    return Publication(section.name, creator, section.name, max(book.created_on for book in section.books),
                       f"/sections/{section.slug}", f"section-{section.slug}", tuple(section.books), nested=True)


def clock(duration_ms: int) -> str:
    """``hh:mm:ss`` as the NCC's totalTime and the SMILs' elapsed times are written."""
    total_s = round(duration_ms / 1000)
    return f"{total_s // 3600:02d}:{total_s % 3600 // 60:02d}:{total_s % 60:02d}"


def seconds(duration_ms: int) -> str:
    """SMIL clock value in seconds with milliseconds: ``12.345s``."""
    return f"{duration_ms / 1000:.3f}s"


def has_text(publication: Publication) -> bool:
    """Whether any chapter carries its text in time (then the publication has a content document)."""
    return any(chapter.sentences for chapter in publication.chapters)


def multimedia_type(publication: Publication) -> str:
    """ncc:multimediaType: audio and NCC only, or with part or all of the text."""
    chapters = publication.chapters
    timed = sum(1 for chapter in chapters if chapter.sentences)
    if not timed:
        return "audioNcc"
    return "audioFullText" if timed == len(chapters) else "audioPartText"


def sentence_id(entry: Entry, index: int) -> str:
    """The id of a sentence in the content document: ``s0003_0012``."""
    return f"s{entry.text_id[1:]}_{index + 1:04d}"


def title_audio() -> bytes:
    """The title heading's clip: TITLE_MS of silence as MP3."""
    return SILENT_FRAME * TITLE_FRAMES


def identifier(publication: Publication, site: str) -> str:
    """dc:identifier: the library's address and the publication's page."""
    return f"{site}{publication.path}"


def ncc(publication: Publication, site: str, file_count: int, total_bytes: int) -> str:
    """The navigation control centre, ``ncc.html``."""
    listed = publication.entries
    meta = {
        "dc:title": publication.title, "dc:creator": publication.creator, "dc:date": publication.date,
        "dc:format": "Daisy 2.02", "dc:identifier": identifier(publication, site), "dc:language": "zh-CN",
        "dc:publisher": site, "dc:subject": publication.subject, "ncc:charset": "utf-8",
        "ncc:depth": str(max(entry.level for entry in listed)),
        "ncc:files": str(file_count), "ncc:footnotes": "0", "ncc:generator": GENERATOR,
        "ncc:kByteSize": str(-(-total_bytes // 1024)), "ncc:maxPageNormal": "0",
        "ncc:multimediaType": multimedia_type(publication),
        "ncc:narrator": "、".join(publication.readers), "ncc:pageFront": "0", "ncc:pageNormal": "0",
        "ncc:pageSpecial": "0", "ncc:prodNotes": "0", "ncc:setInfo": "1 of 1", "ncc:sidebars": "0",
        "ncc:tocItems": str(len(listed)), "ncc:totalTime": clock(sum(entry.duration_ms for entry in listed)),
    }
    body = "\n".join(
        f'<h{e.level}{TITLE_CLASS if e.level == 1 else ""} id="{e.heading_id}">'
        f'<a href="{e.smil}#{e.text_id}">{escape(e.title)}</a></h{e.level}>' for e in listed
    )
    return _xhtml(publication.title, _meta_tags(meta) + "\n", body)


def smil_files(publication: Publication, site: str) -> Iterator[tuple[str, str]]:
    """``(name, text)`` of each entry's SMIL file, with the time elapsed before it."""
    elapsed_ms = 0
    for entry in publication.entries:
        yield entry.smil, _smil(publication, site, entry, elapsed_ms)
        elapsed_ms += entry.duration_ms


def _smil(publication: Publication, site: str, entry: Entry, elapsed_ms: int) -> str:
    meta = {"dc:format": "Daisy 2.02", "dc:title": publication.title, "dc:identifier": identifier(publication, site),
            "ncc:generator": GENERATOR, "ncc:totalElapsedTime": clock(elapsed_ms),
            "ncc:timeInThisSmil": clock(entry.duration_ms)}
    return _smil_document(meta, f'<seq dur="{seconds(entry.duration_ms)}">\n{"".join(_pars(entry))}</seq>')


def _meta_tags(meta: dict[str, str]) -> str:
    return "\n".join(f'<meta name="{name}" content="{escape(value)}"/>' for name, value in meta.items())


def _smil_document(meta: dict[str, str], body: str) -> str:
    """A SMIL 1.0 file: its metadata, the one text region 2.02 asks for, and ``body``."""
    return (f'<?xml version="1.0" encoding="utf-8"?>\n{SMIL_DOCTYPE}\n<smil>\n<head>\n{_meta_tags(meta)}\n'
            f'<layout><region id="txtView"/></layout>\n</head>\n<body>\n{body}\n</body>\n</smil>\n')


def _xhtml(title: str, head: str, body: str) -> str:
    """An XHTML 1.0 document in Chinese (the NCC, the content document)."""
    return (f'<?xml version="1.0" encoding="utf-8"?>\n{XHTML_DOCTYPE}\n'
            '<html xmlns="http://www.w3.org/1999/xhtml" lang="zh-CN" xml:lang="zh-CN">\n<head>\n'
            '<meta http-equiv="Content-type" content="text/html; charset=utf-8"/>\n'
            f"<title>{escape(title)}</title>\n{head}</head>\n<body>\n{body}\n</body>\n</html>\n")


def _pars(entry: Entry) -> list[str]:
    """The heading's ``par``, then one per sentence, their clips end to end over the whole chapter."""
    number = entry.text_id[1:]
    if not entry.sentences:
        return [_par(f"p{number}", f"ncc.html#{entry.heading_id}", entry.text_id, entry.audio, f"a{number}",
                     0, entry.duration_ms)]
    starts: list[int] = []
    for sentence in entry.sentences:  # clamped into the chapter, never going back
        starts.append(min(max(sentence.start_ms, starts[-1] if starts else 0), entry.duration_ms))
    starts[0] = starts[0] if starts[0] >= SILENT_HEADING_MS else 0
    ends = [*starts[1:], entry.duration_ms]
    heading_end = starts[0]  # the heading's own clip: whatever is read before the first sentence
    pars = [_par(f"p{number}", f"{CONTENT}#d{number}", entry.text_id, entry.audio, f"a{number}", 0, heading_end)]
    for index, (start, end) in enumerate(zip(starts, ends, strict=True)):
        if end > start:
            sid = sentence_id(entry, index)
            pars.append(_par(f"p{sid[1:]}", f"{CONTENT}#{sid}", f"t{sid[1:]}", entry.audio, f"a{sid[1:]}", start, end))
    return pars


def _par(par_id: str, text_src: str, text_id: str, audio: str, audio_id: str, begin_ms: int, end_ms: int) -> str:
    """One ``par``: its text, and its audio clip when it has one (a heading read with no pause has none)."""
    clip = (f'<audio src="{audio}" clip-begin="npt={seconds(begin_ms)}" clip-end="npt={seconds(end_ms)}" '
            f'id="{audio_id}"/>\n') if end_ms > begin_ms else ""
    return f'<par endsync="last" id="{par_id}">\n<text src="{text_src}" id="{text_id}"/>\n{clip}</par>\n'


def content_html(publication: Publication) -> str:
    """The content document: the title, and each timed chapter's heading and sentences by paragraph (in a
    section, under its book's heading)."""
    title, *rest = publication.entries
    parts = [_heading(title)]
    book_heading: Entry | None = None
    for entry in rest:
        if entry.chapter is None:  # a book's heading: written before its first timed chapter, if any
            book_heading = entry
            continue
        if not entry.sentences:
            continue
        if book_heading is not None:
            parts.append(_heading(book_heading))
            book_heading = None
        parts.append(_heading(entry))
        paragraph: list[str] = []
        for index, sentence in enumerate(entry.sentences):
            if paragraph and sentence.paragraph != entry.sentences[index - 1].paragraph:
                parts.append(f"<p>{''.join(paragraph)}</p>")
                paragraph = []
            paragraph.append(f'<span id="{sentence_id(entry, index)}">{escape(sentence.text)}</span>')
        if paragraph:
            parts.append(f"<p>{''.join(paragraph)}</p>")
    return _xhtml(publication.title, "", "\n".join(parts))


def _heading(entry: Entry) -> str:
    return f'<h{entry.level} id="d{entry.text_id[1:]}">{escape(entry.title)}</h{entry.level}>'


def master_smil(publication: Publication, site: str) -> str:
    """``master.smil``: every SMIL file in order (optional in 2.02, read by some players)."""
    listed = publication.entries
    meta = {"dc:format": "Daisy 2.02", "dc:title": publication.title, "dc:identifier": identifier(publication, site),
            "ncc:generator": GENERATOR, "ncc:timeInThisSmil": clock(sum(e.duration_ms for e in listed))}
    refs = "\n".join(f'<ref src="{e.smil}" title="{escape(e.title)}" id="m{e.text_id[1:]}"/>' for e in listed)
    return _smil_document(meta, refs)
