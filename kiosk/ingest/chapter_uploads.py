"""A librarian's own recording of a chapter: checked on upload, then mastered (or kept) by the job queue.

``queue_upload`` keeps the file as an original and records the job (a leased job, see
``kiosk.jobs.lifecycle``); ``process_upload`` (the job) masters it or keeps it as it is, and
attaches it as a new chapter or as the new audio of the chapter it replaces, in one commit.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from pathlib import Path

from flask_babel import gettext
from sqlalchemy import or_, select

from kiosk.accounts import auth
from kiosk.booth import takes
from kiosk.extensions import db
from kiosk.ingest import mastering
from kiosk.jobs import lifecycle
from kiosk.library.changes import CatalogueError
from kiosk.library.edits import live_tracks
from kiosk.models import Book, ChapterUpload, JobStatus, Track, User, utcnow
from kiosk.storage import store

log = logging.getLogger(__name__)


def upload_refusal(error: mastering.RecorderError) -> CatalogueError:
    """Why an uploaded recording is refused, in words and an HTTP status (as at the booth)."""
    refusal = takes.refusal_for(error)
    return CatalogueError(refusal.message, "audio", refusal.status)


def queue_upload(
    book: Book, source: Path, *, original_name: str, title: str, reader_name: str,
    keep_as_is: bool, actor: User, replace: Track | None = None,
) -> ChapterUpload:
    """Check an uploaded recording, keep it as an original, and record the job to master it.

    Only cheap checks happen here (a probe of the content); measuring and mastering run in
    the job queue, so a long chapter never holds a web worker. The caller commits, then
    queues ``process_upload(upload.id)``.
    """
    try:
        probed = mastering.probe_upload(source)
    except mastering.RecorderError as error:
        raise upload_refusal(error) from error
    if probed.duration_s is not None and probed.duration_s > mastering.house_preset().max_duration_s:
        raise CatalogueError(gettext("录音太长了，最长 90 分钟。"), "audio")
    key = store().adopt(source, "originals", takes.ORIGINAL_SUFFIXES.get(probed.demuxer, "bin"))
    upload = ChapterUpload(
        book=book, replace_track_id=replace.id if replace else None, user_id=actor.id,
        title=title, reader_name=reader_name, keep_as_is=keep_as_is, original_key=key,
        original_name=original_name[:256], status=JobStatus.QUEUED, note="",
    )
    db.session.add(upload)
    db.session.flush()
    auth.audit("track_upload_received", actor=actor, target=upload, book=book.id,
               replace=replace.id if replace else None, keep=keep_as_is, original=key)
    return upload


def pending_uploads(book: Book) -> list[ChapterUpload]:
    """Uploads of ``book`` still being processed, or finished in the last day (newest first)."""
    since = utcnow() - timedelta(days=1)
    return list(db.session.scalars(
        select(ChapterUpload)
        .where(ChapterUpload.book_id == book.id,
               or_(ChapterUpload.finished_at.is_(None), ChapterUpload.finished_at >= since))
        .order_by(ChapterUpload.id.desc())
    ))


def lost_uploads(now: datetime) -> list[int]:
    """Uploads no live worker is on, to queue again (those out of attempts are failed)."""
    return lifecycle.lost(ChapterUpload.id, now, gave_up=gettext("处理录音时出错，请重新上传或联系管理员。"))


def _keep_refused_note(level: mastering.SourceLevel) -> str:
    """Why a file could not be kept as it is (it is mastered instead)."""
    if "codec" in level.shortfalls:
        return gettext("只有 MP3 文件可以保持原样；已按馆藏标准重新处理。")
    values = {"lufs": format(level.integrated_lufs, ".1f"), "peak": format(level.true_peak_dbtp, ".1f"),
              "target": format(mastering.house_preset().target_lufs, ".0f")}
    return gettext(
        "文件的响度为 %(lufs)s LUFS、真峰值 %(peak)s dBTP，不符合标准"
        "（96 kbps 固定码率、44.1 kHz 单声道 MP3，%(target)s ±0.5 LUFS，真峰值不高于 −1.5 dBTP，"
        "开头约 0.5 秒、结尾 1–2 秒环境音，ID3v2.4 标签），已按馆藏标准重新处理。",
        **values,
    )


def _audio_for(upload: ChapterUpload, source: Path, track_number: int) -> mastering.StoredAudio:
    """The stored audio for an upload: kept unchanged when asked and up to standard, else mastered."""
    if upload.keep_as_is:
        level = mastering.measure_source(source)
        if level.meets_standard:
            upload.note = gettext("文件已符合标准，保持原样。")
            return mastering.keep_into_store(source, level)
        upload.note = _keep_refused_note(level)
    tags = mastering.TrackTags(
        title=upload.title, artist=upload.reader_name, album=upload.book.title,
        genre=upload.book.section.name, track_number=track_number,
    )
    return mastering.master_into_store(source, tags)


def _attach(upload: ChapterUpload, audio: mastering.StoredAudio, actor: User | None) -> Track:
    """Make the stored audio a new chapter, or the new audio of the chapter it replaces."""
    target = db.session.get(Track, upload.replace_track_id) if upload.replace_track_id else None
    if target is None:
        track = mastering.add_chapter(upload.book, upload.title, upload.reader_name, audio)
        auth.audit("track_created", actor=actor, target=track, book=upload.book_id,
                   key=audio.key, upload=upload.id)
        return track
    old_key = target.audio_key
    target.audio_key, target.duration_ms = audio.key, audio.duration_ms
    target.size_bytes, target.mime_type = audio.size_bytes, mastering.MP3_MIME
    target.loudness_lufs, target.true_peak_dbtp = audio.loudness_lufs, audio.true_peak_dbtp
    auth.audit("track_audio_replaced", actor=actor, target=target, old=old_key, new=audio.key,
               upload=upload.id)
    return target


def process_upload(upload_id: int) -> None:
    """The job, on a claimed upload: master (or keep) the recording and attach it, in one commit."""
    upload = db.session.get(ChapterUpload, upload_id)
    if upload is None or upload.status is not JobStatus.PROCESSING:
        return
    actor = db.session.get(User, upload.user_id) if upload.user_id else None
    replaced = db.session.get(Track, upload.replace_track_id) if upload.replace_track_id else None
    number = replaced.position if replaced else len(live_tracks(upload.book)) + 1
    try:
        audio = _audio_for(upload, store().path(upload.original_key), number)
    except Exception as error:
        if mastering.is_disk_full(error):  # nobody's fault: it waits, queued, for space
            db.session.rollback()
            lifecycle.wait_for_room(upload)
            db.session.commit()
            return
        _settle_failure(upload_id, error)
        return
    upload.track = _attach(upload, audio, actor)
    lifecycle.finish(upload)
    db.session.commit()


def _settle_failure(upload_id: int, error: Exception) -> None:
    """Say on the book page why the upload failed; its original stays in the store."""
    if isinstance(error, mastering.RecorderError):
        _fail_upload(upload_id, upload_refusal(error).message)
        return
    log.error("processing chapter upload %s failed", upload_id, exc_info=error)  # a crash of ours
    _fail_upload(upload_id, gettext("处理录音时出错，请重新上传或联系管理员。"))


def _fail_upload(upload_id: int, message: str) -> None:
    """Record why an upload failed (its original stays in the store for the trash period)."""
    db.session.rollback()
    upload = db.session.get(ChapterUpload, upload_id)
    if upload is None:
        return
    lifecycle.fail(upload, message)
    auth.audit("track_upload_failed", target=upload, reason=message)
    db.session.commit()

