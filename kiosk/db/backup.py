"""Consistent backups of the catalogue and the media store, and restoring them.

An archive (a tar file) holds:
- ``manifest.json``: format version, schema revision, time, and the files list;
- ``database.jsonl``: every table's rows, read in ONE transaction (a consistent
  snapshot on SQLite's WAL and on PostgreSQL alike), restorable into either;
- ``database.sqlite3`` on SQLite: the same snapshot by SQLite's online backup API,
  used as is when restoring onto SQLite;
- ``media/…``: the media store. Media files are immutable and content-addressed,
  so copying them after the snapshot can only add files the snapshot does not use.
"""

from __future__ import annotations

import base64
import io
import json
import os
import sqlite3
import tarfile
import tempfile
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, Table, func, insert, select, text

from kiosk.db import schema
from kiosk.extensions import db
from kiosk.storage import InvalidKeyError, store

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
ROWS = "database.jsonl"
SQLITE_SNAPSHOT = "database.sqlite3"
MEDIA_PREFIX = "media/"
MEDIA_FOLDERS = ("audio", "covers", "originals")


class BackupError(Exception):
    """A backup or restore that cannot go ahead, with a message for the operator."""


def _tables() -> list[Table]:
    """Every table, parents before children (foreign keys)."""
    return list(db.metadata.sorted_tables)


def _encode(value: Any) -> Any:
    if isinstance(value, datetime) and value.tzinfo is not None:
        value = value.astimezone(UTC)  # one zone in every archive, whatever the server's
    if isinstance(value, datetime | date):
        return {"$dt": value.isoformat()}
    if isinstance(value, bytes):
        return {"$b64": base64.b64encode(value).decode()}
    return value


def _decode(value: Any, column_type: Any) -> Any:
    if isinstance(value, dict) and "$dt" in value:
        moment = datetime.fromisoformat(value["$dt"])
        if isinstance(column_type, DateTime) and column_type.timezone and moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)  # SQLite keeps UTC without a zone
        return moment
    if isinstance(value, dict) and "$b64" in value:
        return base64.b64decode(value["$b64"])
    return value


def _dump_rows(out: io.TextIOBase) -> dict[str, int]:
    """Write every row of every table as JSON lines, inside one read transaction."""
    counts: dict[str, int] = {}
    with db.engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            # One snapshot for every table (SQLite's read transaction is one already).
            connection = connection.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        with connection.begin():
            for table in _tables():
                counts[table.name] = 0
                order = list(table.primary_key.columns)
                for row in connection.execute(select(table).order_by(*order)).mappings():
                    record = {key: _encode(value) for key, value in row.items()}
                    out.write(json.dumps({"table": table.name, "row": record}, ensure_ascii=False) + "\n")
                    counts[table.name] += 1
    return counts


def _sqlite_snapshot(target: Path) -> bool:
    """Copy the SQLite database with the online backup API; False when not on SQLite."""
    if db.engine.dialect.name != "sqlite":
        return False
    raw = db.engine.raw_connection()
    try:
        destination = sqlite3.connect(target)
        with destination:
            raw.driver_connection.backup(destination)  # type: ignore[union-attr]
        destination.close()
    finally:
        raw.close()
    return True


def _media_files() -> Iterator[Path]:
    root = store().root
    for folder in MEDIA_FOLDERS:
        base = root / folder
        if base.is_dir():
            yield from sorted(p for p in base.rglob("*") if p.is_file() and not p.name.startswith("."))


def create(output: Path) -> dict[str, Any]:
    """Write a backup archive to ``output`` atomically; return its manifest."""
    output = output.resolve()
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=output.parent, prefix=".backup-") as scratch:
        rows_path = Path(scratch) / ROWS
        with rows_path.open("w", encoding="utf-8") as rows_file:
            counts = _dump_rows(rows_file)
        snapshot_path = Path(scratch) / SQLITE_SNAPSHOT
        has_snapshot = _sqlite_snapshot(snapshot_path)
        media = list(_media_files())
        manifest = {
            "format": FORMAT_VERSION,
            "revision": schema.current_revision(),
            "created_at": datetime.now().astimezone().isoformat(),
            "dialect": db.engine.dialect.name,
            "rows": counts,
            "media_files": len(media),
            "media_bytes": sum(p.stat().st_size for p in media),
        }
        partial = Path(scratch) / "archive.tar"
        mode = "w:gz" if output.name.endswith((".tar.gz", ".tgz")) else "w"
        partial.touch(mode=0o600)  # it holds password hashes: the owner's alone, from the first byte
        with tarfile.open(partial, mode) as archive:  # type: ignore[call-overload]
            _add_bytes(archive, MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=2).encode())
            archive.add(rows_path, ROWS)
            if has_snapshot:
                archive.add(snapshot_path, SQLITE_SNAPSHOT)
            root = store().root
            for path in media:
                archive.add(path, MEDIA_PREFIX + path.relative_to(root).as_posix())
        os.replace(partial, output)
    return manifest


