"""The installable web app: its manifest, its service worker at the site's root, and what a book download stores.

Nothing here changes a page: without a service worker (or with one and the network up)
every page works exactly as before. ``/books/<id>/offline.json`` lists what "下载到手机"
stores: the book's and its chapters' pages, its cover, and each chapter's whole MP3.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, abort, current_app, jsonify, send_file, url_for
from flask_babel import gettext
from werkzeug.wrappers import Response

from kiosk.library import catalogue

bp = Blueprint("offline", __name__)

THEME_COLOUR = "#8c2f1b"


@bp.get("/sw.js")
def service_worker() -> Response:
    """The service worker, from the root so that its scope is the whole site; always revalidated."""
    path = Path(current_app.static_folder or "") / "sw.js"
    response = send_file(path, mimetype="text/javascript", conditional=True, max_age=0)
    response.headers["Service-Worker-Allowed"] = "/"
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/manifest.webmanifest")
def manifest() -> Response:
    """The web app manifest: name, icons, start page, colours."""
    icons = [
        {"src": url_for("static", filename="icons/icon-192.png"), "sizes": "192x192", "type": "image/png"},
        {"src": url_for("static", filename="icons/icon-512.png"), "sizes": "512x512", "type": "image/png"},
        {"src": url_for("static", filename="icons/maskable-512.png"), "sizes": "512x512", "type": "image/png",
         "purpose": "maskable"},
    ]
    name = str(current_app.config["KIOSK_LIBRARY_NAME"])
    response = jsonify(name=name, short_name=name[:12], lang="zh-CN", start_url="/", scope="/",
                       display="standalone", background_color="#ffffff", theme_color=THEME_COLOUR, icons=icons)
    response.mimetype = "application/manifest+json"
    return response


@bp.get("/books/<id:book_id>/offline.json")
def book_download(book_id: int) -> Response:
    """What storing a book on the phone takes: its pages, cover and whole MP3s, with their sizes."""
    detail = catalogue.book(book_id)
    if detail is None or not detail.tracks:
        abort(404)
    summary = detail.summary
    pages = [url_for("visitor.book", book_id=book_id)]
    pages += [url_for("visitor.track", track_id=t.id) for t in detail.tracks]
    files = [url_for("media.file", key=key) for key in (summary.cover_key, summary.cover_thumb_key) if key]
    audio = [{"url": url_for("media.file", key=t.audio_key), "size_bytes": t.size_bytes, "title": t.title}
             for t in detail.tracks]
    response = jsonify(book_id=book_id, title=summary.title, size_bytes=sum(t.size_bytes for t in detail.tracks),
                       pages=pages, files=files, audio=audio)
    response.headers["Cache-Control"] = "no-store"
    return response


def size_text(size_bytes: int) -> str:
    """A download's size as a phone shows it: "12.3 MB", "850 KB"."""
    if size_bytes >= 1_000_000:
        return gettext("%(n)s MB", n=format(size_bytes / 1_000_000, ".1f"))
    return gettext("%(n)s KB", n=max(1, round(size_bytes / 1000)))


def take_home_download(book: Any) -> dict[str, Any]:
    """What the book page's "下载到手机" shows, from its ``BookDetail``: size, chapter count, the list's URL."""
    size_bytes = sum(t.size_bytes for t in book.tracks)
    return {"size_bytes": size_bytes, "size_text": size_text(size_bytes), "chapters": len(book.tracks),
            "manifest_url": url_for("offline.book_download", book_id=book.summary.id)}


def init_app(app: Flask) -> None:
    """Register the web app's routes and the template global of the book page's download."""
    app.register_blueprint(bp)
    app.add_template_global(take_home_download)
