"""Share posters and WeChat's share card through HTTP; the JS-SDK signature against WeChat's documented example."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import Any

import pytest
import zxingcpp
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image

from kiosk.extensions import db
from kiosk.library import catalogue
from kiosk.models import Book, CodeTarget
from kiosk.sharing import wechat
from tests.factories import gen_book, gen_track

# The example of WeChat's JS-SDK documentation (附录1-JS-SDK使用权限签名算法).
DOC_TICKET = "sM4AOVdWfPE4DxkXGEs8VMCPGGVi4C3VM0P37wVUCFvkVAy_90u5h9nbSlYy3-Sl-HhTdfl2fzFy1AOcHKP7qg"
DOC_NONCE, DOC_TIMESTAMP, DOC_URL = "Wm3WZYTPz0wzccnW", 1414587457, "http://mp.weixin.qq.com?params=value"
DOC_SIGNATURE = "0f9de62fce790f9a083d5c99e95740ceb90c27ed"


@pytest.fixture
def book_id(app: Flask, sample_mp3: Path) -> int:
    with app.app_context():
        book = gen_book("骆驼祥子")
        gen_track(book, sample_mp3, reader="王晓明")
        return book.id


def test_the_poster_shows_a_qr_code_to_the_book_and_is_kept(app: Flask, client: FlaskClient, book_id: int) -> None:
    response = client.get(f"/books/{book_id}/poster.png")
    assert response.status_code == 200 and response.mimetype == "image/png"
    with Image.open(io.BytesIO(response.data)) as image:
        assert image.format == "PNG" and image.size == (750, 1100)
        (symbol,) = [b for b in zxingcpp.read_barcodes(image) if b.format == zxingcpp.BarcodeFormat.QRCode]
    with app.app_context():
        code = catalogue.primary_code(CodeTarget.BOOK, book_id)
    assert symbol.text == f"HTTP://LOCALHOST/Q/{code.upper()}"  # the book's printed code: scans are counted
    assert client.get(symbol.text.replace("HTTP://LOCALHOST", "")).headers["Location"] == f"/books/{book_id}"
    again = client.get(f"/books/{book_id}/poster.png", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304
    kept = list((Path(app.config["KIOSK_DATA_DIR"]) / "cache" / "posters").glob("*.png"))
    assert len(kept) == 1 and kept[0].read_bytes() == response.data  # drawn once, then served from the file


def test_a_renamed_book_gets_a_new_poster_and_a_hidden_one_none(app: Flask, client: FlaskClient, book_id: int) -> None:
    first = client.get(f"/books/{book_id}/poster.png")
    with app.app_context():
        db.session.get(Book, book_id).title = "边城"
        db.session.commit()
    renamed = client.get(f"/books/{book_id}/poster.png", headers={"If-None-Match": first.headers["ETag"]})
    assert renamed.status_code == 200 and renamed.data != first.data
    with app.app_context():
        db.session.get(Book, book_id).published = False
        db.session.commit()
    assert client.get(f"/books/{book_id}/poster.png").status_code == 404


def test_the_signature_matches_wechats_documented_example() -> None:
    assert wechat.signature(DOC_TICKET, DOC_NONCE, DOC_TIMESTAMP, DOC_URL) == DOC_SIGNATURE
    assert wechat.signature(DOC_TICKET, DOC_NONCE, DOC_TIMESTAMP, DOC_URL + "#share") == DOC_SIGNATURE  # no fragment


def test_without_an_account_nothing_is_called(client: FlaskClient, book_id: int,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(url: str) -> dict[str, Any]:
        raise AssertionError(f"called WeChat without an account: {url}")

    monkeypatch.setattr(wechat, "fetch_json", no_network)
    assert client.get("/api/v1/wechat/share-config?url=http://localhost/books/1").status_code == 404
    assert client.get(f"/books/{book_id}").status_code == 200


@pytest.fixture
def wechat_app(app: Flask, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The app with an official account, and WeChat's API answered here (no network): the URLs asked."""
    app.config.update(KIOSK_WECHAT_APPID="wx0123456789abcdef", KIOSK_WECHAT_SECRET="s3cret")  # noqa: S106 - a test's
    asked: list[str] = []

    def answer(url: str) -> dict[str, Any]:
        asked.append(url)
        if "/cgi-bin/token?" in url:
            return {"access_token": "TOKEN", "expires_in": 7200}
        return {"errcode": 0, "errmsg": "ok", "ticket": DOC_TICKET, "expires_in": 7200}

    monkeypatch.setattr(wechat, "fetch_json", answer)
    return asked


def test_with_an_account_the_page_is_signed_on_the_server_and_the_ticket_kept(
        client: FlaskClient, wechat_app: list[str]) -> None:
    page = "http://localhost/books/1?from=timeline"
    configs = [client.get("/api/v1/wechat/share-config", query_string={"url": page + "#x"}).get_json()
               for _ in range(2)]
    assert len(wechat_app) == 2  # one token, one ticket: the second page used the kept ticket
    assert "appid=wx0123456789abcdef" in wechat_app[0] and "secret=s3cret" in wechat_app[0]
    assert "access_token=TOKEN" in wechat_app[1] and "type=jsapi" in wechat_app[1]
    for config in configs:
        plain = f"jsapi_ticket={DOC_TICKET}&noncestr={config['nonceStr']}&timestamp={config['timestamp']}&url={page}"
        assert config["signature"] == hashlib.sha1(plain.encode()).hexdigest()  # noqa: S324 - WeChat's algorithm
        assert config["appId"] == "wx0123456789abcdef"
        assert "updateAppMessageShareData" in config["jsApiList"]
    assert configs[0]["nonceStr"] != configs[1]["nonceStr"]


def test_only_the_librarys_own_pages_are_signed(client: FlaskClient, wechat_app: list[str]) -> None:
    refused = client.get("/api/v1/wechat/share-config", query_string={"url": "https://evil.example/x"})
    assert refused.status_code == 400 and refused.get_json()["error"] == "bad_url"
    assert wechat_app == []


def test_a_refusing_wechat_leaves_the_page_without_a_card(app: Flask, client: FlaskClient,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    app.config.update(KIOSK_WECHAT_APPID="wx0123456789abcdef", KIOSK_WECHAT_SECRET="wrong")  # noqa: S106 - a test's
    monkeypatch.setattr(wechat, "fetch_json", lambda url: {"errcode": 40125, "errmsg": "invalid appsecret"})
    answer = client.get("/api/v1/wechat/share-config", query_string={"url": "http://localhost/books/1"})
    assert answer.status_code == 503 and answer.get_json()["error"] == "wechat_unavailable"
