"""Several machines, on one: two web nodes and a worker sharing PostgreSQL, Redis and the media store.

As ``deploy/README.md`` describes: ``kiosk init`` once, then two ``kiosk serve --no-worker``
processes on two ports (the web nodes) and one ``kiosk worker`` (the worker node), all with the
same ``KIOSK_DATABASE_URL``, ``KIOSK_REDIS_URL``, ``KIOSK_DATA_DIR`` and ``KIOSK_SECRET_KEY``.
Runs only when ``KIOSK_TEST_DATABASE_URL`` (PostgreSQL) and ``KIOSK_TEST_REDIS_URL`` are set
(deselected otherwise, by the ``postgres`` and ``redis`` markers: see tests/conftest.py).
"""

from __future__ import annotations

import contextlib
import http.cookiejar
import json
import os
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from kiosk import create_app
from kiosk.extensions import db
from kiosk.models import Recording, Track
from recorder import synth
from tests.conftest import TEST_DATABASE_URL, TEST_REDIS_URL, server_database
from tests.factories import gen_book, gen_track
from tests.helpers import free_port, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]

SECRET = "multinode-test-secret"  # noqa: S105 - shared by the nodes, as in a real deployment
PASSWORD = "correct horse battery"  # noqa: S105 - test fixture
START_TIMEOUT_S = 60.0
MASTERING_TIMEOUT_S = 180.0


@dataclass
class Cluster:
    """The running nodes and what they share."""

    env: dict[str, str]
    media: Path
    a: str  # web node A's base URL
    b: str  # web node B's base URL
    logs: list[Path] = field(default_factory=list)

    def tails(self) -> str:
        """The end of every node's log, for a failing assertion."""
        return "\n".join(f"--- {log.name}\n{log.read_text(errors='replace')[-3000:]}" for log in self.logs)


def kiosk(*args: str) -> list[str]:
    return [sys.executable, "-m", "kiosk", *args]


def start(argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """A node in its own process group (gunicorn's workers and ffmpeg go with it)."""
    with log.open("wb") as out:
        return subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def stop(processes: list[subprocess.Popen[bytes]]) -> None:
    """Quick shutdown of every node's group (SIGINT: gunicorn's quick stop; the worker's too), then SIGKILL."""
    for process in processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT)
    for process in processes:
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=15)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def log_tail(log: Path) -> str:
    """The end of a node's log."""
    return log.read_text(errors="replace")[-3000:]


def healthy(base: str, process: subprocess.Popen[bytes], log: Path) -> bool:
    """Whether ``/healthz`` answers 200; fails the test at once if the node has exited."""
    if process.poll() is not None:
        pytest.fail(f"node exited with {process.returncode}:\n{log_tail(log)}")
    try:
        with urllib.request.urlopen(f"{base}/healthz", timeout=2) as answer:  # noqa: S310 - loopback
            return bool(answer.status == 200)
    except OSError:
        return False


def wait_healthy(base: str, process: subprocess.Popen[bytes], log: Path) -> None:
    """Wait for a node's ``/healthz``; fail with its log if it does not come up in time."""
    wait_until(lambda: healthy(base, process, log), START_TIMEOUT_S, f"{base}/healthz to answer 200",
               interval_s=0.2, details=lambda: log_tail(log))


def flush_shared_state(redis_url: str) -> None:
    """Empty the Huey queue and the login counters the nodes keep in the test Redis.

    The nodes use the production names (queue ``kiosk``, limiter prefix ``kiosk``): a previous
    run's tasks must not run here, nor its failed logins lock this run's account.
    """
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        keys = [*client.scan_iter(match="huey.*kiosk*"), *client.scan_iter(match="LIMITS:LIMITER/kiosk/*")]
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """``kiosk init`` once, then web nodes A and B and a worker, on one database, Redis and store."""
    with server_database(TEST_DATABASE_URL or "") as database_url:
        yield from _run_cluster(tmp_path_factory.mktemp("cluster"), database_url)


