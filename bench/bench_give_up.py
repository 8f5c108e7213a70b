"""Benchmark: how quickly the kiosk gives up on what it must not wait for.

    python bench/bench_give_up.py                      # about 30 s
    python bench/bench_give_up.py --rounds 9 --no-write
    python bench/bench_give_up.py --database-url postgresql+psycopg://kiosk@127.0.0.1:54329/scratch

The tests check these by their outcome (tests/test_scans.py, tests/test_postgres_redis.py,
tests/recorder/test_loudness.py, tests/recorder/test_pipeline.py); how long they take is
measured here, each against a baseline run in the same process, alternating round by round:

1. A QR code's redirect while another writer holds the database (SQLite's write lock; on
   PostgreSQL an exclusive lock on ``scans``), against the same redirect with the database
   free. The scan waits at most ``LOCK_WAIT_MS`` and gives up, so the redirect's extra time
   should be about that budget, never the database driver's own lock wait (5 s on SQLite).
2. Refusing overlong audio: ``recorder.loudness.measure`` on a FLAC whose header does not
   give its length, 2 hours against 2 minutes, both over a 30 s limit; and
   ``recorder.pipeline.master`` on a FLAC of 10 hours against 2 hours, both over the
   90-minute limit. Refusing at the limit costs the same whatever the length: ratio ≈ 1.

The files are FLACs of digital silence built by hand (``tests/recorder/helpers.py``), a few
dozen KB for hours of audio, so it needs the test extra (``pip install -e '.[test]'``).
"""

from __future__ import annotations

