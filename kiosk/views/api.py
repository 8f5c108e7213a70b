"""JSON API of the published catalogue (``/api/v1``) and the operators' ``/healthz``."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from flask import Blueprint, abort, current_app, jsonify, request, url_for
from sqlalchemy import text
from werkzeug.wrappers import Response

from kiosk.extensions import db
from kiosk.library import catalogue
from kiosk.library.catalogue import BookSummary, SectionCard, TrackView
from kiosk.readalong import texts as readalong_texts
from kiosk.storage import free_bytes, store

bp = Blueprint("api", __name__)

MAX_QUERY_CHARS = 64


def _media(key: str | None) -> str | None:
    return url_for("media.file", key=key) if key else None


def _section_json(card: SectionCard) -> dict[str, Any]:
    return {**asdict(card), "url": url_for("visitor.section", slug=card.slug)}


def _book_json(summary: BookSummary) -> dict[str, Any]:
    data = asdict(summary)
    data["duration_s"] = round(summary.duration_ms / 1000, 3)
    data["cover_url"] = _media(summary.cover_key)
    data["cover_thumb_url"] = _media(summary.cover_thumb_key)
    data["url"] = url_for("visitor.book", book_id=summary.id)
    return data


def _transcript_url(track_id: int, aligned: set[int]) -> str | None:
    """The chapter's WebVTT, once its text is aligned to its audio (``null`` until then)."""
    return url_for("readalong.vtt", track_id=track_id) if track_id in aligned else None


def _track_json(view: TrackView, aligned: set[int] | None = None) -> dict[str, Any]:
    aligned = readalong_texts.aligned_track_ids([view.id]) if aligned is None else aligned
    return {
        "id": view.id,
        "book_id": view.book_id,
        "position": view.position,
        "title": view.title,
        "reader": view.reader,
        "duration_s": round(view.duration_ms / 1000, 3),
        "audio_url": _media(view.audio_key),
        "mime_type": view.mime_type,
        "size_bytes": view.size_bytes,
        "url": url_for("visitor.track", track_id=view.id),
        "transcript_url": _transcript_url(view.id, aligned),
    }


@bp.get("/api/v1/sections")
def sections() -> Response:
    """Every published section in wall order."""
    return jsonify(sections=[_section_json(card) for card in catalogue.wall()])


@bp.get("/api/v1/sections/<slug>")
def section(slug: str) -> Response:
    """One section and its published books."""
    found = catalogue.section(slug, page=request.args.get("page", 1, type=int))
    if found is None:
        abort(404)
    card, page = found
    return jsonify(
        section=_section_json(card),
        books=[_book_json(b) for b in page.books],
        page=page.number,
        pages=page.pages,
        total_books=page.total,
    )


@bp.get("/api/v1/books/<id:book_id>")
def book(book_id: int) -> Response:
    """One book and its published chapters."""
    detail = catalogue.book(book_id)
    if detail is None:
        abort(404)
    data = _book_json(detail.summary)
    data["description"] = detail.description
    aligned = readalong_texts.aligned_track_ids([t.id for t in detail.tracks])
    data["tracks"] = [_track_json(t, aligned) for t in detail.tracks]
    return jsonify(book=data)


@bp.get("/api/v1/tracks/<id:track_id>")
def track(track_id: int) -> Response:
    """One chapter, with its audio URL and neighbours."""
    detail = catalogue.track(track_id)
    if detail is None:
        abort(404)
    data = _track_json(detail.track)
    data["book"] = _book_json(detail.book)
    data["previous_id"] = detail.previous_id
    data["next_id"] = detail.next_id
    return jsonify(track=data)


@bp.get("/api/v1/search")
def search() -> Response:
    """Published books matching ``q`` by title, author or reader, in characters or pinyin."""
    query = request.args.get("q", "").strip()[:MAX_QUERY_CHARS]
    return jsonify(query=query, books=[_book_json(b) for b in catalogue.search(query)])


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    """200 when the database answers and the media store is writable, else 503; low disk space is a warning.

    Low space stays a 200: listeners are still served, only uploads wait (see web/uploads.py).
    """
    checks = {"database": _database_ok(), "media_store": store().is_healthy()}
    status = 200 if all(checks.values()) else 503
    free = free_bytes(store().root)
    margin = int(current_app.config["KIOSK_MIN_FREE_BYTES"])
    warnings = ["low_disk_space"] if free < margin else []
    return jsonify(status="ok" if status == 200 else "unavailable", checks=checks, warnings=warnings,
                   disk={"free_bytes": free, "min_free_bytes": margin}), status


def _database_ok() -> bool:
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:
        return False
    return True
