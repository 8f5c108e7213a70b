"""Shared helpers of the benchmarks: the machine, servers on loopback, wrk, and bench/results.md.

Every server a benchmark starts listens on 127.0.0.1 only, runs in its own process
group, and is stopped (SIGTERM, then SIGKILL) when its ``with`` block ends, on an
error or on Ctrl+C alike. The load tool (wrk) is only ever pointed at 127.0.0.1.

Run as a script, this module is the floor baseline when nginx is missing: a tiny
range-capable static file server on Python's ``http.server``::

    python bench/common.py serve-directory DIR PORT
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import http.server
import importlib.metadata
import os
import platform
import pwd
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
RESULTS_PATH = BENCH_DIR / "results.md"
RESULTS_TITLE = "# Benchmark results"
LOOPBACK = "127.0.0.1"
NGINX = "/usr/sbin/nginx"
CLOCK_TICKS_PER_S = os.sysconf("SC_CLK_TCK")
PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")
VERSIONED_PACKAGES = ("gunicorn", "gevent", "Flask", "Werkzeug", "SQLAlchemy")


# --- the machine -------------------------------------------------------------------------


def _cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (or the platform's guess)."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _memory_gib() -> float:
    """Total RAM in GiB."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024 / 1024
    return 0.0


def _tool_version(argv: Sequence[str]) -> str:
    """The first line a tool prints about its version, or "missing"."""
    if shutil.which(argv[0]) is None:
        return "missing"
    done = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
    text = (done.stdout + done.stderr).strip().splitlines()
    return text[0] if text else "unknown"


def _package_versions() -> str:
    """Versions of the Python packages on the serving path."""
    found = []
    for name in VERSIONED_PACKAGES:
        try:
            found.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            found.append(f"{name} missing")
    return ", ".join(found)


def machine_description() -> dict[str, str]:
    """What a reader needs to compare figures: CPU, cores, RAM, kernel, Python, versions, load."""
    load_1m, load_5m, _ = os.getloadavg()
    return {
        "CPU": _cpu_model(),
        "Cores": str(os.cpu_count() or 1),
        "RAM": f"{_memory_gib():.1f} GiB",
        "Kernel": f"{platform.system()} {platform.release()}",
        "Python": platform.python_version(),
        "Packages": _package_versions(),
        "nginx": _tool_version([NGINX, "-v"]).replace("nginx version: ", ""),
        "wrk": " ".join(_tool_version(["wrk", "-v"]).split()[:2]),
        "Load average at start": f"{load_1m:.2f} (1 min), {load_5m:.2f} (5 min)",
    }


def machine_markdown(machine: dict[str, str]) -> str:
    """The machine description as a markdown bullet list."""
    return "\n".join(f"- **{name}**: {value}" for name, value in machine.items())


# --- servers on loopback -------------------------------------------------------------------


def free_port() -> int:
    """A TCP port that is free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


class ServerProcess:
    """A server command in its own process group, stopped with its children on exit."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        env: dict[str, str] | None = None,
        log_path: Path,
        cwd: Path | None = None,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.env = env
        self.log_path = log_path
        self.cwd = cwd
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> ServerProcess:
        """Start the command; its output goes to ``log_path``."""
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                self.argv,
                env=self.env,
                cwd=self.cwd,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        return self

    def __exit__(self, *_: object) -> None:
        """Stop the whole process group: SIGTERM, then SIGKILL after a grace period."""
        self.stop()

    @property
    def pid(self) -> int:
        """The process id of the server (also its process group id)."""
        assert self.process is not None, "server not started"
        return self.process.pid

    def alive(self) -> bool:
        """Whether the server's main process is still running."""
        return self.process is not None and self.process.poll() is None

    def stop(self, grace_s: float = 8.0) -> None:
        """Terminate the process group and reap the main process."""
        if self.process is None:
            return
        _signal_group(self.process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=grace_s)
        _signal_group(self.process.pid, signal.SIGKILL)  # stragglers (workers) too
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=grace_s)

    def log_tail(self, lines: int = 20) -> str:
        """The last lines the server printed, for error messages."""
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""


