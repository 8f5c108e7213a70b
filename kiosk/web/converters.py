"""URL converters: ids are positive and fit every database's integer column."""

from __future__ import annotations

from typing import Any

from flask import Flask
from werkzeug.routing import IntegerConverter, Map

MAX_ID = 2**31 - 1  # PostgreSQL's INTEGER; larger numbers can name nothing


class IdConverter(IntegerConverter):
    """``<id:name>``: 1 … 2³¹−1, so a huge number is a 404, not a database overflow."""

    def __init__(self, url_map: Map, *args: Any, **kwargs: Any) -> None:
        super().__init__(url_map, min=1, max=MAX_ID)


def init_app(app: Flask) -> None:
    """Register the converters (before any blueprint uses them)."""
    app.url_map.converters["id"] = IdConverter
