"""Locate ffmpeg and run it: the only place in the recorder that spawns a process.

espeak-ng (optional, for synthesised demo speech) is run through the same
``run_program`` so that logging, timeouts and error handling stay in one place.
"""

from __future__ import annotations

import errno
import logging
import os
import shlex
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from functools import cache
from typing import IO

from recorder.errors import FfmpegError, FfmpegTimeoutError, NoSpaceError

log = logging.getLogger(__name__)

STDERR_TAIL_CHARS = 2000
NO_SPACE_MESSAGE = os.strerror(errno.ENOSPC)  # "No space left on device", as ffmpeg prints it


@cache
def ffmpeg_exe() -> str:
    """Return the ffmpeg binary: ``$KIOSK_FFMPEG``, else imageio-ffmpeg's, else PATH's.

    Raises:
        FfmpegError: No ffmpeg could be found.
    """
    override = os.environ.get("KIOSK_FFMPEG")
    if override:
        return override
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError) as exc:
        found = shutil.which("ffmpeg")
        if found:
            return found
        raise FfmpegError("ffmpeg not found") from exc


def run(
    argv: list[str], *, timeout_s: float | None = None, label: str = "ffmpeg"
) -> subprocess.CompletedProcess[str]:
    """Run ffmpeg with ``argv`` (without the program name) and return the finished process.

    ``-hide_banner -nostdin`` are always added. Output is captured as text.

    Args:
        argv: Arguments after the executable, as a list (never a shell string).
        timeout_s: Kill ffmpeg after this many seconds.
        label: The pipeline step this run serves, logged with its wall time.

    Raises:
        FfmpegError: Non-zero exit (carrying the stderr tail).
        FfmpegTimeoutError: The timeout elapsed.
    """
    return run_program([ffmpeg_exe(), "-hide_banner", "-nostdin", "-nostats", *argv],
                       timeout_s=timeout_s, label=label)


def run_program(
    full: list[str], *, timeout_s: float | None = None, label: str = "program"
) -> subprocess.CompletedProcess[str]:
    """Run any program given as a full argv list; log it and its wall time, raise on failure.

    The timing record carries ``step`` and ``wall_s`` attributes, so a benchmark can
    break a pipeline's time down by step with a logging handler instead of a profiler.

    Raises:
        FfmpegError: Non-zero exit or the program could not be started.
        FfmpegTimeoutError: The timeout elapsed.
    """
    log.info("run: %s", shlex.join(full))
    started = time.perf_counter()
    try:
        proc = subprocess.run(  # noqa: S603 - argv list, no shell
            full, capture_output=True, text=True, errors="replace", timeout=timeout_s, check=False
        )
    except subprocess.TimeoutExpired as exc:
        tail = _tail(exc.stderr)
        message = f"{full[0]} timed out after {timeout_s} s"
        raise FfmpegTimeoutError(message, stderr_tail=tail) from exc
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            raise NoSpaceError(f"{full[0]}: {exc}") from exc
        raise FfmpegError(f"cannot start {full[0]}: {exc}") from exc
    wall_s = time.perf_counter() - started
    log.info("%s took %.2f s", label, wall_s, extra={"step": label, "wall_s": wall_s})
    if proc.returncode != 0:
        tail = _tail(proc.stderr)
        if NO_SPACE_MESSAGE in tail:
            raise NoSpaceError(f"{full[0]}: the disk is full")
        raise FfmpegError(
            f"{full[0]} exited {proc.returncode}: {tail[-300:]}",
            stderr_tail=tail,
            returncode=proc.returncode,
        )
    return proc


def stream(
    argv: list[str], consume: Callable[[IO[bytes]], None], *, timeout_s: float | None = None,
    label: str = "ffmpeg",
) -> subprocess.CompletedProcess[str]:
    """Run ffmpeg with ``argv``, handing what it writes to ``pipe:1`` to ``consume`` as it comes.

    ``consume`` runs in this thread while ffmpeg works, so reading and ffmpeg's own work
    overlap on two cores. stderr goes to a temporary file (a full stderr pipe would stall
    ffmpeg); the finished process carries it as text, and an empty stdout. Whatever
    ``consume`` leaves unread is drained, so ffmpeg never blocks on the pipe.

    Raises:
        FfmpegError: Non-zero exit, or ffmpeg could not be started.
        FfmpegTimeoutError: The timeout elapsed (ffmpeg is killed).
    """
    full = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-nostats", *argv]
    log.info("run: %s", shlex.join(full))
    started = time.perf_counter()
    with tempfile.TemporaryFile() as errors:
        try:
            proc = subprocess.Popen(full, stdout=subprocess.PIPE, stderr=errors)  # noqa: S603 - argv list, no shell
        except OSError as exc:
            raise FfmpegError(f"cannot start {full[0]}: {exc}") from exc
        timer = threading.Timer(timeout_s, proc.kill) if timeout_s else None
        if timer:
            timer.start()
        try:
            assert proc.stdout is not None  # noqa: S101 - stdout=PIPE above
            try:
                consume(proc.stdout)
                while proc.stdout.read(1 << 16):
                    pass
            except BaseException:
                proc.kill()  # the reader failed: what ffmpeg still has to say is of no use
                raise
            finally:
                proc.stdout.close()
                returncode = proc.wait()
        finally:
            if timer:
                timer.cancel()
        errors.seek(0)
        stderr = errors.read().decode("utf-8", "replace")
    wall_s = time.perf_counter() - started
    log.info("%s took %.2f s", label, wall_s, extra={"step": label, "wall_s": wall_s})
    if timeout_s and returncode < 0 and wall_s >= timeout_s:
        raise FfmpegTimeoutError(f"{full[0]} timed out after {timeout_s} s", stderr_tail=_tail(stderr))
    if returncode != 0:
        tail = _tail(stderr)
        if NO_SPACE_MESSAGE in tail:
            raise NoSpaceError(f"{full[0]}: the disk is full")
        raise FfmpegError(f"{full[0]} exited {returncode}: {tail[-300:]}", stderr_tail=tail, returncode=returncode)
    return subprocess.CompletedProcess(full, returncode, "", stderr)


def _tail(stderr: str | bytes | None) -> str:
    """Return the last characters of a captured stderr, decoded."""
    if stderr is None:
        return ""
    if isinstance(stderr, bytes):
        stderr = stderr.decode("utf-8", "replace")
    return stderr[-STDERR_TAIL_CHARS:]
