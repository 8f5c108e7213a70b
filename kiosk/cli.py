"""The ``kiosk`` command: the application's Flask CLI group (``flask --app kiosk`` works too)."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import click
from flask import Flask
from flask.cli import FlaskGroup, with_appcontext

from . import catalogue, public_media, schema
from .extensions import db


def prepare_database() -> int:
    """Upgrade the schema in place, make sure the nine default sections exist, resync the public tree."""
    schema.hold_migration_lock()  # one node at a time (PostgreSQL); released by the commit below
    schema.upgrade()
    made = catalogue.ensure_default_sections()
    db.session.commit()
    try:
        public_media.resync()  # e.g. a database restored or upgraded from before the tree existed
    except OSError as error:  # the app serves everything itself meanwhile; nginx falls back to it
        click.echo(f"warning: the published-only tree for a front nginx was not updated: {error}", err=True)
    return made


@click.command("init")
@with_appcontext
def init_command() -> None:
    """Create or upgrade the schema and the nine default sections (safe to run twice)."""
    made = prepare_database()
    click.echo(f"Database at revision {schema.current_revision()}; {made} new section(s).")


@click.command("demo")
@with_appcontext
def demo_command() -> None:
    """Load the demo library: real, playable recordings made on this machine."""
    from . import demo

    prepare_database()
    report = demo.load(echo=click.echo)
    click.echo(f"Demo library ready: {report.books_created} new book(s), {report.tracks_created} new chapter(s).")


@click.command("serve")
@click.option(
    "--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0 for phones on the LAN)."
)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--workers", default=None, type=click.IntRange(1, 64), help="Worker processes (default: one per two cores)."
)
@click.option("--demo", "with_demo", is_flag=True, help="Load the demo library first.")
@click.option("--no-worker", is_flag=True, help="Do not start a background worker (one runs elsewhere).")
@with_appcontext
def serve_command(host: str, port: int, workers: int | None, with_demo: bool, no_worker: bool) -> None:
    """Run the production server (gunicorn, gevent workers) and a background worker."""
    from . import create_app, server

    prepare_database()
    if with_demo:
        from . import demo

        demo.load(echo=click.echo)
    db.engine.dispose()  # never share database connections across gunicorn's fork
    shown_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host  # noqa: S104
    click.echo(f"有声图书馆 is serving at http://{shown_host}:{port}/  (Ctrl+C to stop)")
    worker = None if no_worker else subprocess.Popen([sys.executable, "-m", "kiosk", "worker"])
    try:
        server.KioskServer(create_app, server.server_options(host, port, workers)).run()
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(timeout=30)


@click.command("worker")
@click.option("--threads", default=1, show_default=True, type=click.IntRange(1, 16),
              help="Takes mastered at once (each runs ffmpeg on one core).")
@with_appcontext
def worker_command(threads: int) -> None:
    """Run the background worker alone (mastering booth takes), e.g. on a separate machine."""
    from . import jobs

    logging.basicConfig(level=logging.INFO, format="[%(asctime)s] [worker] %(levelname)s %(name)s: %(message)s")
    click.echo(f"kiosk worker: mastering with {threads} thread(s)")
    jobs.run_worker(threads)


@click.command("backup")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Archive to write (.tar, or .tar.gz to compress).")
@with_appcontext
def backup_command(output: Path) -> None:
    """Write a consistent archive of the database and the media store."""
    from . import backup

    manifest = backup.create(output)
    rows = sum(manifest["rows"].values())
    click.echo(f"Backup written to {output}: {rows} rows, {manifest['media_files']} media files "
               f"({manifest['media_bytes'] / 1e6:.1f} MB), schema {manifest['revision']}.")


@click.command("restore")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def restore_command(archive: Path) -> None:
    """Restore a backup archive into an empty data dir and database."""
    from . import backup

    prepare_database()
    try:
        manifest = backup.restore(archive)
    except backup.BackupError as error:
        raise click.ClickException(str(error)) from error
    public_media.resync()
    click.echo(f"Restored {sum(manifest['rows'].values())} rows and {manifest['media_files']} media files "
               f"from the backup of {manifest['created_at']}.")


@click.command("sync-media")
@with_appcontext
def sync_media_command() -> None:
    """Make the published-only tree that a front nginx serves match the catalogue (also runs every 10 min)."""
    report = public_media.resync()
    click.echo(f"{report.published} published file(s): {report.linked} linked, {report.removed} withdrawn, "
               f"{report.missing} missing from the store.")
    if report.missing:
        raise click.ClickException("some published files are missing from the media store (see the log)")


@click.command("db-revision", hidden=True)
@click.option("-m", "--message", required=True)
@with_appcontext
def db_revision_command(message: str) -> None:
    """(Developers) write a migration for the difference between the models and the database."""
    schema.autogenerate(message)


def init_app(app: Flask) -> None:
    """Attach the commands to ``app.cli``."""
    from .import_cli import import_command
    from .user_cli import user_group
    from .wall_cli import wall_command

    for command in (
        init_command, demo_command, serve_command, worker_command, backup_command, restore_command,
        sync_media_command,
        db_revision_command,
        wall_command, user_group, import_command,
    ):
        app.cli.add_command(command)


def main() -> None:
    """Entry point of the ``kiosk`` console script."""
    from . import create_app

    FlaskGroup(create_app=create_app, add_version_option=False, load_dotenv=False)()
