"""What every test may share: a free port, waiting on a state, and requiring an outside tool.

A missing tool skips a test on a developer's machine, and fails it in CI (``CI=true``),
where ``.ci/run`` has installed every tool: a skip there would hide a test that never ran.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from typing import TypeVar

import pytest

T = TypeVar("T")

LOOPBACK = "127.0.0.1"
POLL_INTERVAL_S = 0.05


def in_ci() -> bool:
    """Whether the suite runs in CI (``CI=true``, as CI services and ``.ci/run``'s callers set it)."""
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def require_tool(name: str, available: bool, hint: str = "") -> None:
    """Skip the calling test when ``name`` is not ``available``; under CI, fail it instead."""
    if available:
        return
    message = f"{name} is not available" + (f" ({hint})" if hint else "")
    if in_ci():
        pytest.fail(f"{message}: CI=true, and CI installs every tool the tests use", pytrace=False)
    pytest.skip(message)


def free_port() -> int:
    """A TCP port nobody listens on at 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


def wait_until(
    predicate: Callable[[], T],
    timeout_s: float,
    what: str,
    *,
    interval_s: float = POLL_INTERVAL_S,
    details: Callable[[], str] | None = None,
) -> T:
    """Call ``predicate`` until it returns something truthy, and return that.

    Past ``timeout_s`` the test fails with a message naming ``what`` it waited for, the
    last value seen, and ``details()`` (a server's log, say). ``predicate`` may itself fail
    the test early, when what it waits for can no longer happen (the server exited).
    """
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            extra = f"\n{details()}" if details is not None else ""
            pytest.fail(f"timed out after {timeout_s:g} s waiting for {what} (last: {value!r}){extra}", pytrace=False)
        time.sleep(interval_s)


def port_open(port: int, host: str = LOOPBACK) -> bool:
    """Whether something accepts TCP connections on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False
