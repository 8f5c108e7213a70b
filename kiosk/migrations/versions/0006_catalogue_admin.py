"""catalogue admin: professional chapter uploads waiting for (or done with) mastering

Revision ID: 0006_catalogue_admin
Revises: 0005_trash
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_catalogue_admin"
down_revision = "0005_trash"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "chapter_uploads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("book_id", sa.Integer(), nullable=False),
        sa.Column("replace_track_id", sa.Integer(), nullable=True),
        sa.Column("track_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=256), nullable=False),
        sa.Column("reader_name", sa.String(length=128), nullable=False),
        sa.Column("keep_as_is", sa.Boolean(), nullable=False),
        sa.Column("original_key", sa.String(length=128), nullable=False),
        sa.Column("original_name", sa.String(length=256), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["book_id"], ["books.id"], name=op.f("fk_chapter_uploads_book_id_books")),
        sa.ForeignKeyConstraint(
            ["replace_track_id"], ["tracks.id"], name=op.f("fk_chapter_uploads_replace_track_id_tracks")
        ),
        sa.ForeignKeyConstraint(["track_id"], ["tracks.id"], name=op.f("fk_chapter_uploads_track_id_tracks")),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_chapter_uploads_user_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chapter_uploads")),
    )
    op.create_index(op.f("ix_chapter_uploads_book_id"), "chapter_uploads", ["book_id"])
    op.create_index(op.f("ix_chapter_uploads_status"), "chapter_uploads", ["status"])
    op.create_index(op.f("ix_chapter_uploads_finished_at"), "chapter_uploads", ["finished_at"])


def downgrade() -> None:
    op.drop_table("chapter_uploads")
