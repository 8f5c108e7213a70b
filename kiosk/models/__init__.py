"""Typed SQLAlchemy models, one module per area; importing this package registers every table."""

from .accounts import AuditEvent, Role, User
from .catalogue import Book, CodeTarget, QrCode, Reader, Section, Track, utcnow
from .imports import ImportBatch, ImportStatus
from .moderation import Remaster, RemasterStatus, RoomTone
from .plays import Play
from .recordings import BoothText, Decision, Recording, TakeStatus
from .scans import Scan
from .uploads import ChapterUpload

__all__ = [
    "AuditEvent",
    "Book",
    "BoothText",
    "ChapterUpload",
    "CodeTarget",
    "Decision",
    "ImportBatch",
    "ImportStatus",
    "Play",
    "QrCode",
    "Reader",
    "Recording",
    "Remaster",
    "RemasterStatus",
    "Role",
    "RoomTone",
    "Scan",
    "Section",
    "TakeStatus",
    "Track",
    "User",
    "utcnow",
]
