"""heartbeats on librarians' upload and import jobs, so a job whose worker died runs again

Revision ID: 0009_job_heartbeats
Revises: 0008_plays
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_job_heartbeats"
down_revision = "0008_plays"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("chapter_uploads", "import_batches"):
        with op.batch_alter_table(table) as batch_op:
            batch_op.add_column(sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    for table in ("chapter_uploads", "import_batches"):
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_column("heartbeat_at")
