"""Booth takes: accept an upload, master it off the request path, and report on it.

Mastering a take is a leased job (``kiosk.jobs.lifecycle``): the queue carries only its
token, and a take whose worker died is mastered again, which gives the same file (the
pipeline is deterministic and the store content-addressed): re-running is always safe.
Where the aligner is installed, the job also aligns a take's text to its master and names
the sentences the volunteer seems to have left out (``check_reading``).
"""

from __future__ import annotations

import logging
import secrets
import tempfile
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import current_app, url_for
from flask_babel import get_locale, gettext
from sqlalchemy import func, or_, select

from kiosk.extensions import db
from kiosk.ingest import mastering
from kiosk.jobs import lifecycle
from kiosk.models import BoothText, Decision, JobStatus, Recording
from kiosk.readalong import aligner, hints
from kiosk.readalong.sentences import split
from kiosk.storage import store
from kiosk.web.converters import MAX_ID
from recorder import advice as words

log = logging.getLogger(__name__)

MAX_READER_NAME_CHARS = 64
DEFAULT_LICENCE = "CC BY 4.0"
FREE_READING_TITLE = "自由朗读"
BOOTH_ALBUM = "声音录制亭"  # tags are in the library's language, whatever the worker's locale
PROCESSING_FAILED = "processing_failed"
PROCESSING_FAILED_MESSAGE = "录音处理多次失败，馆员会检查原始录音。"
# ffmpeg demuxer → the suffix an original is kept under.
# ``hints.suspect_sentences`` knows the reader's pace from this many sentences of ``hints.MIN_SYLLABLES``
# or more, and judges nothing in a shorter text: such a text is not aligned for the check.
SENTENCES_MIN = 2  # a one-sentence text left out is a blank or much-too-short take
ORIGINAL_SUFFIXES = {"mp3": "mp3", "wav": "wav", "flac": "flac", "ogg": "ogg", "mov": "m4a",
                     "matroska": "webm", "webm": "webm", "aac": "aac", "caf": "caf", "aiff": "aiff"}


