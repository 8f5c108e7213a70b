"""A WSGI app that records the order in which it serves requests (tests/test_server.py)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

CPU_PER_REQUEST_S = 0.002  # a busy loop, not a sleep: the gevent worker patches time.sleep to yield
served: list[str] = []


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """``/order`` answers the served order so far; anything else is recorded by its query string."""
    if environ["PATH_INFO"] == "/order":
        body = " ".join(served).encode()
    else:
        served.append(environ["QUERY_STRING"])
        deadline = time.perf_counter() + CPU_PER_REQUEST_S
        while time.perf_counter() < deadline:
            pass
        body = b"ok"
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
