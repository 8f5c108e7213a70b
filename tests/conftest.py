"""Shared fixtures: an app on a fresh data dir, its client and CLI runner, and real audio.

Also the suite's rules, as hooks: tests that need a PostgreSQL or Redis server are
deselected (not skipped) without one; under ``CI=true`` a skip is a failure; and the
checkout's ``./media`` must come out of every run untouched.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import imageio_ffmpeg
import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import create_engine, make_url
from sqlalchemy.pool import NullPool

from kiosk import create_app
from kiosk.cli.setup import prepare_database
from kiosk.extensions import db

from .helpers import in_ci

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()
REPO_ROOT = Path(__file__).resolve().parent.parent
CHECKOUT_MEDIA = REPO_ROOT / "media"  # the default KIOSK_DATA_DIR: a developer's own library

# A real database server and Redis for the whole suite, when set (``.ci/run`` sets both):
# e.g. postgresql+psycopg://kiosk@127.0.0.1:5433/kiosk_test and redis://127.0.0.1:6390/0.
TEST_DATABASE_URL = os.environ.get("KIOSK_TEST_DATABASE_URL") or None
TEST_REDIS_URL = os.environ.get("KIOSK_TEST_REDIS_URL") or None
ON_POSTGRES = (TEST_DATABASE_URL or "").startswith("postgresql")
ON_SQLITE = TEST_DATABASE_URL is None or TEST_DATABASE_URL.startswith("sqlite")

# Markers that select tests by the servers they need; unmet, the test is deselected at collection.
SERVER_MARKERS = {
    "postgres": "needs KIOSK_TEST_DATABASE_URL (PostgreSQL); deselected without it",
    "redis": "needs KIOSK_TEST_REDIS_URL; deselected without it",
    "sqlite_only": "exercises SQLite itself (its file locks); deselected when KIOSK_TEST_DATABASE_URL names another "
                   "database",
    "database": "uses the test database or Redis (the database_url or redis_settings fixture, or a server marker): "
                "added by tests/conftest.py; .ci/run's PostgreSQL + Redis pass runs `-m database`",
}
DATABASE_FIXTURES = {"database_url", "redis_settings"}
_DESELECTED_BY_SERVER = pytest.StashKey[dict[str, int]]()


# ---- collection: markers, and deselection by the servers at hand ---------------------------


def pytest_configure(config: pytest.Config) -> None:
    """Register the server markers (the suite runs with --strict-markers); in CI, run past collection errors.

    In CI one module that fails to import is reported as an error and the rest still run, so a
    single broken file does not hide every other result (the run fails either way).
    """
    for name, meaning in SERVER_MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {meaning}")
    if in_ci():
        config.option.continue_on_collection_errors = True


def _unmet_need(item: pytest.Item) -> str | None:
    """Why ``item`` cannot run against the servers configured now, or ``None`` if it can."""
    if item.get_closest_marker("postgres") and not ON_POSTGRES:
        return "KIOSK_TEST_DATABASE_URL (PostgreSQL) is not set; .ci/run's PostgreSQL + Redis pass runs them"
    if item.get_closest_marker("redis") and TEST_REDIS_URL is None:
        return "KIOSK_TEST_REDIS_URL is not set; .ci/run's PostgreSQL + Redis pass runs them"
    if item.get_closest_marker("sqlite_only") and not ON_SQLITE:
        return "KIOSK_TEST_DATABASE_URL is not SQLite; they run on SQLite, in .ci/run's first pass"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the tests that touch the test database or Redis; deselect those whose server is absent."""
    kept: list[pytest.Item] = []
    deselected: list[pytest.Item] = []
    reasons: dict[str, int] = {}
    for item in items:
        needs_server = any(item.get_closest_marker(name) for name in ("postgres", "redis"))
        if needs_server or DATABASE_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.database)
        reason = _unmet_need(item)
        if reason is None:
            kept.append(item)
        else:
            deselected.append(item)
            reasons[reason] = reasons.get(reason, 0) + 1
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = kept
    config.stash[_DESELECTED_BY_SERVER] = reasons


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """Say which tests were left out for want of a server (deselected, so not in the skip count)."""
    for reason, count in config.stash.get(_DESELECTED_BY_SERVER, {}).items():
        terminalreporter.write_line(f"deselected {count} test(s): {reason}")


