"""trash: books and tracks are deleted softly, restorable for 30 days

Revision ID: 0005_trash
Revises: 0004_recordings
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_trash"
down_revision = "0004_recordings"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("books", "tracks"):
        with op.batch_alter_table(table) as batch_op:
            # No index: nearly every row is NULL, and SQLite's planner would prefer it to book_id.
            batch_op.add_column(sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    for table in ("books", "tracks"):
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_column("deleted_at")