def _run_cluster(tmp_path: Path, database_url: str) -> Iterator[Cluster]:
    media = tmp_path / "shared-media"  # NFS in a real deployment
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIOSK_")}
    env.update(
        KIOSK_DATA_DIR=str(media),
        KIOSK_DATABASE_URL=database_url,
        KIOSK_REDIS_URL=TEST_REDIS_URL or "",
        KIOSK_SECRET_KEY=SECRET,
        KIOSK_TAKE_LEASE_S="20",
    )
    flush_shared_state(env["KIOSK_REDIS_URL"])
    subprocess.run(kiosk("init"), env=env, check=True, capture_output=True, timeout=120)
    added = subprocess.run(kiosk("user", "add", "wang", "--role", "librarian", "--password-stdin"), env=env,
                           input=f"{PASSWORD}\n".encode(), capture_output=True, timeout=60)
    assert added.returncode == 0, added.stderr.decode()

    nodes: list[tuple[str, subprocess.Popen[bytes], Path]] = []
    processes: list[subprocess.Popen[bytes]] = []
    logs: list[Path] = []
    try:
        for name in ("a", "b"):
            port = free_port()
            log = tmp_path / f"node-{name}.log"
            argv = kiosk("serve", "--no-worker", "--host", "127.0.0.1", "--port", str(port), "--workers", "1")
            process = start(argv, env, log)
            processes.append(process)
            logs.append(log)
            nodes.append((f"http://127.0.0.1:{port}", process, log))
        worker_log = tmp_path / "worker.log"
        processes.append(start(kiosk("worker"), env, worker_log))
        logs.append(worker_log)
        for base, process, log in nodes:
            wait_healthy(base, process, log)
        yield Cluster(env=env, media=media, a=nodes[0][0], b=nodes[1][0], logs=logs)
    finally:
        stop(processes)
        flush_shared_state(env["KIOSK_REDIS_URL"])


def node_app(cluster: Cluster) -> Flask:
    """The application as one more node would build it (for preparing data and reading rows)."""
    return create_app({
        "TESTING": True,
        "KIOSK_DATA_DIR": cluster.media,
        "SQLALCHEMY_DATABASE_URI": cluster.env["KIOSK_DATABASE_URL"],
        "SECRET_KEY": SECRET,
        "KIOSK_JOBS_IMMEDIATE": True,
    })


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    """GET ``url``: status, headers, body (errors included)."""
    request = urllib.request.Request(url, headers=headers or {})  # noqa: S310 - loopback
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - loopback
            return answer.status, dict(answer.headers), answer.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def get_json(url: str) -> Any:
    status, _, body = get(url)
    assert status == 200, (url, status, body[:300])
    return json.loads(body)