# ---- under CI, a skip is a failure ---------------------------------------------------------


def _skip_reason(report: pytest.CollectReport | pytest.TestReport) -> str:
    """The reason a skipped report gives."""
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        path, line, message = longrepr
        return f"{message} ({path}:{line})"
    return str(longrepr)


def _fail_the_skip(report: pytest.CollectReport | pytest.TestReport) -> None:
    """Turn a skipped report into a failed one: CI installs every tool, so nothing may be skipped."""
    report.longrepr = f"skipped under CI=true, where nothing may be skipped: {_skip_reason(report)}"
    report.outcome = "failed"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Under CI, a skipped test (a missing tool, a stray ``skipif``) fails; an expected failure stays."""
    report = yield
    if report.skipped and not hasattr(report, "wasxfail") and in_ci():
        _fail_the_skip(report)
    return report


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Any:
    """Under CI, a module skipped at import (``importorskip``) fails its collection."""
    report = yield
    if report.skipped and in_ci():
        _fail_the_skip(report)
    return report


# ---- the checkout's ./media is a developer's library: the suite never writes there ---------


def _tree_state(root: Path) -> dict[str, tuple[int, int]] | None:
    """Every path under ``root`` (itself included) with its size and mtime; ``None`` if absent."""
    if not root.exists():
        return None
    paths = [root, *root.rglob("*")]
    return {str(path.relative_to(root)): (path.lstat().st_size, path.lstat().st_mtime_ns) for path in paths}


def _tree_changes(before: dict[str, tuple[int, int]] | None, after: dict[str, tuple[int, int]] | None) -> list[str]:
    """What differs between two ``_tree_state`` snapshots, one line per path."""
    if before is None or after is None:
        return [] if before == after else ["created" if before is None else "removed"]
    changes = [f"added {path}" for path in sorted(after.keys() - before.keys())]
    changes += [f"removed {path}" for path in sorted(before.keys() - after.keys())]
    changes += [f"changed {path}" for path in sorted(before.keys() & after.keys()) if before[path] != after[path]]
    return changes


@pytest.fixture(scope="session", autouse=True)
def _checkout_media_untouched(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Fail the run if anything in it wrote into (or created) the checkout's ``./media``.

    Meanwhile ``KIOSK_DATA_DIR`` names a folder that must never appear either: every app and
    command of the suite is given its own data dir, so one falling back to the environment's
    (which would be a developer's ``./media``, and is read at every ``create_app``) is a bug.
    """
    fallback = tmp_path_factory.getbasetemp() / "environment-data-dir"
    before = _tree_state(CHECKOUT_MEDIA)
    with pytest.MonkeyPatch.context() as environment:
        environment.setenv("KIOSK_DATA_DIR", str(fallback))
        yield
    changes = _tree_changes(before, _tree_state(CHECKOUT_MEDIA))
    if changes:
        listed = "\n".join(changes[:20])
        pytest.fail(f"the test run wrote into the checkout's {CHECKOUT_MEDIA} (use tmp_path, "
                    f"KIOSK_DATA_DIR or the app's KIOSK_DATA_DIR setting):\n{listed}", pytrace=False)
    if fallback.exists():
        pytest.fail(f"something in the run used the environment's data dir ({fallback}, standing in for "
                    "./media) instead of its own: give every app and command its own", pytrace=False)


def make_audio(path: Path, *, seconds: float = 6.0, source: str = "sine=frequency=440") -> Path:
    """Encode ``seconds`` of an ffmpeg lavfi source to ``path`` (format by suffix)."""
    subprocess.run(
        [FFMPEG, "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi",
         "-i", f"{source}:duration={seconds}", "-ac", "1", "-ar", "44100", str(path)],
        check=True,
    )
    return path


