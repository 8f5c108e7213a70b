"""``kiosk user …``: create console accounts and reset passwords from the command line."""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import with_appcontext

from kiosk.accounts import auth
from kiosk.extensions import db
from kiosk.models import Role


def _text(message: object) -> str:
    """A (lazily translated) message as text; translation needs a request context."""
    with current_app.test_request_context():
        return str(message)


def _read_password(from_stdin: bool) -> str:
    """One line of standard input, or a hidden prompt asked twice."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))


@click.group("user")
def user_group() -> None:
    """Manage the librarians' console accounts."""


@user_group.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice([r.value for r in Role]), default=Role.LIBRARIAN.value,
              show_default=True, help="admin manages accounts; librarian runs the catalogue.")
@click.option("--display-name", default="", help="The name the console shows (e.g. 王老师).")
@click.option("--password-stdin", is_flag=True, help="Read the password from one line of stdin.")
@with_appcontext
def add_command(name: str, role: str, display_name: str, password_stdin: bool) -> None:
    """Create the account NAME (the schema must exist: run `kiosk init` first)."""
    password = _read_password(password_stdin)
    try:
        user = auth.create_user(name, password, Role(role), display_name, via="cli")
    except auth.AccountError as error:
        raise click.ClickException(_text(error.message)) from error
    db.session.commit()
    click.echo(f"Created {user.role.value} account {user.username!r}.")


@user_group.command("passwd")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from one line of stdin.")
@with_appcontext
def passwd_command(name: str, password_stdin: bool) -> None:
    """Set a new password for NAME (ends the account's open sessions)."""
    user = auth.find_user(name)
    if user is None:
        raise click.ClickException(f"No account named {name!r}.")
    try:
        auth.set_password(user, _read_password(password_stdin), via="cli")
    except auth.AccountError as error:
        raise click.ClickException(_text(error.message)) from error
    db.session.commit()
    click.echo(f"Password of {user.username!r} changed.")