import argparse
import logging
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make ``bench``, ``kiosk`` and ``tests`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask import Flask
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from bench.common import machine_description, machine_markdown, markdown_table, run_and_record, today
from kiosk import create_app
from kiosk.cli.setup import prepare_database
from kiosk.extensions import db
from kiosk.insights.scans import LOCK_WAIT_MS
from kiosk.library import catalogue
from kiosk.models import CodeTarget, Section
from recorder.errors import TooLongError
from recorder.loudness import measure
from recorder.pipeline import master
from recorder.presets import Preset
from recorder.tags import TrackTags
from tests.recorder.helpers import silent_flac

HEADING = "Giving up quickly"
MEASURE_LIMIT_S = 30.0
EXTRA_TARGET = 2.0  # the locked redirect's extra time, at most this many lock-wait budgets
REFUSAL_RATIO_TARGET = 2.0  # refusing a long file, at most this many times a short one's cost


def parse_args() -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds; medians are reported")
    parser.add_argument("--database-url", help="an empty PostgreSQL database to use instead of SQLite")
    parser.add_argument("--no-write", action="store_true", help="do not update results.md")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    return parser.parse_args()


def timed_s(action: Callable[[], object]) -> float:
    """Wall seconds ``action`` took."""
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def alternate(rounds: int, baseline: Callable[[], object], subject: Callable[[], object]) -> tuple[float, float]:
    """Median wall seconds of ``baseline`` and ``subject``, run in turn (the order flips each round)."""
    times: dict[str, list[float]] = {"baseline": [], "subject": []}
    for index in range(rounds):
        order = (("baseline", baseline), ("subject", subject))
        for name, action in order if index % 2 == 0 else reversed(order):
            times[name].append(timed_s(action))
    return statistics.median(times["baseline"]), statistics.median(times["subject"])


# ---- 1. a scan while the database is locked ---------------------------------------------------


def scan_app(workdir: Path, database_url: str | None) -> Flask:
    """The application on a fresh SQLite file (or the given database), schema and sections made."""
    app = create_app({
        "TESTING": True,
        "KIOSK_DATA_DIR": workdir / "media",
        "SQLALCHEMY_DATABASE_URI": database_url or f"sqlite:///{workdir / 'bench.sqlite3'}",
        "SECRET_KEY": "bench",
    })
    with app.app_context():
        prepare_database()
    logging.getLogger("kiosk.insights.scans").setLevel(logging.ERROR)  # each given-up scan logs a warning
    return app


@contextmanager
def database_locked(app: Flask) -> Iterator[None]:
    """Another writer holds the database (SQLite) or the scans table (PostgreSQL) meanwhile."""
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if url.startswith("sqlite:///"):
        locker = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        locker.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            locker.execute("ROLLBACK")
            locker.close()
        return
    engine = create_engine(url, poolclass=NullPool)
    with engine.connect() as connection:
        connection.execute(text("LOCK TABLE scans IN ACCESS EXCLUSIVE MODE"))
        try:
            yield
        finally:
            connection.rollback()
    engine.dispose()


def redirect(app: Flask, code: str) -> None:
    """A new phone scans ``code`` (no cookie, so the scan is written)."""
    response = app.test_client().get(f"/Q/{code}")
    if response.status_code != 302:
        raise RuntimeError(f"/Q/{code} answered {response.status_code}")


def locked_redirect(app: Flask, code: str) -> None:
    """The same scan while another writer holds the database."""
    with database_locked(app):
        redirect(app, code)


def scan_rows(args: argparse.Namespace, workdir: Path) -> tuple[list[list[object]], bool]:
    """The table rows for the scan under a lock, and whether the target was met."""
    app = scan_app(workdir, args.database_url)
    with app.app_context():
        section = db.session.scalars(db.select(Section).order_by(Section.id)).first()
        assert section is not None, "no default section"
        code = catalogue.primary_code(CodeTarget.SECTION, section.id)
        engine = db.engine.dialect.name
    redirect(app, code)  # warm up: templates, connection pool
    free_s, locked_s = alternate(args.rounds, lambda: redirect(app, code), lambda: locked_redirect(app, code))
    extra_budgets = (locked_s - free_s) / (LOCK_WAIT_MS / 1000)
    with app.app_context():
        db.engine.dispose()
    rows = [[f"`/Q/<code>` redirect, database locked ({engine}) vs free", f"{free_s * 1000:.1f} ms",
             f"{locked_s * 1000:.1f} ms", f"{locked_s / free_s:.0f}×",
             f"extra {(locked_s - free_s) * 1000:.0f} ms = {extra_budgets:.2f}× the {LOCK_WAIT_MS} ms lock wait"]]
    return rows, extra_budgets <= EXTRA_TARGET


# ---- 2. refusing overlong audio ---------------------------------------------------------------


def refused(action: Callable[[], object]) -> Callable[[], None]:
    """``action``, which must refuse its file as too long."""

    def run() -> None:
        try:
            action()
        except TooLongError:
            return
        raise RuntimeError("the overlong file was accepted")

    return run


def refusal_rows(args: argparse.Namespace, workdir: Path) -> tuple[list[list[object]], bool]:
    """The table rows for refusing overlong files, and whether the target was met."""
    capped = Preset(max_duration_s=MEASURE_LIMIT_S)
    unknown = {hours: silent_flac(workdir / f"unknown-{hours}h.flac", hours=hours, claim_length=False)
               for hours in (2 / 60, 2)}
    claimed = {hours: silent_flac(workdir / f"claimed-{hours}h.flac", hours=hours) for hours in (2, 10)}
    tags = TrackTags(title="bench")
    cases = [
        ("`measure()`, length not in the header, 30 s limit: 2 h vs 2 min",
         refused(lambda: measure(unknown[2 / 60], capped)), refused(lambda: measure(unknown[2], capped))),
        ("`master()`, length in the header, 90 min limit: 10 h vs 2 h",
         refused(lambda: master(claimed[2], workdir / "out.mp3", tags=tags)),
         refused(lambda: master(claimed[10], workdir / "out.mp3", tags=tags))),
    ]
    rows, met = [], True
    for label, baseline, subject in cases:
        short_s, long_s = alternate(args.rounds, baseline, subject)
        met = met and long_s / short_s <= REFUSAL_RATIO_TARGET
        rows.append([label, f"{short_s * 1000:.0f} ms", f"{long_s * 1000:.0f} ms", f"{long_s / short_s:.2f}×", ""])
    return rows, met


def run(args: argparse.Namespace, workdir: Path) -> str:
    """Both measurements; the markdown section."""
    machine = machine_description()
    scans, scans_met = scan_rows(args, workdir)
    refusals, refusals_met = refusal_rows(args, workdir)
    table = markdown_table(["What", "baseline (median)", "measured (median)", "ratio", "note"], scans + refusals)
    return "\n\n".join([
        f"Run {today()} with `python bench/bench_give_up.py --rounds {args.rounds}`: each measure and its "
        "baseline alternate in one process; medians of the rounds.",
        table,
        f"Targets: a locked database adds at most {EXTRA_TARGET:g}× the scan's lock wait to the redirect: "
        f"**{'met' if scans_met else 'NOT met'}**; refusing a long file costs at most {REFUSAL_RATIO_TARGET:g}× "
        f"refusing a short one: **{'met' if refusals_met else 'NOT met'}**.",
        "Machine:\n\n" + machine_markdown(machine),
    ])


def main() -> None:
    """Run, print and record; temporary files never outlive it."""
    run_and_record("give-up", HEADING, parse_args(), run)


if __name__ == "__main__":
    main()
