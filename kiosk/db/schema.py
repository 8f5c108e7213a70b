"""Create or upgrade the database schema with Alembic; the factory itself never migrates."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text

from kiosk.extensions import db

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
# PostgreSQL advisory lock taken while a node upgrades the schema ("kiosk" in ASCII).
MIGRATION_LOCK_KEY = 0x6B696F736B


def alembic_config() -> Config:
    """An Alembic configuration pointing at the packaged migrations."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def upgrade(revision: str = "head") -> None:
    """Bring the current app's database to ``revision`` (head by default), in place."""
    config = alembic_config()
    with db.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def hold_migration_lock() -> None:
    """On PostgreSQL, wait for the migration lock and hold it until the session's transaction ends.

    Several web nodes started at once all run ``kiosk serve``'s upgrade: the first migrates,
    the others wait here, then find the schema at head. SQLite (one machine) needs no lock.
    """
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})


def current_revision() -> str | None:
    """The revision(s) the database is at, or ``None`` for an empty database."""
    with db.engine.connect() as connection:
        heads = MigrationContext.configure(connection).get_current_heads()
    return ", ".join(sorted(heads)) or None


def head_revision() -> str | None:
    """The newest revision the code knows."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def autogenerate(message: str) -> None:
    """Write a new migration from the difference between the models and the database."""
    config = alembic_config()
    with db.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.revision(config, message=message, autogenerate=True)
