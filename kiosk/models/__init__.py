"""Typed SQLAlchemy models, one module per area; importing this package registers every table."""

from .catalogue import Book, CodeTarget, QrCode, Reader, Section, Track, utcnow

__all__ = ["Book", "CodeTarget", "QrCode", "Reader", "Section", "Track", "utcnow"]
