"""``kiosk backup`` and ``kiosk restore``: a consistent archive of the database and the media store."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext

from kiosk.cli.setup import prepare_database
from kiosk.db import backup
from kiosk.media import public_tree


@click.command("backup")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Archive to write (.tar, or .tar.gz to compress).")
@with_appcontext
def backup_command(output: Path) -> None:
    """Write a consistent archive of the database and the media store."""
    manifest = backup.create(output)
    rows = sum(manifest["rows"].values())
    click.echo(f"Backup written to {output}: {rows} rows, {manifest['media_files']} media files "
               f"({manifest['media_bytes'] / 1e6:.1f} MB), schema {manifest['revision']}.")


@click.command("restore")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def restore_command(archive: Path) -> None:
    """Restore a backup archive into an empty data dir and database."""
    prepare_database()
    try:
        manifest = backup.restore(archive)
    except backup.BackupError as error:
        raise click.ClickException(str(error)) from error
    public_tree.resync()
    click.echo(f"Restored {sum(manifest['rows'].values())} rows and {manifest['media_files']} media files "
               f"from the backup of {manifest['created_at']}.")
