"""有声图书馆: the audio library kiosk (Flask application factory)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask

from . import config as config_module

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
        if "SQLALCHEMY_DATABASE_URI" in overrides and "SQLALCHEMY_ENGINE_OPTIONS" not in overrides:
            app.config["SQLALCHEMY_ENGINE_OPTIONS"] = config_module.engine_options(
                overrides["SQLALCHEMY_DATABASE_URI"]
            )

    from . import converters, i18n, jobs, public_media, storage, uploads
    from .extensions import db

    converters.init_app(app)
    db.init_app(app)
    storage.init_app(app)
    public_media.install()  # the published-only tree follows every catalogue commit
    uploads.init_app(app)
    jobs.configure(app)
    i18n.init_app(app)

    from . import formatting
    from .views import api, errors, media, visitor

    formatting.init_app(app)
    errors.init_app(app)
    app.register_blueprint(visitor.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(media.bp)
    from . import streaming

    streaming.init_app(app)  # /media/ fast path in front of Flask: same checks, no dispatch

    from . import auth, security
    from .views import admin
    from .views import auth as auth_views

    security.init_app(app)
    auth.init_app(app)
    app.register_blueprint(auth_views.bp)
    admin.init_app(app)
    from .views import admin_wall  # after admin: it joins the console's navigation

    admin_wall.init_app(app)
    from .views import admin_moderation

    admin_moderation.init_app(app)
    from .views import admin_catalogue

    admin_catalogue.init_app(app)
    from .views import admin_import, admin_stats, beacon

    admin_import.init_app(app)
    admin_stats.init_app(app)
    beacon.init_app(app)

    from .views import booth

    app.register_blueprint(booth.bp)

    from . import cli

    cli.init_app(app)
    return app