def _signal_group(pgid: int, signum: signal.Signals) -> None:
    """Send ``signum`` to a process group that may already be gone."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


def wait_until(predicate: Callable[[], object], timeout_s: float, what: str, *, interval_s: float = 0.1,
               details: Callable[[], str] | None = None) -> None:
    """Call ``predicate`` until it returns something truthy; past ``timeout_s``, raise naming ``what``.

    The benchmarks' counterpart of ``tests/helpers.py``'s (which fails a test instead of raising).
    """
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() >= deadline:
            extra = f":\n{details()}" if details is not None else ""
            raise TimeoutError(f"timed out after {timeout_s:g} s waiting for {what}{extra}")
        time.sleep(interval_s)


def _answers_2xx(port: int, path: str) -> bool:
    """Whether ``GET path`` on 127.0.0.1:port answers 2xx right now."""
    with contextlib.suppress(OSError, http.client.HTTPException):
        connection = http.client.HTTPConnection(LOOPBACK, port, timeout=2)
        try:
            connection.request("GET", path)
            return 200 <= connection.getresponse().status < 300
        finally:
            connection.close()
    return False


def wait_for_http(server: ServerProcess, port: int, path: str, timeout_s: float = 60.0) -> None:
    """Block until ``GET path`` on 127.0.0.1:port answers 2xx; raise if the server dies first."""

    def ready() -> bool:
        if not server.alive():
            raise RuntimeError(f"{server.name} exited during start-up:\n{server.log_tail()}")
        return _answers_2xx(port, path)

    wait_until(ready, timeout_s, f"{server.name} to answer GET {path} on port {port}", details=server.log_tail)


def _process_group_members(pgid: int) -> list[int]:
    """The pids whose process group is ``pgid`` (the server and its workers)."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat_fields(int(entry.name))
        if fields and int(fields[2]) == pgid:
            members.append(int(entry.name))
    return members


def _stat_fields(pid: int) -> list[str] | None:
    """Fields of /proc/<pid>/stat after the command name (state is index 0)."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw.rsplit(")", 1)[1].split()


def group_cpu_s(pgid: int) -> float:
    """CPU seconds (user + system) used so far by the live processes of a group."""
    total_ticks = 0
    for pid in _process_group_members(pgid):
        fields = _stat_fields(pid)
        if fields:
            total_ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return total_ticks / CLOCK_TICKS_PER_S


def machine_busy_s() -> float:
    """CPU seconds all cores have spent busy since boot (user, nice, system, irq, steal)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS_PER_S


def wait_for_quiet(max_wait_s: float, threshold_cores: float = 0.3) -> float:
    """Wait (at most ``max_wait_s``) for a second in which the machine keeps < threshold busy.

    Returns the cores kept busy in the last second sampled, so the caller can report
    whether the run had the machine to itself. A machine still busy at the deadline does not
    stop the benchmark (its figures are then low and noisy), but it is said on stderr.
    """
    deadline = time.monotonic() + max_wait_s
    while True:
        before, started = machine_busy_s(), time.monotonic()
        time.sleep(1.0)
        busy_cores = (machine_busy_s() - before) / (time.monotonic() - started)
        if busy_cores < threshold_cores:
            return busy_cores
        if time.monotonic() >= deadline:
            print(f"warning: the machine still kept {busy_cores:.2f} cores busy after waiting {max_wait_s:g} s "
                  f"for it to go quiet (< {threshold_cores:g}): figures will be low and noisy", file=sys.stderr)
            return busy_cores


