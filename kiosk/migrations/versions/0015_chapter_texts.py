"""chapter texts for read-along: a chapter's words, its sentences, and their timing in the master

Revision ID: 0015_chapter_texts
Revises: 0014_search_public_readers
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015_chapter_texts"
down_revision = "0014_search_public_readers"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "chapter_texts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("track_id", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("sentences", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("cues", sa.JSON(), nullable=True),
        sa.Column("aligned_audio_key", sa.String(length=128), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        # the alignment job's columns (kiosk.models.jobs.LeasedJob)
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["track_id"], ["tracks.id"], name=op.f("fk_chapter_texts_track_id_tracks")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chapter_texts")),
        sa.UniqueConstraint("track_id", name=op.f("uq_chapter_texts_track_id")),
    )
    op.create_index(op.f("ix_chapter_texts_status"), "chapter_texts", ["status"])


def downgrade() -> None:
    op.drop_index(op.f("ix_chapter_texts_status"), table_name="chapter_texts")
    op.drop_table("chapter_texts")
