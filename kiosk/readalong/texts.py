"""Chapter texts: attach one (pasted, a .txt or an .epub, a booth take's, an import's), align it, read it back.

Attaching a text splits it into sentences and queues its alignment (the caller commits,
then queues the job with ``kiosk.readalong.jobs.queue_alignment``). Timings belong to the
audio they were measured in (``aligned_audio_key``): when a chapter's audio is replaced
they are stale, visitors get the text without timing, and the sweep aligns it again.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from flask_babel import gettext
from sqlalchemy import select

from kiosk.extensions import db
from kiosk.jobs import lifecycle
from kiosk.library.visibility import TRACK_VISIBLE
from kiosk.models import ChapterText, JobStatus, Track, utcnow
from kiosk.readalong import aligner, documents, outputs
from kiosk.readalong.sentences import Sentence, normalise, split
from kiosk.storage import store

log = logging.getLogger(__name__)

MAX_TEXT_CHARS = 300_000  # a long chapter is some 30,000 characters; a whole book is refused
SOURCES = ("booth", "console", "import", "demo")


class TextRefused(Exception):
    """A text we will not attach; ``message`` is for the librarian."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Transcript:
    """A published chapter's text as visitors get it: sentences, and their timing when current."""

    track_id: int
    book_id: int
    title: str
    sentences: list[Sentence]
    cues: list[list[float]] | None  # one [start_s, end_s] per sentence; None until aligned


def for_track(track_id: int) -> ChapterText | None:
    """The text of chapter ``track_id``, whatever its state."""
    return db.session.scalar(select(ChapterText).where(ChapterText.track_id == track_id))


def attach(track: Track, body: str, source: str) -> ChapterText:
    """Set ``track``'s text (a new one, or in place of the old), its timing to be measured again."""
    text = normalise(body).strip()
    if not text:
        raise TextRefused(gettext("文本是空的，请粘贴或上传章节的文字。"))
    if len(text) > MAX_TEXT_CHARS:
        raise TextRefused(gettext("文本太长了（超过 %(n)s 字），请只放这一章的文字。", n=MAX_TEXT_CHARS))
    sentences = split(text)
    if not sentences:
        raise TextRefused(gettext("文本里没有可以朗读的句子。"))
    row = for_track(track.id) or ChapterText(track_id=track.id)
    row.body, row.source = text, source
    row.sentences = [s.as_dict() for s in sentences]
    _queue_again(row)
    db.session.add(row)
    db.session.flush()
    return row


def attach_file(track: Track, filename: str, data: bytes, source: str = "console") -> ChapterText:
    """Attach the text of an uploaded .txt or .epub file."""
    try:
        body = documents.read_text_file(filename, data)
    except documents.UnreadableText as error:
        raise TextRefused(error.message) from error
    return attach(track, body, source)


def remove(track: Track) -> bool:
    """Take ``track``'s text away; whether it had one."""
    row = for_track(track.id)
    if row is None:
        return False
    db.session.delete(row)
    return True


def _queue_again(row: ChapterText) -> None:
    """Forget the timing and put the alignment back in the queue, with fresh attempts."""
    row.cues, row.aligned_audio_key = None, None
    row.status, row.attempts, row.lease_until = JobStatus.QUEUED, 0, None
    row.queued_at, row.finished_at, row.error_message = utcnow(), None, None


def realign(row: ChapterText) -> None:
    """Measure a text's timing again (a librarian's request, or its chapter's audio changed)."""
    _queue_again(row)


def sentences_of(row: ChapterText) -> list[Sentence]:
    """The stored sentences of a text."""
    return [Sentence(str(s["text"]), int(s["paragraph"])) for s in row.sentences]


def is_current(row: ChapterText, track: Track) -> bool:
    """Whether the text has timings measured in the chapter's present audio."""
    return row.cues is not None and row.aligned_audio_key == track.audio_key


def transcript(track_id: int) -> Transcript | None:
    """The text of a chapter visitors may see (``None`` when hidden, or it has none)."""
    found = db.session.execute(
        select(ChapterText, Track).join(Track, Track.id == ChapterText.track_id)
        .where(ChapterText.track_id == track_id, TRACK_VISIBLE)
    ).first()
    if found is None:
        return None
    row, track = found
    cues = row.cues if is_current(row, track) else None
    return Transcript(track.id, track.book_id, track.title, sentences_of(row), cues)


def tracks_with_text(track_ids: list[int]) -> set[int]:
    """Those of ``track_ids`` that have a text (aligned or not)."""
    if not track_ids:
        return set()
    return set(db.session.scalars(select(ChapterText.track_id).where(ChapterText.track_id.in_(track_ids))))