class TakeRefused(Exception):
    """An upload we will not accept, with the HTTP status and the words to say why."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@dataclass(frozen=True)
class TakeForm:
    """What the booth sends beside the audio."""

    reader_name: str
    consent: bool
    text_id: int | None
    licence: str = DEFAULT_LICENCE  # the licence the volunteer agreed to (see ``agreed_licence``)


def size_text(size_bytes: int) -> str:
    """A byte count as people read it, in binary units: "1 GiB", "300 MiB", "1.5 GiB"."""
    for unit, scale in (("GiB", 1024 ** 3), ("MiB", 1024 ** 2), ("KiB", 1024)):
        if size_bytes >= scale:
            return f"{size_bytes / scale:.1f}".removesuffix(".0") + f" {unit}"
    return f"{size_bytes} B"


def refusal_for(error: mastering.RecorderError) -> TakeRefused:
    """Translate a recorder error on an upload into an HTTP refusal."""
    largest = size_text(int(current_app.config["KIOSK_UPLOAD_MAX_BYTES"]))
    messages = {
        "not_audio": (415, gettext("这不是可以识别的音频文件。请上传 WAV、FLAC、MP3、M4A、OGG 或 WebM 录音。")),
        "too_large": (413, gettext("文件太大了，最大 %(size)s。", size=largest)),
        "too_long": (422, gettext("录音太长了，最长 90 分钟。")),
        "truncated": (422, gettext("文件不完整，可能没有上传完，请重新上传。")),
        "too_short": (422, gettext("录音太短了，请至少录几秒钟。")),
    }
    status, message = messages.get(error.code, (422, error.message_zh))
    return TakeRefused(status, error.code, message)


def is_id(text: str) -> bool:
    """Whether ``text`` is a row id: ASCII digits ('²' is a digit to Python, not to a database), in range."""
    return text.isascii() and text.isdigit() and 1 <= int(text) <= MAX_ID


def pending_takes() -> int:
    """Takes waiting for a librarian (mastered or still being mastered, not yet decided)."""
    return db.session.scalar(
        select(func.count()).select_from(Recording).where(
            or_(Recording.decision.is_(None), Recording.decision == Decision.PENDING),
            Recording.status != JobStatus.FAILED)
    ) or 0


def configured_licence() -> str:
    """The licence the booth shows its volunteers (``KIOSK_BOOTH_LICENCE``)."""
    return str(current_app.config.get("KIOSK_BOOTH_LICENCE") or DEFAULT_LICENCE)


def agreed_licence(shown: str) -> str:
    """The configured licence, if it is the one the booth showed; raise ``TakeRefused`` (409) if not.

    A screen opened before the setting changed showed an older licence: the take must not be
    published under words its reader never saw. Clients that send none agree to the configured one.
    """
    configured = configured_licence()
    if shown.strip() and shown.strip() != configured:
        raise TakeRefused(409, "licence_changed",
                          gettext("图书馆刚刚更换了录音授权协议。请点“重新开始”，阅读新的协议后再录。"))
    return configured


def validate_form(reader_name: str, consent: str, text_id: str, licence_shown: str = "") -> TakeForm:
    """Check the fields beside the audio; raise ``TakeRefused`` with a Chinese message."""
    name = " ".join(reader_name.split())
    if not name:
        raise TakeRefused(422, "reader_name_missing", gettext("请填写您的称呼（可以用笔名）。"))
    if len(name) > MAX_READER_NAME_CHARS:
        raise TakeRefused(422, "reader_name_too_long", gettext("称呼太长了，请少于 64 个字。"))
    if consent != "1":
        raise TakeRefused(422, "consent_missing", gettext("请先阅读并同意声音授权协议。"))
    chosen: int | None = None
    if text_id:
        if not is_id(text_id) or db.session.get(BoothText, int(text_id)) is None:
            raise TakeRefused(422, "text_unknown", gettext("选择的朗读文本不存在，请重新选择。"))
        chosen = int(text_id)
    return TakeForm(reader_name=name, consent=True, text_id=chosen, licence=agreed_licence(licence_shown))


def submit(upload: Path, form: TakeForm) -> Recording:
    """Probe an uploaded file, keep the original untouched in the store, and queue the take."""
    if pending_takes() >= int(current_app.config["KIOSK_PENDING_TAKES_MAX"]):
        raise TakeRefused(503, "queue_full", gettext("等待馆员审核的录音已经很多了，请过几天再来录。谢谢您！"))
    try:
        probed = mastering.probe_upload(upload)
    except mastering.RecorderError as error:
        raise refusal_for(error) from error
    max_duration_s = mastering.house_preset().max_duration_s
    if probed.duration_s is not None and probed.duration_s > max_duration_s:
        raise TakeRefused(422, "too_long", gettext("录音太长了，最长 90 分钟。"))
    original_key = store().adopt(upload, "originals", ORIGINAL_SUFFIXES.get(probed.demuxer, "bin"))
    text = db.session.get(BoothText, form.text_id) if form.text_id else None
    take = Recording(
        token=secrets.token_urlsafe(18),
        reader_name=form.reader_name,
        consent=form.consent,
        licence=form.licence,
        text_id=form.text_id,
        title=text.title if text else FREE_READING_TITLE,
        original_key=original_key,
        original_format=probed.format_name[:64],
        original_size_bytes=probed.size_bytes,
        status=JobStatus.QUEUED,
    )
    db.session.add(take)
    db.session.commit()
    return take


def by_token(token: str) -> Recording | None:
    """The take behind a take-home token."""
    if not token or len(token) > 64:
        return None
    return db.session.scalar(select(Recording).where(Recording.token == token))


def process(token: str) -> None:
    """The job, on a claimed take: master it; record the result or the reason it failed, in one commit.

    Only the take's own row changes, so a crash at any point leaves it ``processing`` with
    a lease that runs out, and the store holds at most a complete, unreferenced file.
    """
    take = by_token(token)
    if take is None or take.status is not JobStatus.PROCESSING:
        return
    tags = mastering.TrackTags(
        title=take.title, artist=take.reader_name, album=BOOTH_ALBUM, genre=BOOTH_ALBUM,
        language="zho", licence=take.licence,
    )
    try:
        audio = mastering.master_into_store(store().path(take.original_key), tags, text=text_read(take))
    except Exception as error:
        if not _settle_failure(take, error):
            raise  # the queue tries again shortly
        return
    _finish(take, check_reading(audio, text_read(take)))


def _settle_failure(take: Recording, error: Exception) -> bool:
    """Record why mastering failed; False when the queue should simply try again.

    A full disk is nobody's fault: the take waits. A silent or unreadable take is final.
    Anything else (a crash of ffmpeg or of ours) is retried a few times.
    """
    if mastering.is_disk_full(error):
        _wait_for_room(take)
        return True
    if isinstance(error, mastering.SilentTakeError):
        _fail(take, error.code, error.message_zh, getattr(error, "report", None))
        return True
    if isinstance(error, mastering.RecorderError) and not error.code.startswith("ffmpeg"):
        _fail(take, error.code, refusal_for(error).message, None)
        return True
    _retry_or_fail(take, error)
    return False


def _wait_for_room(take: Recording) -> None:
    """The disk is full: the take waits, queued, and spends no attempt; the sweep tries it again."""
    db.session.rollback()
    log.warning("take %s waits for disk space", take.token)
    lifecycle.wait_for_room(take)
    db.session.commit()


def _retry_or_fail(take: Recording, error: Exception) -> None:
    """A failure that may pass (a crash of ffmpeg, a full disk): retry, but not for ever."""
    db.session.rollback()
    log.error("mastering take %s failed (attempt %d): %s", take.token, take.attempts, error)
    if lifecycle.retry_or_fail(take, PROCESSING_FAILED_MESSAGE) is JobStatus.FAILED:
        take.error_code, take.report = PROCESSING_FAILED, None
    db.session.commit()


def _finish(take: Recording, audio: mastering.StoredAudio) -> None:
    lifecycle.finish(take)
    take.mastered_key = audio.key
    take.duration_ms = audio.duration_ms
    take.size_bytes = audio.size_bytes
    take.loudness_lufs = audio.loudness_lufs
    take.true_peak_dbtp = audio.true_peak_dbtp
    take.report = audio.report.to_dict()
    take.decision = Decision.PENDING  # now it waits for the librarians
    db.session.commit()


def _fail(take: Recording, code: str, message: str, report: Any) -> None:
    lifecycle.fail(take, message)
    take.error_code = code
    take.report = report.to_dict() if report is not None else None
    db.session.commit()


def lost_takes(now: datetime) -> list[str]:
    """Tokens of takes no live worker is on, to queue again (those out of attempts are failed)."""
    return lifecycle.lost(Recording.token, now, gave_up=PROCESSING_FAILED_MESSAGE, error_code=PROCESSING_FAILED)


def status_payload(take: Recording) -> dict[str, Any]:
    """The contract's JSON for ``GET /api/v1/recordings/<token>``."""
    payload: dict[str, Any] = {
        "token": take.token,
        "status": take.status.value,
        "title": take.title,
        "reader_name": take.reader_name,
        "report": take.report,
        "take_home_url": url_for("booth.take_home", token=take.token),
        "audio_url": None,
        "decision": take.decision.value if take.decision else None,
        "advice": first_advice(take.report),
    }
    if take.status is JobStatus.FAILED:
        payload["message"] = take.error_message
        payload["error"] = take.error_code
    if take.status is JobStatus.DONE and take.mastered_key:
        payload["audio_url"] = url_for("booth.take_audio", token=take.token)
        payload["duration_s"] = round((take.duration_ms or 0) / 1000, 3)
    return payload


