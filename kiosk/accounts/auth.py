"""Console accounts: argon2 passwords, sign-in with Flask-Login, roles, and the audit log.

Views protect themselves with ``@librarian_required`` (any signed-in, active account) or
``@admin_required`` (admins only; a librarian gets 403). Anonymous visitors are sent to the
login page with a same-site ``next`` address, or get a JSON 401 under ``/api/``.
"""

from __future__ import annotations

import functools
import re
import secrets
import unicodedata
from collections.abc import Callable
from datetime import UTC, timedelta
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import Blueprint, Flask, abort, current_app, has_request_context, redirect, request, session, url_for
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager, current_user, login_user, logout_user
from sqlalchemy import delete, func, select
from werkzeug.wrappers import Response

from kiosk.extensions import db
from kiosk.models import AuditEvent, ConsoleSession, Role, User, utcnow
from kiosk.web.errors import render_error, wants_json

login_manager = LoginManager()
# argon2id with OWASP's baseline (19 MiB, 2 passes, 1 lane): ~25 ms a hash here. The heavier
# RFC 9106 profile (64 MiB, 3 passes, 4 lanes) takes ~0.5 s on a 2-core box, and a gevent worker
# cannot serve audio to anyone while it hashes. Older, costlier hashes are rehashed at login.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)

USERNAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9._-]{1,31}")
PASSWORD_MIN_CHARS = 10
PASSWORD_MAX_CHARS = 128
DISPLAY_NAME_MAX_CHARS = 64

F = TypeVar("F", bound=Callable[..., Any])


