"""Alembic environment: runs on the connection the kiosk hands over in ``config.attributes``."""

from __future__ import annotations

from alembic import context

from kiosk import models  # noqa: F401  (registers the tables on the metadata
from kiosk.extensions import db

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=db.metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # ALTER TABLE on SQLite
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
