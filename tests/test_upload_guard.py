"""Uploads under attack, against the real server (gunicorn, gevent): capped while they stream,
dropped when they stall, limited in number — and the wall still answers.

Each attack is reproduced as the probe from outside found it: raw sockets on loopback,
a chunked body that never ends, a declared body far over the cap, bodies that stop.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask

from kiosk.storage import free_bytes
from tests.helpers import free_port, wait_until

CAP_BYTES = 1024 * 1024
IDLE_S = 1
PER_ADDRESS = 2
IN_FLIGHT = 4
BOUNDARY = "kioskboundary"
ANSWER_WAIT_S = 30  # a bound on how long a refusal may take to come, not a measured speed


@dataclass
class LiveServer:
    """A ``kiosk serve`` on loopback with small upload limits."""

    port: int
    data_dir: Path

    def connect(self, source: str = "127.0.0.1") -> socket.socket:
        """A client socket from ``source`` (any loopback address) to the server."""
        client = socket.create_connection(("127.0.0.1", self.port), timeout=ANSWER_WAIT_S,
                                          source_address=(source, 0))
        return client

    def spools(self) -> list[Path]:
        """Upload spools left in the store's scratch space."""
        scratch = self.data_dir / "tmp"
        return sorted(scratch.glob(".upload-*")) if scratch.is_dir() else []


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    root = tmp_path_factory.mktemp("guarded")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIOSK_")}
    env.update(KIOSK_DATA_DIR=str(root / "media"), KIOSK_UPLOAD_MAX_BYTES=str(CAP_BYTES),
               KIOSK_UPLOAD_IDLE_S=str(IDLE_S), KIOSK_UPLOADS_PER_ADDRESS=str(PER_ADDRESS),
               KIOSK_UPLOADS_IN_FLIGHT=str(IN_FLIGHT))
    process = subprocess.Popen(
        [sys.executable, "-m", "kiosk", "serve", "--no-worker", "--port", str(port), "--workers", "1"],
        cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=(root / "server.log").open("wb"),
    )
    live = LiveServer(port, root / "media")
    try:
        wait_until(lambda: _answers(port), 60, "kiosk serve to answer /healthz",
                   details=lambda: (root / "server.log").read_text(errors="replace"))
        yield live
    finally:
        process.terminate()
        process.wait(timeout=30)


def _answers(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=2) as probe:
        probe.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        return probe.recv(64).startswith(b"HTTP/1.1 200")
    return False