class AccountError(ValueError):
    """A refused account operation; ``message`` is for the person, ``field`` names the input."""

    def __init__(self, message: object, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


# ---- passwords and usernames ------------------------------------------------------------


def normalise_username(name: str) -> str:
    """The stored form of a username: NFKC, trimmed, lower case (so lookups ignore case)."""
    return unicodedata.normalize("NFKC", name or "").strip().lower()


def check_username(name: str) -> str:
    """The normalised ``name``, or ``AccountError`` when it is not a valid username."""
    username = normalise_username(name)
    if not USERNAME_PATTERN.fullmatch(username):
        raise AccountError(
            _l("用户名须为 2–32 个字符，只能包含英文字母、数字、点、下划线和连字符。"), "username"
        )
    return username


def check_password(password: str, username: str = "") -> None:
    """Refuse passwords that are too short, too long, or the username itself."""
    if len(password) < PASSWORD_MIN_CHARS:
        raise AccountError(_l("密码至少需要 %(n)d 个字符。", n=PASSWORD_MIN_CHARS), "password")
    if len(password) > PASSWORD_MAX_CHARS:
        raise AccountError(_l("密码不能超过 %(n)d 个字符。", n=PASSWORD_MAX_CHARS), "password")
    if username and password.strip().lower() == username:
        raise AccountError(_l("密码不能与用户名相同。"), "password")


def hash_password(password: str) -> str:
    """An argon2id hash of ``password`` (salted, in PHC string format)."""
    return _hasher.hash(password)


@functools.cache
def _dummy_hash() -> str:
    """A hash to verify against when the username is unknown, so both cases take as long."""
    return _hasher.hash("not-a-real-password")


def _verify(password_hash: str, password: str) -> bool:
    """Whether ``password`` matches ``password_hash``."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# ---- accounts ---------------------------------------------------------------------------


def find_user(username: str) -> User | None:
    """The account called ``username`` (any case), or ``None``."""
    name = normalise_username(username)
    if not name:
        return None
    return db.session.scalars(select(User).where(User.username == name)).one_or_none()


def create_user(
    username: str, password: str, role: Role | str = Role.LIBRARIAN, display_name: str = "",
    *, actor: User | None = None, via: str = "web",
) -> User:
    """Add an account (flushed, not committed) and audit it; ``AccountError`` when refused."""
    name = check_username(username)
    check_password(password, name)
    if find_user(name) is not None:
        raise AccountError(_l("用户名“%(name)s”已被使用。", name=name), "username")
    user = User(
        username=name, display_name=display_name.strip()[:DISPLAY_NAME_MAX_CHARS],
        password_hash=hash_password(password), role=Role(role), active=True,
    )
    db.session.add(user)
    db.session.flush()
    audit("user_created", actor=actor, target=user, role=user.role.value, via=via)
    return user


def authenticate(username: str, password: str) -> User | None:
    """The active account matching both ``username`` and ``password``, else ``None``."""
    user = find_user(username)
    if user is None or not user.active:
        _verify(_dummy_hash(), password)
        return None
    if not _verify(user.password_hash, password):
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def set_password(
    user: User, new_password: str, *, actor: User | None = None, via: str = "web"
) -> None:
    """Give ``user`` a new password (ends their other sessions) and audit who did it."""
    check_password(new_password, user.username)
    user.password_hash = hash_password(new_password)
    audit("password_changed", actor=actor, target=user, via=via)


def change_password(user: User, current_password: str, new_password: str) -> None:
    """``user`` changes their own password, proving they know the current one."""
    if not _verify(user.password_hash, current_password):
        raise AccountError(_l("当前密码不正确。"), "current_password")
    set_password(user, new_password, actor=user)


def _active_admins() -> int:
    """How many active admin accounts exist."""
    query = select(func.count()).select_from(User).where(User.role == Role.ADMIN, User.active)
    return db.session.scalar(query) or 0


def _guard_last_admin(user: User) -> None:
    """Refuse a change that would leave nobody able to manage accounts."""
    if user.is_admin and user.active and _active_admins() <= 1:
        raise AccountError(_l("至少要保留一个启用的管理员账号。"))


def set_role(user: User, role: Role | str, *, actor: User) -> None:
    """Change ``user``'s role (never the last active admin's) and audit it."""
    role = Role(role)
    if role == user.role:
        return
    if role != Role.ADMIN:
        _guard_last_admin(user)
    previous, user.role = user.role, role
    audit("role_changed", actor=actor, target=user, old=previous.value, new=role.value)


def set_active(user: User, active: bool, *, actor: User) -> None:
    """Deactivate or reactivate ``user`` (never oneself, never the last admin) and audit it."""
    if active == user.active:
        return
    if not active:
        if user.id == actor.id:
            raise AccountError(_l("不能停用自己的账号。"))
        _guard_last_admin(user)
    user.active = active
    audit("user_activated" if active else "user_deactivated", actor=actor, target=user)


# ---- the audit log ----------------------------------------------------------------------


def audit(
    action: str, *, actor: User | None = None, target: Any = None,
    target_kind: str | None = None, target_id: object = None, **detail: Any,
) -> AuditEvent:
    """Record that ``actor`` did ``action`` to ``target`` (added to the session; the caller
    commits with its own change, so the record and the change stand or fall together).

    ``target`` may be a model row (its table name and id are used) or be given as
    ``target_kind`` and ``target_id``. The client's address is added when in a request.
    """
    if target is not None:
        target_kind = target_kind or getattr(target, "__tablename__", type(target).__name__)
        target_id = target_id if target_id is not None else getattr(target, "id", None)
    if has_request_context():
        detail.setdefault("ip", request.remote_addr)
    event = AuditEvent(
        action=action, user_id=actor.id if actor is not None else None, target_kind=target_kind,
        target_id=None if target_id is None else str(target_id)[:64], detail=detail or None,
    )
    db.session.add(event)
    return event


# ---- sessions ---------------------------------------------------------------------------


SESSION_ID_KEY = "sid"  # in the signed session cookie: which ConsoleSession row it is


def sign_in(user: User) -> None:
    """Start a fresh console session for ``user``, kept on the server too, and audit it (the caller commits)."""
    session.clear()  # nothing from before the login survives into the signed-in session
    _forget_old_sessions(user)
    session_row = ConsoleSession(id=secrets.token_urlsafe(32), user_id=user.id)
    db.session.add(session_row)
    login_user(user)
    session[SESSION_ID_KEY] = session_row.id
    session.permanent = True  # expires after PERMANENT_SESSION_LIFETIME
    user.last_login_at = utcnow()
    audit("login", actor=user, target=user)


def sign_out() -> None:
    """End the current session here and on the server (a copied cookie dies with it); the caller commits."""
    if current_user.is_authenticated:
        user = cast(User, current_user._get_current_object())
        audit("logout", actor=user, target=user)
    session_row = _current_session_row()
    if session_row is not None and session_row.revoked_at is None:
        session_row.revoked_at = utcnow()
    logout_user()
    session.clear()


def _session_lifetime() -> timedelta:
    return timedelta(seconds=int(current_app.config["KIOSK_SESSION_LIFETIME_S"]))


def _current_session_row() -> ConsoleSession | None:
    session_id = session.get(SESSION_ID_KEY)
    return db.session.get(ConsoleSession, session_id) if isinstance(session_id, str) else None


def _session_is_live(user: User) -> bool:
    """Whether this browser's session row is this account's, not revoked and not past its lifetime."""
    row = _current_session_row()
    if row is None or row.user_id != user.id or row.revoked_at is not None:
        return False
    created = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=UTC)
    return created > utcnow() - _session_lifetime()


def _forget_old_sessions(user: User) -> None:
    """Drop this account's session rows past their lifetime, so the table stays small."""
    db.session.execute(delete(ConsoleSession).where(
        ConsoleSession.user_id == user.id, ConsoleSession.created_at < utcnow() - _session_lifetime()))


