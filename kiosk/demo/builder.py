"""``kiosk demo``: a small library of real, playable recordings made on this machine.

Safe to run twice: a book that already exists (by title, in its section) is left alone,
except that its chapters get their texts for read-along if they have none yet. The texts
are what espeak-ng spoke, so the demo reads along on a fresh machine with the aligner.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from kiosk.demo.content import DEMO_BOOKS, DEMO_TEXTS, DemoBook
from kiosk.extensions import db
from kiosk.ingest import mastering
from kiosk.ingest.mastering import TrackTags
from kiosk.library import catalogue, covers
from kiosk.models import Book, BoothText, Section
from kiosk.readalong import jobs as readalong_jobs
from kiosk.readalong import texts as readalong_texts
from kiosk.storage import store

DEMO_LICENCE = "CC BY 4.0 有声图书馆演示"


@dataclass
class DemoReport:
    """What a demo run added."""

    books_created: int = 0
    tracks_created: int = 0
    texts_created: int = 0
    chapter_texts: int = 0


def load(echo: Callable[[str], None] = print) -> DemoReport:
    """Create every demo book that is missing, each in one transaction."""
    report = DemoReport(texts_created=_create_texts())
    for seed, spec in enumerate(DEMO_BOOKS):
        section = db.session.scalar(select(Section).where(Section.slug == spec.section_slug))
        if section is None:
            continue
        if _exists(spec, section):
            report.chapter_texts += _attach_texts(spec, section)
            continue
        echo(f"  recording 《{spec.title}》 ({len(spec.chapters)} chapter(s))…")
        try:
            report.tracks_created += _create_book(spec, section, seed)
        except BaseException:
            db.session.rollback()
            raise
        db.session.commit()
        report.books_created += 1
        report.chapter_texts += _attach_texts(spec, section)
    return report


def _attach_texts(spec: DemoBook, section: Section) -> int:
    """Give the book's spoken chapters their texts (those without one), then queue their alignment."""
    if shutil.which("espeak-ng") is None:
        return 0  # the chapters are chimes, not the text read aloud
    book = db.session.scalar(select(Book).where(Book.section_id == section.id, Book.title == spec.title))
    if book is None:
        return 0
    spoken = {chapter.title: chapter.text for chapter in spec.chapters}
    attached = [readalong_texts.attach(track, spoken[track.title], "demo") for track in book.tracks
                if track.title in spoken and readalong_texts.for_track(track.id) is None]
    db.session.commit()
    for text in attached:
        readalong_jobs.queue_alignment(text.id)
    return len(attached)


def _create_texts() -> int:
    """Add the booth's demo texts that are missing (by title), in one commit."""
    existing = set(db.session.scalars(select(BoothText.title)))
    missing = [text for text in DEMO_TEXTS if text.title not in existing]
    for position, text in enumerate(missing, start=len(existing)):
        db.session.add(BoothText(title=text.title, author=text.author, body=text.body, position=position))
    db.session.commit()
    return len(missing)


def _exists(spec: DemoBook, section: Section) -> bool:
    return (
        db.session.scalar(select(Book.id).where(Book.section_id == section.id, Book.title == spec.title))
        is not None
    )


def _create_book(spec: DemoBook, section: Section, seed: int) -> int:
    cover_png = covers.generated_cover(spec.title, section.colour, seed)
    images = covers.renditions(cover_png)
    book = catalogue.new_book(
        section,
        spec.title,
        title_en=spec.title_en,
        author=spec.author,
        description=spec.description,
        cover_key=store().put_bytes(images.large_jpeg, "covers", "jpg"),
        cover_thumb_key=store().put_bytes(images.thumb_jpeg, "covers", "jpg"),
    )
    with tempfile.TemporaryDirectory(dir=mastering.work_dir()) as scratch:
        for number, chapter in enumerate(spec.chapters, start=1):
            raw = mastering.synthesise_reading(
                Path(scratch) / f"chapter{number}.wav",
                text=chapter.text,
                fallback_s=chapter.fallback_s,
                seed=seed * 10 + number,
            )
            tags = TrackTags(
                title=chapter.title,
                artist=spec.reader,
                album=spec.title,
                genre=section.name,
                track_number=number,
                language="zho",
                licence=DEMO_LICENCE,
            )
            mastering.add_chapter(book, chapter.title, spec.reader, mastering.master_into_store(raw, tags))
    return len(spec.chapters)
