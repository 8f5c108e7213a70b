"""The recordings API as the booth uses it: upload, mastering, status, take-home."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from kiosk.extensions import db
from kiosk.models import BoothText, Recording
from recorder import synth
from recorder.advice import ADVICE_ZH
from tests.conftest import make_audio


@pytest.fixture(scope="session")
def spoken_take(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Eight seconds of speech-like audio at -24 LUFS with silence around it, as WAV."""
    folder = tmp_path_factory.mktemp("takes")
    return synth.speechlike(folder / "take.wav", duration_s=8, level_lufs=-24, pad_head_s=2, pad_tail_s=2)


def post_take(client: FlaskClient, path: Path | None, **fields: str):  # type: ignore[no-untyped-def]
    data: dict[str, object] = {"reader_name": "李读者", "consent": "1", **fields}
    if path is not None:
        data["audio"] = (path.open("rb"), fields.get("filename", path.name))
    return client.post("/api/v1/recordings", data=data, content_type="multipart/form-data")


def test_take_is_accepted_mastered_and_reported(app: Flask, client: FlaskClient, spoken_take: Path) -> None:
    response = post_take(client, spoken_take)
    assert response.status_code == 202
    accepted = response.get_json()
    assert set(accepted) == {"token", "status_url", "take_home_url"}
    assert len(accepted["token"]) >= 22  # unguessable
    status = client.get(accepted["status_url"]).get_json()
    assert status["status"] == "done"
    report = status["report"]
    assert report["verdict"] in ("pass", "warn")
    assert abs(report["final_lufs"] + 18) <= 1
    assert report["final_true_peak_dbtp"] <= -1.0
    audio = client.get(status["audio_url"], headers={"Range": "bytes=0-2"})
    assert audio.status_code == 206 and audio.data[:3] in (b"ID3", b"\xff\xfb\x90")
    assert status["decision"] == "pending"  # waits for the librarians


def test_original_is_kept_untouched(app: Flask, client: FlaskClient, spoken_take: Path) -> None:
    token = post_take(client, spoken_take).get_json()["token"]
    with app.app_context():
        take = db.session.scalar(db.select(Recording).where(Recording.token == token))
        original = Path(app.config["KIOSK_DATA_DIR"]) / take.original_key
        assert hashlib.sha256(original.read_bytes()).digest() == hashlib.sha256(spoken_take.read_bytes()).digest()
        assert take.original_key.endswith(".wav")
    leftovers = [p for p in (Path(app.config["KIOSK_DATA_DIR"]) / "tmp").iterdir() if p.name.startswith(".upload-")]
    assert leftovers == []


def test_format_is_judged_by_content_not_name(client: FlaskClient, spoken_take: Path) -> None:
    response = post_take(client, spoken_take, filename="holiday-photo.png")
    assert response.status_code == 202


@pytest.mark.parametrize(
    ("content", "status", "code"),
    [
        (b"", 415, "not_audio"),
        (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40, 415, "not_audio"),
        (os.urandom(50_000), 415, "not_audio"),
    ],
    ids=["empty", "png-named-mp3", "random-bytes"],
)
def test_non_audio_is_refused_with_a_reason(
    client: FlaskClient, tmp_path: Path, content: bytes, status: int, code: str
) -> None:
    fake = tmp_path / "take.mp3"
    fake.write_bytes(content)
    response = post_take(client, fake)
    assert response.status_code == status
    body = response.get_json()
    assert body["error"] == code
    assert "音频" in body["message"]


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"consent": ""}, "consent_missing"),
        ({"reader_name": "   "}, "reader_name_missing"),
        ({"reader_name": "名" * 65}, "reader_name_too_long"),
        ({"text_id": "999"}, "text_unknown"),
        ({"text_id": "abc"}, "text_unknown"),
    ],
)
def test_bad_fields_are_422_with_chinese_message(
    client: FlaskClient, spoken_take: Path, fields: dict[str, str], code: str
) -> None:
    response = post_take(client, spoken_take, **fields)
    assert response.status_code == 422
    assert response.get_json()["error"] == code


