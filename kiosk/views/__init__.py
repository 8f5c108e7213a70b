"""Blueprints, one per audience: visitors, the API, media, the booth, sign-in, the console.

Views never import each other (the console's catalogue pages share one base module).
"""

from __future__ import annotations

from flask import Flask


def register_views(app: Flask) -> None:
    """Attach every blueprint to ``app``, the console's areas in their menu order."""
    from kiosk.views import api, auth, beacon, booth, media, visitor
    from kiosk.views.console import catalogue, home, imports, moderation, stats, wall

    for blueprint in (visitor.bp, api.bp, media.bp, auth.bp, booth.bp):
        app.register_blueprint(blueprint)
    # The console's areas join its navigation in this order: home first, then the wall.
    for area in (home, wall, moderation, catalogue, imports, stats, beacon):
        area.init_app(app)
    # Taking a book home: podcast feeds, talking-book exports, share posters, the offline web app.
    from kiosk.views import exports, feeds, offline, sharing

    for take_home in (feeds, exports, sharing, offline):
        take_home.init_app(app)
    # Read-along: a chapter's text in time with its audio (WebVTT, JSON, a book's EPUB).
    from kiosk.views import readalong

    readalong.init_app(app)
