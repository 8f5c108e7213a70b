"""``kiosk init``, ``kiosk demo`` and ``kiosk sync-media``: a data dir made ready to serve."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from kiosk import config
from kiosk.db import schema
from kiosk.extensions import db
from kiosk.library import catalogue
from kiosk.media import public_tree


def prepare_database() -> int:
    """Make the data dir and its secret key, upgrade the schema, ensure the nine sections, resync the public tree."""
    app = current_app
    data_dir = Path(app.config["KIOSK_DATA_DIR"])
    ephemeral_key = app.config.get("KIOSK_EPHEMERAL_SECRET_KEY")
    if ephemeral_key:
        kept_key = config.ensure_secret_key(data_dir)
        if app.config["SECRET_KEY"] == ephemeral_key:
            app.config["SECRET_KEY"] = kept_key
            app.config["KIOSK_EPHEMERAL_SECRET_KEY"] = None
    data_dir.mkdir(parents=True, exist_ok=True)
    schema.hold_migration_lock()  # one node at a time (PostgreSQL); released by the commit below
    schema.upgrade()
    made = catalogue.ensure_default_sections()
    db.session.commit()
    try:
        public_tree.resync()  # e.g. a database restored or upgraded from before the tree existed
    except OSError as error:  # the app serves everything itself meanwhile; nginx falls back to it
        click.echo(f"warning: the published-only tree for a front nginx was not updated: {error}", err=True)
    return made


def load_demo() -> None:
    """Load the demo library, printing its progress."""
    from kiosk.demo import builder  # synthesises speech: loaded only when asked for

    report = builder.load(echo=click.echo)
    click.echo(f"Demo library ready: {report.books_created} new book(s), {report.tracks_created} new chapter(s).")


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
    prepare_database()
    load_demo()


@click.command("sync-media")
@with_appcontext
def sync_media_command() -> None:
    """Make the published-only tree that a front nginx serves match the catalogue (also runs every 10 min)."""
    report = public_tree.resync()
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
