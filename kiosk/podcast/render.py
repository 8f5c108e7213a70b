"""A channel as RSS 2.0 with the iTunes and Podcasting 2.0 namespaces: a Jinja XML template and its items.

Not feedgen: its podcast extension knows only the iTunes tags (the podcast namespace would be
a second extension of our own), and it builds an lxml tree per item. The channel is a
template (``templates/feeds/podcast.xml``); each item is one escaped f-string, and URLs are
made once per feed and joined per item: per item, template nodes, ``url_for`` and
translation each cost more than the rest of a 1,000-item feed (measured in bench/bench_feeds.py).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime

from flask import render_template, url_for
from flask_babel import gettext
from markupsafe import Markup, escape

from kiosk.podcast.feeds import Channel, Episode, episode_guid, podcast_guid, site_name

_SENTINEL_ID = 987654321  # stands for an id in a URL made once and filled in per item
_SENTINEL_KEY = "audio/00/0000000000000000.mp3"

# Creative Commons licences by their usual written form: (SPDX-style identifier, deed URL).
_CC_LICENCES = {
    "CC BY 4.0": ("CC-BY-4.0", "https://creativecommons.org/licenses/by/4.0/"),
    "CC BY-SA 4.0": ("CC-BY-SA-4.0", "https://creativecommons.org/licenses/by-sa/4.0/"),
    "CC BY-NC 4.0": ("CC-BY-NC-4.0", "https://creativecommons.org/licenses/by-nc/4.0/"),
    "CC BY-NC-SA 4.0": ("CC-BY-NC-SA-4.0", "https://creativecommons.org/licenses/by-nc-sa/4.0/"),
    "CC BY-ND 4.0": ("CC-BY-ND-4.0", "https://creativecommons.org/licenses/by-nd/4.0/"),
    "CC BY-NC-ND 4.0": ("CC-BY-NC-ND-4.0", "https://creativecommons.org/licenses/by-nc-nd/4.0/"),
    "CC0 1.0": ("CC0-1.0", "https://creativecommons.org/publicdomain/zero/1.0/"),
}


@dataclass(frozen=True)
class Licence:
    """podcast:license: an identifier, and the licence's URL where it is a known one."""

    identifier: str
    url: str | None


@dataclass(frozen=True)
class FeedLinks:
    """The absolute URLs a feed needs, made once."""

    base_url: str
    site: str  # base_url without its scheme, as item guids are made from
    feed_url: str
    page_url: str
    artwork_url: str
    track_url: Callable[[int], str]
    media_url: Callable[[str], str]
    transcript_url: Callable[[int], str]  # a chapter's WebVTT (read-along), where it has one


def licence(written: str) -> Licence:
    """``KIOSK_FEED_LICENCE`` as podcast:license wants it."""
    known = _CC_LICENCES.get(" ".join(written.split()))
    if known is not None:
        return Licence(*known)
    return Licence(written.strip(), None)


def links(base_url: str, feed_path: str, page_path: str, artwork_path: str) -> FeedLinks:
    """Absolute URLs under ``base_url``, with per-item makers that cost a string join."""
    track_before, track_after = _around(base_url + url_for("visitor.track", track_id=_SENTINEL_ID), str(_SENTINEL_ID))
    text_before, text_after = _around(base_url + url_for("readalong.vtt", track_id=_SENTINEL_ID), str(_SENTINEL_ID))
    media_before, media_after = _around(base_url + url_for("media.file", key=_SENTINEL_KEY), _SENTINEL_KEY)
    return FeedLinks(
        base_url=base_url, site=site_name(base_url), feed_url=base_url + feed_path, page_url=base_url + page_path,
        artwork_url=base_url + artwork_path,
        track_url=lambda track_id: f"{track_before}{track_id}{track_after}",
        media_url=lambda key: f"{media_before}{key}{media_after}",
        transcript_url=lambda track_id: f"{text_before}{track_id}{text_after}",
    )