def post_take(base: str, wav: Path) -> dict[str, Any]:
    """POST a take to ``/api/v1/recordings`` as the booth does (multipart/form-data)."""
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="reader_name"\r\n\r\n李读者\r\n'.encode(),
        f'--{boundary}\r\nContent-Disposition: form-data; name="consent"\r\n\r\n1\r\n'.encode(),
        (f'--{boundary}\r\nContent-Disposition: form-data; name="audio"; filename="take.wav"\r\n'
         "Content-Type: audio/wav\r\n\r\n").encode() + wav.read_bytes() + b"\r\n",
        f"--{boundary}--\r\n".encode(),
    ]
    request = urllib.request.Request(  # noqa: S310 - loopback
        f"{base}/api/v1/recordings", data=b"".join(parts), method="POST",
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    with urllib.request.urlopen(request, timeout=60) as answer:  # noqa: S310 - loopback
        assert answer.status == 202
        return json.loads(answer.read())


def test_a_take_sent_to_one_node_is_mastered_by_the_worker_and_streams_from_the_other(
    cluster: Cluster, tmp_path: Path
) -> None:
    wav = synth.speechlike(tmp_path / "take.wav", duration_s=8, level_lufs=-24, pad_head_s=1, pad_tail_s=1)
    token = post_take(cluster.a, wav)["token"]

    def finished() -> dict[str, Any] | None:
        status: dict[str, Any] = get_json(f"{cluster.b}/api/v1/recordings/{token}")
        return None if status["status"] in ("queued", "processing") else status

    status = wait_until(finished, MASTERING_TIMEOUT_S, f"take {token} to be mastered (seen from node B)",
                        interval_s=0.5, details=cluster.tails)
    assert status["status"] == "done", f"{status}\n{cluster.tails()}"
    assert abs(status["report"]["final_lufs"] + 18) <= 1

    code, headers, body = get(f"{cluster.b}/r/{token}/audio", {"Range": "bytes=1000-4999"})
    assert code == 206, cluster.tails()
    assert headers["Content-Range"].startswith("bytes 1000-4999/") and len(body) == 4000
    whole_code, _, whole = get(f"{cluster.a}/r/{token}/audio")
    assert whole_code == 200 and whole[1000:5000] == body  # the same file, from the shared store
    page_code, _, page = get(f"{cluster.b}/r/{token}")
    assert page_code == 200 and "李读者" in page.decode()

    app = node_app(cluster)
    with app.app_context():
        take = db.session.scalar(db.select(Recording).where(Recording.token == token))
        assert take.attempts == 1  # one worker, one claim
        assert (cluster.media / "audio").is_dir() and take.mastered_key.startswith("audio/")
        db.engine.dispose()


def test_a_catalogue_change_shows_on_every_node_at_once(cluster: Cluster, sample_mp3: Path) -> None:
    """A chapter published (as any node's console writes it) is on A and B; unpublished, gone from both."""
    app = node_app(cluster)
    with app.app_context():
        book = gen_book("城南旧事", author="林海音")
        track = gen_track(book, sample_mp3, title="惠安馆")
        book_id, track_id, audio_key = book.id, track.id, track.audio_key

    for base in (cluster.a, cluster.b):
        titles = [b["title"] for b in get_json(f"{base}/api/v1/sections/jingdian-songdu")["books"]]
        assert "城南旧事" in titles
        code, _, body = get(f"{base}/media/{audio_key}", {"Range": "bytes=0-511"})
        assert code == 206 and len(body) == 512

    with app.app_context():
        db.session.get(Track, track_id).published = False
        db.session.commit()
        db.engine.dispose()
    for base in (cluster.a, cluster.b):  # no cache anywhere to wait for
        assert get(f"{base}/media/{audio_key}", {"Range": "bytes=0-511"})[0] == 404
        assert get_json(f"{base}/api/v1/books/{book_id}")["book"]["tracks"] == []


def login_page_token(opener: urllib.request.OpenerDirector, base: str) -> str:
    with opener.open(f"{base}/admin/login", timeout=10) as answer:
        page = answer.read().decode()
    found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert found, page[:500]
    return found.group(1)


def post_form(opener: urllib.request.OpenerDirector, url: str, fields: dict[str, str]) -> int:
    """POST a form; the status (redirects are not followed)."""
    data = urllib.parse.urlencode(fields).encode()
    request = urllib.request.Request(url, data=data, method="POST")  # noqa: S310 - loopback
    try:
        with opener.open(request, timeout=10) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def post_login(opener: urllib.request.OpenerDirector, base: str, token: str, password: str) -> int:
    return post_form(opener, f"{base}/admin/login", {"username": "wang", "password": password, "csrf_token": token})


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def test_sessions_and_login_limits_are_shared_by_the_nodes(cluster: Cluster) -> None:
    """Signed in on A, signed in on B (one secret key); five failures on A lock the account on B (Redis)."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect)
    token = login_page_token(opener, cluster.a)
    assert post_login(opener, cluster.a, token, PASSWORD) == 302
    with opener.open(f"{cluster.b}/admin/", timeout=10) as answer:  # the cookie A set, read by B
        assert answer.status == 200

    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), NoRedirect)
    token = login_page_token(opener, cluster.a)  # another browser, signed out
    for _ in range(5):
        assert post_login(opener, cluster.a, token, "wrong password") == 200
    assert post_login(opener, cluster.b, token, PASSWORD) == 429, cluster.tails()
