"""``kiosk wall``: write the printable audio wall (or books' shelf labels) as HTML, SVG or PDF."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from kiosk.extensions import db
from kiosk.storage import write_atomically
from kiosk.wall import cards as wall
from kiosk.wall import qr
from kiosk.wall.output import FORMATS, render


def _base_url(ctx: click.Context | None, param: click.Parameter | None, value: str | None) -> str:
    """The ``--base-url`` given, else ``KIOSK_BASE_URL``; an absolute http(s) URL either way."""
    chosen = value or current_app.config.get("KIOSK_BASE_URL")
    if not chosen:
        raise click.BadParameter(
            "请给出网址，例如 --base-url https://lib.example.org", ctx, param, "--base-url"
        )
    try:
        return qr.validate_base_url(chosen)
    except qr.BaseUrlError as error:
        raise click.BadParameter(f"{chosen!r}: {error}", ctx, param, "--base-url") from error


def _output(ctx: click.Context, param: click.Parameter, value: Path) -> Path:
    """An output path whose suffix names a format and whose folder exists."""
    if value.suffix.lower() not in FORMATS:
        raise click.BadParameter("文件名须以 .html、.svg 或 .pdf 结尾", ctx, param)
    if not value.parent.is_dir():
        raise click.BadParameter(f"文件夹 {value.parent} 不存在", ctx, param)
    return value


@click.command("wall")
@click.option("--base-url", metavar="URL",
              help="Public address encoded in the codes (default: KIOSK_BASE_URL).")
@click.option("-o", "--output", required=True, callback=_output, metavar="FILE",
              type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write; .html, .svg or .pdf by the suffix.")
@click.option("--book", "book_ids", type=int, multiple=True, metavar="ID",
              help="Print shelf-label cards for these books instead of the wall (repeatable).")
@with_appcontext
def wall_command(base_url: str | None, output: Path, book_ids: tuple[int, ...]) -> None:
    """Write the printable audio-wall sheet (.pdf, .svg or .html, by the suffix)."""
    from kiosk.cli.setup import prepare_database

    base_url = _base_url(click.get_current_context(), None, base_url)  # before any write
    if qr.is_local_address(base_url):
        click.echo(f"warning: {base_url} is this computer's own address: phones that scan the wall cannot "
                   "reach it. Use the address the library's network or the internet knows "
                   "(e.g. --base-url https://lib.example.org).", err=True)
    prepare_database()
    # A request context gives templates and translations what a web request would.
    with current_app.test_request_context("/", base_url=base_url):
        try:
            cards = (
                wall.book_cards(book_ids, base_url) if book_ids else wall.section_cards(base_url)
            )
            content = render(cards, output.suffix)
        except wall.WallError as error:
            db.session.rollback()
            raise click.ClickException(str(error)) from error
        db.session.commit()  # codes issued for first-time prints are now on record
    write_atomically(output, content)
    what = "shelf label(s)" if book_ids else "wall card(s)"
    click.echo(f"Wrote {len(cards)} {what} to {output} (codes point at {base_url}/Q/...).")
