"""moderation: librarians' requests to master a booth take again

Revision ID: 0007_moderation
Revises: 0006_catalogue_admin
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_moderation"
down_revision = "0006_catalogue_admin"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "take_remasters",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recording_id", sa.Integer(), nullable=False),
        sa.Column("target_lufs", sa.Float(), nullable=False),
        sa.Column("room_tone", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("requested_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("result_key", sa.String(length=128), nullable=True),
        sa.ForeignKeyConstraint(
            ["recording_id"], ["recordings.id"], name=op.f("fk_take_remasters_recording_id_recordings")
        ),
        sa.ForeignKeyConstraint(
            ["requested_by_id"], ["users.id"], name=op.f("fk_take_remasters_requested_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_take_remasters")),
    )
    op.create_index(op.f("ix_take_remasters_recording_id"), "take_remasters", ["recording_id"])
    op.create_index(op.f("ix_take_remasters_status"), "take_remasters", ["status"])


def downgrade() -> None:
    op.drop_index(op.f("ix_take_remasters_status"), table_name="take_remasters")
    op.drop_index(op.f("ix_take_remasters_recording_id"), table_name="take_remasters")
    op.drop_table("take_remasters")
