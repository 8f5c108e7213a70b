"""Extension objects, created once here and bound to an application by ``init_app``."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path
from typing import Any

from flask_babel import Babel
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase

# Stable constraint names, so Alembic migrations work the same on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base of every model."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
babel = Babel()


@event.listens_for(Engine, "connect")
def _tune_sqlite(dbapi_connection: Any, _record: Any) -> None:
    """WAL lets visitors read while a writer commits; foreign keys keep rows honest."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        files = [row[2] for row in cursor.execute("PRAGMA database_list") if row[2]]
        cursor.close()
        for path in files:
            owner_only(Path(path))


def owner_only(database_file: Path) -> None:
    """Make an SQLite file (and its WAL and shared-memory files) readable by its owner alone.

    The database holds password hashes; sqlite3 creates files by the umask (often 0644).
    """
    for path in (database_file, database_file.with_name(database_file.name + "-wal"),
                 database_file.with_name(database_file.name + "-shm")):
        with contextlib.suppress(FileNotFoundError, PermissionError):
            if path.stat().st_mode & 0o077:
                path.chmod(0o600)


@event.listens_for(Engine, "connect")
def _utc_postgresql(dbapi_connection: Any, _record: Any) -> None:
    """PostgreSQL sessions in UTC, whatever the server's zone: times come back as SQLite keeps them.

    Loaded times are then aware and in UTC on PostgreSQL (naive UTC on SQLite); Babel shows
    either in the library's zone.
    """
    if type(dbapi_connection).__module__.split(".")[0] in ("psycopg", "psycopg2"):
        cursor = dbapi_connection.cursor()
        cursor.execute("SET TIME ZONE 'UTC'")
        cursor.close()
        dbapi_connection.commit()  # a SET inside a transaction rolled back later would not last
