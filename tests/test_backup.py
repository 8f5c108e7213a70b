"""``kiosk backup`` and ``kiosk restore``: the same catalogue and media come back."""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from kiosk import create_app
from kiosk.cli.setup import prepare_database
from kiosk.extensions import db
from tests.factories import gen_book, gen_track


def catalogue_of(client: FlaskClient) -> list[tuple[str, list[tuple[str, bytes]]]]:
    """What a visitor can reach: every section's books, their chapters and the audio bytes."""
    result = []
    for section in client.get("/api/v1/sections").get_json()["sections"]:
        for book in client.get(f"/api/v1/sections/{section['slug']}").get_json()["books"]:
            tracks = client.get(f"/api/v1/books/{book['id']}").get_json()["book"]["tracks"]
            result.append((book["title"], [(t["title"], client.get(t["audio_url"]).data) for t in tracks]))
    return result


@pytest.fixture
def archive(app: Flask, client: FlaskClient, runner: FlaskCliRunner, sample_mp3: Path, tmp_path: Path) -> Path:
    with app.app_context():
        book = gen_book("边城", author="沈从文")
        gen_track(book, sample_mp3, title="第一章", reader="林静")
        gen_track(gen_book("春", section_slug="mingjia-mingpian"), sample_mp3, title="盼望着")
    output = tmp_path / "backup.tar"
    result = runner.invoke(args=["backup", "-o", str(output)])
    assert result.exit_code == 0, result.output
    return output


def fresh_app(tmp_path: Path, name: str) -> Flask:
    app = create_app({
        "TESTING": True,
        "KIOSK_DATA_DIR": tmp_path / name / "media",
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / name / 'kiosk.sqlite3'}",
        "KIOSK_JOBS_IMMEDIATE": True,
    })
    with app.app_context():
        prepare_database()
    return app


def test_backup_then_restore_gives_the_same_catalogue(
    app: Flask, client: FlaskClient, archive: Path, tmp_path: Path
) -> None:
    before = catalogue_of(client)
    assert len(before) == 2
    restored = fresh_app(tmp_path, "restored")
    result = restored.test_cli_runner().invoke(args=["restore", str(archive)])
    assert result.exit_code == 0, result.output
    assert catalogue_of(restored.test_client()) == before
    with restored.app_context():
        db.engine.dispose()


def test_archive_holds_an_online_sqlite_snapshot_rows_and_media(app: Flask, archive: Path) -> None:
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    assert {"manifest.json", "database.jsonl"} <= set(names)
    on_sqlite = app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite")
    assert ("database.sqlite3" in names) is on_sqlite  # PostgreSQL's backup is the row dump alone
    assert any(name.startswith("media/audio/") for name in names)
    assert any(name.startswith("media/covers/") for name in names) is False  # these books have no covers


def test_restore_from_the_row_dump_alone(app: Flask, client: FlaskClient, archive: Path, tmp_path: Path) -> None:
    """The logical dump restores too (e.g. onto PostgreSQL): drop the SQLite snapshot and try."""
    rows_only = tmp_path / "rows-only.tar"
    with tarfile.open(archive) as source, tarfile.open(rows_only, "w") as target:
        for member in source.getmembers():
            if member.name != "database.sqlite3":
                target.addfile(member, source.extractfile(member))
    restored = fresh_app(tmp_path, "from-rows")
    result = restored.test_cli_runner().invoke(args=["restore", str(rows_only)])
    assert result.exit_code == 0, result.output
    assert catalogue_of(restored.test_client()) == catalogue_of(client)
    with restored.app_context():
        db.engine.dispose()


def test_restore_refuses_a_database_with_content(app: Flask, runner: FlaskCliRunner, archive: Path) -> None:
    result = runner.invoke(args=["restore", str(archive)])
    assert result.exit_code != 0
    assert "空数据库" in result.output


def test_restore_refuses_what_is_not_a_backup(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.tar"
    bogus.write_bytes(b"not a tar at all")
    restored = fresh_app(tmp_path, "bogus")
    result = restored.test_cli_runner().invoke(args=["restore", str(bogus)])
    assert result.exit_code != 0
    assert "无法读取备份文件" in result.output
    with restored.app_context():
        db.engine.dispose()


def test_restore_refuses_paths_outside_the_store(tmp_path: Path) -> None:
    evil = tmp_path / "evil.tar"
    with tarfile.open(evil, "w") as tar:
        import io
        import json

        manifest = json.dumps({"format": 1, "revision": None, "rows": {}, "media_files": 1,
                               "created_at": "x", "dialect": "sqlite"}).encode()
        for name, data in (("manifest.json", manifest), ("database.jsonl", b""), ("media/../../escape.txt", b"x")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    restored = fresh_app(tmp_path, "evil")
    result = restored.test_cli_runner().invoke(args=["restore", str(evil)])
    assert result.exit_code != 0
    assert "不属于媒体库的路径" in result.output
    assert not (tmp_path / "escape.txt").exists() and not (tmp_path / "evil" / "escape.txt").exists()
    with restored.app_context():
        db.engine.dispose()
