"""The texts the booth's teleprompter offers, as librarians write, order, show and delete them.

Like ``catalogue_admin``: each change adds its audit entry to the session; the caller commits.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, func, select

from kiosk.accounts import auth
from kiosk.extensions import db
from kiosk.library.changes import CatalogueError, apply_changes, renumber, reordered
from kiosk.models import BoothText, Recording, User


def texts_in_order() -> list[BoothText]:
    """Every booth text in teleprompter order."""
    return list(db.session.scalars(select(BoothText).order_by(BoothText.position, BoothText.id)))


def create_text(actor: User, **values: Any) -> BoothText:
    """A new booth text, last in the list."""
    last = db.session.scalar(select(func.max(BoothText.position)))
    text = BoothText(position=(last if last is not None else -1) + 1, **values)
    db.session.add(text)
    db.session.flush()
    auth.audit("text_created", actor=actor, target=text, title=text.title)
    return text


def update_text(text: BoothText, actor: User, **values: Any) -> None:
    """Edit a booth text."""
    changed = apply_changes(text, **values)
    if changed:
        shown = {k: v if k != "body" else [len(v[0]), len(v[1])] for k, v in changed.items()}
        auth.audit("text_updated", actor=actor, target=text, changes=shown)


def move_text(text: BoothText, step: int, actor: User) -> None:
    """Move a booth text ``step`` places in the teleprompter's list."""
    renumber(reordered(texts_in_order(), text, step), 0)
    auth.audit("text_moved", actor=actor, target=text, new=text.position)


def set_text_published(text: BoothText, published: bool, actor: User) -> None:
    """Offer or withdraw a booth text."""
    if text.published != published:
        text.published = published
        auth.audit("text_published" if published else "text_hidden", actor=actor, target=text)


def delete_text(text: BoothText, actor: User) -> None:
    """Delete a booth text that no take was read from (those can only be hidden)."""
    if db.session.scalar(select(exists().where(Recording.text_id == text.id))):
        raise CatalogueError(_l("已有录音读过这篇文本，不能删除；可以改为隐藏。"), status=409)
    auth.audit("text_deleted", actor=actor, target=text, title=text.title)
    db.session.delete(text)
