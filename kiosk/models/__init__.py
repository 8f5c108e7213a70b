"""Typed SQLAlchemy models, one module per area; importing this package registers every table."""

from .accounts import AuditEvent, Role, User
from .catalogue import Book, CodeTarget, QrCode, Reader, Section, Track, utcnow
from .recordings import BoothText, Decision, Recording, TakeStatus
from .scans import Scan

__all__ = [
    "AuditEvent",
    "Book",
    "BoothText",
    "CodeTarget",
    "Decision",
    "QrCode",
    "Reader",
    "Recording",
    "Role",
    "Scan",
    "Section",
    "TakeStatus",
    "Track",
    "User",
    "utcnow",
]
