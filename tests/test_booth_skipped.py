"""The booth's quality assistant finds a sentence a volunteer left out, by aligning the text to the master.

The takes are espeak-ng readings (``bench.bench_align.make_reading``: voices, speeds and
pitches other than the aligner's own, pauses of random length, room noise) of eight Mandarin
sentences, once whole and once with the third sentence left out of the audio while the
teleprompter text keeps it. They go through the booth's API and its worker (inline, as the
queue runs in tests); the advice is read back from ``GET /api/v1/recordings/<token>`` and the
librarian's moderation page.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from bench.bench_align import MANDARIN, Reading, make_reading
from kiosk.extensions import db
from kiosk.models import BoothText, Recording
from kiosk.readalong import aligner
from recorder import advice as words
from tests.conftest import AuthActions
from tests.helpers import require_tool

LEFT_OUT = 2  # the third sentence: "山朗润起来了，水涨起来了，太阳的脸红起来了。"
SENTENCES = MANDARIN[:8]


def needs_aligner() -> None:
    """Skip (fail under CI) where espeak-ng or the aligner is missing."""
    require_tool("espeak-ng", shutil.which("espeak-ng") is not None, "apt-get install espeak-ng")
    require_tool("the aligner (aeneas-ng with its C extensions)", aligner.missing_parts() is None,
                 "pip install '.[align]' after apt-get install festival-dev libestools-dev libespeak-ng-dev")


@pytest.fixture(scope="module")
def whole(tmp_path_factory: pytest.TempPathFactory) -> Reading:
    """Every sentence read; its text is the teleprompter's."""
    needs_aligner()
    return make_reading(tmp_path_factory.mktemp("whole") / "whole.mp3", SENTENCES, "cmn", seed=7)


@pytest.fixture(scope="module")
def gap(tmp_path_factory: pytest.TempPathFactory) -> Reading:
    """The same reading with the third sentence left out."""
    needs_aligner()
    read = [s for i, s in enumerate(SENTENCES) if i != LEFT_OUT]
    return make_reading(tmp_path_factory.mktemp("gap") / "gap.mp3", read, "cmn", seed=7)


def booth_take(app: Flask, client: FlaskClient, audio: Path, text: str) -> str:
    """Read ``text`` at the booth with ``audio``; the take's token (mastered inline)."""
    with app.app_context():
        row = BoothText(title="春", author="朱自清", body=text)
        db.session.add(row)
        db.session.commit()
        text_id = row.id
    response = client.post("/api/v1/recordings", data={
        "audio": (audio.open("rb"), "take.mp3"), "reader_name": "李读者", "consent": "1", "text_id": str(text_id)},
        content_type="multipart/form-data")
    assert response.status_code == 202, response.get_data(as_text=True)
    return str(response.get_json()["token"])


def status(client: FlaskClient, token: str) -> dict[str, Any]:
    """The booth's view of a take, as its screen polls it."""
    response = client.get(f"/api/v1/recordings/{token}")
    assert response.status_code == 200
    payload: dict[str, Any] = response.get_json()
    assert payload["status"] == "done", payload
    return payload


def moderation_page(app: Flask, client: FlaskClient, token: str) -> str:
    """The librarian's page for the take."""
    with app.app_context():
        take_id = db.session.scalars(select(Recording.id).where(Recording.token == token)).one()
    response = client.get(f"/admin/moderation/{take_id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_a_complete_reading_has_no_skipped_sentence(
    app: Flask, client: FlaskClient, auth: AuthActions, whole: Reading
) -> None:
    payload = status(client, booth_take(app, client, whole.audio, whole.text))
    skipped = payload["report"]["findings"]["skipped"]
    assert skipped["checked"] is True and skipped["found"] is False
    assert skipped["sentences"] == [] and skipped["sentence_count"] == len(SENTENCES)
    assert payload["advice"] is None or payload["advice"]["code"] != "skipped"
    assert "漏读" not in str(payload["advice"])


