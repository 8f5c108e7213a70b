"""WeChat's share card through the JS-SDK, for a library with its own verified official account.

Only with both ``KIOSK_WECHAT_APPID`` and ``KIOSK_WECHAT_SECRET`` set is anything asked of
WeChat: an access token, then the ``jsapi_ticket``, kept (in a file every process shares)
until shortly before it expires. A page's configuration is signed on the server, as the
JS-SDK documentation says: SHA-1 of ``jsapi_ticket=…&noncestr=…&timestamp=…&url=…`` with the
page's URL up to, not including, its ``#``.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kiosk.storage import write_atomically

TOKEN_URL = "https://api.weixin.qq.com/cgi-bin/token"  # noqa: S105 - an address, not a secret
TICKET_URL = "https://api.weixin.qq.com/cgi-bin/ticket/getticket"
REQUEST_TIMEOUT_S = 5.0
RENEW_BEFORE_S = 300  # a ticket lives 7,200 s; renew it five minutes early
JS_API_LIST = ("updateAppMessageShareData", "updateTimelineShareData")


class WeChatError(RuntimeError):
    """WeChat refused or could not be reached; the page then simply has no share card."""


@dataclass(frozen=True)
class Account:
    """The official account's credentials."""

    app_id: str
    secret: str


def account(config: dict[str, Any] | Any) -> Account | None:
    """The configured account, or ``None`` (then nothing is ever called)."""
    app_id, secret = str(config.get("KIOSK_WECHAT_APPID") or ""), str(config.get("KIOSK_WECHAT_SECRET") or "")
    return Account(app_id, secret) if app_id and secret else None


def signature(ticket: str, noncestr: str, timestamp: int, url: str) -> str:
    """The JS-SDK signature of ``url`` (its fragment dropped)."""
    page = url.split("#", 1)[0]
    plain = f"jsapi_ticket={ticket}&noncestr={noncestr}&timestamp={timestamp}&url={page}"
    return hashlib.sha1(plain.encode()).hexdigest()  # noqa: S324 - the algorithm WeChat specifies


def fetch_json(url: str) -> dict[str, Any]:
    """GET ``url`` from WeChat's API and decode its JSON (the only network call; tests replace it)."""
    if not url.startswith("https://api.weixin.qq.com/"):
        raise WeChatError(f"not WeChat's API: {url}")
    try:
        with urllib.request.urlopen(url, timeout=REQUEST_TIMEOUT_S) as answer:  # noqa: S310 - https, checked above
            data = json.load(answer)
    except (OSError, ValueError) as error:
        raise WeChatError(str(error)) from error
    if not isinstance(data, dict):
        raise WeChatError("WeChat answered something else than an object")
    return data


def jsapi_ticket(account_: Account, cache: Path, now_s: float | None = None) -> str:
    """A valid ``jsapi_ticket``: the kept one, or a new one fetched and kept."""
    now_s = time.time() if now_s is None else now_s
    try:
        kept = json.loads(cache.read_text())
        if kept["app_id"] == account_.app_id and kept["expires_at"] > now_s + RENEW_BEFORE_S:
            return str(kept["ticket"])
    except (FileNotFoundError, ValueError, KeyError, TypeError):
        pass
    query = urllib.parse.urlencode({"grant_type": "client_credential", "appid": account_.app_id,
                                    "secret": account_.secret})
    token = _field(fetch_json(f"{TOKEN_URL}?{query}"), "access_token")
    answer = fetch_json(f"{TICKET_URL}?{urllib.parse.urlencode({'access_token': token, 'type': 'jsapi'})}")
    ticket = _field(answer, "ticket")
    expires_at = now_s + int(answer.get("expires_in", 7200))
    write_atomically(cache, json.dumps({"app_id": account_.app_id, "ticket": ticket, "expires_at": expires_at}),
                     mode=0o600)  # a ticket is a credential of the account
    return ticket


def page_config(account_: Account, cache: Path, url: str) -> dict[str, Any]:
    """What ``wx.config`` needs for the page at ``url``."""
    ticket = jsapi_ticket(account_, cache)
    noncestr, timestamp = secrets.token_urlsafe(12), int(time.time())
    return {"appId": account_.app_id, "timestamp": timestamp, "nonceStr": noncestr,
            "signature": signature(ticket, noncestr, timestamp, url), "jsApiList": list(JS_API_LIST)}


def _field(answer: dict[str, Any], name: str) -> str:
    value = answer.get(name)
    if not value or answer.get("errcode") not in (None, 0):
        raise WeChatError(f"WeChat refused: {answer.get('errcode')} {answer.get('errmsg', '')}".strip())
    return str(value)

