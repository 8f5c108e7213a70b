"""Account models: the librarians who sign in to the console, and the audit log of what they did."""

from __future__ import annotations

import enum
import hashlib
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Enum, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kiosk.extensions import Base
from kiosk.models.catalogue import utcnow


class Role(enum.StrEnum):
    """What an account may do: admins also manage accounts and read the audit log."""

    ADMIN = "admin"
    LIBRARIAN = "librarian"


class User(Base):
    """A console account. ``username`` is stored normalised (lower case), so it is unique
    without regard to case on every database, PostgreSQL included."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(64), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(
        Enum(Role, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e]),
        default=Role.LIBRARIAN,
    )
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    events: Mapped[list[AuditEvent]] = relationship(back_populates="user")

    # Flask-Login's user protocol, written out so the model needs no mixin.
    @property
    def is_authenticated(self) -> bool:
        """A loaded account is signed in (anonymous visitors are a different class)."""
        return True

    @property
    def is_anonymous(self) -> bool:
        """Never anonymous."""
        return False

    @property
    def is_active(self) -> bool:
        """Deactivated accounts cannot sign in, and their open sessions end."""
        return self.active

    @property
    def is_admin(self) -> bool:
        """Whether this account manages accounts."""
        return self.role == Role.ADMIN

    def get_id(self) -> str:
        """The session identity: the id plus a fingerprint of the password hash, so that
        changing the password ends every other session of this account."""
        return f"{self.id}:{self.session_fingerprint()}"

    def session_fingerprint(self) -> str:
        """A short digest of the current password hash."""
        return hashlib.sha256(self.password_hash.encode()).hexdigest()[:16]

    @property
    def shown_name(self) -> str:
        """The name the console shows."""
        return self.display_name or self.username


class AuditEvent(Base):
    """One thing that happened in the console: who, what, to which item, when."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    action: Mapped[str] = mapped_column(String(64), index=True)
    target_kind: Mapped[str | None] = mapped_column(String(32))
    target_id: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    user: Mapped[User | None] = relationship(back_populates="events")


class ConsoleSession(Base):
    """One signed-in console session, so that signing out ends it here too, not only in the browser.

    The browser's session cookie carries ``id``; a copy of the cookie is worthless once the
    row is revoked (logout) or its account's password changes.
    """

    __tablename__ = "console_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
