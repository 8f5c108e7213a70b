"""Server memory while a benchmark runs: RSS and PSS of a process group, sampled in a thread.

RSS summed over gunicorn's master and workers counts every page they share (the
application the master imported before forking) once per process; PSS divides a
shared page between the processes sharing it, so its sum is the memory really used.
The background ``kiosk worker`` that ``kiosk serve`` starts is kept apart.
"""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path

SAMPLE_INTERVAL_S = 0.5


def group_members(pgid: int) -> list[int]:
    """The pids whose process group is ``pgid``."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            stat = (entry / "stat").read_text()
            if int(stat.rsplit(")", 1)[1].split()[2]) == pgid:
                members.append(int(entry.name))
    return members


def children_of(parents: list[int]) -> list[int]:
    """The pids whose parent is one of ``parents`` (``kiosk serve``'s supervised worker runs in a
    process group of its own, so that a signal to the server's group does not cut a job short)."""
    wanted, found = set(parents), []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) in wanted:
                found.append(int(entry.name))
    return found


def is_background_worker(pid: int) -> bool:
    """Whether ``pid`` is the ``kiosk worker`` process (the job queue), not a web process."""
    with contextlib.suppress(OSError):
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        return b"worker" in argv
    return False


def rss_pss_mib(pid: int) -> tuple[float, float]:
    """Resident and proportional set size of one process, in MiB (0 if it is gone)."""
    rss = pss = 0
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Rss:"):
                rss = int(line.split()[1])
            elif line.startswith("Pss:"):
                pss = int(line.split()[1])
    return rss / 1024, pss / 1024


class ServerMemory:
    """Peak RSS and PSS sums of a server's process group while the ``with`` block runs."""

    def __init__(self, pgid: int) -> None:
        self.pgid = pgid
        self.rss_mib = self.pss_mib = self.worker_rss_mib = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def sample(self) -> None:
        """One sample; keeps the peaks."""
        rss = pss = worker = 0.0
        members = group_members(self.pgid)
        for pid in {*members, *children_of(members)}:
            one_rss, one_pss = rss_pss_mib(pid)
            if is_background_worker(pid):
                worker += one_rss
            else:
                rss, pss = rss + one_rss, pss + one_pss
        self.rss_mib = max(self.rss_mib, rss)
        self.pss_mib = max(self.pss_mib, pss)
        self.worker_rss_mib = max(self.worker_rss_mib, worker)

    def peaks(self) -> dict[str, float]:
        """The peaks seen so far."""
        return {"rss_mib": self.rss_mib, "pss_mib": self.pss_mib, "worker_rss_mib": self.worker_rss_mib}

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(SAMPLE_INTERVAL_S)

    def __enter__(self) -> ServerMemory:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sample()