def test_missing_audio_field_is_400(client: FlaskClient) -> None:
    response = post_take(client, None)
    assert response.status_code == 400
    assert response.get_json()["error"] == "audio_missing"


def test_oversized_upload_is_413(app: Flask, client: FlaskClient, tmp_path: Path) -> None:
    app.config["MAX_CONTENT_LENGTH"] = 200_000
    big = make_audio(tmp_path / "long.wav", seconds=10)
    response = post_take(client, big)
    assert response.status_code == 413
    assert response.get_json()["error"] == "too_large"


def test_silent_take_fails_with_a_message_and_never_reaches_librarians(
    app: Flask, client: FlaskClient, tmp_path: Path
) -> None:
    silence = make_audio(tmp_path / "silence.wav", seconds=6, source="anullsrc=r=44100:cl=mono")
    token = post_take(client, silence).get_json()["token"]
    status = client.get(f"/api/v1/recordings/{token}").get_json()
    assert status["status"] == "failed"
    assert status["message"]
    assert status["audio_url"] is None
    with app.app_context():
        take = db.session.scalar(db.select(Recording).where(Recording.token == token))
        assert take.decision is None


def test_text_choice_names_the_take(app: Flask, client: FlaskClient, spoken_take: Path) -> None:
    with app.app_context():
        text = BoothText(title="静夜思", author="李白", body="床前明月光")
        db.session.add(text)
        db.session.commit()
        text_id = text.id
    token = post_take(client, spoken_take, text_id=str(text_id)).get_json()["token"]
    assert client.get(f"/api/v1/recordings/{token}").get_json()["title"] == "静夜思"


UNITS = re.compile(r"LUFS|dBTP|dBFS|\bdB\b|\bLU\b|Hz")


def test_status_gives_one_piece_of_advice_in_plain_chinese(client: FlaskClient, tmp_path: Path) -> None:
    """Issue 12: a take at -40 LUFS is told to come closer, in words, with no units; the figures stay in the report."""
    quiet = synth.speechlike(tmp_path / "quiet.wav", duration_s=8, level_lufs=-40)
    status = client.get(f"/api/v1/recordings/{post_take(client, quiet).get_json()['token']}").get_json()
    assert status["status"] == "done"
    assert status["advice"] == {"code": "too_quiet", "severity": "warn", "text": ADVICE_ZH["too_quiet"]}
    assert re.search(r"[\u4e00-\u9fff]", status["advice"]["text"]) and not UNITS.search(status["advice"]["text"])
    report = status["report"]
    assert report["verdict"] == "warn" and report["advice"][0]["code"] == "too_quiet"
    assert report["noise_floor_dbfs"] is not None and report["input_true_peak_dbtp"] is not None
    assert set(report["findings"]) >= {"blank", "too_short", "clipping", "noise", "gating", "hum", "plosives",
                                       "clicks"}


def test_a_clean_take_gets_no_advice(client: FlaskClient, tmp_path: Path) -> None:
    clean = synth.speechlike(tmp_path / "clean.wav", duration_s=8, level_lufs=-24)  # room tone, not digital zero
    status = client.get(f"/api/v1/recordings/{post_take(client, clean).get_json()['token']}").get_json()
    assert status["advice"] is None and status["report"]["advice"] == []
    assert status["report"]["verdict"] == "pass"


def test_pauses_of_digital_silence_are_a_gate_to_tell_the_librarian(client: FlaskClient, spoken_take: Path) -> None:
    """A take padded with digital zero (a browser's noise suppression) has no room tone: a gate, said in words."""
    status = client.get(f"/api/v1/recordings/{post_take(client, spoken_take).get_json()['token']}").get_json()
    assert status["advice"]["code"] == "gating" and status["advice"]["text"] == ADVICE_ZH["gating"]
    assert status["report"]["noise_floor_dbfs"] == -120.0
    assert status["report"]["findings"]["gating"]["suspect_zero_noise"] is True


