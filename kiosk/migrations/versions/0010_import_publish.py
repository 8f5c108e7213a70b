"""an import batch may bring its books in unpublished, for a librarian to check first

Revision ID: 0010_import_publish
Revises: 0009_job_heartbeats
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_import_publish"
down_revision = "0009_job_heartbeats"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("import_batches") as batch_op:
        batch_op.add_column(sa.Column("publish", sa.Boolean(), nullable=False, server_default=sa.true()))


def downgrade() -> None:
    with op.batch_alter_table("import_batches") as batch_op:
        batch_op.drop_column("publish")
