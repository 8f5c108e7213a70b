"""Podcast feeds of sections and books, their artwork, and what the take-home partials show.

``/sections/<slug>/feed.xml`` and ``/books/<id>/feed.xml`` are new URLs beside the pages;
every request asks the catalogue afresh, and answers 304 when the bytes are unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, abort, current_app, request, send_file, url_for
from markupsafe import Markup
from werkzeug.wrappers import Response

from kiosk.podcast import artwork, feeds, render, validators
from kiosk.podcast.feeds import Channel
from kiosk.readalong import texts
from kiosk.wall import qr

bp = Blueprint("feeds", __name__)

FEED_MIMETYPE = "application/rss+xml"
ARTWORK_MAX_AGE_S = 365 * 24 * 3600  # its URL carries its digest


def _cache(name: str) -> Path:
    return Path(current_app.config["KIOSK_DATA_DIR"]) / "cache" / name


def _library_name() -> str:
    return str(current_app.config["KIOSK_LIBRARY_NAME"])


@bp.get("/books/<id:book_id>/feed.xml")
def book_feed(book_id: int) -> Response:
    """A book's podcast feed: serial, its published chapters numbered in order."""
    channel = feeds.book_channel(book_id, _library_name())
    if channel is None:
        abort(404)
    return _feed_response(channel, url_for("feeds.book_feed", book_id=book_id),
                          url_for("visitor.book", book_id=book_id), "feeds.book_artwork", book_id=book_id)


@bp.get("/sections/<slug>/feed.xml")
def section_feed(slug: str) -> Response:
    """A section's podcast feed: its newest published chapters first."""
    channel = feeds.section_channel(slug, _library_name())
    if channel is None:
        abort(404)
    return _feed_response(channel, url_for("feeds.section_feed", slug=slug),
                          url_for("visitor.section", slug=slug), "feeds.section_artwork", slug=slug)


@bp.get("/books/<id:book_id>/artwork.jpg")
def book_artwork(book_id: int) -> Response:
    """A book's 1400 px podcast artwork."""
    return _artwork_response(feeds.book_channel(book_id, _library_name()))


@bp.get("/sections/<slug>/artwork.jpg")
def section_artwork(slug: str) -> Response:
    """A section's 1400 px podcast artwork."""
    return _artwork_response(feeds.section_channel(slug, _library_name()))


def _artwork_response(channel: Channel | None) -> Response:
    if channel is None:
        abort(404)
    path = artwork.artwork_file(_cache("artwork"), channel.artwork_source, _library_name())
    response = send_file(path, mimetype="image/jpeg", conditional=True, max_age=ARTWORK_MAX_AGE_S)
    response.headers["Cache-Control"] = f"public, max-age={ARTWORK_MAX_AGE_S}"
    return response


def _feed_response(channel: Channel, feed_path: str, page_path: str, artwork_endpoint: str,
                   **artwork_args: Any) -> Response:
    """The feed with a strong ETag and the Last-Modified of its current bytes; 304 when unchanged."""
    version = artwork.version(channel.artwork_source, _library_name())
    artwork_path = url_for(artwork_endpoint, v=version, **artwork_args)
    links = render.links(qr.configured_base_url(), feed_path, page_path, artwork_path)
    with_text = texts.aligned_track_ids([episode.track_id for episode in channel.episodes])
    body = render.feed_xml(channel, links, str(current_app.config["KIOSK_FEED_LICENCE"]), with_text).encode()
    etag = validators.digest(body)
    response = Response(body, mimetype=FEED_MIMETYPE)
    response.set_etag(etag)
    response.last_modified = validators.first_seen(_cache("feeds"), channel.key, etag)
    # Apps must ask again each time (cheaply, with 304s): an unpublished chapter leaves at once.
    response.headers["Cache-Control"] = "no-cache"
    return response.make_conditional(request)


# ---- what the take-home partials of visitor pages show --------------------------------------


@dataclass(frozen=True)
class FeedLink:
    """A feed to link from a page's head, offer as a button and print as a QR code."""

    url: str
    title: str
    artwork_url: str  # the feed's 1400 px square picture (also WeChat's share-card image)

    @property
    def qr_svg(self) -> Markup:
        """The feed's URL as an inline SVG QR code."""
        return Markup(qr.svg(self.url, title=self.title))  # noqa: S704 - our own SVG, text escaped by qr.svg


def feed_link(book: Any = None, section: Any = None) -> FeedLink | None:
    """The feed of a book page (``book`` is its ``BookDetail``) or of a section page (its ``SectionCard``)."""
    base = qr.configured_base_url()
    if book is not None:
        summary = getattr(book, "summary", book)
        return FeedLink(base + url_for("feeds.book_feed", book_id=summary.id), summary.title,
                        base + url_for("feeds.book_artwork", book_id=summary.id))
    if section is not None:
        return FeedLink(base + url_for("feeds.section_feed", slug=section.slug), section.name,
                        base + url_for("feeds.section_artwork", slug=section.slug))
    return None


def init_app(app: Flask) -> None:
    """Register the feeds' routes and the template global the take-home partials use."""
    app.register_blueprint(bp)
    app.add_template_global(feed_link, "take_home_feed")
