"""Visitor pages: the wall, sections, books, the player, search, and QR landings."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, abort, has_request_context, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from kiosk.insights import scans
from kiosk.library import catalogue, visibility
from kiosk.models import CodeTarget, QrCode
from kiosk.wall import qr
from kiosk.wall.cards import kiosk_tiles

bp = Blueprint("visitor", __name__)

MAX_QUERY_CHARS = 64
# The text-size steps a visitor can choose (per cent of the base size), and the cookies that
# remember the choice on the phone, so the server renders the page at that size at once.
TEXT_SIZES = ("100", "125", "150", "200")
TEXT_SIZE_COOKIE = "textsize"
CONTRAST_COOKIE = "contrast"
DISPLAY_COOKIE_MAX_AGE_S = 365 * 24 * 3600


@dataclass(frozen=True)
class Display:
    """How this phone wants pages shown: text size in per cent, and high contrast or not."""

    text_size: str
    high_contrast: bool

    @property
    def html_class(self) -> str:
        """The classes for ``<html>`` that apply the choice."""
        classes = [] if self.text_size == "100" else [f"text-{self.text_size}"]
        return " ".join([*classes, "contrast-high"] if self.high_contrast else classes)


def display_choice() -> Display:
    """The phone's remembered display choice (its cookies), the defaults for anything unknown."""
    if not has_request_context():  # the printed wall, rendered by the CLI
        return Display("100", high_contrast=False)
    size = request.cookies.get(TEXT_SIZE_COOKIE, "100")
    return Display(size if size in TEXT_SIZES else "100", request.cookies.get(CONTRAST_COOKIE) == "high")


@bp.app_context_processor
def _display_context() -> dict[str, object]:
    """Every page's template may read ``display`` (the base template sets ``<html class>``)."""
    return {"display": display_choice(), "text_sizes": TEXT_SIZES}


@bp.get("/")
def wall() -> str:
    """The audio wall: every published section as a tile; ``?kiosk=1`` for the big screen."""
    if request.args.get("kiosk") == "1":
        # On the touch screen by the wall: nine big tiles, each with its scannable code.
        return render_template("wall/kiosk.html", tiles=kiosk_tiles(qr.configured_base_url()))
    return render_template("visitor/wall.html", sections=catalogue.wall())


@bp.get("/favicon.ico")
def favicon() -> Response:
    """Browsers ask for /favicon.ico whatever the page says: point them at our icon."""
    return redirect(url_for("static", filename="favicon.svg"), code=301)


@bp.get("/sections/<slug>")
def section(slug: str) -> str:
    """A section's books, in pinyin order."""
    found = catalogue.section(slug, page=request.args.get("page", 1, type=int))
    if found is None:
        abort(404)
    card, page = found
    return render_template("visitor/section.html", section=card, books=page.books, page=page)


@bp.get("/books/<id:book_id>")
def book(book_id: int) -> str:
    """A book's chapters in order."""
    detail = catalogue.book(book_id)
    if detail is None:
        abort(404)
    return render_template(
        "visitor/book.html",
        book=detail,
        summary=detail.summary,
        chapters=detail.tracks,
        track=detail.tracks[0] if detail.tracks else None,
    )


@bp.get("/tracks/<id:track_id>")
def track(track_id: int) -> str:
    """The player for one chapter, with the book's other chapters."""
    detail = catalogue.track(track_id)
    if detail is None:
        abort(404)
    return render_template(
        "visitor/player.html", detail=detail, summary=detail.book, chapters=detail.chapters, track=detail.track
    )


@bp.get("/display")
def display_settings() -> Response:
    """Remember a text size or contrast chosen without JavaScript, then go back to the page."""
    response = redirect(_local_path(request.args.get("next", "")), code=303)
    size, contrast = request.args.get("text"), request.args.get("contrast")
    if size in TEXT_SIZES:
        response.set_cookie(TEXT_SIZE_COOKIE, size, max_age=DISPLAY_COOKIE_MAX_AGE_S, samesite="Lax")
    if contrast in ("high", "normal"):
        response.set_cookie(CONTRAST_COOKIE, contrast, max_age=DISPLAY_COOKIE_MAX_AGE_S, samesite="Lax")
    response.headers["Cache-Control"] = "no-store"
    return response


def _local_path(path: str) -> str:
    """``path`` if it is a path on this site (never another host), else the wall."""
    if not path.startswith("/") or path.startswith("//") or "\\" in path or any(ord(c) < 32 for c in path):
        return url_for("visitor.wall")
    return path


@bp.get("/search")
def search() -> str:
    """Books by title, author or reader, typed in characters or pinyin."""
    query = request.args.get("q", "").strip()[:MAX_QUERY_CHARS]
    results = catalogue.search(query) if query else []
    return render_template("visitor/search.html", query=query, results=results)


@bp.get("/q/<code>")
@bp.get("/Q/<code>")  # QR alphanumeric mode prints the URL upper-case
def qr_landing(code: str) -> Response | tuple[str, int]:
    """Where a printed QR code points: redirect to its target, whatever it is called now."""
    found = catalogue.resolve_code(code)
    if found is None:
        abort(404)
    destination = _destination(found)
    if destination is None:
        response = Response(render_template("visitor/updating.html"), mimetype="text/html")
    else:
        # 302, not 301: a code may be pointed elsewhere later, and phones cache 301s.
        response = redirect(destination, code=302)
    response.headers["Cache-Control"] = "no-store"  # every scan reaches us to be counted
    scans.count_hit(request, response, found.code)
    return response


def _destination(qr: QrCode) -> str | None:
    """The visitor URL a code's target has now, if that target is published."""
    target_id = {CodeTarget.SECTION: qr.section_id, CodeTarget.BOOK: qr.book_id, CodeTarget.TRACK: qr.track_id}[
        qr.target_kind
    ]
    if target_id is None or not visibility.target_is_visible(qr.target_kind, target_id):
        return None
    if qr.target_kind is CodeTarget.SECTION:
        return url_for("visitor.section", slug=qr.section.slug)  # type: ignore[union-attr]
    if qr.target_kind is CodeTarget.BOOK:
        return url_for("visitor.book", book_id=target_id)
    return url_for("visitor.track", track_id=target_id)
