"""Smaller leaks the probe found: formulas in CSV exports, world-readable secrets, a believed Host header."""

from __future__ import annotations

import csv
import io
import json
import stat
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from kiosk import create_app
from kiosk.cli.setup import prepare_database
from kiosk.extensions import db
from tests.factories import gen_book, gen_track


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("title", ["=HYPERLINK(\"http://x\",\"点我\")", "+1+1", "-2+3", "@SUM(A1)"])
def test_csv_cells_that_look_like_formulas_stay_text(
    app: Flask, client: FlaskClient, auth, sample_mp3: Path, title: str
) -> None:
    with app.app_context():
        track = gen_track(gen_book(title), sample_mp3, title=title)
        db.session.commit()
        track_id = track.id
    report = {"play_id": "pagecafe-1", "track_id": track_id, "seconds": 5, "max_position_s": 5, "completed": False}
    assert client.post("/api/v1/plays", data=json.dumps({"plays": [report]}), content_type="text/plain").status_code \
        == 204
    auth.login()
    body = client.get("/admin/stats/tracks.csv").data.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body)))
    row = next(r for r in rows if r[0] == str(track_id))
    assert row[1] == "'" + title and row[2] == "'" + title
    assert row[4] == "1"  # numbers stay numbers


@pytest.mark.sqlite_only
def test_the_database_file_is_readable_by_its_owner_alone(app: Flask) -> None:
    path = Path(app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///"))
    assert mode_of(path) == 0o600
    wal = path.with_name(path.name + "-wal")
    if wal.exists():
        assert mode_of(wal) == 0o600


def test_a_backup_is_readable_by_its_owner_alone(runner: FlaskCliRunner, tmp_path: Path) -> None:
    archive = tmp_path / "backup.tar"
    result = runner.invoke(args=["backup", "-o", str(archive)])
    assert result.exit_code == 0, result.output
    assert mode_of(archive) == 0o600


def host_app(tmp_path: Path, **overrides: object) -> Flask:
    application = create_app({"TESTING": True, "KIOSK_DATA_DIR": tmp_path / "media", "SECRET_KEY": "k",
                              "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'hosts.sqlite3'}", **overrides})
    with application.app_context():
        prepare_database()
    return application


def test_a_forged_host_is_refused_when_it_would_go_into_links(tmp_path: Path) -> None:
    client = host_app(tmp_path).test_client()
    refused = client.get("/booth", headers={"Host": "evil.example"})
    assert refused.status_code == 400
    assert "evil.example" not in refused.get_data(as_text=True)
    assert client.get("/booth", headers={"Host": "127.0.0.1:8000"}).status_code == 200


def test_the_configured_hosts_are_served(tmp_path: Path) -> None:
    client = host_app(tmp_path, KIOSK_BASE_URL="https://lib.example.org",
                      KIOSK_ALLOWED_HOSTS="192.168.1.20, kiosk.lan").test_client()
    for host in ("lib.example.org", "192.168.1.20:8000", "kiosk.lan", "localhost"):
        assert client.get("/booth", headers={"Host": host}).status_code == 200, host
    assert client.get("/booth", headers={"Host": "lib.example.org.evil.example"}).status_code == 400


def test_the_served_address_is_a_host_of_its_own(tmp_path: Path) -> None:
    client = host_app(tmp_path, KIOSK_SERVE_HOST="192.168.1.30").test_client()
    assert client.get("/booth", headers={"Host": "192.168.1.30:8000"}).status_code == 200
