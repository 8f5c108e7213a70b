"""Template filters and globals: durations, media URLs, the current language."""

from __future__ import annotations

import re

from flask import Flask, url_for
from flask_babel import get_locale, gettext

from kiosk.web.i18n import html_lang


def clock(duration_ms: int | float | None) -> str:
    """``1:02:03`` or ``4:05``, as a player shows time."""
    total_s = int((duration_ms or 0) // 1000)
    hours, rest = divmod(total_s, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


def spoken_duration(duration_ms: int | float | None) -> str:
    """A duration in words: "1 小时 5 分钟", "12 分钟", "3 分 20 秒", "40 秒"."""
    total_s = int((duration_ms or 0) // 1000)
    hours, rest = divmod(total_s, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return gettext("%(h)d 小时 %(m)d 分钟", h=hours, m=minutes)
    if minutes >= 10 or (minutes and not seconds):
        return gettext("%(m)d 分钟", m=minutes)
    if minutes:
        return gettext("%(m)d 分 %(s)d 秒", m=minutes, s=seconds)
    return gettext("%(s)d 秒", s=seconds)


_NUMBERED_TITLE = re.compile(
    r"^\s*(第\s*[0-9０-９零〇一二两三四五六七八九十百千]+\s*[章回节集讲部卷篇课]|(chapter|part)\s+[0-9]+\b)",
    re.IGNORECASE,
)


def states_its_number(title: str | None) -> bool:
    """Whether a chapter's title numbers it itself ("第3章", "第十二回 …", "Chapter 3"), so the
    page does not say "第3章 第3章"."""
    return bool(title and _NUMBERED_TITLE.match(title))


def media_url(key: str | None) -> str | None:
    """The public URL of a media key."""
    return url_for("media.file", key=key) if key else None


def current_locale() -> str:
    """The active locale as a short string."""
    return str(get_locale() or "zh")


def init_app(app: Flask) -> None:
    """Register filters and globals on ``app``'s Jinja environment."""
    app.add_template_filter(clock)
    app.add_template_filter(spoken_duration)
    app.add_template_test(states_its_number)
    app.add_template_global(media_url)
    app.add_template_global(current_locale)
    app.add_template_global(lambda: html_lang(current_locale()), "html_lang")
