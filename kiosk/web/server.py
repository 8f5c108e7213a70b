"""Production serving: gunicorn with gevent workers and zero-copy, cooperative sendfile.

Why gevent: a phone streaming a chapter holds its connection for minutes at
16 KB/s. With threads, each listener pins a thread; with gevent a listener is a
few kilobytes of greenlet, so a thousand phones and new page visits coexist.

Why the patch: gevent's socket implements ``sendfile()`` as a Python read/send
loop (``os.sendfile`` would block the hub on a slow client). The socket is
non-blocking underneath, so we call ``os.sendfile`` and yield to the hub on
``EAGAIN``: the kernel copies file to socket, and nobody waits on anybody.
"""

from __future__ import annotations

import contextlib
import errno
import gc
import os
import resource
import socket
from collections.abc import Callable
from typing import Any

import gevent
from gevent.server import StreamServer
from gunicorn.app.base import BaseApplication
from gunicorn.workers import ggevent
from gunicorn.workers.ggevent import GeventWorker

MAX_SENDFILE_CHUNK_BYTES = 0x7FFFF000  # Linux sendfile's per-call maximum
TURN_S = 1e-6  # any positive sleep waits for the event loop's next I/O poll (KioskWorker.handle_request)


def _cooperative_sendfile(self: Any, file: Any, offset: int = 0, count: int | None = None) -> int:
    """``socket.sendfile`` for gevent sockets: ``os.sendfile`` that waits on the hub, not the CPU."""
    self._check_sendfile_params(file, offset, count)
    try:
        in_fd = file.fileno()
    except (AttributeError, OSError):
        return self._sendfile_use_send(file, offset, count)
    remaining = count if count is not None else os.fstat(in_fd).st_size - offset
    total_sent = 0
    try:
        while remaining > 0:
            try:
                sent = os.sendfile(
                    self.fileno(), in_fd, offset + total_sent, min(remaining, MAX_SENDFILE_CHUNK_BYTES)
                )
            except BlockingIOError:
                self._wait(self._write_event)
                continue
            except OSError as error:
                if total_sent == 0 and error.errno in (errno.EINVAL, errno.ENOSYS, errno.ENOTSOCK):
                    return self._sendfile_use_send(file, offset, count)
                raise
            if sent == 0:
                break  # end of file
            total_sent += sent
            remaining -= sent
        return total_sent
    finally:
        if total_sent > 0 and hasattr(file, "seek"):
            file.seek(offset + total_sent)


class _BatchAcceptServer(StreamServer):
    """A gevent server that accepts connections in batches, whatever gunicorn asks.

    With several workers gunicorn sets ``max_accept = 1`` (fairness between workers), so
    a worker accepts one connection per pass of its event loop: measured here, 57 of 64
    new connections were still waiting in the kernel's queue a second later. Accepting up
    to ``ACCEPT_BATCH`` at a time drains a burst of phones at once.
    """

    ACCEPT_BATCH = 16

    @property
    def max_accept(self) -> int:
        """How many pending connections one loop pass accepts."""
        return self.ACCEPT_BATCH

    @max_accept.setter
    def max_accept(self, _requested: int) -> None:
        pass


class KioskWorker(GeventWorker):
    """gunicorn's gevent worker with zero-copy sendfile and batched accepts."""

    def init_process(self) -> None:
        """Install the cooperative sendfile after gevent has patched the socket module."""
        from gevent import socket as gevent_socket

        gevent_socket.socket.sendfile = _cooperative_sendfile
        super().init_process()

    def run(self) -> None:
        """Serve with our batch-accepting server class (this worker process only)."""
        ggevent.StreamServer = _BatchAcceptServer
        super().run()

    def handle_request(self, listener_name: Any, req: Any, sock: Any, addr: Any) -> None:
        """Serve one request, then let every other connection take its turn before the next.

        A keep-alive client that sends its next request at once finds it already buffered,
        so the greenlet would read and serve it without ever blocking, and with CPU-bound
        pages one connection kept the worker while the others waited: measured with
        ``wrk -c4`` on a 13 ms page, p50 16 ms but p90 809 ms and p99 1.6 s. A timer of any
        positive length resumes this greenlet only after the loop's next poll for I/O
        (``gevent.sleep(0)`` may not), so the waiting connections are served in turn.
        """
        super().handle_request(listener_name, req, sock, addr)  # raises StopIteration when the connection closes
        gevent.sleep(TURN_S)


def _freeze_heap(_server: Any, _worker: Any) -> None:
    """gunicorn ``pre_fork``: move the master's objects out of the collector's sight.

    The master (the ``kiosk`` command) has the whole application imported. After a fork,
    memory stays shared with it until a page is written, and the cycle collector writes to
    every object it scans; frozen objects are never scanned, so the workers keep those pages
    shared (Python's ``gc.freeze`` recipe). Measured: 285 → 172 MB of proportional set
    size (PSS) for master and two workers at rest.
    """
    gc.freeze()


class KioskServer(BaseApplication):
    """gunicorn embedded in the ``kiosk`` command, so no separate config file is needed."""

    def __init__(self, app_factory: Callable[[], Any], options: dict[str, Any]) -> None:
        self.app_factory = app_factory
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        """Apply our options to gunicorn's settings."""
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def run(self) -> None:
        """Serve until stopped, with room for a descriptor per listener (and per open file)."""
        raise_open_file_limit()
        super().run()

    def load(self) -> Any:
        """Build the WSGI application in each worker (after the fork)."""
        return self.app_factory()


def raise_open_file_limit() -> int:
    """Lift the soft RLIMIT_NOFILE to the hard limit; return the new soft limit.

    Each streaming listener holds a socket and, while its range is sent, the audio file:
    a thousand phones need some 2,000 descriptors, and the usual soft limit is 1,024.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def default_workers() -> int:
    """One gevent worker per two cores: the other core is for the kernel's sendfile and ffmpeg.

    Measured on 2 cores (bench/results.md): one worker served 2,486 64 KB ranges/s, two
    served 2,512; 1,000 listeners started within 0.56 s (p99) either way; but the summed
    RSS was 221 MB with one worker and 316 MB with two.
    """
    return max(1, (os.cpu_count() or 1) // 2)


def address_in_use(host: str, port: int) -> bool:
    """Whether another process already listens on ``host:port`` (checked the way gunicorn will bind)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gunicorn does
        try:
            probe.bind((host, port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                return True
            raise
    return False


def server_options(host: str, port: int, workers: int | None = None) -> dict[str, Any]:
    """gunicorn settings for a kiosk: gevent, one worker per two cores, generous connection pool."""
    return {
        "bind": f"{host}:{port}",
        "workers": workers or default_workers(),
        "worker_class": "kiosk.web.server.KioskWorker",
        "worker_connections": 2000,
        "keepalive": 15,
        "timeout": 60,
        "graceful_timeout": 10,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "info",
        # NB: no "sendfile" key: gunicorn reads *any* value of that setting as "disabled".
        "forwarded_allow_ips": "127.0.0.1,::1",
        "pre_fork": _freeze_heap,
    }
