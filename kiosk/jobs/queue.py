"""The queue itself (Huey): SQLite in the data dir by default, Redis when ``KIOSK_REDIS_URL`` is set.

Binding the queue to an app writes nothing: the SQLite file and its tables appear
with the first job, so creating the app (``kiosk --help``) leaves a folder as it was.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from flask import Flask, has_app_context
from huey import Huey
from huey.storage import MemoryStorage, RedisStorage, SqliteStorage

from kiosk.extensions import owner_only

QUEUE_NAME = "kiosk"
QUEUE_FILE = "jobs.sqlite3"

huey = Huey(QUEUE_NAME, storage_class=MemoryStorage, results=False, utc=True)
_bound_app: Flask | None = None


class LazySqliteStorage(SqliteStorage):
    """Huey's SQLite storage, whose file and tables are made on the first connection, not on binding."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, create_tables=False, **kwargs)

    def _create_connection(self) -> sqlite3.Connection:
        connection: sqlite3.Connection = super()._create_connection()
        owner_only(Path(self.filename))
        for statement in self.ddl:  # all "create ... if not exists": cheap on every new connection
            connection.execute(statement)
        connection.commit()
        return connection


def init_app(app: Flask) -> None:
    """Point the queue at this app's storage, or run tasks inline when ``KIOSK_JOBS_IMMEDIATE``."""
    global _bound_app
    _bound_app = app
    if app.config.get("KIOSK_JOBS_IMMEDIATE"):
        huey.immediate = True
        return
    huey.immediate = False
    redis_url = app.config.get("KIOSK_REDIS_URL")
    if redis_url:
        huey.storage_class = RedisStorage
        huey.storage_kwargs = {"url": redis_url}
    else:
        huey.storage_class = LazySqliteStorage
        huey.storage_kwargs = {"filename": str(Path(app.config["KIOSK_DATA_DIR"]) / QUEUE_FILE)}
    huey.storage = huey.create_storage()


def in_app(function: Callable[..., object], *args: object) -> None:
    """Run ``function`` in an app context (the worker's threads have none of their own)."""
    if has_app_context():
        function(*args)
        return
    if _bound_app is None:
        raise RuntimeError("queue.init_app(app) was not called in this process")
    with _bound_app.app_context():
        function(*args)