def test_the_text_read_reaches_the_quality_report(app: Flask, client: FlaskClient, spoken_take: Path) -> None:
    """Eight seconds of speech for a text that takes a minute to read: much too short, and said so."""
    with app.app_context():
        text = BoothText(title="长文", author="", body="床前明月光，疑是地上霜。举头望明月，低头思故乡。" * 12)
        db.session.add(text)
        db.session.commit()
        text_id = text.id
    token = post_take(client, spoken_take, text_id=str(text_id)).get_json()["token"]
    status = client.get(f"/api/v1/recordings/{token}").get_json()
    assert status["advice"]["code"] == "too_short" and status["advice"]["text"] == ADVICE_ZH["too_short"]
    assert status["report"]["findings"]["too_short"]["text_chars"] == 240


def test_take_home_page_plays_the_take_and_shows_its_state(client: FlaskClient, spoken_take: Path) -> None:
    accepted = post_take(client, spoken_take).get_json()
    page = client.get(accepted["take_home_url"])
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert f"/r/{accepted['token']}/audio" in text
    assert "审核" in text
    qr = client.get(f"/r/{accepted['token']}/qr.svg")
    assert qr.status_code == 200 and qr.mimetype == "image/svg+xml"


@pytest.mark.parametrize("path", ["/r/nope", "/r/" + "x" * 100, "/api/v1/recordings/nope", "/r/nope/audio"])
def test_unknown_tokens_are_404(client: FlaskClient, path: str) -> None:
    assert client.get(path).status_code == 404


def test_booth_screen_lists_texts(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        db.session.add(BoothText(title="春晓", author="孟浩然", body="春眠不觉晓"))
        db.session.commit()
    page = client.get("/booth").get_data(as_text=True)
    assert "春晓" in page and "自由朗读" in page and "booth.js" in page


def test_hours_of_silence_from_a_few_kilobytes_are_refused_as_too_long(client: FlaskClient, tmp_path: Path) -> None:
    """A tiny FLAC that decodes to two hours: refused from its content, quickly, with a reason."""
    bomb = make_audio(tmp_path / "bomb.flac", seconds=2 * 3600, source="anullsrc=r=8000:cl=mono")
    assert bomb.stat().st_size < 2_000_000
    response = post_take(client, bomb)
    assert response.status_code == 422
    assert response.get_json()["error"] == "too_long"


def stored_licence(app: Flask, token: str) -> str:
    """The licence a take was stored with, read from its row."""
    with app.app_context():
        return db.session.scalar(db.select(Recording.licence).where(Recording.token == token))


def test_booth_screen_shows_the_configured_licence(app: Flask, client: FlaskClient) -> None:
    app.config["KIOSK_BOOTH_LICENCE"] = "CC BY-SA 4.0"
    page = client.get("/booth").get_data(as_text=True)
    assert "我同意图书馆以 CC BY-SA 4.0 协议公开传播这段录音" in page
    assert 'data-licence="CC BY-SA 4.0"' in page
    assert "CC BY 4.0" not in page


@pytest.mark.parametrize("shown", ["CC BY-SA 4.0", ""], ids=["as-shown", "not-sent"])
def test_take_stores_the_licence_its_reader_agreed_to(
    app: Flask, client: FlaskClient, spoken_take: Path, shown: str
) -> None:
    app.config["KIOSK_BOOTH_LICENCE"] = "CC BY-SA 4.0"
    fields = {"licence": shown} if shown else {}
    response = post_take(client, spoken_take, **fields)
    assert response.status_code == 202
    assert stored_licence(app, response.get_json()["token"]) == "CC BY-SA 4.0"


def test_a_licence_changed_under_the_screen_is_refused_with_409(
    app: Flask, client: FlaskClient, spoken_take: Path
) -> None:
    app.config["KIOSK_BOOTH_LICENCE"] = "CC0 1.0"
    response = post_take(client, spoken_take, licence="CC BY 4.0")
    assert response.status_code == 409
    body = response.get_json()
    assert body["error"] == "licence_changed"
    assert "授权协议" in body["message"]
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Recording)) == 0
