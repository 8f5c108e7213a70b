"""``kiosk serve`` and ``kiosk worker``: the production server and the background worker."""

from __future__ import annotations

import functools
import logging

import click
from flask import current_app
from flask.cli import with_appcontext

from kiosk.cli.setup import load_demo, prepare_database
from kiosk.cli.supervise import WorkerSupervisor
from kiosk.extensions import db


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
    from kiosk import create_app
    from kiosk.web import server

    if server.address_in_use(host, port):
        raise click.ClickException(f"{host}:{port} is already in use (is a kiosk already running?): "
                                   "stop that program or choose another port with --port.")
    prepare_database()
    if with_demo:
        load_demo()
    db.engine.dispose()  # never share database connections across gunicorn's fork
    shown_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host  # noqa: S104
    click.echo(f"有声图书馆 is serving at http://{shown_host}:{port}/  (Ctrl+C to stop)")
    if host in ("0.0.0.0", "::") and not current_app.config.get("KIOSK_BASE_URL") \
            and not current_app.config.get("KIOSK_ALLOWED_HOSTS"):  # noqa: S104
        click.echo("warning: phones on the network will be refused until KIOSK_BASE_URL is set to the address "
                   "they use (e.g. http://192.168.1.20:8000): links and QR codes are built from it.", err=True)
    supervisor = None if no_worker else WorkerSupervisor()
    if supervisor is not None:
        supervisor.start()
    try:
        factory = functools.partial(create_app, {"KIOSK_SERVE_HOST": host})
        server.KioskServer(factory, server.server_options(host, port, workers)).run()
    finally:
        if supervisor is not None:
            supervisor.stop()


@click.command("worker")
@click.option("--threads", default=1, show_default=True, type=click.IntRange(1, 16),
              help="Takes mastered at once (each runs ffmpeg on one core).")
@with_appcontext
def worker_command(threads: int) -> None:
    """Run the background worker alone (mastering booth takes), e.g. on a separate machine."""
    from kiosk.jobs import tasks

    logging.basicConfig(level=logging.INFO, format="[%(asctime)s] [worker] %(levelname)s %(name)s: %(message)s")
    click.echo(f"kiosk worker: mastering with {threads} thread(s)")
    tasks.run_worker(threads)
