"""Language choice: Simplified Chinese first, English by the browser's wish or a visible switch."""

from __future__ import annotations

from flask import Flask, Response, has_request_context, request

from kiosk.extensions import babel

SUPPORTED_LOCALES = ("zh", "en")
LOCALE_COOKIE = "lang"
LOCALE_COOKIE_MAX_AGE_S = 365 * 24 * 3600


def select_locale() -> str:
    """``?lang=`` first, then the remembered choice, then Accept-Language, then Chinese."""
    if not has_request_context():  # the worker and the CLI speak the library's language
        return "zh"
    for candidate in (request.args.get("lang"), request.cookies.get(LOCALE_COOKIE)):
        if candidate in SUPPORTED_LOCALES:
            return candidate
    return request.accept_languages.best_match(SUPPORTED_LOCALES) or "zh"


def _remember_choice(response: Response) -> Response:
    """Keep an explicit ``?lang=`` choice on the phone for the next visit."""
    chosen = request.args.get("lang")
    if chosen in SUPPORTED_LOCALES and request.cookies.get(LOCALE_COOKIE) != chosen:
        response.set_cookie(
            LOCALE_COOKIE, chosen, max_age=LOCALE_COOKIE_MAX_AGE_S, samesite="Lax", httponly=True
        )
    return response


def html_lang(locale: str) -> str:
    """The BCP 47 tag for ``<html lang>``."""
    return "zh-CN" if locale == "zh" else "en"


def init_app(app: Flask) -> None:
    """Bind Flask-Babel with our selector and translations."""
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", "translations")
    babel.init_app(app, locale_selector=select_locale)
    app.after_request(_remember_choice)