def _add_bytes(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    archive.addfile(info, io.BytesIO(data))


def _database_is_empty() -> bool:
    """No catalogue rows yet (a fresh ``kiosk init`` counts as empty: only default sections)."""
    from kiosk.models import Book, Recording, Track, User

    return all(db.session.scalar(select(func.count()).select_from(m)) == 0 for m in (Book, Track, Recording, User))


def restore(archive_path: Path) -> dict[str, Any]:
    """Restore an archive into an empty data dir and database; return its manifest."""
    if not _database_is_empty():
        raise BackupError("恢复只能在空数据库中进行：目标里已经有书目、录音或账号。")
    try:
        archive = tarfile.open(archive_path, "r:*")  # noqa: SIM115 - closed by the with below
    except (OSError, tarfile.TarError) as error:
        raise BackupError(f"无法读取备份文件：{error}") from error
    with archive:
        manifest = _read_manifest(archive)
        # Media first: files are content-addressed, so a restore interrupted here can simply
        # be run again; the database, restored last, is what makes the files visible.
        _restore_media(archive)
        same_engine = manifest.get("dialect") == db.engine.dialect.name == "sqlite"
        if same_engine and _has(archive, SQLITE_SNAPSHOT):
            _restore_sqlite_snapshot(archive)
        else:
            _restore_database(archive, manifest)
    return manifest


def _has(archive: tarfile.TarFile, name: str) -> bool:
    try:
        archive.getmember(name)
    except KeyError:
        return False
    return True


def _restore_sqlite_snapshot(archive: tarfile.TarFile) -> None:
    """Copy the snapshot into the live database with SQLite's backup API, then upgrade."""
    snapshot = archive.extractfile(SQLITE_SNAPSHOT)
    if snapshot is None:
        raise BackupError("备份文件里的数据库副本无法读取。")
    db.session.remove()
    with tempfile.TemporaryDirectory(dir=store().scratch_dir()) as scratch:
        copy = Path(scratch) / SQLITE_SNAPSHOT
        copy.write_bytes(snapshot.read())
        source = sqlite3.connect(copy)
        raw = db.engine.raw_connection()
        try:
            source.backup(raw.driver_connection)  # type: ignore[arg-type]
        finally:
            raw.close()
            source.close()
    db.engine.dispose()
    schema.upgrade()


def _read_manifest(archive: tarfile.TarFile) -> dict[str, Any]:
    try:
        member = archive.extractfile(MANIFEST)
        manifest = json.loads(member.read()) if member else None
    except (KeyError, ValueError) as error:
        raise BackupError("这不是有声图书馆的备份文件（缺少 manifest.json）。") from error
    if not manifest or manifest.get("format") != FORMAT_VERSION:
        raise BackupError("备份文件的格式版本不受支持。")
    return manifest


def _restore_database(archive: tarfile.TarFile, manifest: dict[str, Any]) -> None:
    """Load the rows into a schema at the archive's revision, then upgrade to head."""
    db.session.remove()
    db.drop_all()
    with db.engine.begin() as connection:
        connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
    for revision in (manifest["revision"] or "heads").split(", "):
        schema.upgrade(revision)  # the schema the rows were written under
    rows = archive.extractfile(ROWS)
    if rows is None:
        raise BackupError("备份文件里没有数据库内容。")
    tables = {table.name: table for table in _tables()}
    with db.engine.begin() as connection:
        for table in reversed(_tables()):
            connection.execute(table.delete())  # the default sections of a fresh schema
        for line in io.TextIOWrapper(rows, encoding="utf-8"):
            entry = json.loads(line)
            table = tables[entry["table"]]
            values = {key: _decode(value, table.c[key].type) for key, value in entry["row"].items() if key in table.c}
            connection.execute(insert(table).values(**values))
        if connection.dialect.name == "postgresql":
            _reset_sequences(connection)
    schema.upgrade()


def _reset_sequences(connection: Any) -> None:
    """After inserting explicit ids, move PostgreSQL's sequences past them."""
    for table in _tables():
        for column in table.primary_key.columns:
            if column.autoincrement is True or (column.autoincrement == "auto" and column.type.python_type is int):
                connection.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table.name}', '{column.name}'), "  # noqa: S608
                        f"COALESCE((SELECT MAX({column.name}) FROM {table.name}), 0) + 1, false)"
                    )
                )


def _restore_media(archive: tarfile.TarFile) -> None:
    """Extract the media files (safely: only regular files under media/, no links)."""
    root = store().root
    for member in archive:
        if not member.name.startswith(MEDIA_PREFIX) or not member.isfile():
            continue
        relative = member.name[len(MEDIA_PREFIX):]
        try:
            store().validate_relative(relative)
        except InvalidKeyError as error:
            raise BackupError(f"备份文件里有不属于媒体库的路径，已停止恢复：{member.name}") from error
        target = root / relative
        if target.is_file() and target.stat().st_size == member.size:
            continue  # content-addressed: the same name is the same bytes
        target.parent.mkdir(parents=True, exist_ok=True)
        source = archive.extractfile(member)
        if source is None:
            continue
        with tempfile.NamedTemporaryFile(dir=target.parent, delete=False, prefix=".restore-") as out:
            while chunk := source.read(1024 * 1024):
                out.write(chunk)
        os.replace(out.name, target)
