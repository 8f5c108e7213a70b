"""Scan statistics: one row per counted hit on a printed code, and nothing about the person."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from kiosk.extensions import Base
from kiosk.models.catalogue import utcnow


class Scan(Base):
    """A counted scan: which code, when, and a coarse client kind (no IP, no user agent)."""

    __tablename__ = "scans"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(ForeignKey("qr_codes.code"), index=True)
    scanned_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, index=True
    )
    client_kind: Mapped[str] = mapped_column(String(16))