def children_cpu_s() -> float:
    """CPU seconds used by this process's finished children (wrk runs, for instance)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def group_rss_mib(pgid: int) -> float:
    """Resident memory of all processes of a group, in MiB."""
    total_pages = 0
    for pid in _process_group_members(pgid):
        with contextlib.suppress(OSError, IndexError, ValueError):
            total_pages += int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    return total_pages * PAGE_BYTES / 1024 / 1024


# --- nginx and the Python floor --------------------------------------------------------------


NGINX_CONF = """\
daemon off;
master_process on;
worker_processes auto;
{user}pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush off;  # "on" stalls short sendfile ranges on a delayed ACK: 1.6k vs 29k req/s
    keepalive_requests 1000000;
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    types {{ audio/mpeg mp3; audio/mp4 m4a; image/jpeg jpg; }}
    default_type application/octet-stream;
    server {{
        listen {host}:{port};
        root {root};
        location / {{ }}
    }}
}}
"""


def nginx_available() -> bool:
    """Whether Debian's nginx binary is installed."""
    return os.access(NGINX, os.X_OK)


def nginx_server(root: Path, port: int, workdir: Path) -> ServerProcess:
    """nginx in the foreground serving ``root`` on 127.0.0.1:port, all its paths in ``workdir``."""
    workdir.mkdir(parents=True, exist_ok=True)
    # As root, nginx would hand requests to "nobody", who cannot read a private temp dir.
    user = f"user {pwd.getpwuid(os.geteuid()).pw_name};\n" if os.geteuid() == 0 else ""
    conf = workdir / "nginx.conf"
    conf.write_text(NGINX_CONF.format(user=user, prefix=workdir, host=LOOPBACK, port=port, root=root))
    argv = [NGINX, "-p", str(workdir), "-c", str(conf), "-e", str(workdir / "error.log")]
    return ServerProcess("nginx", argv, log_path=workdir / "stdout.log")


def python_file_server(root: Path, port: int, workdir: Path) -> ServerProcess:
    """The floor baseline: this module's range-capable ``http.server`` on 127.0.0.1:port."""
    workdir.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, str(Path(__file__).resolve()), "serve-directory", str(root), str(port)]
    return ServerProcess("python http.server", argv, log_path=workdir / "python-server.log")


class _RangeHandler(http.server.SimpleHTTPRequestHandler):
    """``SimpleHTTPRequestHandler`` plus single ``bytes=N-M`` ranges, HTTP/1.1 keep-alive."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        """Keep the benchmark quiet."""

    def send_head(self):  # type: ignore[no-untyped-def]
        """Answer 206 for a satisfiable single range, else the base class's 200."""
        match = re.fullmatch(r"bytes=(\d+)-(\d*)", self.headers.get("Range", ""))
        path = self.translate_path(self.path)
        if match is None or not os.path.isfile(path):
            return super().send_head()
        handle = open(path, "rb")  # noqa: SIM115 - closed by copyfile's caller
        size = os.fstat(handle.fileno()).st_size
        first = int(match.group(1))
        last = min(int(match.group(2) or size - 1), size - 1)
        if first > last:
            handle.close()
            self.send_error(416)
            return None
        handle.seek(first)
        self.send_response(206)
        self.send_header("Content-Type", self.guess_type(path))
        self.send_header("Content-Range", f"bytes {first}-{last}/{size}")
        self.send_header("Content-Length", str(last - first + 1))
        self.end_headers()
        self._remaining = last - first + 1
        return handle

    def copyfile(self, source, outputfile) -> None:  # type: ignore[no-untyped-def]
        """Copy only the range's bytes when a range was selected."""
        remaining = getattr(self, "_remaining", None)
        if remaining is None:
            super().copyfile(source, outputfile)
            return
        while remaining > 0:
            chunk = source.read(min(64 * 1024, remaining))
            if not chunk:
                break
            outputfile.write(chunk)
            remaining -= len(chunk)
        self._remaining = None


def serve_directory(root: Path, port: int) -> None:
    """Serve ``root`` on 127.0.0.1:port until killed (threads, one per connection)."""
    handler = lambda *args: _RangeHandler(*args, directory=str(root))  # noqa: E731
    http.server.ThreadingHTTPServer.daemon_threads = True
    with http.server.ThreadingHTTPServer((LOOPBACK, port), handler) as server:
        server.serve_forever()


