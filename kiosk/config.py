"""Settings read from ``KIOSK_*`` environment variables, with documented defaults.

The embedded defaults (SQLite and files under ``./media``) serve one library;
PostgreSQL, Redis and a front nginx serve many, through these variables alone.
"""

from __future__ import annotations

import os
import secrets
import sys
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

DEFAULT_DATA_DIR = "media"
SECRET_KEY_FILE = "secret_key"  # noqa: S105 - a file name, not a secret
SQLITE_FILE = "kiosk.sqlite3"
LIBRARY_MARKERS = (SECRET_KEY_FILE, SQLITE_FILE, "audio", "public")  # what only a library's data dir holds
SQLITE_BUSY_TIMEOUT_S = 15.0
SQLITE_COOPERATIVE_BUSY_TIMEOUT_S = 0.05


# Settings with a default that operators rarely change: name → (default, how to read the variable).
TUNABLES: dict[str, tuple[Any, Callable[[str], Any]]] = {
    "KIOSK_BOOTH_LICENCE": ("CC BY 4.0", str),  # what a volunteer agrees to at the booth
    "KIOSK_BOOTH_IDLE_S": (120, int),  # an untouched booth screen is cleared for the next volunteer after this
    "KIOSK_TAKE_LEASE_S": (60.0, float),  # a worker's claim on a job, renewed by its heartbeat
    "KIOSK_LOGIN_CLIENT_LIMIT": ("20 per 15 minutes", str),  # failed logins from one address
    "KIOSK_LOGIN_ACCOUNT_LIMIT": ("5 per 15 minutes", str),  # failed logins for one username from one address
    "KIOSK_LOGIN_DELAY_MAX_S": (5.0, float),  # the longest a failed login for a guessed account waits
    "KIOSK_TRUSTED_PROXIES": (0, int),  # proxies in front (1 behind deploy/nginx.conf) whose X-Forwarded-For counts
    "KIOSK_SESSION_LIFETIME_S": (12 * 3600, int),  # a console sign-in lasts a working day
    "KIOSK_BEACON_LIMIT": ("300 per minute", str),  # play reports from one address
    "KIOSK_CJK_FONT": (None, str),  # a font file for the printed wall, if not the system's or ours
    "KIOSK_UPLOAD_MAX_BYTES": (1024 ** 3, int),  # one take or chapter: 1 GiB holds 90 min of 48 kHz 16-bit stereo WAV
    "KIOSK_IMPORT_MAX_BYTES": (2 * 1024 * 1024 * 1024, int),  # one console import of many files
    "KIOSK_UPLOAD_IDLE_S": (10.0, float),  # an upload that sends nothing this long is dropped
    "KIOSK_UPLOADS_PER_ADDRESS": (3, int),  # uploads in flight from one address
    "KIOSK_UPLOADS_IN_FLIGHT": (100, int),  # uploads in flight in one worker: the rest is for visitors
    "KIOSK_TAKES_PER_ADDRESS": ("30 per hour", str),  # accepted booth takes from one address
    "KIOSK_TAKES_PER_BOOTH": ("20 per hour", str),  # accepted takes from one booth screen (a reading takes minutes)
    "KIOSK_PENDING_TAKES_MAX": (300, int),  # takes waiting for a librarian before the booth pauses
    "KIOSK_MIN_FREE_BYTES": (512 * 1024 * 1024, int),  # uploads are refused (and /healthz warns) below this
    "KIOSK_ALLOWED_HOSTS": ("", str),  # more host names visitors use, comma-separated, beside KIOSK_BASE_URL's
    "KIOSK_SQLITE_BUSY_TIMEOUT_S": (None, float),  # how long a write waits for another (see engine_options)
    "KIOSK_LIBRARY_NAME": ("有声图书馆", str),  # the library's name on podcast feeds and share posters
    "KIOSK_FEED_LICENCE": ("CC BY 4.0", str),  # the licence podcast feeds state (podcast:license)
    "KIOSK_WECHAT_APPID": ("", str),  # a verified WeChat official account's AppID: WeChat share cards (optional)
    "KIOSK_WECHAT_SECRET": ("", str),  # its AppSecret, used on the server only to fetch the jsapi_ticket
}


