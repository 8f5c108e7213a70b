"""``/media/<key>``: what visitors may fetch (audio, covers), straight from the store with ranges."""

from __future__ import annotations

import logging

from flask import Blueprint, abort, current_app, request
from werkzeug.wrappers import Response

from kiosk.library import visibility
from kiosk.media import streaming
from kiosk.storage import InvalidKeyError, store, validate_key

bp = Blueprint("media", __name__)
log = logging.getLogger(__name__)

MAX_KEY_CHARS = 128


@bp.get("/media/<path:key>")
def file(key: str) -> Response:
    """Stream a file visitors may fetch; anything else, including traversal attempts, is 404."""
    if len(key) > MAX_KEY_CHARS:
        abort(404)
    try:
        validate_key(key)
    except InvalidKeyError:
        abort(404)
    mime_type = visibility.fetchable_mime(key)
    if mime_type is None:
        abort(404)
    accel_prefix = current_app.config.get("KIOSK_ACCEL_REDIRECT")
    if accel_prefix:
        return streaming.accel_redirect(accel_prefix, key, mime_type)
    path = store().path(key)
    if not path.is_file():
        log.error("media file missing for published item: key=%s path=%s", key, path)
        abort(404)
    return streaming.send_media(request, path, mime_type)