def aligned_track_ids(track_ids: list[int]) -> set[int]:
    """Those of ``track_ids`` whose text has current timings."""
    if not track_ids:
        return set()
    rows = db.session.execute(
        select(ChapterText.track_id).join(Track, Track.id == ChapterText.track_id)
        .where(ChapterText.track_id.in_(track_ids), ChapterText.cues.is_not(None),
               ChapterText.aligned_audio_key == Track.audio_key)
    ).scalars()
    return set(rows)


def status_note(row: ChapterText | None, track: Track) -> str:
    """What the console says about a chapter's timing, in the librarian's words."""
    if row is None:
        return gettext("这一章还没有文本。")
    if is_current(row, track):
        return gettext("已对齐：%(n)s 句，听众可以跟读。", n=len(row.sentences))
    reason = aligner.unavailable_reason()
    if reason:
        return reason
    if row.status is JobStatus.FAILED:
        return gettext("对齐失败：%(why)s", why=row.error_message or "")
    return gettext("正在排队对齐，完成后听众就能看到当前朗读的句子。")


# ---- the alignment job ---------------------------------------------------------------------


def run_alignment(text_id: int) -> None:
    """The job, on a claimed text: align it to its chapter's audio and keep the timings, in one commit."""
    row = db.session.get(ChapterText, text_id)
    if row is None:
        return
    track = row.track
    reason = aligner.unavailable_reason()
    if reason:
        lifecycle.fail(row, reason)
        db.session.commit()
        return
    audio_key, body, sentences = track.audio_key, row.body, sentences_of(row)
    audio, duration_s = store().path(audio_key), track.duration_ms / 1000
    db.session.commit()  # no transaction stays open while the aligner works (minutes, for a long chapter)
    try:
        with tempfile.TemporaryDirectory(prefix="align-", dir=store().scratch_dir()) as scratch:
            cues = aligner.align(audio, sentences, duration_s, scratch=Path(scratch))
    except aligner.AlignmentFailed as error:
        log.warning("aligning text %s failed: %s", text_id, error)
        _retry_or_fail(text_id, gettext("对齐失败：%(why)s", why=str(error)))
        return
    row = db.session.get(ChapterText, text_id)
    if row is None or row.status is not JobStatus.PROCESSING or row.body != body:
        return  # removed or changed meanwhile: a changed text's new alignment is queued
    row.cues, row.aligned_audio_key = cues, audio_key
    lifecycle.finish(row)
    db.session.commit()


def _retry_or_fail(text_id: int, message: str) -> None:
    """Queue the alignment again for the sweep, or fail it after its last attempt."""
    row = db.session.get(ChapterText, text_id)
    if row is not None and row.status is JobStatus.PROCESSING:
        lifecycle.retry_or_fail(row, message)
        db.session.commit()


def lost_alignments(now: datetime) -> list[int]:
    """Texts to queue again: lost or abandoned jobs, and timings measured in audio since replaced."""
    ids = lifecycle.lost(ChapterText.id, now, gave_up=gettext("对齐多次中断，已放弃。"))
    stale = db.session.scalars(
        select(ChapterText).join(Track, Track.id == ChapterText.track_id)
        .where(ChapterText.status == JobStatus.DONE, ChapterText.aligned_audio_key != Track.audio_key)
    ).all()
    for row in stale:
        realign(row)
    db.session.commit()
    return [*ids, *(row.id for row in stale)]


# ---- a book's read-along EPUB -----------------------------------------------------------------


def epub_book(book_id: int) -> outputs.EpubBook | None:
    """A visible book's aligned, visible chapters as an EPUB to write; ``None`` when it has none."""
    rows = db.session.execute(
        select(ChapterText, Track).join(Track, Track.id == ChapterText.track_id)
        .where(Track.book_id == book_id, TRACK_VISIBLE, ChapterText.cues.is_not(None),
               ChapterText.aligned_audio_key == Track.audio_key)
        .order_by(Track.position, Track.id)
    ).all()
    if not rows:
        return None
    book = rows[0][1].book
    chapters = [outputs.EpubChapter(track.title, sentences_of(row), list(row.cues or []),
                                    store().path(track.audio_key), track.duration_ms / 1000)
                for row, track in rows]
    language = "zh-CN" if aligner.voice_for([s for c in chapters for s in c.sentences]) == "cmn" else "en"
    return outputs.EpubBook(book.id, book.title, book.author, language, chapters)