def upload_head(length: int | None) -> bytes:
    """Request head of a booth upload, with a declared length or chunked."""
    framing = f"Content-Length: {length}" if length is not None else "Transfer-Encoding: chunked"
    return (f"POST /api/v1/recordings HTTP/1.1\r\nHost: 127.0.0.1\r\n{framing}\r\n"
            f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n\r\n").encode()


def part_head() -> bytes:
    return (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"audio\"; filename=\"take.wav\"\r\n"
            "Content-Type: audio/wav\r\n\r\n").encode()


def chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


def read_status(client: socket.socket) -> int:
    """The status code of the response on ``client`` (fails the test if none comes)."""
    head = b""
    while b"\r\n" not in head:
        data = client.recv(4096)
        assert data, "the server closed the connection without an answer"
        head += data
    return int(head.split(b" ", 2)[1])


def closed_by_server(client: socket.socket) -> bool:
    """Whether the server closes the connection after its answer (it does not read on)."""
    try:
        while client.recv(65536):
            pass
    except ConnectionResetError:
        return True
    return True


def wall_status(server: LiveServer) -> int:
    with server.connect() as visitor:
        visitor.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        return read_status(visitor)


def test_a_declared_body_over_the_cap_is_refused_before_it_is_read(server: LiveServer) -> None:
    with server.connect() as client:
        client.sendall(upload_head(400 * 1024 * 1024))
        assert read_status(client) == 413
        assert closed_by_server(client)
    assert server.spools() == []


def test_a_chunked_body_is_stopped_the_moment_it_passes_the_cap(server: LiveServer) -> None:
    """The probe streamed 11.7 GB this way; now the server stops reading past 1 MiB."""
    sent = 0
    status = None
    payload = os.urandom(64 * 1024)
    with server.connect() as client:
        client.sendall(upload_head(None) + chunk(part_head()))
        try:
            while sent < 256 * 1024 * 1024:
                client.sendall(chunk(payload))
                sent += len(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass
        with contextlib.suppress(ConnectionResetError):
            status = read_status(client)
    assert status in (413, None)  # the answer may be lost to the reset the refusal causes
    # What was sent beyond the cap sat in socket buffers, never on disk.
    assert sent < 64 * 1024 * 1024, f"the server read on: {sent} bytes accepted"
    wait_until(lambda: server.spools() == [], 10, "the refused upload's spool to be removed")


def test_a_stalled_upload_is_dropped_and_leaves_no_spool(server: LiveServer) -> None:
    with server.connect() as client:
        client.sendall(upload_head(10_000) + part_head() + b"RIFF")
        assert read_status(client) == 408
    wait_until(lambda: server.spools() == [], 10, "the stalled upload's spool to be removed")


def test_stalled_uploads_over_the_limit_are_refused_and_the_wall_still_answers(server: LiveServer) -> None:
    stalled = [server.connect() for _ in range(PER_ADDRESS)]
    try:
        for client in stalled:
            client.sendall(upload_head(10_000) + part_head())
        wait_until(lambda: _refused_status(server, "127.0.0.1") == 429, 5, "a third upload to be refused")
        assert wall_status(server) == 200
    finally:
        for client in stalled:
            client.close()


def test_uploads_keep_to_their_share_of_connections(server: LiveServer) -> None:
    sources = [f"127.0.0.{n}" for n in range(2, 2 + IN_FLIGHT)]
    stalled = [server.connect(source) for source in sources]
    try:
        for client in stalled:
            client.sendall(upload_head(10_000) + part_head())
        wait_until(lambda: _refused_status(server, "127.0.0.99") == 503, 5, "an upload over the share to wait")
        assert wall_status(server) == 200
    finally:
        for client in stalled:
            client.close()


def _refused_status(server: LiveServer, source: str) -> int:
    """The status an upload from ``source`` gets at once (0 if it was accepted and stalls)."""
    with server.connect(source) as client:
        client.settimeout(0.5)
        client.sendall(upload_head(10_000) + part_head())
        try:
            return read_status(client)
        except TimeoutError:
            return 0


def test_an_upload_the_disk_cannot_hold_is_refused_before_it_is_read(app: Flask) -> None:
    """The probe's 500 for an upload larger than the free space: now a 507 in words, at once."""
    app.config.update(KIOSK_UPLOAD_MAX_BYTES=10**15, MAX_CONTENT_LENGTH=None)
    larger_than_the_disk = free_bytes(app.config["KIOSK_DATA_DIR"]) + 10**9
    response = app.test_client().post("/api/v1/recordings", data=b"",
                                      environ_overrides={"CONTENT_LENGTH": str(larger_than_the_disk)})
    assert response.status_code == 507
    assert response.get_json()["error"] == "no_space"
    assert "存储空间不足" in response.get_json()["message"]


def test_uploads_stop_while_the_disk_is_below_its_margin(app: Flask) -> None:
    app.config["KIOSK_MIN_FREE_BYTES"] = free_bytes(app.config["KIOSK_DATA_DIR"]) + 1
    response = app.test_client().post("/api/v1/recordings", data={"reader_name": "小王"},
                                      content_type="multipart/form-data")
    assert response.status_code == 507
    assert app.test_client().get("/").status_code == 200  # visitors are not touched


def test_healthz_warns_of_low_disk_space_and_stays_up(app: Flask) -> None:
    client = app.test_client()
    assert client.get("/healthz").get_json()["warnings"] == []
    app.config["KIOSK_MIN_FREE_BYTES"] = free_bytes(app.config["KIOSK_DATA_DIR"]) + 10**12
    response = client.get("/healthz")
    assert response.status_code == 200  # listeners are still served
    body = response.get_json()
    assert body["warnings"] == ["low_disk_space"]
    assert body["disk"]["free_bytes"] < body["disk"]["min_free_bytes"]


def test_stalled_uploads_never_crowd_out_a_sign_in_or_a_play_report(server: LiveServer) -> None:
    """Only uploads count against their share: the soak found a full share refusing every POST."""
    stalled = [server.connect(f"127.0.0.{n}") for n in range(2, 2 + IN_FLIGHT)]
    try:
        for client in stalled:
            client.sendall(upload_head(10_000) + part_head())
        wait_until(lambda: _refused_status(server, "127.0.0.99") == 503, 5, "the upload share to be full")
        form = b"username=wang&password=guess"
        with server.connect("127.0.0.98") as librarian:
            librarian.sendall(b"POST /admin/login HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                              b"Content-Type: application/x-www-form-urlencoded\r\n"
                              + f"Content-Length: {len(form)}\r\n\r\n".encode() + form)
            answer = librarian.recv(4096)
            assert int(answer.split(b" ", 2)[1]) in (200, 400, 422), answer  # answered (no CSRF token), not 503
        beacon = b'{"plays": []}'
        with server.connect("127.0.0.97") as phone:
            phone.sendall(b"POST /api/v1/plays HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                          b"Content-Type: text/plain\r\n" + f"Content-Length: {len(beacon)}\r\n\r\n".encode() + beacon)
            assert read_status(phone) in (204, 400, 422)
    finally:
        for client in stalled:
            client.close()
