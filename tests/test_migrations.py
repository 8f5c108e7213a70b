"""Schema migrations: a database made by the first migration, with data in it, upgrades in place.

Runs on SQLite, and on PostgreSQL when ``KIOSK_TEST_DATABASE_URL`` is set (the
``database_url`` fixture hands out a private database either way).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask
from sqlalchemy import inspect, text

from kiosk import create_app
from kiosk.db import schema
from kiosk.extensions import db
from kiosk.models import Book, Section, Track

FIRST = "0001"
CREATED = datetime(2024, 3, 1, 8, 30, tzinfo=UTC)
# Tables the first migration did not have; later ones must have made them.
LATER_TABLES = {"scans", "users", "audit_events", "booth_texts", "recordings"}


def heads() -> str:
    """The newest revision(s), as ``schema.current_revision()`` shows them."""
    script = ScriptDirectory.from_config(schema.alembic_config())
    return ", ".join(sorted(script.get_heads()))


@pytest.fixture
def bare_app(tmp_path: Path, database_url: str, redis_settings: dict[str, str]) -> Iterator[Flask]:
    """An application on an empty database that nothing has migrated yet."""
    application = create_app(
        {
            "TESTING": True,
            "KIOSK_DATA_DIR": tmp_path / "media",
            "SQLALCHEMY_DATABASE_URI": database_url,
            "SECRET_KEY": "test-secret",
            "KIOSK_JOBS_IMMEDIATE": True,
            **redis_settings,
        }
    )
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


def insert_first_generation_rows() -> dict[str, int]:
    """A section, a reader, a book, a chapter and a QR code, written with plain SQL at 0001."""
    statements = [
        (
            "INSERT INTO sections (slug, name, name_en, description, position, colour, icon, published, created_at) "
            "VALUES (:slug, :name, NULL, :description, 50, '#8B0000', 'book', :yes, :at)",
            {"slug": "old-favourites", "name": "老读物", "description": "从前的栏目", "yes": True, "at": CREATED},
        ),
        (
            "INSERT INTO readers (name, bio, created_at) VALUES (:name, '', :at)",
            {"name": "林静", "at": CREATED},
        ),
    ]
    with db.engine.begin() as connection:
        for sql, params in statements:
            connection.execute(text(sql), params)
        section_id = connection.execute(text("SELECT id FROM sections WHERE slug = 'old-favourites'")).scalar_one()
        reader_id = connection.execute(text("SELECT id FROM readers WHERE name = '林静'")).scalar_one()
        connection.execute(
            text(
                "INSERT INTO books (section_id, title, title_en, sort_key, search_text, author, description, "
                "published, created_at, updated_at) VALUES (:section, '边城', 'Border Town', 'bian cheng', "
                "'边城 biancheng bc 沈从文', '沈从文', '', :yes, :at, :at)"
            ),
            {"section": section_id, "yes": True, "at": CREATED},
        )
        book_id = connection.execute(text("SELECT id FROM books WHERE title = '边城'")).scalar_one()
        connection.execute(
            text(
                "INSERT INTO tracks (book_id, position, title, reader_id, duration_ms, audio_key, size_bytes, "
                "mime_type, loudness_lufs, true_peak_dbtp, published, created_at) VALUES (:book, 1, '第一章', "
                ":reader, 61000, 'audio/ab/abcdef.mp3', 300000000, 'audio/mpeg', -18.0, -1.6, :yes, :at)"
            ),
            {"book": book_id, "reader": reader_id, "yes": True, "at": CREATED},
        )
        track_id = connection.execute(text("SELECT id FROM tracks WHERE book_id = :b"), {"b": book_id}).scalar_one()
        connection.execute(
            text(
                "INSERT INTO qr_codes (code, target_kind, section_id, note, created_at) "
                "VALUES ('B4K9R', 'section', :section, '旧卡片', :at)"
            ),
            {"section": section_id, "at": CREATED},
        )
    return {"section": section_id, "book": book_id, "track": track_id}


def check_first_generation_rows(ids: dict[str, int]) -> None:
    """The rows written at 0001 read back through today's models."""
    db.session.expire_all()
    section = db.session.get(Section, ids["section"])
    book = db.session.get(Book, ids["book"])
    track = db.session.get(Track, ids["track"])
    assert section is not None and section.slug == "old-favourites" and section.name == "老读物"
    assert book is not None and book.title == "边城" and book.section_id == section.id
    assert book.deleted_at is None  # a column added later, empty for old rows
    assert track is not None and track.title == "第一章" and track.size_bytes == 300_000_000
    assert track.deleted_at is None and track.reader is not None and track.reader.name == "林静"
    created = track.created_at if track.created_at.tzinfo else track.created_at.replace(tzinfo=UTC)
    assert created == CREATED


