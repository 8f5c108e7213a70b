"""Typed SQLAlchemy models, one module per area; importing this package registers every table."""

from kiosk.models.accounts import AuditEvent, Role, User
from kiosk.models.catalogue import Book, CodeTarget, QrCode, Reader, Section, Track, utcnow
from kiosk.models.imports import ImportBatch, ImportStatus
from kiosk.models.moderation import Remaster, RemasterStatus, RoomTone
from kiosk.models.plays import Play
from kiosk.models.recordings import BoothText, Decision, Recording, TakeStatus
from kiosk.models.scans import Scan
from kiosk.models.uploads import ChapterUpload

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
