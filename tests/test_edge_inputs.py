"""Every odd input is a 4xx in the usual shape, on SQLite and PostgreSQL alike (the probe found 500s
on PostgreSQL for NUL bytes and for ids past 2³¹)."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import AuthActions

NUL_PATHS = [
    "/search?q=%E5%94%90%00",
    "/sections/jingdian%00songdu",
    "/api/v1/sections/jingdian%00songdu",
    "/q/ABC%00",
    "/r/abcdefghijklmnop%00",
    "/api/v1/recordings/abcdefghijklmnop%00",
    "/r/abcdefghijklmnop%00/audio",
    "/media/audio/ab/x%00.mp3",
]


@pytest.mark.parametrize("path", NUL_PATHS)
def test_a_nul_byte_in_a_path_or_query_is_a_400_not_a_500(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert 400 <= response.status_code < 500, (path, response.status_code)
    if path.startswith("/api/"):
        assert set(response.get_json()) == {"error", "message"}


def test_a_nul_byte_in_a_login_name_is_a_400(client: FlaskClient) -> None:
    response = client.post("/admin/login", data={"username": "wang\x00", "password": "x"})
    assert response.status_code == 400
    assert "无法识别的字符" in response.get_data(as_text=True)


def test_a_nul_byte_in_a_readers_name_is_a_400_in_json(client: FlaskClient) -> None:
    response = client.post("/api/v1/recordings", data={"reader_name": "李\x00读者", "consent": "1"},
                           content_type="multipart/form-data")
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_characters"


@pytest.mark.parametrize("path", ["/books/2147483648", "/tracks/99999999999999999999", "/api/v1/books/2147483648",
                                  "/api/v1/tracks/9223372036854775808"])
def test_ids_past_any_integer_column_are_a_404(client: FlaskClient, path: str) -> None:
    assert client.get(path).status_code == 404


@pytest.mark.parametrize("query", ["book=2147483648", "book=99999999999999999999", "book=%C2%B2", "book=-1"])
def test_a_wall_for_books_that_cannot_exist_is_refused_in_words(app: Flask, client: FlaskClient, query: str) -> None:
    AuthActions(app, client).login()
    response = client.get(f"/admin/wall/print?{query}")
    assert response.status_code in (200, 404)  # the whole wall, or no such book: never a database error


@pytest.mark.parametrize("page", ["99999999999999999999", "0", "-3", "²", "abc"])
def test_odd_page_numbers_in_the_audit_log_are_no_error(app: Flask, client: FlaskClient, page: str) -> None:
    AuthActions(app, client).login(role="admin")
    assert client.get(f"/admin/audit?page={page}").status_code == 200
