"""``python -m kiosk …`` is the ``kiosk`` command (used to start the worker beside gunicorn)."""

from kiosk.cli import main

main()
