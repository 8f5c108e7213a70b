"""Settings read from ``KIOSK_*`` environment variables, with documented defaults.

The embedded defaults (SQLite and files under ``./media``) serve one library;
PostgreSQL, Redis and a front nginx serve many, through these variables alone.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SECRET_KEY_FILE = "secret_key"  # noqa: S105 - a file name, not a secret


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
            "SQLALCHEMY_ENGINE_OPTIONS": engine_options(self.database_url),
            "SESSION_COOKIE_HTTPONLY": True,
            "SESSION_COOKIE_SAMESITE": "Lax",
            "SESSION_COOKIE_SECURE": secure,
            "BABEL_DEFAULT_LOCALE": "zh",
            "BABEL_DEFAULT_TIMEZONE": "Asia/Shanghai",
            "MAX_FORM_MEMORY_SIZE": 1024 * 1024,
            **self.extra,
        }


def engine_options(database_url: str) -> dict[str, Any]:
    """Engine options suited to the database behind ``database_url``."""
    if database_url.startswith("sqlite"):
        # One connection per thread/greenlet; WAL mode is set on connect (extensions.py).
        return {"connect_args": {"check_same_thread": False, "timeout": 15}}
    return {"pool_pre_ping": True, "pool_size": 10, "max_overflow": 20}


def load_secret_key(data_dir: Path) -> str:
    """Read the key kept in the data dir, creating it once (mode 0600) if absent."""
    key_path = data_dir / SECRET_KEY_FILE
    if key_path.exists():
        return key_path.read_text().strip()
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


def from_environment(env: dict[str, str] | None = None) -> Settings:
    """Build settings from ``env`` (the process environment by default)."""
    env = dict(os.environ if env is None else env)
    data_dir = Path(env.get("KIOSK_DATA_DIR", "media")).resolve()
    database_url = env.get("KIOSK_DATABASE_URL") or f"sqlite:///{data_dir / 'kiosk.sqlite3'}"
    base_url = (env.get("KIOSK_BASE_URL") or "").rstrip("/") or None
    return Settings(
        data_dir=data_dir,
        database_url=database_url,
        secret_key=env.get("KIOSK_SECRET_KEY") or load_secret_key(data_dir),
        base_url=base_url,
        redis_url=env.get("KIOSK_REDIS_URL") or None,
        loudness_target_lufs=float(env.get("KIOSK_LOUDNESS_TARGET", "-18")),
        accel_redirect_prefix=env.get("KIOSK_ACCEL_REDIRECT") or None,
        extra={
            "KIOSK_TAKE_LEASE_S": float(env.get("KIOSK_TAKE_LEASE_S", "60")),
            "KIOSK_BOOTH_LICENCE": env.get("KIOSK_BOOTH_LICENCE", "CC BY 4.0"),
        },
    )