@pytest.fixture(scope="session")
def sample_mp3(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 6-second MP3, made once per test session."""
    return make_audio(tmp_path_factory.mktemp("audio") / "tone.mp3")


@contextmanager
def server_database(base_url: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL schema on the test server; yields a URL whose connections use it.

    The schema is the first on every connection's ``search_path`` (a libpq ``options``
    parameter, so subprocesses given the URL land in it too), and is dropped afterwards.
    Other servers get everything dropped instead.
    """
    url = make_url(base_url)
    if url.get_backend_name() != "postgresql":
        yield _emptied(base_url)
        return
    schema = f"kiosk_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url, poolclass=NullPool)
    with admin.begin() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    try:
        query = {"options": f"-c search_path={schema}", "application_name": schema}
        yield url.update_query_dict(query).render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            # Connections a test left open (its own engines, a subprocess) would block the drop.
            connection.exec_driver_sql(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s", (schema,)
            )
            connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


def _emptied(base_url: str) -> str:
    """Drop every table of a non-PostgreSQL test server (slow, but any server will do)."""
    from sqlalchemy import MetaData

    engine = create_engine(base_url, poolclass=NullPool)
    metadata = MetaData()
    metadata.reflect(engine)
    metadata.drop_all(engine)
    engine.dispose()
    return base_url


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    """A private, empty database: SQLite in ``tmp_path``, or a fresh schema on the test server."""
    if TEST_DATABASE_URL is None:
        yield f"sqlite:///{tmp_path / 'test.sqlite3'}"
        return
    with server_database(TEST_DATABASE_URL) as url:
        yield url


@pytest.fixture
def redis_settings() -> Iterator[dict[str, str]]:
    """App settings putting rate limits (and the queue) on the test Redis under a private prefix."""
    if TEST_REDIS_URL is None:
        yield {}
        return
    prefix = f"kiosk-test-{uuid.uuid4().hex[:12]}"
    # Flask-Limiter's one Limiter keeps the key prefix of the first app a process built, so its
    # decorators' counters outlive the test that made them: every test starts with none.
    _delete_keys(TEST_REDIS_URL, "LIMITS:*")
    yield {"KIOSK_REDIS_URL": TEST_REDIS_URL, "RATELIMIT_KEY_PREFIX": prefix}
    _delete_keys(TEST_REDIS_URL, f"*{prefix}*")


def _delete_keys(redis_url: str, pattern: str) -> None:
    """Delete the test Redis's keys matching ``pattern``."""
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        keys = list(client.scan_iter(match=pattern, count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture
def app(tmp_path: Path, database_url: str, redis_settings: dict[str, str]) -> Iterator[Flask]:
    """An application on an empty data dir with the schema and default sections."""
    application = create_app(
        {
            "TESTING": True,
            "KIOSK_DATA_DIR": tmp_path / "media",
            "SQLALCHEMY_DATABASE_URI": database_url,
            "SECRET_KEY": "test-secret",
            "KIOSK_JOBS_IMMEDIATE": True,
            **redis_settings,
        }
    )
    with application.app_context():
        prepare_database()
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def limited_app(tmp_path: Path, database_url: str, redis_settings: dict[str, str]) -> Iterator[Callable[..., Flask]]:
    """Make apps with rate limits on (as in production), on the test database and Redis; ``overrides`` win."""
    made: list[Flask] = []

    def make(**overrides: Any) -> Flask:
        application = create_app({
            "TESTING": True, "RATELIMIT_ENABLED": True, "KIOSK_DATA_DIR": tmp_path / "media",
            "SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "test-secret", **redis_settings, **overrides,
        })
        with application.app_context():
            prepare_database()
        made.append(application)
        return application

    yield make
    for application in made:
        with application.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client speaking real HTTP semantics to the app."""
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    """The app's CLI runner."""
    return app.test_cli_runner()


class AuthActions:
    """Sign a test client in as a fresh librarian or admin (flaskr's ``auth`` fixture)."""

    password = "correct horse battery staple"  # noqa: S105 - test fixture

    def __init__(self, app: Flask, client: FlaskClient) -> None:
        self.app = app
        self.client = client

    def login(self, role: str = "librarian", username: str | None = None) -> FlaskClient:
        """Create the account if needed and sign ``self.client`` in with it."""
        from kiosk.accounts import auth

        name = username or f"test-{role}"
        with self.app.app_context():
            if auth.find_user(name) is None:
                auth.create_user(name, self.password, role, via="test")
                db.session.commit()
        response = self.client.post("/admin/login", data={"username": name, "password": self.password})
        assert response.status_code == 302, response.get_data(as_text=True)
        return self.client

    def logout(self) -> None:
        """Sign out."""
        self.client.post("/admin/logout")


@pytest.fixture
def auth(app: Flask, client: FlaskClient) -> AuthActions:
    """Log ``client`` in and out of the console."""
    return AuthActions(app, client)
