"""scan statistics

Revision ID: 0002_scans
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_scans"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the ``scans`` table: code, time and client kind only."""
    op.create_table(
        "scans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("scanned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("client_kind", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(["code"], ["qr_codes.code"], name=op.f("fk_scans_code_qr_codes")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scans")),
    )
    with op.batch_alter_table("scans", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_scans_code"), ["code"], unique=False)
        batch_op.create_index(batch_op.f("ix_scans_scanned_at"), ["scanned_at"], unique=False)


def downgrade() -> None:
    """Drop the ``scans`` table."""
    with op.batch_alter_table("scans", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_scans_scanned_at"))
        batch_op.drop_index(batch_op.f("ix_scans_code"))
    op.drop_table("scans")
