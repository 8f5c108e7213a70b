"""What every librarian's edit shares: the refusal it may raise, and how changes and positions are applied."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from kiosk.models import BoothText, Section, Track

Row = TypeVar("Row", Section, Track, BoothText)


class CatalogueError(ValueError):
    """A refused change: ``message`` for the librarian, ``field`` the input it concerns."""

    def __init__(self, message: object, field: str | None = None, status: int = 422) -> None:
        super().__init__(str(message))
        self.message = str(message)
        self.field = field
        self.status = status


def apply_changes(row: object, **values: Any) -> dict[str, list[Any]]:
    """Set ``values`` on ``row``; return ``{field: [old, new]}`` for what actually changed."""
    changed = {}
    for name, new in values.items():
        old = getattr(row, name)
        if old != new:
            setattr(row, name, new)
            changed[name] = [old, new]
    return changed


def renumber(rows: Sequence[Row], start: int) -> None:
    """Give ``rows`` dense positions ``start, start+1, …`` in their current order."""
    for offset, row in enumerate(rows):
        row.position = start + offset


def reordered(rows: list[Row], item: Row, step: int) -> list[Row]:
    """``rows`` with ``item`` moved ``step`` places (clamped at the ends)."""
    index = rows.index(item)
    target = min(max(index + step, 0), len(rows) - 1)
    rows.insert(target, rows.pop(index))
    return rows
