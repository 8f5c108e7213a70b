"""The one lifecycle of a leased job, checked once for every kind of job the kiosk has.

Claims, leases, heartbeats, retries and recovery run against the real database (SQLite,
or PostgreSQL with ``KIOSK_TEST_DATABASE_URL``); each test names a job by its key column
and value, as the queue does.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from flask import Flask
from sqlalchemy import select, text, update
from sqlalchemy.orm import InstrumentedAttribute

from kiosk import create_app
from kiosk.db import schema
from kiosk.extensions import db
from kiosk.jobs import lifecycle
from kiosk.jobs.lifecycle import JobStateError
from kiosk.models import ChapterUpload, ImportBatch, JobStatus, LeasedJob, Recording, Remaster, utcnow
from tests.factories import gen_book, gen_section

ORIGINAL = "originals/ab/" + "a" * 32 + ".wav"
SECOND = timedelta(seconds=1)


def gen_take() -> Recording:
    return Recording(token=secrets.token_urlsafe(12), reader_name="甲", consent=True, licence="CC BY 4.0",
                     title="读", original_key=ORIGINAL, original_size_bytes=1)


def gen_upload() -> ChapterUpload:
    return ChapterUpload(book=gen_book(), title="第一章", original_key=ORIGINAL)


def gen_batch() -> ImportBatch:
    return ImportBatch(token=secrets.token_hex(8), section=gen_section(), files=[])


def gen_remaster() -> Remaster:
    take = gen_take()
    db.session.add(take)
    db.session.flush()
    return Remaster(recording_id=take.id, target_lufs=-18.0)


@dataclass(frozen=True)
class Kind:
    """A kind of job: the column the queue names it by, and how to make one."""

    key: InstrumentedAttribute[Any]
    make: Callable[[], LeasedJob]

    def queued(self) -> Any:
        """A new queued job's key."""
        job = self.make()
        db.session.add(job)
        db.session.commit()
        return getattr(job, self.key.key)

    def row(self, value: Any) -> LeasedJob:
        """The job as the database has it now."""
        db.session.expire_all()
        job = db.session.scalars(select(self.key.class_).where(self.key == value)).one()
        db.session.commit()  # end the read: a writer on SQLite need not wait for us
        return job  # type: ignore[no-any-return]

    def set(self, value: Any, **values: Any) -> None:
        """Put the row in a state a test needs (a dead worker's lease, a used-up job)."""
        db.session.execute(update(self.key.class_).where(self.key == value).values(**values))
        db.session.commit()


KINDS = {
    "take": Kind(Recording.token, gen_take),
    "chapter upload": Kind(ChapterUpload.id, gen_upload),
    "import batch": Kind(ImportBatch.id, gen_batch),
    "remaster": Kind(Remaster.id, gen_remaster),
}


@pytest.fixture(params=list(KINDS))
def kind(request: pytest.FixtureRequest, app: Flask) -> Iterator[Kind]:
    """Each kind of job in turn, inside an app context."""
    with app.app_context():
        yield KINDS[request.param]


