"""books' search text names only the readers of their public chapters

Revision ID: 0014_search_public_readers
Revises: 0013_console_sessions
"""

from __future__ import annotations

from collections import defaultdict

import sqlalchemy as sa
from alembic import op

from kiosk.library.sortkeys import search_text  # a pure function (pinyin of text): stable for migrations

revision = "0014_search_public_readers"
down_revision = "0013_console_sessions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Recompute every book's search text from its title, author and public chapters' readers."""
    connection = op.get_bind()
    readers: dict[int, set[str]] = defaultdict(set)
    for book_id, name in connection.execute(sa.text(
        "SELECT tracks.book_id, readers.name FROM tracks JOIN readers ON readers.id = tracks.reader_id"
        " WHERE tracks.published AND tracks.deleted_at IS NULL"
    )):
        readers[book_id].add(name)
    books = connection.execute(sa.text("SELECT id, title, title_en, author FROM books")).all()
    for book_id, title, title_en, author in books:
        text = search_text([title, title_en or "", author, *sorted(readers[book_id])])
        connection.execute(sa.text("UPDATE books SET search_text = :text WHERE id = :id"), {"text": text, "id": book_id})


def downgrade() -> None:
    """Nothing to undo: the next edit of a book rebuilds its search text either way."""
