"""``kiosk serve`` keeps its background worker alive, and a dead worker takes its ffmpeg with it.

Reproduces the probe: after ``kill -9`` of the worker, ``kiosk serve`` started none within
75 s, and the killed run once left an ffmpeg running.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.cli.supervise import WorkerSupervisor
from tests.helpers import free_port, port_open, wait_until

# A stand-in worker that, like a worker mastering a take, has a child process of its own.
WORKER_WITH_A_CHILD = [sys.executable, "-c",
                       "import subprocess, sys, time\n"
                       "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'])\n"
                       "print(child.pid, flush=True)\n"
                       "time.sleep(600)\n"]


def alive(pid: int) -> bool:
    """Whether ``pid`` is a live (not zombie) process."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def children_running(parent: int, marker: str) -> list[int]:
    """Processes whose parent is ``parent`` and whose command line holds ``marker``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        ppid = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("PPid:"))
        if ppid == parent and marker in cmdline and alive(int(entry.name)):
            found.append(int(entry.name))
    return found


@pytest.fixture
def supervisor() -> WorkerSupervisor:
    spawned: list[subprocess.Popen[bytes]] = []

    def spawn(command: list[str]) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(command, start_new_session=True, stdout=subprocess.PIPE)
        spawned.append(process)
        return process

    watcher = WorkerSupervisor(WORKER_WITH_A_CHILD, spawn=spawn)
    watcher.spawned = spawned  # type: ignore[attr-defined]
    yield watcher
    watcher.stop()


def test_a_killed_worker_is_restarted_and_its_children_die_with_it(supervisor: WorkerSupervisor) -> None:
    supervisor.start()
    first = supervisor.process
    assert first is not None and first.stdout is not None
    grandchild = int(first.stdout.readline())
    os.kill(first.pid, signal.SIGKILL)
    wait_until(lambda: supervisor.process is not first and supervisor.process is not None, 30,
               "the supervisor to start another worker")
    wait_until(lambda: not alive(grandchild), 10, "the dead worker's child to be killed with its group")
    assert supervisor.restarts == 1


def test_stopping_ends_the_worker_and_its_children(supervisor: WorkerSupervisor) -> None:
    supervisor.start()
    process = supervisor.process
    assert process is not None and process.stdout is not None
    grandchild = int(process.stdout.readline())
    supervisor.stop()
    assert process.poll() is not None
    wait_until(lambda: not alive(grandchild), 10, "the worker's child to end with it")
    assert supervisor.restarts == 0


def test_kiosk_serve_brings_a_killed_worker_back(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIOSK_")}
    env["KIOSK_DATA_DIR"] = str(tmp_path / "media")
    log = (tmp_path / "serve.log").open("wb")
    serve = subprocess.Popen([sys.executable, "-m", "kiosk", "serve", "--port", str(port), "--workers", "1"],
                             cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        details = lambda: (tmp_path / "serve.log").read_text(errors="replace")  # noqa: E731
        wait_until(lambda: port_open(port), 60, "kiosk serve to listen", details=details)
        first = wait_until(lambda: children_running(serve.pid, "kiosk worker"), 30, "the worker to start",
                           details=details)[0]
        os.kill(first, signal.SIGKILL)
        second = wait_until(lambda: [p for p in children_running(serve.pid, "kiosk worker") if p != first], 30,
                            "kiosk serve to start another worker", details=details)[0]
        assert alive(second)
    finally:
        serve.send_signal(signal.SIGTERM)
        serve.wait(timeout=60)
        log.close()
    wait_until(lambda: workers_in(tmp_path) == [], 30, "every kiosk worker of this data dir to end")


def workers_in(folder: Path) -> list[int]:
    """Live ``kiosk worker`` processes started in ``folder``, whoever their parent is now (orphans too)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            cwd = os.readlink(entry / "cwd")
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        if "kiosk worker" in cmdline and Path(cwd) == folder and alive(int(entry.name)):
            found.append(int(entry.name))
    return found


def test_a_forked_child_cannot_stop_the_worker(supervisor: WorkerSupervisor) -> None:
    """gunicorn forks web workers inside ``kiosk serve``: one leaving must not stop the background worker."""
    supervisor.start()
    process = supervisor.process
    assert process is not None
    child = os.fork()
    if child == 0:  # the forked child: what a gunicorn web worker does on its way out
        supervisor.stop()
        os._exit(0)
    os.waitpid(child, 0)
    assert process.poll() is None and supervisor.restarts == 0
