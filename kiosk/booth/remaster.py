"""Mastering a pending booth take again from its original, with another loudness target or room tone.

A librarian's request is a ``Remaster`` row; the job queue claims it, masters the original
with the house preset adjusted, and puts the result on the take only while it is still pending.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime, timedelta

from flask_babel import gettext
from sqlalchemy import select, update

from kiosk.accounts import auth
from kiosk.booth import takes
from kiosk.booth.moderation import ModerationError, NotPending
from kiosk.extensions import db
from kiosk.ingest import mastering
from kiosk.models import Decision, Recording, Remaster, RemasterStatus, RoomTone, TakeStatus, User, utcnow

log = logging.getLogger(__name__)

MIN_TARGET_LUFS = -23
MAX_TARGET_LUFS = -16
MORE_ROOM_TONE_S = (1.0, 3.0)  # head, tail: "keep more room tone"
REMASTER_LOST_AFTER = timedelta(minutes=5)  # queued this long: its job was lost, queue it again
REMASTER_STUCK_AFTER = timedelta(hours=1)  # processing this long: its worker died
ACTIVE_REMASTER = (RemasterStatus.QUEUED, RemasterStatus.PROCESSING)


def active_remaster(take_id: int) -> Remaster | None:
    """The re-mastering of ``take_id`` that is queued or running, if any."""
    return db.session.scalar(
        select(Remaster).where(Remaster.recording_id == take_id, Remaster.status.in_(ACTIVE_REMASTER))
    )


def request_remaster(take_id: int, target_lufs: int, room_tone: RoomTone, actor: User) -> Remaster:
    """Ask for the take to be mastered again from its original (the caller queues the job)."""
    if not MIN_TARGET_LUFS <= target_lufs <= MAX_TARGET_LUFS:
        raise ModerationError(gettext("响度目标须在 −23 到 −16 LUFS 之间。"), "target_lufs")
    row = db.session.get(Recording, take_id)
    if row is None or row.status is not TakeStatus.DONE or row.decision is not Decision.PENDING:
        raise NotPending(gettext("只能重新处理等待审核的录音。"))
    if active_remaster(take_id) is not None:
        raise ModerationError(gettext("这段录音正在重新处理，请等处理完成。"))
    job = Remaster(recording_id=take_id, target_lufs=float(target_lufs), room_tone=room_tone,
                   requested_by_id=actor.id)
    db.session.add(job)
    db.session.flush()
    auth.audit("take_remaster_requested", actor=actor, target=row, target_lufs=target_lufs,
               room_tone=room_tone.value)
    db.session.commit()
    return job


def remaster_preset(job: Remaster) -> mastering.Preset:
    """The house preset with the request's loudness target and room tone."""
    preset = replace(mastering.house_preset(), target_lufs=job.target_lufs)
    if job.room_tone is RoomTone.MORE:
        head_s, tail_s = MORE_ROOM_TONE_S
        preset = replace(preset, head_room_tone_s=head_s, tail_room_tone_s=tail_s)
    return preset


def run_remaster(job_id: int) -> None:
    """Claim a queued request, master the original again, and put the result on the take.

    The result replaces the take's master only while the take is still pending (conditional
    UPDATE); a take decided in the meantime keeps what the librarian heard.
    """
    claimed = db.session.execute(
        update(Remaster).where(Remaster.id == job_id, Remaster.status == RemasterStatus.QUEUED)
        .values(status=RemasterStatus.PROCESSING, started_at=utcnow())
    ).rowcount
    db.session.commit()
    job = db.session.get(Remaster, job_id)
    if claimed != 1 or job is None:
        return
    try:
        audio = takes.master_again(job.recording, remaster_preset(job))
    except mastering.RecorderError as error:
        _finish_remaster(job, RemasterStatus.FAILED, error=error.message_zh)
        return
    except Exception:
        log.exception("re-mastering request %s failed", job_id)
        _finish_remaster(job, RemasterStatus.FAILED, error=gettext("重新处理失败，请稍后再试。"))
        return
    _apply_remaster(job, audio)


def _apply_remaster(job: Remaster, audio: mastering.StoredAudio) -> None:
    """Replace the pending take's master and report with ``audio``, or mark the job superseded."""
    applied = db.session.execute(
        update(Recording)
        .where(Recording.id == job.recording_id, Recording.decision == Decision.PENDING)
        .values(mastered_key=audio.key, duration_ms=audio.duration_ms, size_bytes=audio.size_bytes,
                loudness_lufs=audio.loudness_lufs, true_peak_dbtp=audio.true_peak_dbtp,
                report=audio.report.to_dict(), processed_at=utcnow())
    ).rowcount
    status = RemasterStatus.DONE if applied == 1 else RemasterStatus.SUPERSEDED
    _finish_remaster(job, status, result_key=audio.key)


def _finish_remaster(job: Remaster, status: RemasterStatus, *, error: str | None = None,
                     result_key: str | None = None) -> None:
    """Record how a re-mastering request ended."""
    job.status = status
    job.error_message = error
    job.result_key = result_key
    job.finished_at = utcnow()
    db.session.commit()


def lost_remasters(now: datetime) -> list[int]:
    """Requests whose job was lost (queued long ago); requests stuck running are failed."""
    db.session.execute(
        update(Remaster)
        .where(Remaster.status == RemasterStatus.PROCESSING, Remaster.started_at < now - REMASTER_STUCK_AFTER)
        .values(status=RemasterStatus.FAILED, finished_at=now,
                error_message=gettext("重新处理中断了，请再试一次。"))
    )
    db.session.commit()
    return list(db.session.scalars(
        select(Remaster.id).where(Remaster.status == RemasterStatus.QUEUED,
                                  Remaster.created_at < now - REMASTER_LOST_AFTER)
    ))
