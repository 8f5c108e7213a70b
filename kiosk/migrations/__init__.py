"""Alembic migrations of the kiosk's schema (run by ``kiosk init`` and ``kiosk serve``)."""
