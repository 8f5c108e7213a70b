"""Read-along for visitors: a chapter's text as WebVTT and JSON, a book's EPUB with Media Overlays.

Only what visitors may see (``kiosk.library.visibility``, as for the audio): a hidden chapter's
text is a 404 like its audio. WebVTT exists once the text is aligned to the present audio;
the JSON always, with timings when there are some, so the player shows the text either way.
"""

from __future__ import annotations

import hashlib
import tempfile

from flask import Blueprint, Flask, abort, jsonify, request, send_file, url_for
from werkzeug.wrappers import Response

from kiosk.readalong import outputs, texts

bp = Blueprint("readalong", __name__)


def _found(track_id: int) -> texts.Transcript:
    transcript = texts.transcript(track_id)
    if transcript is None:
        abort(404)
    return transcript


def _revalidated(response: Response, body: str) -> Response:
    """Cached by phones and proxies, asked again each time (the timing changes when re-aligned)."""
    response.set_etag(hashlib.sha256(body.encode()).hexdigest()[:32])
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Access-Control-Allow-Origin"] = "*"  # podcast apps fetch transcripts from pages of their own
    return response.make_conditional(request)


@bp.get("/tracks/<id:track_id>/transcript.vtt")
def vtt(track_id: int) -> Response:
    """The chapter's sentences as WebVTT cues (404 until aligned)."""
    transcript = _found(track_id)
    if transcript.cues is None:
        abort(404)
    body = outputs.webvtt(transcript.sentences, transcript.cues)
    return _revalidated(Response(body, mimetype="text/vtt"), body)


@bp.get("/tracks/<id:track_id>/transcript.json")
def transcript_json(track_id: int) -> Response:
    """The chapter's sentences, with ``start_s``/``end_s`` once aligned."""
    transcript = _found(track_id)
    vtt_url = url_for("readalong.vtt", track_id=track_id) if transcript.cues is not None else None
    response = jsonify(outputs.transcript_json(track_id, transcript.sentences, transcript.cues, vtt_url))
    return _revalidated(response, response.get_data(as_text=True))


@bp.get("/books/<id:book_id>/readalong.epub")
def epub(book_id: int) -> Response:
    """The book's aligned chapters as an EPUB 3 whose text plays in sync with the audio."""
    book = texts.epub_book(book_id)
    if book is None:
        abort(404)
    spool = tempfile.TemporaryFile()  # noqa: SIM115 - send_file closes it when the response ends
    outputs.write_epub(book, spool)
    spool.seek(0)
    return send_file(spool, mimetype="application/epub+zip", as_attachment=True,
                     download_name=f"{book.title}.epub", max_age=0)


def player_text(track_id: int, chapter_ids: list[int] | None = None) -> dict[str, str] | None:
    """What the player's read-along partial needs, or ``None`` (render nothing): no chapter has a text.

    The player moves to the next chapter in place, so the partial is there when any of the
    book's chapters (``chapter_ids``) has a text; its script asks for each chapter's in turn.
    """
    if not texts.tracks_with_text(chapter_ids or [track_id]):
        return None
    pattern = url_for("readalong.transcript_json", track_id=123456789).replace("123456789", "{id}")
    return {"url_pattern": pattern, "track_id": str(track_id)}


def init_app(app: Flask) -> None:
    """Register the read-along routes and the template global the player's partial uses."""
    app.register_blueprint(bp)
    app.add_template_global(player_text, "readalong_text")
