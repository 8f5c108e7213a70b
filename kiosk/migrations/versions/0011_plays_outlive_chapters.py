"""plays outlive a purged chapter: track_id may become NULL, and each play keeps its section

Revision ID: 0011_plays_outlive_chapters
Revises: 0010_import_publish
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_plays_outlive_chapters"
down_revision = "0010_import_publish"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("plays") as batch_op:
        batch_op.alter_column("track_id", existing_type=sa.Integer(), nullable=True)
        batch_op.add_column(sa.Column("section_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key("fk_plays_section_id_sections", "sections", ["section_id"], ["id"])
        batch_op.create_index("ix_plays_section_id", ["section_id"])
    op.execute(
        "UPDATE plays SET section_id = (SELECT books.section_id FROM tracks JOIN books ON books.id = tracks.book_id"
        " WHERE tracks.id = plays.track_id)"
    )


def downgrade() -> None:
    op.execute("DELETE FROM plays WHERE track_id IS NULL")
    with op.batch_alter_table("plays") as batch_op:
        batch_op.drop_index("ix_plays_section_id")
        batch_op.drop_constraint("fk_plays_section_id_sections", type_="foreignkey")
        batch_op.drop_column("section_id")
        batch_op.alter_column("track_id", existing_type=sa.Integer(), nullable=False)
