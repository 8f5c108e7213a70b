"""plays and imports: listening statistics, console import batches, tracks' source hash

Revision ID: 0008_plays
Revises: 0007_moderation
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_plays"
down_revision = "0007_moderation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ``plays`` and ``import_batches``; give tracks the hash of the file they came from."""
    op.create_table(
        "plays",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("play_id", sa.String(length=64), nullable=False),
        sa.Column("track_id", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seconds_listened", sa.Float(), nullable=False),
        sa.Column("max_position_s", sa.Float(), nullable=False),
        sa.Column("completed", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["track_id"], ["tracks.id"], name=op.f("fk_plays_track_id_tracks")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plays")),
        sa.UniqueConstraint("play_id", name=op.f("uq_plays_play_id")),
    )
    with op.batch_alter_table("plays") as batch_op:
        batch_op.create_index(batch_op.f("ix_plays_track_id"), ["track_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_plays_started_at"), ["started_at"], unique=False)
    op.create_table(
        "import_batches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("section_id", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("fallback_title", sa.String(length=256), nullable=False),
        sa.Column("files", sa.JSON(), nullable=False),
        sa.Column("done_files", sa.Integer(), nullable=False),
        sa.Column("report", sa.JSON(), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["section_id"], ["sections.id"], name=op.f("fk_import_batches_section_id_sections")),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name=op.f("fk_import_batches_created_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_batches")),
        sa.UniqueConstraint("token", name=op.f("uq_import_batches_token")),
    )
    with op.batch_alter_table("import_batches") as batch_op:
        batch_op.create_index(batch_op.f("ix_import_batches_created_at"), ["created_at"], unique=False)
    with op.batch_alter_table("tracks") as batch_op:
        batch_op.add_column(sa.Column("source_sha256", sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f("ix_tracks_source_sha256"), ["source_sha256"], unique=False)


def downgrade() -> None:
    """Drop what ``upgrade`` added."""
    with op.batch_alter_table("tracks") as batch_op:
        batch_op.drop_index(batch_op.f("ix_tracks_source_sha256"))
        batch_op.drop_column("source_sha256")
    with op.batch_alter_table("import_batches") as batch_op:
        batch_op.drop_index(batch_op.f("ix_import_batches_created_at"))
    op.drop_table("import_batches")
    with op.batch_alter_table("plays") as batch_op:
        batch_op.drop_index(batch_op.f("ix_plays_started_at"))
        batch_op.drop_index(batch_op.f("ix_plays_track_id"))
    op.drop_table("plays")