def _around(url: str, sentinel: str) -> tuple[str, str]:
    """The parts of ``url`` before and after ``sentinel``."""
    before, found, after = url.partition(sentinel)
    if not found:
        raise ValueError(f"{sentinel!r} not in {url!r}")
    return before, after


_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def rfc822(moment: datetime) -> str:
    """A UTC moment as RSS dates are written (``Sun, 29 Nov 2026 12:07:50 +0000``), without the locale's names."""
    return (f"{_DAYS[moment.weekday()]}, {moment.day:02d} {_MONTHS[moment.month - 1]} {moment.year} "
            f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d} +0000")


def duration(duration_ms: int) -> str:
    """itunes:duration as H:MM:SS (or M:SS), whole seconds rounded."""
    total_s = round(duration_ms / 1000)
    hours, rest = divmod(total_s, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


def feed_xml(channel: Channel, feed_links: FeedLinks, licence_text: str, transcripts: Collection[int] = ()) -> str:
    """The feed document; ``transcripts`` are the chapters (ids) with a WebVTT, linked as podcast:transcript."""
    newest = max((episode.published_at for episode in channel.episodes), default=None)
    wording = _Wording.now()
    return render_template(
        "feeds/podcast.xml",
        channel=channel,
        links=feed_links,
        licence=licence(licence_text),
        podcast_guid=podcast_guid(feed_links.feed_url),
        pub_date=rfc822(newest) if newest else None,
        items=Markup("".join(  # noqa: S704 - every value in it is escaped by _item_xml
            _item_xml(episode, channel.serial, feed_links, wording,
                      feed_links.transcript_url(episode.track_id) if episode.track_id in transcripts else None)
            for episode in channel.episodes)),
    )


@dataclass(frozen=True)
class _Wording:
    """An item's words, translated once per feed (per item, translation cost more than all the rest)."""

    chapter: str
    reader: str

    @classmethod
    def now(cls) -> _Wording:
        return cls(gettext("《%(book)s》%(chapter)s"), gettext("，朗读：%(name)s"))


def _item_xml(episode: Episode, serial: bool, feed_links: FeedLinks, wording: _Wording,
              transcript_url: str | None) -> str:
    """One episode's ``<item>``, escaped here: a template's per-node cost, times 1,000 items, broke the budget."""
    description = wording.chapter % {"book": episode.book_title, "chapter": episode.title}
    if episode.reader:
        description += wording.reader % {"name": episode.reader}
    title = episode.title if serial else f"{episode.book_title} · {episode.title}"
    parts = [
        f"<item>\n<title>{escape(title)}</title>\n<description>{escape(description)}</description>\n"
        f"<link>{escape(feed_links.track_url(episode.track_id))}</link>\n"
        f'<guid isPermaLink="false">{episode_guid(feed_links.site, episode.track_id)}</guid>\n'
        f"<pubDate>{rfc822(episode.published_at)}</pubDate>\n"
        f'<enclosure url="{escape(feed_links.media_url(episode.audio_key))}" length="{int(episode.size_bytes)}" '
        f'type="{escape(episode.mime_type)}"/>\n'
        f"<itunes:duration>{duration(episode.duration_ms)}</itunes:duration>\n"
        "<itunes:explicit>false</itunes:explicit>\n<itunes:episodeType>full</itunes:episodeType>\n"
    ]
    if episode.number:
        parts.append(f"<itunes:episode>{int(episode.number)}</itunes:episode>\n"
                     f"<podcast:episode>{int(episode.number)}</podcast:episode>\n")
    if episode.reader:
        parts.append(f'<podcast:person group="cast" role="narrator">{escape(episode.reader)}</podcast:person>\n')
    if transcript_url:
        parts.append(f'<podcast:transcript url="{escape(transcript_url)}" type="text/vtt" language="zh-cn"/>\n')
    parts.append("</item>\n")
    return "".join(parts)