# --- wrk -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class WrkResult:
    """What one wrk run measured."""

    requests: int
    requests_per_s: float
    transfer_bytes_per_s: float
    latency_p50_ms: float
    latency_p99_ms: float
    socket_errors: int
    non_2xx_3xx: int

    @property
    def errors(self) -> int:
        """Failed requests of any kind."""
        return self.socket_errors + self.non_2xx_3xx


_UNITS = {"": 1.0, "k": 1e3, "m": 1e6, "g": 1e9}
_BYTE_UNITS = {"B": 1.0, "KB": 1024.0, "MB": 1024.0**2, "GB": 1024.0**3, "TB": 1024.0**4}
_TIME_UNITS_MS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60000.0, "h": 3600000.0}


def _time_ms(text: str) -> float:
    """wrk's "1.23ms" / "850.00us" / "2.01s" as milliseconds."""
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text)
    if match is None:
        raise ValueError(f"not a wrk duration: {text!r}")
    return float(match.group(1)) * _TIME_UNITS_MS[match.group(2)]


def parse_wrk(output: str) -> WrkResult:
    """Parse wrk's text report (run with ``--latency`` for percentiles)."""
    requests = re.search(r"(\d+) requests in", output)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    transfer = re.search(r"Transfer/sec:\s+([\d.]+)([KMGT]?B)", output)
    if requests is None or rate is None or transfer is None:
        raise ValueError(f"unexpected wrk output:\n{output}")
    percentiles = dict(re.findall(r"^\s+(\d+)%\s+(\S+)\s*$", output, re.MULTILINE))
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return WrkResult(
        requests=int(requests.group(1)),
        requests_per_s=float(rate.group(1)),
        transfer_bytes_per_s=float(transfer.group(1)) * _BYTE_UNITS[transfer.group(2)],
        latency_p50_ms=_time_ms(percentiles["50"]) if "50" in percentiles else float("nan"),
        latency_p99_ms=_time_ms(percentiles["99"]) if "99" in percentiles else float("nan"),
        socket_errors=sum(int(n) for n in socket.groups()) if socket else 0,
        non_2xx_3xx=int(non_2xx.group(1)) if non_2xx else 0,
    )