def test_a_left_out_sentence_is_named_to_the_volunteer_and_the_librarian(
    app: Flask, client: FlaskClient, auth: AuthActions, whole: Reading, gap: Reading
) -> None:
    token = booth_take(app, client, gap.audio, whole.text)
    payload = status(client, token)
    report = payload["report"]
    skipped = report["findings"]["skipped"]
    assert skipped["checked"] is True and skipped["found"] is True
    assert [s["number"] for s in skipped["sentences"]] == [LEFT_OUT + 1]
    assert skipped["sentences"][0]["text"] == SENTENCES[LEFT_OUT]
    assert report["verdict"] == "fail"
    advice = payload["advice"]
    assert advice["code"] == "skipped" and advice["severity"] == "fail"
    assert advice["text"] == "第3句好像漏读了：「山朗润起来了，水涨起来了，太阳的脸红起来了」，请从头再录一次"
    for other in (1, 2, 4, 5, 6, 7, 8):
        assert f"第{other}句" not in advice["text"]
    english = client.get(f"/api/v1/recordings/{token}", headers={"Accept-Language": "en"}).get_json()["advice"]
    assert english["text"].startswith("Something seems to be left out at sentence 3:")

    auth.login()
    page = moderation_page(app, client, token)
    assert "第3句好像漏读了：「山朗润起来了，水涨起来了，太阳的脸红起来了」" in page  # among the advice
    assert "不合格" in page


def test_without_the_aligner_nothing_changes_and_the_librarian_is_told_why(
    app: Flask, client: FlaskClient, auth: AuthActions, gap: Reading, whole: Reading, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(aligner, "missing_parts", lambda: "aeneas")
    payload = status(client, booth_take(app, client, gap.audio, whole.text))
    skipped = payload["report"]["findings"]["skipped"]
    assert skipped == {"found": False, "severity": "", "checked": False, "sentence_count": None, "sentences": [],
                       "reason": skipped["reason"]}
    assert "aeneas" in skipped["reason"]
    assert payload["advice"] is None or payload["advice"]["code"] != "skipped"
    assert payload["report"]["verdict"] != "fail"
    auth.login()
    page = moderation_page(app, client, payload["token"])
    assert "漏读了" not in page
    assert "没有检查" in page and "aeneas" in page  # the librarian sees why


def test_a_free_reading_is_not_checked(app: Flask, client: FlaskClient, whole: Reading) -> None:
    response = client.post("/api/v1/recordings", data={
        "audio": (whole.audio.open("rb"), "take.mp3"), "reader_name": "李读者", "consent": "1"},
        content_type="multipart/form-data")
    payload = status(client, response.get_json()["token"])
    skipped = payload["report"]["findings"]["skipped"]
    assert skipped["checked"] is False and skipped["found"] is False and "自由朗读" in skipped["reason"]
    assert payload["advice"] is None or payload["advice"]["code"] != "skipped"


def test_a_one_sentence_text_is_not_checked(app: Flask, client: FlaskClient, whole: Reading) -> None:
    payload = status(client, booth_take(app, client, whole.audio, SENTENCES[0]))
    skipped = payload["report"]["findings"]["skipped"]
    assert skipped["checked"] is False and "只有一句" in skipped["reason"]
    assert payload["advice"] is None or payload["advice"]["code"] != "skipped"


# ---- the words (recorder.advice) -------------------------------------------------------------


@pytest.mark.parametrize(("sentences", "expected"), [
    ([(3, "山朗润起来了。")], "第3句好像漏读了：「山朗润起来了」，请从头再录一次"),
    ([(1, "“春天像刚落地的娃娃。”"), (5, "风轻悄悄的。")],
     "第1、5句好像漏读了：「春天像刚落地的娃娃」「风轻悄悄的」，请从头再录一次"),
    ([(2, "一"), (4, "二"), (6, "三"), (8, "四")], "第2、4、6等句好像漏读了：「一」「二」「三」，请从头再录一次"),
    ([(7, "桃树、杏树、梨树，你不让我，我不让你，都开满了花赶趟儿。")],
     "第7句好像漏读了：「桃树、杏树、梨树，你不让我，我不让你，都开满了…」，请从头再录一次"),
])
def test_skipped_advice_names_the_sentences(sentences: list[tuple[int, str]], expected: str) -> None:
    item = words.skipped_advice(sentences)
    assert (item.code, item.severity, item.text_zh) == ("skipped", "fail", expected)
    assert item.sentences == tuple(n for n, _ in sentences)
    assert str(sentences[0][0]) in item.text_en and "{" not in item.text_en


def test_skipped_advice_comes_after_blank_and_too_short() -> None:
    skipped = words.skipped_advice([(3, "山朗润起来了。")])
    items = [words.advice_for("too_short", "fail"), words.advice_for("clipping"), words.advice_for("off_target")]
    assert [a.code for a in words.with_advice(items, skipped)] == ["too_short", "skipped", "clipping", "off_target"]
    assert [a.code for a in words.with_advice([words.advice_for("hum")], skipped)] == ["skipped", "hum"]
    assert words.PRIORITY.index("skipped") == words.PRIORITY.index("too_short") + 1
