"""The player's beacon: ``POST /api/v1/plays`` with a small JSON batch of listening progress."""

from __future__ import annotations

from flask import Blueprint, Flask, current_app, request
from werkzeug.wrappers import Response

from kiosk.extensions import db
from kiosk.insights import plays
from kiosk.web.errors import render_error
from kiosk.web.security import csrf, limiter

bp = Blueprint("beacon", __name__)

# Phones behind one library Wi-Fi share an address; each sends about one batch a minute.


def _limit() -> str:
    """The configured per-address limit (``KIOSK_BEACON_LIMIT``)."""
    return str(current_app.config["KIOSK_BEACON_LIMIT"])


def _body() -> bytes:
    """The request body, read no further than one byte past the cap."""
    if (request.content_length or 0) > plays.MAX_BODY_BYTES:
        raise plays.BeaconError(413, "too_large", "")
    return request.stream.read(plays.MAX_BODY_BYTES + 1)


@bp.post("/api/v1/plays")
@csrf.exempt  # sendBeacon posts without a session or token; reports are validated strictly
@limiter.limit(_limit)
def report() -> Response:
    """Merge the batch into the plays' rows; 204, or a JSON error."""
    try:
        plays.record(plays.parse(_body()))
    except plays.BeaconError as error:
        db.session.rollback()
        return render_error(error.status, error.message or None, error.code)
    return Response(status=204)


def init_app(app: Flask) -> None:
    """Register the beacon's blueprint."""
    app.register_blueprint(bp)
