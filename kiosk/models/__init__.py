"""Typed SQLAlchemy models, one module per area; importing this package registers every table."""

from kiosk.models.accounts import AuditEvent, ConsoleSession, Role, User
from kiosk.models.catalogue import Book, CodeTarget, QrCode, Reader, Section, Track, utcnow
from kiosk.models.imports import ImportBatch
from kiosk.models.jobs import JobStatus, LeasedJob
from kiosk.models.moderation import Remaster, RoomTone
from kiosk.models.plays import Play
from kiosk.models.recordings import BoothText, Decision, Recording
from kiosk.models.scans import Scan
from kiosk.models.texts import ChapterText
from kiosk.models.uploads import ChapterUpload

__all__ = [
    "AuditEvent",
    "Book",
    "BoothText",
    "ChapterText",
    "ChapterUpload",
    "CodeTarget",
    "ConsoleSession",
    "Decision",
    "ImportBatch",
    "JobStatus",
    "LeasedJob",
    "Play",
    "QrCode",
    "Reader",
    "Recording",
    "Remaster",
    "Role",
    "RoomTone",
    "Scan",
    "Section",
    "Track",
    "User",
    "utcnow",
]