def safe_next(target: str | None) -> str | None:
    """``target`` when it is a path on this site, else ``None`` (no open redirects)."""
    if not target or len(target) > 2048 or "\\" in target:
        return None
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


@login_manager.user_loader
def _load_user(identity: str) -> User | None:
    """The account of a session, unless it was deactivated or its password changed since."""
    user_id, _, fingerprint = identity.partition(":")
    if not user_id.isdigit():
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.active or fingerprint != user.session_fingerprint():
        return None
    if not _session_is_live(user):  # signed out (perhaps from another copy of this cookie)
        return None
    return user


@login_manager.unauthorized_handler
def _unauthorized() -> Response:
    """Anonymous: JSON 401 for API clients, otherwise the login page with a way back."""
    if wants_json():
        return render_error(401, str(_l("请先登录。")), "unauthorized")
    back = request.full_path.rstrip("?") if request.method == "GET" else None
    return redirect(url_for("auth.login", next=safe_next(back)))


# ---- decorators -------------------------------------------------------------------------

LIBRARIAN = "librarian"
ADMIN = "admin"


def _check_access(access: str) -> Response | None:
    """``None`` when the current user may pass ``access``, else the refusal response."""
    if not current_user.is_authenticated:
        return cast(Response, login_manager.unauthorized())
    if access == ADMIN and not current_user.is_admin:
        abort(403)
    return None


def _requiring(access: str) -> Callable[[F], F]:
    """A decorator that lets through only users who pass ``access``."""

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            refusal = _check_access(access)
            return refusal if refusal is not None else view(*args, **kwargs)

        wrapped.kiosk_access = access  # type: ignore[attr-defined]  # read by the access tests
        return cast(F, wrapped)

    return decorate


librarian_required = _requiring(LIBRARIAN)
admin_required = _requiring(ADMIN)


def protect_blueprint(blueprint: Blueprint, access: str = LIBRARIAN) -> Blueprint:
    """Require ``access`` for every view of ``blueprint`` (for console areas added later)."""
    blueprint.before_request(lambda: _check_access(access))
    blueprint.kiosk_access = access  # type: ignore[attr-defined]
    return blueprint


def init_app(app: Flask) -> None:
    """Bind Flask-Login to ``app``."""
    login_manager.init_app(app)
    login_manager.session_protection = "basic"