@dataclass(frozen=True)
class Settings:
    """Everything the application reads from its environment."""

    data_dir: Path
    database_url: str
    secret_key: str
    base_url: str | None
    redis_url: str | None
    loudness_target_lufs: float
    accel_redirect_prefix: str | None
    extra: dict[str, Any] = field(default_factory=dict)

    def flask_config(self) -> dict[str, Any]:
        """The Flask configuration mapping these settings produce."""
        secure = bool(self.base_url and self.base_url.startswith("https://"))
        return {
            "KIOSK_DATA_DIR": self.data_dir,
            "KIOSK_BASE_URL": self.base_url,
            "KIOSK_REDIS_URL": self.redis_url,
            "KIOSK_LOUDNESS_TARGET": self.loudness_target_lufs,
            "KIOSK_ACCEL_REDIRECT": self.accel_redirect_prefix,
            "SECRET_KEY": self.secret_key,
            "SQLALCHEMY_DATABASE_URI": self.database_url,
            "SQLALCHEMY_ENGINE_OPTIONS": engine_options(
                self.database_url, self.extra.get("KIOSK_SQLITE_BUSY_TIMEOUT_S")),
            "SESSION_COOKIE_HTTPONLY": True,
            "SESSION_COOKIE_SAMESITE": "Lax",
            "SESSION_COOKIE_SECURE": secure,
            "BABEL_DEFAULT_LOCALE": "zh",
            "BABEL_DEFAULT_TIMEZONE": "Asia/Shanghai",
            "MAX_FORM_MEMORY_SIZE": 1024 * 1024,
            **self.extra,
        }


def engine_options(database_url: str, sqlite_busy_timeout_s: float | None = None) -> dict[str, Any]:
    """Engine options suited to the database behind ``database_url``.

    SQLite waits for a writer inside C, where gevent cannot switch: under a gevent worker one
    waiting write would freeze every visitor of that worker. There it gives up at once
    (``SQLITE_COOPERATIVE_BUSY_TIMEOUT_S``) and the request answers 503; threads and the
    background worker wait as long as a write may reasonably take.
    """
    if database_url.startswith("sqlite"):
        if sqlite_busy_timeout_s is None:
            sqlite_busy_timeout_s = (SQLITE_COOPERATIVE_BUSY_TIMEOUT_S if under_gevent()
                                     else SQLITE_BUSY_TIMEOUT_S)
        # One connection per thread/greenlet; WAL mode is set on connect (extensions.py).
        return {"connect_args": {"check_same_thread": False, "timeout": sqlite_busy_timeout_s}}
    return {"pool_pre_ping": True, "pool_size": 10, "max_overflow": 20}


LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]")


def trusted_hosts(config: Mapping[str, Any]) -> list[str]:
    """The host names requests may carry: KIOSK_BASE_URL's, KIOSK_ALLOWED_HOSTS, the served address, loopback.

    Take-home links and QR codes are built from the request's host when KIOSK_BASE_URL is
    unset, so a forged ``Host`` header must not be believed.
    """
    hosts = [host.strip().lower() for host in str(config.get("KIOSK_ALLOWED_HOSTS") or "").split(",")]
    base_url = config.get("KIOSK_BASE_URL")
    if base_url:
        hosts.append((urlsplit(str(base_url)).hostname or "").lower())
    served = str(config.get("KIOSK_SERVE_HOST") or "")
    if served and served not in ("0.0.0.0", "::"):  # noqa: S104 - compared, not bound
        hosts.append(f"[{served}]" if ":" in served else served)
    return sorted({host for host in hosts if host} | set(LOOPBACK_HOSTS))


def under_gevent() -> bool:
    """Whether this process's sockets were patched by gevent (a gunicorn gevent worker)."""
    monkey = sys.modules.get("gevent.monkey")
    return bool(monkey is not None and monkey.is_module_patched("socket"))


class DataDirError(Exception):
    """The data dir cannot be used; the message names the folder and the fix."""


