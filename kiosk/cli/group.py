"""The ``kiosk`` group: only the kiosk's own commands, each told which data dir it works on."""

from __future__ import annotations

from typing import Any

import click
from flask.cli import FlaskGroup

from kiosk import config


class KioskGroup(FlaskGroup):
    """Flask's CLI group without Flask's development commands (``run``, ``shell``, ``routes``).

    Before a command runs (not for ``--help``), the data dir is checked and named, so that
    an unusable folder is one clear line and running from another folder never silently
    starts a second, empty library.
    """

    def __init__(self, **extra: Any) -> None:
        from kiosk import create_app

        super().__init__(create_app=create_app, add_default_commands=False, add_version_option=False,
                         load_dotenv=False, set_debug_flag=False, **extra)
        # Flask's --app, --env-file and --debug choose another application: not ours to offer.
        self.params = [param for param in self.params if param.name not in ("app", "env_file", "debug")]
        for command in commands():
            self.add_command(command)

    def list_commands(self, ctx: click.Context) -> list[str]:
        """The kiosk's commands in the order of the README, not extensions' or Flask's."""
        return list(self.commands)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """Only the kiosk's own commands (``flask --app kiosk`` still offers every command)."""
        return self.commands.get(cmd_name)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        """Find the command, and before it runs, check and name the data dir it will use."""
        name, command, rest = super().resolve_command(ctx, args)
        if command is not None and not any(arg in ctx.help_option_names for arg in rest):
            announce_data_dir()
        return name, command, rest


def commands() -> list[click.Command]:
    """Every command of ``kiosk``, in the order ``--help`` lists them."""
    from kiosk.cli import backup, imports, serve, setup, users, wall

    return [
        setup.init_command, setup.demo_command, serve.serve_command, serve.worker_command,
        imports.import_command, users.user_group, wall.wall_command, setup.sync_media_command,
        backup.backup_command, backup.restore_command, setup.db_revision_command,
    ]


def announce_data_dir() -> None:
    """Name the data dir on standard error; fail with one line if it cannot be used."""
    data_dir = config.data_dir_from_environment()
    try:
        is_new = config.check_data_dir(data_dir)
    except config.DataDirError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"kiosk: data dir {data_dir}", err=True)
    if is_new:
        click.echo(
            f"kiosk: warning: {data_dir} holds no library yet; a new, empty one will be made there. "
            "To use an existing library, run from its folder or set KIOSK_DATA_DIR.",
            err=True,
        )
