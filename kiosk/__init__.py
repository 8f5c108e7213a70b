"""有声图书馆: the audio library kiosk (Flask application factory)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask

from kiosk import config as config_module

PACKAGE_DIR = Path(__file__).resolve().parent


def _template_folder() -> Path:
    """Templates sit inside the package in a wheel, at the repository's top in a checkout."""
    installed = PACKAGE_DIR / "templates"
    return installed if installed.is_dir() else PACKAGE_DIR.parent / "templates"


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    """Build the application from ``KIOSK_*`` settings plus ``overrides`` (tests pass these)."""
    app = Flask(__name__, template_folder=str(_template_folder()))
    settings = config_module.from_environment()
    app.config.update(settings.flask_config())
    if overrides:
        app.config.update(overrides)
        if "SQLALCHEMY_ENGINE_OPTIONS" not in overrides and (
            "SQLALCHEMY_DATABASE_URI" in overrides or "KIOSK_SQLITE_BUSY_TIMEOUT_S" in overrides
        ):
            app.config["SQLALCHEMY_ENGINE_OPTIONS"] = config_module.engine_options(
                app.config["SQLALCHEMY_DATABASE_URI"], app.config.get("KIOSK_SQLITE_BUSY_TIMEOUT_S")
            )

    if not (overrides and "TRUSTED_HOSTS" in overrides):
        app.config["TRUSTED_HOSTS"] = config_module.trusted_hosts(app.config)

    from kiosk import storage
    from kiosk.accounts import auth
    from kiosk.cli import register_commands
    from kiosk.extensions import db
    from kiosk.jobs import queue
    from kiosk.library import catalogue
    from kiosk.media import public_tree, streaming
    from kiosk.views import register_views
    from kiosk.web import compression, converters, errors, formatting, i18n, inputs, security, uploads

    compression.init_app(app)  # first registered, so its after-request hook runs last
    converters.init_app(app)
    db.init_app(app)
    storage.init_app(app)
    public_tree.install()  # the published-only tree follows every catalogue commit
    catalogue.install()  # so does every book's search index
    uploads.init_app(app)
    queue.init_app(app)
    i18n.init_app(app)
    formatting.init_app(app)
    errors.init_app(app)
    inputs.init_app(app)
    security.init_app(app)
    auth.init_app(app)
    register_views(app)
    streaming.init_app(app)  # /media/ fast path in front of Flask: same checks, no dispatch
    register_commands(app)
    security.trust_proxies(app)  # outermost: every layer below sees the client's address
    return app
