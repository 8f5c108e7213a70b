"""Keep ``kiosk serve``'s background worker alive: restart it when it dies, and take its children with it.

The worker runs in a process group of its own, so when it dies — killed, crashed, out of
memory — the ffmpeg it was running dies with the group instead of running on unowned.
A worker that keeps dying is restarted less and less often, never given up on.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

FIRST_RESTART_DELAY_S = 1.0
LONGEST_RESTART_DELAY_S = 60.0
HEALTHY_AFTER_S = 120.0  # a worker that lived this long resets the back-off
STOP_GRACE_S = 30.0


def worker_command() -> list[str]:
    """The command line of a background worker of this installation."""
    return [sys.executable, "-m", "kiosk", "worker"]


class WorkerSupervisor:
    """Runs the worker command, restarts it whenever it exits, and stops it (and its group) on request."""

    def __init__(self, command: list[str] | None = None,
                 spawn: Callable[[list[str]], subprocess.Popen[bytes]] | None = None) -> None:
        self.command = command or worker_command()
        self.spawn = spawn or _spawn_in_own_group
        self.stopping = threading.Event()
        self.process: subprocess.Popen[bytes] | None = None
        self.restarts = 0
        self.owner_pid = os.getpid()
        self.thread = threading.Thread(target=self._watch, name="worker-supervisor", daemon=True)

    def start(self) -> None:
        """Start the worker and the thread that watches it."""
        self.process = self.spawn(self.command)
        self.thread.start()

    def _watch(self) -> None:
        delay_s = FIRST_RESTART_DELAY_S
        while not self.stopping.is_set() and self.process is not None:
            process = self.process
            started = _monotonic()
            returncode = process.wait()
            _kill_group(process.pid)  # whatever it left running (ffmpeg) goes with it
            if self.stopping.is_set():
                return
            lived_s = _monotonic() - started
            delay_s = FIRST_RESTART_DELAY_S if lived_s >= HEALTHY_AFTER_S else delay_s
            log.warning("background worker %d exited (%s); starting another in %.0f s",
                        process.pid, _describe(returncode), delay_s)
            if self.stopping.wait(delay_s):
                return
            self.process = self.spawn(self.command)
            self.restarts += 1
            delay_s = min(delay_s * 2, LONGEST_RESTART_DELAY_S)

    def stop(self) -> None:
        """Ask the worker to finish (SIGTERM to its group), then kill what is left.

        Only the process that started it may: gunicorn forks its web workers inside
        ``kiosk serve``, and a web worker leaving must not stop the background worker.
        """
        if os.getpid() != self.owner_pid:
            return
        self.stopping.set()
        process = self.process
        if process is None:
            return
        _signal_group(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            log.warning("background worker %d did not stop in %.0f s: killed", process.pid, STOP_GRACE_S)
        _kill_group(process.pid)
        self.thread.join(timeout=STOP_GRACE_S)


def _spawn_in_own_group(command: list[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(command, start_new_session=True)  # noqa: S603 - our own command line


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):  # the group is already gone
        os.killpg(pid, sig)


def _kill_group(pid: int) -> None:
    _signal_group(pid, signal.SIGKILL)


def _describe(returncode: int) -> str:
    if returncode < 0:
        return f"killed by {signal.Signals(-returncode).name}"
    return f"exit status {returncode}"


def _monotonic() -> float:
    return time.monotonic()