def data_dir_from_environment(env: Mapping[str, str] | None = None) -> Path:
    """The data dir ``KIOSK_DATA_DIR`` names (``./media`` by default), as an absolute path."""
    env = os.environ if env is None else env
    return Path(env.get("KIOSK_DATA_DIR") or DEFAULT_DATA_DIR).resolve()


def check_data_dir(data_dir: Path) -> bool:
    """Raise ``DataDirError`` if ``data_dir`` cannot hold a library; return whether it holds none yet."""
    fix = "set KIOSK_DATA_DIR to a folder this user can write"
    if data_dir.exists() and not data_dir.is_dir():
        raise DataDirError(f"the data dir {data_dir} is a file, not a folder: move it away or {fix}.")
    if not data_dir.exists():
        if not data_dir.parent.is_dir():
            raise DataDirError(f"the data dir {data_dir} cannot be made: its parent {data_dir.parent} "
                               f"does not exist. Create it (mkdir -p {data_dir.parent}) or {fix}.")
        if not _writable(data_dir.parent):
            raise DataDirError(f"the data dir {data_dir} cannot be made: {data_dir.parent} is read-only "
                               f"for this user. Create the folder with the right owner or {fix}.")
        return True
    if not _writable(data_dir):
        raise DataDirError(f"the data dir {data_dir} is read-only for this user: "
                           f"give it to the kiosk's user (chown) or {fix}.")
    # A library has its secret key, its SQLite file or stored media; anything else (a README) is not one.
    return not any((data_dir / name).exists() for name in LIBRARY_MARKERS)


def _writable(folder: Path) -> bool:
    """Whether this process can create files in ``folder``, tried for real (root ignores mode bits).

    The probe is an unnamed temporary file, gone the moment it is closed.
    """
    try:
        with tempfile.TemporaryFile(dir=folder):
            return True
    except OSError:
        return False


def read_secret_key(data_dir: Path) -> str | None:
    """The key kept in the data dir, or ``None`` before ``kiosk init`` made one."""
    key_path = data_dir / SECRET_KEY_FILE
    try:
        return key_path.read_text().strip() or None
    except (FileNotFoundError, NotADirectoryError):
        return None


def ensure_secret_key(data_dir: Path) -> str:
    """Read the key kept in the data dir, creating it (and the data dir) once, mode 0600."""
    key = read_secret_key(data_dir)
    if key is not None:
        return key
    key_path = data_dir / SECRET_KEY_FILE
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    tmp_path = key_path.with_suffix(".tmp")
    fd = os.open(tmp_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    try:
        os.link(tmp_path, key_path)  # fails if another process won the race
    except FileExistsError:
        pass
    finally:
        tmp_path.unlink(missing_ok=True)
    return key_path.read_text().strip()


def from_environment(env: Mapping[str, str] | None = None) -> Settings:
    """Build settings from ``env`` (the process environment by default); reads files, writes none.

    Until ``kiosk init`` (or ``serve``) keeps a secret key in the data dir, a process
    signs its sessions with a key of its own, which ends with it.
    """
    env = dict(os.environ if env is None else env)
    data_dir = data_dir_from_environment(env)
    kept_key = env.get("KIOSK_SECRET_KEY") or read_secret_key(data_dir)
    secret_key_is_ephemeral = kept_key is None
    secret_key = kept_key or secrets.token_urlsafe(48)
    database_url = env.get("KIOSK_DATABASE_URL") or f"sqlite:///{data_dir / SQLITE_FILE}"
    base_url = (env.get("KIOSK_BASE_URL") or "").rstrip("/") or None
    return Settings(
        data_dir=data_dir,
        database_url=database_url,
        secret_key=secret_key,
        base_url=base_url,
        redis_url=env.get("KIOSK_REDIS_URL") or None,
        loudness_target_lufs=float(env.get("KIOSK_LOUDNESS_TARGET", "-18")),
        accel_redirect_prefix=env.get("KIOSK_ACCEL_REDIRECT") or None,
        extra={
            **{name: convert(env[name]) if env.get(name) else default
               for name, (default, convert) in TUNABLES.items()},
            # set while this process signs with a key of its own (see ``from_environment``)
            "KIOSK_EPHEMERAL_SECRET_KEY": secret_key if secret_key_is_ephemeral else None,
        },
    )