def test_first_migration_with_data_upgrades_to_head(bare_app: Flask) -> None:
    with bare_app.app_context():
        schema.upgrade(FIRST)
        assert schema.current_revision() == FIRST
        assert not LATER_TABLES & set(inspect(db.engine).get_table_names())
        ids = insert_first_generation_rows()

        schema.upgrade()

        assert schema.current_revision() == heads()
        assert set(inspect(db.engine).get_table_names()) >= LATER_TABLES
        check_first_generation_rows(ids)
        # The new tables take rows next to the old ones, sequences and all.
        db.session.execute(
            text("INSERT INTO booth_texts (title, author, body, position, published, created_at) "
                 "VALUES ('春', '朱自清', '盼望着，盼望着……', 1, :yes, :at)"),
            {"yes": True, "at": CREATED},
        )
        db.session.commit()

    client = bare_app.test_client()
    book = client.get(f"/api/v1/books/{ids['book']}").get_json()["book"]
    assert book["title"] == "边城"
    assert [t["title"] for t in book["tracks"]] == ["第一章"]
    landing = client.get("/q/B4K9R")
    assert landing.status_code == 302 and landing.headers["Location"].endswith("/sections/old-favourites")


def test_kiosk_init_upgrades_an_existing_database_in_place(bare_app: Flask) -> None:
    with bare_app.app_context():
        schema.upgrade(FIRST)
        ids = insert_first_generation_rows()
        db.session.remove()

    result = bare_app.test_cli_runner().invoke(args=["init"])
    assert result.exit_code == 0, result.output
    assert f"Database at revision {heads()}" in result.output

    with bare_app.app_context():
        check_first_generation_rows(ids)
        slugs = set(db.session.scalars(db.select(Section.slug)))
        assert "old-favourites" in slugs and len(slugs) >= 10  # the old section and the nine defaults

    again = bare_app.test_cli_runner().invoke(args=["init"])
    assert again.exit_code == 0 and "0 new section(s)" in again.output


def test_the_migrations_form_one_linear_chain() -> None:
    """One head, each revision revising the one before: ``kiosk init`` has one way to go."""
    script = ScriptDirectory.from_config(schema.alembic_config())
    assert len(script.get_heads()) == 1, f"several heads, merge or re-chain them: {heads()}"
    assert [r.revision for r in script.walk_revisions()][-1] == FIRST


def test_every_migration_applies_one_by_one(bare_app: Flask) -> None:
    """Each step on its own (as a library that updates often runs them), ending at head."""
    script = ScriptDirectory.from_config(schema.alembic_config())
    revisions = [r.revision for r in reversed(list(script.walk_revisions()))]
    assert revisions[0] == FIRST
    with bare_app.app_context():
        for revision in revisions:
            schema.upgrade(revision)
            assert revision in schema.current_revision().split(", ")
        assert schema.current_revision() == heads()


def test_migrations_build_what_the_models_describe(bare_app: Flask) -> None:
    """No table, column or index of the models is missing from (or extra in) the migrated schema."""
    with bare_app.app_context():
        schema.upgrade()
        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": False})
            differences = compare_metadata(context, db.metadata)
    assert differences == []


def test_plays_keep_their_section_when_upgraded(bare_app: Flask) -> None:
    """0011 fills each existing play's section from its chapter's book, so later purges lose nothing."""
    with bare_app.app_context():
        schema.upgrade("0010_import_publish")
        ids = insert_first_generation_rows()
        with db.engine.begin() as connection:
            connection.execute(
                text("INSERT INTO plays (play_id, track_id, started_at, updated_at, seconds_listened,"
                     " max_position_s, completed) VALUES ('old-play', :track, :at, :at, 30, 30, :done)"),
                {"track": ids["track"], "at": CREATED, "done": False},
            )
        schema.upgrade()
        with db.engine.connect() as connection:
            section_id = connection.execute(text("SELECT section_id FROM plays WHERE play_id = 'old-play'")).scalar()
        assert section_id == db.session.get(Track, ids["track"]).book.section_id  # type: ignore[union-attr]
