"""Bulk imports started from the console: the uploaded files wait on disk, the worker imports them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, String, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kiosk.extensions import Base
from kiosk.models.catalogue import Section, utcnow
from kiosk.models.jobs import LeasedJob


class ImportBatch(LeasedJob, Base):
    """Files uploaded together for import into one section, and the report once imported."""

    __tablename__ = "import_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    section_id: Mapped[int] = mapped_column(ForeignKey("sections.id"))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    fallback_title: Mapped[str] = mapped_column(String(256), default="")
    publish: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())  # else arrive hidden
    files: Mapped[list[dict[str, Any]]] = mapped_column(JSON)  # [{"stored": ..., "name": ...}]
    done_files: Mapped[int] = mapped_column(Integer, default=0)
    report: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)

    section: Mapped[Section] = relationship()
