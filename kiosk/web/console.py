"""The console's registry: which areas its navigation shows, and how its audit log names actions.

Each console blueprint adds its areas and action labels here from its ``init_app``, so
console views never import one another and the shell knows nothing of the areas in advance.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app
from flask_babel import lazy_gettext as _l
from flask_login import current_user

AREAS_KEY = "kiosk_console_areas"
LABELS_KEY = "kiosk_console_action_labels"

# The account actions every console has; areas add theirs (unknown actions show as recorded).
BASE_ACTION_LABELS: dict[str, Any] = {
    "login": _l("登录"),
    "logout": _l("退出登录"),
    "login_failed": _l("登录失败"),
    "login_refused": _l("登录被限制"),
    "password_changed": _l("修改密码"),
    "user_created": _l("创建账号"),
    "user_deactivated": _l("停用账号"),
    "user_activated": _l("启用账号"),
    "role_changed": _l("修改角色"),
}


@dataclass(frozen=True)
class ConsoleArea:
    """One entry of the console's navigation and dashboard."""

    endpoint: str
    label: Any
    description: Any = ""
    admin_only: bool = False


def add_area(app: Flask, endpoint: str, label: Any, description: Any = "", *, admin_only: bool = False) -> None:
    """Show ``endpoint`` in the console's navigation (labels: lazy_gettext strings)."""
    app.extensions.setdefault(AREAS_KEY, []).append(ConsoleArea(endpoint, label, description, admin_only))


def add_action_labels(app: Flask, labels: dict[str, Any]) -> None:
    """Name audit actions for the log (the first name given to an action wins)."""
    known = app.extensions.setdefault(LABELS_KEY, dict(BASE_ACTION_LABELS))
    for action, label in labels.items():
        known.setdefault(action, label)


def action_label(action: str) -> str:
    """How the audit log names ``action``."""
    labels = current_app.extensions.get(LABELS_KEY, BASE_ACTION_LABELS)
    return str(labels.get(action, action))


def visible_areas() -> list[ConsoleArea]:
    """The areas that exist in this app and that the current user may enter."""
    areas = current_app.extensions.get(AREAS_KEY, [])
    is_admin = current_user.is_authenticated and current_user.is_admin
    shown = [
        area for area in areas
        if area.endpoint in current_app.view_functions and (is_admin or not area.admin_only)
    ]
    # The dashboard first, the admins' own pages last, the rest in the order they were added.
    return sorted(shown, key=lambda area: (area.endpoint != "admin.dashboard", area.admin_only))
