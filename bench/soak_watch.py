"""What the soak's own process holds and watches: a write transaction on the kiosk's SQLite file, and disk use."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

DISK_SAMPLE_S = 0.5


@dataclass(frozen=True)
class Disk:
    """Disk use of the data dir, and of its ``tmp/`` where uploads are spooled."""

    total_bytes: int
    tmp_bytes: int
    tmp_files: int

    def max(self, other: Disk) -> Disk:
        """The larger of each figure."""
        return Disk(max(self.total_bytes, other.total_bytes), max(self.tmp_bytes, other.tmp_bytes),
                    max(self.tmp_files, other.tmp_files))


class WriteHolder:
    """Another program's write transaction on the kiosk's SQLite file, held on a schedule (a thread)."""

    def __init__(self, database: Path, spans: list[tuple[float, float]]) -> None:
        self.database, self.spans = database, spans
        self.held: list[tuple[float, float]] = []  # epoch seconds, as they really were
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._started = 0.0

    def _hold(self, until: float) -> None:
        """One held write: BEGIN IMMEDIATE, an UPDATE, wait until ``until`` (monotonic), COMMIT."""
        connection = sqlite3.connect(self.database, timeout=5, isolation_level=None)
        try:
            connection.execute("BEGIN IMMEDIATE")
            connection.execute("UPDATE sections SET position = position")
            began = time.time()
            self._stop.wait(max(0.0, until - time.monotonic()))
            connection.execute("COMMIT")
            self.held.append((began, time.time()))
        except sqlite3.Error as error:
            self.errors.append(str(error))
        finally:
            connection.close()

    def _loop(self) -> None:
        """Hold the write over each span of the schedule, until stopped."""
        for start, end in self.spans:
            if self._stop.wait(max(0.0, self._started + start - time.monotonic())):
                return
            self._hold(self._started + end)

    def __enter__(self) -> WriteHolder:
        """Start the schedule now."""
        self._started = time.monotonic()
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        """Release a write still held, and stop."""
        self._stop.set()
        self._thread.join(timeout=10)


def disk_use(folder: Path) -> tuple[int, int]:
    """Bytes allocated under ``folder`` as du counts them (blocks; hard links once) and its files."""
    blocks: dict[tuple[int, int], int] = {}
    files = 0
    for root, _dirs, names in os.walk(folder):
        for path in (root, *(os.path.join(root, name) for name in names)):
            try:
                stat = os.lstat(path)
            except OSError:  # gone meanwhile (a spool removed)
                continue
            blocks[(stat.st_dev, stat.st_ino)] = stat.st_blocks * 512
            files += path != root
    return sum(blocks.values()), files


class DiskSampler:
    """Peak disk use of the data dir and of its ``tmp/`` (the upload spools), sampled in a thread."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.peak = Disk(0, 0, 0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def now(self) -> Disk:
        """The data dir's disk use right now."""
        total, _ = disk_use(self.data_dir)
        return Disk(total, *disk_use(self.data_dir / "tmp"))

    def _loop(self) -> None:
        """Sample until stopped."""
        while not self._stop.is_set():
            self.peak = self.peak.max(self.now())
            self._stop.wait(DISK_SAMPLE_S)

    def __enter__(self) -> DiskSampler:
        """Start sampling."""
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        """Stop sampling."""
        self._stop.set()
        self._thread.join(timeout=10)
