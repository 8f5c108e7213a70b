"""The booth's upload endpoint is public: takes are limited per booth and per address, the queue
for librarians has a ceiling, and odd input is a 4xx in words.

Reproduces the probe: 30 concurrent uploads from one address were all accepted, undecided
originals piled up, and a ``text_id`` of ``²`` was a 500.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from recorder import synth


@pytest.fixture(scope="module")
def take_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synth.speechlike(tmp_path_factory.mktemp("takes") / "take.wav", duration_s=3, level_lufs=-24,
                            pad_head_s=1, pad_tail_s=1)


@pytest.fixture
def build(limited_app: Callable[..., Flask]) -> Callable[..., Flask]:
    """Apps with limits on; takes are queued, not mastered (the limits are about accepting them)."""
    return limited_app


def post_take(client: FlaskClient, take_wav: Path, address: str = "192.0.2.7", **fields: str) -> Any:
    data: dict[str, object] = {"reader_name": "李读者", "consent": "1", "audio": (take_wav.open("rb"), "take.wav"),
                               **fields}
    return client.post("/api/v1/recordings", data=data, content_type="multipart/form-data",
                       environ_base={"REMOTE_ADDR": address})


def booth_screen(app: Flask, address: str = "192.0.2.7") -> FlaskClient:
    """A client that opened the booth's screen (and so carries its booth cookie)."""
    client = app.test_client()
    assert client.get("/booth", environ_base={"REMOTE_ADDR": address}).status_code == 200
    return client


def test_one_booth_records_only_so_many_takes_an_hour(build: Callable[..., Flask], take_wav: Path) -> None:
    app = build(KIOSK_TAKES_PER_BOOTH="2 per hour")
    booth = booth_screen(app)
    assert [post_take(booth, take_wav).status_code for _ in range(2)] == [202, 202]
    refused = post_take(booth, take_wav)
    assert refused.status_code == 429
    assert refused.get_json() == {"error": "too_many_takes", "message": "这里录得太频繁了，请休息一会儿再录。"}
    assert post_take(booth_screen(app), take_wav).status_code == 202  # another booth in the same room


def test_one_address_uploads_only_so_many_takes_an_hour(build: Callable[..., Flask], take_wav: Path) -> None:
    app = build(KIOSK_TAKES_PER_ADDRESS="3 per hour")
    clients = [app.test_client() for _ in range(4)]  # no booth cookie: a script, not a booth
    statuses = [post_take(client, take_wav, address="203.0.113.9").status_code for client in clients]
    assert statuses == [202, 202, 202, 429]
    assert post_take(app.test_client(), take_wav, address="203.0.113.10").status_code == 202


def test_refused_uploads_do_not_use_the_allowance_up(build: Callable[..., Flask], take_wav: Path) -> None:
    app = build(KIOSK_TAKES_PER_BOOTH="1 per hour")
    booth = booth_screen(app)
    for _ in range(3):
        assert post_take(booth, take_wav, consent="0").status_code == 422
    assert post_take(booth, take_wav).status_code == 202


def test_the_queue_for_librarians_has_a_ceiling(build: Callable[..., Flask], take_wav: Path) -> None:
    app = build(KIOSK_PENDING_TAKES_MAX=1)
    assert post_take(booth_screen(app), take_wav).status_code == 202
    full = post_take(booth_screen(app), take_wav, address="192.0.2.8")
    assert full.status_code == 503
    assert full.get_json()["error"] == "queue_full"
    assert "请过几天再来录" in full.get_json()["message"]


@pytest.mark.parametrize("text_id", ["²", "¹²", "٣", "9223372036854775808", "2147483648", "0", "-1", "1.5"])
def test_an_odd_text_id_is_a_422_in_words(client: FlaskClient, take_wav: Path, text_id: str) -> None:
    response = post_take(client, take_wav, text_id=text_id)
    assert response.status_code == 422
    assert response.get_json()["error"] == "text_unknown"


def test_a_nul_in_a_text_id_is_refused_before_anything_is_read(client: FlaskClient, take_wav: Path) -> None:
    response = post_take(client, take_wav, text_id="1\x00")
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_characters"
