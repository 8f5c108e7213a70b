"""A book as a ZIP streamed to the visitor: DAISY 2.02, or numbered MP3s with an M3U playlist.

The archive is zipstream-ng's ``ZipStream``: entries are stored (MP3 does not compress), each
file read in small pieces while the response is sent, so memory stays flat however long the
book and nothing is copied to disk; being sized, its ``Content-Length`` is known up front and a
phone shows real progress.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from zipstream import ZIP_STORED, ZipStream

from kiosk.exports import daisy
from kiosk.exports.book import ExportedBook

_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f]+')


@dataclass(frozen=True)
class Archive:
    """A ZIP ready to stream: its size, its download name, and its bytes on iteration."""

    stream: ZipStream
    filename: str

    @property
    def size_bytes(self) -> int:
        """The exact length of the ZIP."""
        return len(self.stream)

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.stream)


def safe_name(text: str, limit: int = 60) -> str:
    """``text`` fit to be a file name on any player's file system (characters kept, separators gone)."""
    cleaned = _UNSAFE.sub(" ", text).strip().strip(".")
    return cleaned[:limit] or "book"


def daisy_zip(publication: daisy.Publication, site: str) -> Archive:
    """A book or a section as a DAISY 2.02 fileset in one folder (``book-<id>``, ``section-<slug>``)."""
    folder = publication.folder
    title_clip = daisy.title_audio()
    smils = [(name, text.encode()) for name, text in daisy.smil_files(publication, site)]
    master = daisy.master_smil(publication, site).encode()
    content = daisy.content_html(publication).encode() if daisy.has_text(publication) else b""
    recordings = [(entry.audio, entry.chapter) for entry in publication.entries if entry.chapter is not None]
    sizes = len(title_clip) + len(master) + len(content) + sum(len(data) for _, data in smils)
    sizes += sum(chapter.size_bytes for _, chapter in recordings)
    # ncc, master, smils, title clip, recordings, and the content document where there is text
    file_count = 1 + 1 + len(smils) + 1 + len(recordings) + (1 if content else 0)
    ncc, settled = b"", False
    while not settled:  # the fileset's size counts the NCC, which states it: settled in a step or two
        written = daisy.ncc(publication, site, file_count, sizes + len(ncc)).encode()
        ncc, settled = written, len(written) == len(ncc)
    stream = ZipStream(compress_type=ZIP_STORED, sized=True)
    stream.add(ncc, f"{folder}/ncc.html")
    stream.add(master, f"{folder}/master.smil")
    if content:
        stream.add(content, f"{folder}/{daisy.CONTENT}")
    for name, data in smils:
        stream.add(data, f"{folder}/{name}")
    stream.add(title_clip, f"{folder}/{daisy.TITLE_AUDIO}")
    for name, chapter in recordings:
        stream.add_path(str(chapter.path), f"{folder}/{name}")
    return Archive(stream, f"{safe_name(publication.title)} (DAISY).zip")


def mp3_name(number: int, title: str, width: int) -> str:
    """``001 静夜思.mp3``: numbered so any player sorts the chapters in order."""
    return f"{number:0{width}d} {safe_name(title)}.mp3"


def playlist(book: ExportedBook) -> str:
    """An extended M3U playlist (UTF-8) of the numbered MP3s beside it."""
    width = max(2, len(str(len(book.chapters))))
    lines = ["#EXTM3U", f"#PLAYLIST:{book.title}"]
    for chapter in book.chapters:
        who = f"{chapter.reader} - " if chapter.reader else ""
        lines.append(f"#EXTINF:{round(chapter.duration_ms / 1000)},{who}{chapter.title}")
        lines.append(mp3_name(chapter.number, chapter.title, width))
    return "\r\n".join(lines) + "\r\n"


def mp3_zip(book: ExportedBook) -> Archive:
    """The book as a folder of numbered MP3s, ``playlist.m3u8`` and ``cover.jpg``.

    The cover sits beside the MP3s, where music players look for a folder's picture, because the
    MP3s' tags carry none (``recorder.tags``).
    """
    folder = safe_name(book.title)
    width = max(2, len(str(len(book.chapters))))
    stream = ZipStream(compress_type=ZIP_STORED, sized=True)
    stream.add(playlist(book).encode(), f"{folder}/playlist.m3u8")
    if book.cover is not None:
        stream.add_path(str(book.cover), f"{folder}/cover.jpg")
    for chapter in book.chapters:
        stream.add_path(str(chapter.path), f"{folder}/{mp3_name(chapter.number, chapter.title, width)}")
    return Archive(stream, f"{folder} (MP3).zip")