def first_advice(report: dict[str, Any] | None) -> dict[str, str] | None:
    """The one piece of advice the booth shows now (the report's first), in the page's language; None if none.

    Plain words, no units: the figures are for the librarian (``kiosk.booth.moderation``).
    """
    items = (report or {}).get("advice") or []
    first = items[0] if items and isinstance(items[0], dict) else None
    if first is None:
        return None
    english = str(get_locale() or "zh").startswith("en") and first.get("text_en")
    return {"code": str(first.get("code", "")), "severity": str(first.get("severity", "")),
            "text": str(first["text_en"] if english else first.get("text_zh", ""))}


def tags_for(take: Recording) -> mastering.TrackTags:
    """The ID3 tags a take's master carries (the same as ``process`` writes)."""
    return mastering.TrackTags(
        title=take.title, artist=take.reader_name, album=BOOTH_ALBUM, genre=BOOTH_ALBUM,
        language="zho", licence=take.licence,
    )


def master_again(take: Recording, preset: mastering.Preset) -> mastering.StoredAudio:
    """Master a take's untouched original once more with ``preset``; the row is not changed.

    Raises ``mastering.RecorderError`` (``SilentTakeError`` included) like the first mastering.
    """
    audio = mastering.master_into_store(store().path(take.original_key), tags_for(take), preset, text=text_read(take))
    return check_reading(audio, text_read(take))


