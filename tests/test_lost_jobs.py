"""Librarians' uploads and imports whose worker died (or whose job was lost) run again."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask

from kiosk.extensions import db
from kiosk.ingest import batches, chapter_uploads
from kiosk.models import ChapterUpload, ImportBatch, ImportStatus, TakeStatus, utcnow
from tests.factories import gen_book, gen_section

MINUTE = timedelta(minutes=1)


def upload(book_id: int, status: TakeStatus, created_ago: timedelta, heartbeat_ago: timedelta | None) -> int:
    now = utcnow()
    row = ChapterUpload(
        book_id=book_id, title="第一章", original_key="originals/ab/" + "a" * 32 + ".wav", status=status,
        created_at=now - created_ago, heartbeat_at=None if heartbeat_ago is None else now - heartbeat_ago,
    )
    db.session.add(row)
    db.session.commit()
    return row.id


def batch(status: ImportStatus, created_ago: timedelta, heartbeat_ago: timedelta | None) -> int:
    now = utcnow()
    row = ImportBatch(
        token=f"t{now.timestamp()}{status}{created_ago}", section=gen_section(), status=status, files=[],
        created_at=now - created_ago, heartbeat_at=None if heartbeat_ago is None else now - heartbeat_ago,
    )
    db.session.add(row)
    db.session.commit()
    return row.id


@pytest.mark.parametrize(
    ("status", "created_ago", "heartbeat_ago", "lost"),
    [
        (TakeStatus.QUEUED, 0 * MINUTE, None, False),  # just queued: its job is on the way
        (TakeStatus.QUEUED, 5 * MINUTE, None, True),  # queued long ago: the job was lost
        (TakeStatus.PROCESSING, 30 * MINUTE, 1 * MINUTE, False),  # a live worker is on it
        (TakeStatus.PROCESSING, 30 * MINUTE, 20 * MINUTE, True),  # its worker went silent
        (TakeStatus.DONE, 30 * MINUTE, 20 * MINUTE, False),
    ],
)
def test_lost_uploads(app: Flask, status: TakeStatus, created_ago: timedelta,
                      heartbeat_ago: timedelta | None, lost: bool) -> None:
    with app.app_context():
        upload_id = upload(gen_book().id, status, created_ago, heartbeat_ago)
        assert (upload_id in chapter_uploads.lost_uploads(utcnow())) is lost


def test_an_abandoned_upload_is_claimed_again_but_a_live_one_is_not(app: Flask) -> None:
    with app.app_context():
        book_id = gen_book().id
        abandoned = upload(book_id, TakeStatus.PROCESSING, 30 * MINUTE, 20 * MINUTE)
        live = upload(book_id, TakeStatus.PROCESSING, 30 * MINUTE, 1 * MINUTE)
        assert chapter_uploads._claim_upload(abandoned) is True
        assert chapter_uploads._claim_upload(abandoned) is False  # now ours: nobody else's
        assert chapter_uploads._claim_upload(live) is False


@pytest.mark.parametrize(
    ("status", "created_ago", "heartbeat_ago", "lost"),
    [
        (ImportStatus.QUEUED, 0 * MINUTE, None, False),
        (ImportStatus.QUEUED, 5 * MINUTE, None, True),
        (ImportStatus.PROCESSING, 60 * MINUTE, 2 * MINUTE, False),  # long import, still reporting
        (ImportStatus.PROCESSING, 60 * MINUTE, 20 * MINUTE, True),
        (ImportStatus.FAILED, 60 * MINUTE, 20 * MINUTE, False),
    ],
)
def test_lost_import_batches(app: Flask, status: ImportStatus, created_ago: timedelta,
                             heartbeat_ago: timedelta | None, lost: bool) -> None:
    with app.app_context():
        batch_id = batch(status, created_ago, heartbeat_ago)
        assert (batch_id in batches.lost_batches(utcnow())) is lost
