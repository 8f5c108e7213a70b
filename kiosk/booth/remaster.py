"""Mastering a pending booth take again from its original, with another loudness target or room tone.

A librarian's request is a ``Remaster`` row, a leased job (``kiosk.jobs.lifecycle``): the
worker masters the original with the house preset adjusted, and puts the result on the take
only while it is still pending.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime
from typing import Any, cast

from flask_babel import gettext
from sqlalchemy import CursorResult, select, update

from kiosk.accounts import auth
from kiosk.booth import takes
from kiosk.booth.moderation import ModerationError, NotPending
from kiosk.extensions import db
from kiosk.ingest import mastering
from kiosk.jobs import lifecycle
from kiosk.models import Decision, JobStatus, Recording, Remaster, RoomTone, User
from kiosk.models.jobs import ACTIVE

log = logging.getLogger(__name__)

MIN_TARGET_LUFS = -23
MAX_TARGET_LUFS = -16
MORE_ROOM_TONE_S = (1.0, 3.0)  # head, tail: "keep more room tone"


def active_remaster(take_id: int) -> Remaster | None:
    """The re-mastering of ``take_id`` that is queued or running, if any."""
    return db.session.scalar(
        select(Remaster).where(Remaster.recording_id == take_id, Remaster.status.in_(ACTIVE))
    )


def request_remaster(take_id: int, target_lufs: int, room_tone: RoomTone, actor: User) -> Remaster:
    """Ask for the take to be mastered again from its original (the caller queues the job)."""
    if not MIN_TARGET_LUFS <= target_lufs <= MAX_TARGET_LUFS:
        raise ModerationError(gettext("响度目标须在 −23 到 −16 LUFS 之间。"), "target_lufs")
    row = db.session.get(Recording, take_id)
    if row is None or row.status is not JobStatus.DONE or row.decision is not Decision.PENDING:
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
    """The job, on a claimed request: master the original again and put the result on the take.

    The result replaces the take's master only while the take is still pending (conditional
    UPDATE); a take decided in the meantime keeps what the librarian heard.
    """
    job = db.session.get(Remaster, job_id)
    if job is None or job.status is not JobStatus.PROCESSING:
        return
    try:
        audio = takes.master_again(job.recording, remaster_preset(job))
    except mastering.RecorderError as error:
        _fail_remaster(job_id, error.message_zh)
        return
    except Exception:
        log.exception("re-mastering request %s failed", job_id)
        _fail_remaster(job_id, gettext("重新处理失败，请稍后再试。"))
        return
    _apply_remaster(job, audio)


def _apply_remaster(job: Remaster, audio: mastering.StoredAudio) -> None:
    """Replace the pending take's master and report with ``audio``, or mark the job superseded."""
    applied = cast(CursorResult[Any], db.session.execute(
        update(Recording)
        .where(Recording.id == job.recording_id, Recording.decision == Decision.PENDING)
        .values(mastered_key=audio.key, duration_ms=audio.duration_ms, size_bytes=audio.size_bytes,
                loudness_lufs=audio.loudness_lufs, true_peak_dbtp=audio.true_peak_dbtp,
                report=audio.report.to_dict())
        .execution_options(synchronize_session=False)
    )).rowcount
    lifecycle.finish(job, JobStatus.DONE if applied == 1 else JobStatus.SUPERSEDED)
    job.result_key = audio.key
    db.session.commit()


def _fail_remaster(job_id: int, message: str) -> None:
    """Record why a re-mastering request failed (the take keeps its master)."""
    db.session.rollback()
    job = db.session.get(Remaster, job_id)
    if job is not None:
        lifecycle.fail(job, message)
        db.session.commit()


def lost_remasters(now: datetime) -> list[int]:
    """Requests no live worker is on, to queue again (those out of attempts are failed)."""
    return lifecycle.lost(Remaster.id, now, gave_up=gettext("重新处理中断了，请再试一次。"))