def text_read(take: Recording) -> str | None:
    """The booth text the volunteer read (None for a free reading), for the quality report."""
    return take.text.body if take.text is not None else None


# ---- skipped sentences, found by aligning the text to the master ----------------------------


def check_reading(audio: mastering.StoredAudio, text: str | None) -> mastering.StoredAudio:
    """``audio`` with its report's ``skipped`` finding: sentences of ``text`` the volunteer seems to have left out.

    The text is aligned to the master by the read-along aligner (each piece in a fresh process,
    here in the worker's job) and ``hints.suspect_sentences`` names the sentences given too
    little time. Found, they become the volunteer's advice ("第3句好像漏读了：「…」") in its place
    by priority, and the take fails. Where the check cannot run (a free reading, no aligner, a
    failed alignment, a take already much too short) the finding says so and why, for the
    librarian; advice and verdict stay as they were.
    """
    report = audio.report
    if report.findings is None:  # not analysed (an import's file): nothing to add to
        return audio
    found = _skipped_finding(audio, text, report.findings)
    items, verdict = report.advice, report.verdict
    if found["found"]:
        advice = words.skipped_advice([(s["number"], s["text"]) for s in found["sentences"]])
        items = words.with_advice(report.advice, advice)
        verdict = "fail"
    findings = {**report.findings, "skipped": found}
    return replace(audio, report=replace(report, findings=findings, advice=items, verdict=verdict))


def _skipped_finding(audio: mastering.StoredAudio, text: str | None, findings: dict[str, Any]) -> dict[str, Any]:
    """The ``skipped`` entry of a report's findings: what was checked, and the sentences found, or why not."""
    if not text or not text.strip():
        return _not_checked(gettext("自由朗读没有文本，没有逐句检查。"))
    if (findings.get("too_short") or {}).get("found"):
        return _not_checked(gettext("录音比文字短很多，没有逐句检查。"))
    reason = aligner.unavailable_reason()
    if reason:
        return _not_checked(reason)
    sentences = split(text)
    if len(sentences) < SENTENCES_MIN:
        return _not_checked(gettext("文本只有一句，没有逐句检查。"))
    try:
        with tempfile.TemporaryDirectory(prefix="align-", dir=store().scratch_dir()) as scratch:
            cues = aligner.align(store().path(audio.key), sentences, audio.duration_ms / 1000, scratch=Path(scratch))
    except (aligner.AlignmentFailed, OSError) as error:  # an extra: the take is kept, unchecked
        log.warning("checking the reading of %s failed: %s", audio.key, error)
        return _not_checked(gettext("对齐失败：%(why)s", why=str(error)))
    suspects = hints.suspect_sentences(sentences, cues)
    return {
        "found": bool(suspects), "severity": "fail" if suspects else "", "checked": True, "reason": None,
        "sentence_count": len(sentences),
        "sentences": [{"number": i + 1, "text": sentences[i].text, "start_s": cues[i][0], "end_s": cues[i][1]}
                      for i in suspects],
    }


def _not_checked(reason: str) -> dict[str, Any]:
    """A ``skipped`` finding for a take whose sentences were not checked, with the librarian's reason."""
    return {"found": False, "severity": "", "checked": False, "reason": reason, "sentence_count": None,
            "sentences": []}