def aware(moment: datetime | None) -> datetime:
    """A stored time as UTC (SQLite keeps no zone; we store UTC everywhere)."""
    assert moment is not None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def wait_for(what: str, condition: Callable[[], bool], timeout_s: float = 30) -> None:
    """Poll until ``condition`` holds; fail the test if the deadline passes first."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout_s} s")
        time.sleep(0.02)


def test_only_one_worker_claims_a_job(kind: Kind) -> None:
    value = kind.queued()
    before = utcnow()
    assert lifecycle.claim(kind.key, value) is True
    assert lifecycle.claim(kind.key, value) is False  # held: the second worker goes away
    job = kind.row(value)
    assert job.status is JobStatus.PROCESSING and job.attempts == 1
    assert aware(job.lease_until) >= before + lifecycle.lease()


def test_a_job_whose_lease_runs_out_is_lost_and_claimed_again(kind: Kind) -> None:
    value = kind.queued()
    assert lifecycle.claim(kind.key, value)
    lease_until = aware(kind.row(value).lease_until)
    assert value not in lifecycle.lost(kind.key, lease_until - SECOND, gave_up="-")  # its worker is alive
    assert value in lifecycle.lost(kind.key, lease_until + SECOND, gave_up="-")  # its worker died

    kind.set(value, lease_until=utcnow() - SECOND)  # the dead worker's lease, now past
    assert lifecycle.claim(kind.key, value) is True
    job = kind.row(value)
    assert job.status is JobStatus.PROCESSING and job.attempts == 2


def test_a_queued_job_is_lost_only_when_its_message_must_have_been(kind: Kind) -> None:
    value = kind.queued()
    queued_at = aware(kind.row(value).queued_at)
    assert value not in lifecycle.lost(kind.key, queued_at + lifecycle.LOST_AFTER - SECOND, gave_up="-")
    assert value in lifecycle.lost(kind.key, queued_at + lifecycle.LOST_AFTER + SECOND, gave_up="-")


def test_retry_or_fail_counts_attempts(kind: Kind) -> None:
    value = kind.queued()
    outcomes = []
    for _ in range(lifecycle.MAX_ATTEMPTS):
        assert lifecycle.claim(kind.key, value)
        outcomes.append(lifecycle.retry_or_fail(kind.row(value), "三次都失败了"))
        db.session.commit()
    assert outcomes == [JobStatus.QUEUED] * (lifecycle.MAX_ATTEMPTS - 1) + [JobStatus.FAILED]
    job = kind.row(value)
    assert job.status is JobStatus.FAILED and job.error_message == "三次都失败了"
    assert job.attempts == lifecycle.MAX_ATTEMPTS and job.lease_until is None and job.finished_at is not None
    assert lifecycle.claim(kind.key, value) is False


def test_an_abandoned_job_out_of_attempts_is_failed_not_queued_again(kind: Kind) -> None:
    value = kind.queued()
    kind.set(value, status=JobStatus.PROCESSING, attempts=lifecycle.MAX_ATTEMPTS, lease_until=utcnow() - SECOND)
    assert lifecycle.claim(kind.key, value) is False
    assert value not in lifecycle.lost(kind.key, utcnow(), gave_up="处理中断了")
    job = kind.row(value)
    assert job.status is JobStatus.FAILED and job.error_message == "处理中断了" and job.lease_until is None


@pytest.mark.parametrize(
    "end",
    [
        pytest.param(lambda job: lifecycle.finish(job), id="done"),
        pytest.param(lambda job: lifecycle.finish(job, JobStatus.SUPERSEDED), id="superseded"),
        pytest.param(lambda job: lifecycle.fail(job, "坏了"), id="failed"),
    ],
)
def test_final_states_are_final(kind: Kind, end: Callable[[LeasedJob], None]) -> None:
    value = kind.queued()
    assert lifecycle.claim(kind.key, value)
    end(kind.row(value))
    db.session.commit()
    final = kind.row(value).status

    assert lifecycle.claim(kind.key, value) is False
    assert lifecycle.renew(kind.key, value) is False
    assert value not in lifecycle.lost(kind.key, utcnow() + timedelta(days=1), gave_up="-")
    for change in (lifecycle.finish, lifecycle.requeue, lambda job: lifecycle.fail(job, "又坏了")):
        with pytest.raises(JobStateError):
            change(kind.row(value))
        db.session.rollback()
    assert kind.row(value).status is final and final is not JobStatus.PROCESSING


def test_the_heartbeat_keeps_a_live_job_and_stops_with_it(app: Flask) -> None:
    app.config["KIOSK_TAKE_LEASE_S"] = 1.0  # renewed every third of a second
    take = KINDS["take"]
    with app.app_context():
        token = take.queued()
        assert lifecycle.claim(Recording.token, token)
        first_lease = aware(take.row(token).lease_until)
        with lifecycle.heartbeat(Recording.token, token):
            wait_for("the heartbeat renews the lease past its first end",
                     lambda: aware(take.row(token).lease_until) > first_lease + SECOND)
            assert utcnow() > first_lease  # the first lease is over, yet the job is not lost:
            assert token not in lifecycle.lost(Recording.token, utcnow(), gave_up="-")
        last_lease = aware(take.row(token).lease_until)
        wait_for("the lease runs out once the heartbeat stops", lambda: utcnow() > last_lease)
        assert aware(take.row(token).lease_until) == last_lease  # nobody renewed it after the block
        assert token in lifecycle.lost(Recording.token, utcnow(), gave_up="-")



# ---- the upgrade that brought every job to this lifecycle (0012) -----------------------------

BEFORE = "0011_plays_outlive_chapters"
HEARD_AT = datetime(2024, 3, 1, 8, 30, tzinfo=UTC)


@pytest.fixture
def bare_app(tmp_path: Path, database_url: str, redis_settings: dict[str, str]) -> Iterator[Flask]:
    """An application on an empty database that nothing has migrated yet."""
    application = create_app({
        "TESTING": True, "KIOSK_DATA_DIR": tmp_path / "media", "SQLALCHEMY_DATABASE_URI": database_url,
        "SECRET_KEY": "test-secret", "KIOSK_JOBS_IMMEDIATE": True, **redis_settings,
    })
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


def insert_jobs_as_before() -> None:
    """Jobs in flight at 0011: each kind running (last heard of at ``HEARD_AT``), one take finished."""
    statements = [
        "INSERT INTO sections (id, slug, name, description, position, colour, icon, published, created_at)"
        " VALUES (900, 'old', '旧', '', 1, '#000000', '', :yes, :at)",
        "INSERT INTO books (id, section_id, title, sort_key, search_text, author, description, published,"
        " created_at, updated_at) VALUES (900, 900, '书', '', '', '', '', :yes, :at, :at)",
        "INSERT INTO recordings (id, token, reader_name, consent, licence, title, original_key, original_format,"
        " original_size_bytes, status, attempts, lease_until, created_at, processed_at)"
        " VALUES (900, 'old-take', '甲', :yes, 'CC BY 4.0', '读', 'k', '', 1, 'done', 1, NULL, :at, :at)",
        "INSERT INTO chapter_uploads (id, book_id, title, reader_name, keep_as_is, original_key, original_name,"
        " status, note, created_at, heartbeat_at) VALUES (900, 900, '章', '', :no, 'k', '', 'processing', '',"
        " :at, :at)",
        "INSERT INTO import_batches (id, token, section_id, status, fallback_title, publish, files, done_files,"
        " created_at, heartbeat_at) VALUES (900, 'old-batch', 900, 'processing', '', :yes, '[]', 0, :at, :at)",
        "INSERT INTO take_remasters (id, recording_id, target_lufs, room_tone, status, created_at, started_at)"
        " VALUES (900, 900, -18, 'standard', 'processing', :at, :at)",
    ]
    with db.engine.begin() as connection:
        for sql in statements:
            connection.execute(text(sql), {"yes": True, "no": False, "at": HEARD_AT})


def test_jobs_in_flight_keep_their_deadlines_through_the_upgrade(bare_app: Flask) -> None:
    with bare_app.app_context():
        schema.upgrade(BEFORE)
        insert_jobs_as_before()
        schema.upgrade()
        db.session.expire_all()
        take = db.session.get(Recording, 900)
        assert take is not None and take.status is JobStatus.DONE
        assert aware(take.finished_at) == HEARD_AT and aware(take.queued_at) == HEARD_AT  # processed_at, as it was
        for model, allowed in ((ChapterUpload, timedelta(minutes=15)), (ImportBatch, timedelta(minutes=15)),
                               (Remaster, timedelta(hours=1))):
            job = db.session.get(model, 900)
            assert job is not None and job.status is JobStatus.PROCESSING and job.attempts == 1
            assert aware(job.lease_until) == HEARD_AT + allowed  # the deadline it had before
            assert aware(job.queued_at) == HEARD_AT
        assert lifecycle.lost(ChapterUpload.id, HEARD_AT + timedelta(minutes=16), gave_up="-") == [900]
        assert lifecycle.lost(Remaster.id, HEARD_AT + timedelta(minutes=16), gave_up="-") == []


def test_the_upgrade_can_be_undone(bare_app: Flask) -> None:
    with bare_app.app_context():
        schema.upgrade(BEFORE)
        insert_jobs_as_before()
        schema.upgrade()
        config = schema.alembic_config()
        with db.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, BEFORE)
        assert schema.current_revision() == BEFORE
        with db.engine.connect() as connection:
            heard = connection.execute(text("SELECT heartbeat_at FROM chapter_uploads WHERE id = 900")).scalar()
            processed = connection.execute(text("SELECT processed_at FROM recordings WHERE id = 900")).scalar()
        assert aware(heard if isinstance(heard, datetime) else datetime.fromisoformat(heard)) == HEARD_AT
        assert processed is not None
        schema.upgrade()
        assert schema.current_revision() == schema.head_revision()
