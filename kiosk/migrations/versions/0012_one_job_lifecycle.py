"""one job lifecycle: every job table carries status, attempts, lease_until, queued_at, finished_at

Takes, chapter uploads, import batches and re-masterings now share one lease style. The
uploads' and imports' ``heartbeat_at`` (abandoned 15 minutes after the last beat) and the
re-masterings' ``started_at`` (abandoned after an hour) become a ``lease_until`` that keeps
the same deadline for a job running during the upgrade. Statuses were, and stay, plain
VARCHAR(16) values; a take's end stays in ``processed_at`` (the model calls it ``finished_at``).

``recordings`` is referenced by ``take_remasters``, so on SQLite it is altered in place
(ADD COLUMN), never rebuilt: dropping it for a rebuild would break the foreign key.

Revision ID: 0012_one_job_lifecycle
Revises: 0011_plays_outlive_chapters
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0012_one_job_lifecycle"
down_revision = "0011_plays_outlive_chapters"
branch_labels = None
depends_on = None

# table → (the column that said when a worker was last heard of, how long it then had)
OLD_CLOCKS = {
    "chapter_uploads": ("heartbeat_at", timedelta(minutes=15)),
    "import_batches": ("heartbeat_at", timedelta(minutes=15)),
    "take_remasters": ("started_at", timedelta(hours=1)),
}
LEASED_TABLES = ("recordings", *OLD_CLOCKS)
# SQLite adds a NOT NULL column only with a constant default; every row is filled at once after.
PLACEHOLDER = sa.text("'1970-01-01 00:00:00'")


def _when(name: str, **options: Any) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), **options)


def _rows(table: str, *datetimes: str) -> sa.TableClause:
    """A lightweight handle on ``table`` for the data steps (no models in migrations)."""
    columns: list[sa.ColumnClause[Any]] = [sa.column("id", sa.Integer()), sa.column("status", sa.String(16))]
    columns += [sa.column(c, sa.DateTime(timezone=True)) for c in datetimes]
    return sa.table(table, *columns)


def upgrade() -> None:
    for table in LEASED_TABLES:
        op.add_column(table, _when("queued_at", nullable=False, server_default=PLACEHOLDER))
        op.execute(f"UPDATE {table} SET queued_at = created_at")  # noqa: S608 - our own table names
    for table, (clock, allowed) in OLD_CLOCKS.items():
        op.add_column(table, sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
        op.add_column(table, _when("lease_until", nullable=True))
        op.execute(f"UPDATE {table} SET attempts = 1 WHERE status <> 'queued'")  # noqa: S608
        _move_clock(table, clock, "lease_until", allowed)
        with op.batch_alter_table(table) as batch_op:  # rebuilt on SQLite: nothing refers to these
            batch_op.drop_column(clock)
            batch_op.alter_column("attempts", existing_type=sa.Integer(), server_default=None)
            batch_op.alter_column("queued_at", existing_type=sa.DateTime(timezone=True), server_default=None)
    if op.get_bind().dialect.name != "sqlite":
        op.alter_column("recordings", "queued_at", existing_type=sa.DateTime(timezone=True), server_default=None)
    op.create_index("ix_import_batches_status", "import_batches", ["status"])


def _move_clock(table: str, source: str, target: str, shift: timedelta) -> None:
    """Running jobs keep their deadline: ``target = source + shift`` (NULL stays NULL: abandoned)."""
    rows = _rows(table, source, target)
    bind = op.get_bind()
    running = bind.execute(sa.select(rows.c.id, rows.c[source]).where(rows.c.status == "processing")).all()
    for job_id, moment in running:
        value = moment + shift if moment is not None else None
        bind.execute(sa.update(rows).where(rows.c.id == job_id).values({target: value}))


def downgrade() -> None:
    op.drop_index("ix_import_batches_status", table_name="import_batches")
    for table, (clock, allowed) in OLD_CLOCKS.items():
        op.add_column(table, _when(clock, nullable=True))
        _move_clock(table, "lease_until", clock, -allowed)
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_column("queued_at")
            batch_op.drop_column("lease_until")
            batch_op.drop_column("attempts")
    op.execute("ALTER TABLE recordings DROP COLUMN queued_at")  # SQLite ≥ 3.35 and PostgreSQL, no rebuild
