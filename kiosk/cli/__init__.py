"""The ``kiosk`` command: the application's Flask CLI group (``flask --app kiosk`` works too).

One module per group of commands; ``group`` names the data dir before each one runs.
"""

from __future__ import annotations

from flask import Flask


def register_commands(app: Flask) -> None:
    """Attach the kiosk's commands to ``app.cli``, for ``flask --app kiosk``."""
    from kiosk.cli.group import commands

    for command in commands():
        app.cli.add_command(command)


def main() -> None:
    """Entry point of the ``kiosk`` console script."""
    from kiosk.cli.group import KioskGroup

    KioskGroup()()