def run_wrk(
    url: str,
    *,
    threads: int,
    connections: int,
    duration_s: int,
    script: Path | None = None,
    timeout_s: int = 10,
) -> WrkResult:
    """Run wrk against a loopback URL (refuses any other host) and parse its report."""
    if not url.startswith(f"http://{LOOPBACK}:"):
        raise ValueError(f"the load tool only targets {LOOPBACK}: {url}")
    argv = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{duration_s}s",
        f"--timeout={timeout_s}s",
        "--latency",
    ]
    if script is not None:
        argv += ["-s", str(script)]
    done = subprocess.run([*argv, url], capture_output=True, text=True, timeout=duration_s + 60, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return parse_wrk(done.stdout)


# --- results.md ----------------------------------------------------------------------------


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A GitHub markdown table; numbers right-aligned."""
    align = ["---:" if rows and isinstance(rows[0][i], int | float) else "---" for i in range(len(headers))]
    lines = ["| " + " | ".join(headers) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(_cell(value) for value in row) + " |" for row in rows]
    return "\n".join(lines)


def _cell(value: object) -> str:
    """A table cell: thousands separators for big numbers, two decimals for small ones."""
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def today() -> str:
    """The local date and time of the run."""
    return datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")


def write_section(heading: str, body: str, path: Path = RESULTS_PATH) -> None:
    """Put ``## heading`` + ``body`` in results.md, replacing only that section if present."""
    text = path.read_text(encoding="utf-8") if path.exists() else RESULTS_TITLE + "\n"
    sections = re.split(r"(?m)^(?=## )", text)
    block = f"## {heading}\n\n{body.strip()}\n\n"
    replaced = False
    for index, section in enumerate(sections):
        if section.startswith(f"## {heading}\n"):
            sections[index] = block
            replaced = True
    if not replaced:
        if not sections[-1].endswith("\n\n"):
            sections[-1] = sections[-1].rstrip("\n") + "\n\n"
        sections.append(block)
    path.write_text("".join(sections).rstrip("\n") + "\n", encoding="utf-8")


@contextlib.contextmanager
def interrupt_as_exit() -> Iterator[None]:
    """Turn SIGTERM into KeyboardInterrupt, so ``finally`` blocks stop the servers."""

    def _raise(*_: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, _raise)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "serve-directory":
        serve_directory(Path(sys.argv[2]), int(sys.argv[3]))
    else:
        sys.exit(f"usage: {sys.argv[0]} serve-directory DIR PORT")


# --- deploy/nginx.conf on loopback ------------------------------------------------------------

DEPLOY_NGINX_CONF = REPO_DIR / "deploy" / "nginx.conf"


def render_deploy_nginx(data_dir: Path, app_port: int, port: int, workdir: Path, *, access_log: bool = False) -> Path:
    """deploy/nginx.conf with its machine paths swapped for ``workdir``'s, listening on 127.0.0.1:port.

    Every swapped line must be found exactly once: a configuration that drifted from what
    the tests and benchmarks exercise fails loudly here.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    user = f"user {pwd.getpwuid(os.geteuid()).pw_name};" if os.geteuid() == 0 else ""
    temp_paths = "".join(
        f"    {name}_temp_path {workdir}/{name};\n" for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    log_line = f"access_log {workdir}/access.log;" if access_log else "access_log off;"
    swaps = {
        "user www-data;": user,
        "pid /run/nginx.pid;": f"pid {workdir}/nginx.pid;",
        "error_log /var/log/nginx/error.log warn;": f"error_log {workdir}/error.log warn;",
        "access_log /var/log/nginx/access.log;": log_line,
        "listen 80;\n        listen [::]:80;": f"listen {LOOPBACK}:{port};",
        "server 127.0.0.1:8000;": f"server {LOOPBACK}:{app_port};",
        "root /srv/kiosk/media;": f"root {Path(data_dir).resolve()};",
        "http {\n": "http {\n" + temp_paths,
    }
    text = DEPLOY_NGINX_CONF.read_text(encoding="utf-8")
    for old, new in swaps.items():
        if text.count(old) != 1:
            raise ValueError(f"deploy/nginx.conf: expected {old!r} exactly once")
        text = text.replace(old, new)
    conf = workdir / "nginx.conf"
    conf.write_text(text, encoding="utf-8")
    return conf


def nginx_with_conf(conf: Path, workdir: Path) -> ServerProcess:
    """nginx in the foreground with a rendered configuration (see ``render_deploy_nginx``)."""
    argv = [NGINX, "-p", str(workdir), "-c", str(conf), "-e", str(workdir / "error.log"), "-g", "daemon off;"]
    return ServerProcess("nginx (deploy/nginx.conf)", argv, log_path=workdir / "stdout.log")


def run_and_record(
    name: str, heading: str, args: argparse.Namespace, run: Callable[[argparse.Namespace, Path], str]
) -> None:
    """Run a benchmark in a fresh temporary directory, print its section and record it in results.md.

    Servers, the load tool and the temporary files never outlive it, also on Ctrl+C or SIGTERM.
    """
    workdir = Path(tempfile.mkdtemp(prefix=f"kiosk-bench-{name}-"))
    try:
        with interrupt_as_exit():
            section = run(args, workdir)
        print("\n" + section)
        if not args.no_write:
            write_section(heading, section)
            print(f"written to {RESULTS_PATH}")
    except KeyboardInterrupt:
        sys.exit("interrupted: servers stopped")
    finally:
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
