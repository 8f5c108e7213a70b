"""Load tool: N phones streaming one chapter at 16 KB/s each, from 127.0.0.1 only, for a bounded time.

Each listener opens a fresh connection, asks for ``Range: bytes=N-`` at a random offset
(a phone resuming a chapter), notes the time to the first audio byte, then reads at
``--rate`` bytes per second (128 kbit/s is 16 KB/s) until ``--hold`` seconds after the
start, and closes. A small receive buffer keeps the kernel from swallowing the chapter
at once, so the server really holds a thousand slow connections. Prints one JSON object.

    python bench/slow_listeners.py --port 8000 --path /media/audio/ab/....mp3 --size 31457280

Every listener stops by itself at ``--hold`` seconds; the whole run is cut at
``--hold + --start-timeout + 10`` seconds whatever happens.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import resource
import socket
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass, field

LOOPBACK = "127.0.0.1"
RECEIVE_BUFFER_BYTES = 64 * 1024
READ_TICK_S = 0.5
HEAD_LIMIT_BYTES = 16 * 1024


@dataclass
class Outcome:
    """What one listener saw."""

    first_byte_s: float | None = None  # from this listener's own connect
    started_at_s: float | None = None  # first byte, from the start of the run
    body_bytes: int = 0
    failure: str | None = None


@dataclass
class Plan:
    """The run's parameters."""

    port: int
    path: str
    size: int
    listeners: int
    hold_s: float
    rate_bytes_per_s: int
    start_timeout_s: float
    seed: int = 1
    outcomes: list[Outcome] = field(default_factory=list)


def raise_open_file_limit() -> int:
    """Lift this process's soft RLIMIT_NOFILE to its hard limit (a listener is a descriptor)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


async def _connect(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A loopback connection with a small receive buffer (a slow phone's share of the network)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER_BYTES)
    sock.setblocking(False)
    try:
        await asyncio.get_running_loop().sock_connect(sock, (LOOPBACK, port))
    except OSError:
        sock.close()
        raise
    return await asyncio.open_connection(sock=sock, limit=HEAD_LIMIT_BYTES)


def _status_of(head: bytes) -> int:
    """The status code of a response head."""
    parts = head.split(b"\r\n", 1)[0].split()
    return int(parts[1]) if len(parts) >= 2 and parts[1].isdigit() else 0


async def _read_paced(reader: asyncio.StreamReader, outcome: Outcome, plan: Plan, until: float) -> None:
    """Read at the plan's rate until ``until`` (loop time) or the end of the body."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    async with asyncio.timeout_at(until + 5):  # a stalled server fails the listener, never the run
        while loop.time() < until:
            allowed = int(plan.rate_bytes_per_s * (loop.time() - started + READ_TICK_S)) - outcome.body_bytes
            if allowed <= 0:
                await asyncio.sleep(READ_TICK_S)
                continue
            chunk = await reader.read(allowed)
            if not chunk:
                return  # the server ended the body (the range reached the end of the file)
            outcome.body_bytes += len(chunk)


async def listen(plan: Plan, first: int, started: float) -> Outcome:
    """One phone: connect, ask for ``bytes=first-``, time the first byte, read slowly, close."""
    loop = asyncio.get_running_loop()
    outcome = Outcome()
    writer: asyncio.StreamWriter | None = None
    connecting = loop.time()
    try:
        async with asyncio.timeout_at(connecting + plan.start_timeout_s):
            reader, writer = await _connect(plan.port)
            request = f"GET {plan.path} HTTP/1.1\r\nHost: {LOOPBACK}:{plan.port}\r\nRange: bytes={first}-\r\n\r\n"
            writer.write(request.encode("ascii"))
            head = await reader.readuntil(b"\r\n\r\n")
            if _status_of(head) != 206:
                outcome.failure = f"status {_status_of(head)}"
                return outcome
            byte = await reader.readexactly(1)
        outcome.first_byte_s = loop.time() - connecting
        outcome.started_at_s = loop.time() - started
        outcome.body_bytes = len(byte)
        await _read_paced(reader, outcome, plan, started + plan.hold_s)
    except TimeoutError:
        outcome.failure = "timeout" if outcome.first_byte_s is None else "stalled"
    except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as error:
        outcome.failure = type(error).__name__
    finally:
        if writer is not None:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
    return outcome


async def run(plan: Plan) -> dict[str, object]:
    """All listeners at once; the summary of what they saw."""
    rng = random.Random(plan.seed)
    loop = asyncio.get_running_loop()
    started = loop.time()
    cpu_before = time.process_time()
    firsts = [rng.randrange(0, plan.size // 2) for _ in range(plan.listeners)]
    tasks = [asyncio.create_task(listen(plan, first, started)) for first in firsts]
    deadline = plan.hold_s + plan.start_timeout_s + 10
    done, pending = await asyncio.wait(tasks, timeout=deadline)
    for task in pending:
        task.cancel()
    outcomes = [task.result() for task in done]
    outcomes += [Outcome(failure="cut at deadline") for _ in pending]
    return summarise(plan, outcomes, loop.time() - started, time.process_time() - cpu_before)


def _percentile(samples: list[float], fraction: float) -> float | None:
    """The nearest-rank percentile of ``samples``, or None."""
    if not samples:
        return None
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def summarise(plan: Plan, outcomes: list[Outcome], wall_s: float, cpu_s: float) -> dict[str, object]:
    """Counts, first-byte percentiles and the rate each listener kept."""
    firsts = [o.first_byte_s for o in outcomes if o.first_byte_s is not None]
    all_started = [o.started_at_s for o in outcomes if o.started_at_s is not None]
    failures = Counter(o.failure for o in outcomes if o.failure)
    received = [o.body_bytes for o in outcomes if o.failure is None]
    return {
        "listeners": plan.listeners,
        "started": len(firsts),
        "failed": sum(failures.values()),
        "failures": dict(failures),
        "first_byte_p50_s": _percentile(firsts, 0.50),
        "first_byte_p99_s": _percentile(firsts, 0.99),
        "first_byte_max_s": max(firsts) if firsts else None,
        "all_started_s": max(all_started) if all_started else None,
        "mean_rate_bytes_per_s": statistics.mean(received) / plan.hold_s if received else 0.0,
        "hold_s": plan.hold_s,
        "wall_s": wall_s,
        "tool_cpu_s": cpu_s,
    }


def parse_args(argv: list[str]) -> Plan:
    """The plan from the command line."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, required=True, help="server port on 127.0.0.1")
    parser.add_argument("--path", required=True, help="URL path of the audio file")
    parser.add_argument("--size", type=int, required=True, help="the file's size in bytes")
    parser.add_argument("--listeners", type=int, default=1000)
    parser.add_argument("--hold", type=float, default=30.0, help="seconds each listener listens")
    parser.add_argument("--rate", type=int, default=16 * 1024, help="bytes per second each listener reads")
    parser.add_argument("--start-timeout", type=float, default=15.0, help="seconds to get the first byte")
    args = parser.parse_args(argv)
    return Plan(args.port, args.path, args.size, args.listeners, args.hold, args.rate, args.start_timeout)


def main(argv: list[str]) -> None:
    """Run the plan and print its summary as JSON."""
    plan = parse_args(argv)
    limit = raise_open_file_limit()
    if limit < plan.listeners + 64:
        sys.exit(f"RLIMIT_NOFILE is {limit}: too low for {plan.listeners} listeners")
    summary = asyncio.run(run(plan))
    print(json.dumps(summary))


if __name__ == "__main__":
    main(sys.argv[1:])
