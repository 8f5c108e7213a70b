"""The console's shell (navigation, dashboard) and its account pages: users and the audit log.

Other console areas plug in through ``kiosk.web.console`` (``add_area``, ``add_action_labels``):
the navigation and the dashboard then show them to the users allowed to enter.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, cast

from flask import (
    Blueprint,
    Flask,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import format_datetime, gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func, select
from werkzeug.wrappers import Response

from kiosk.accounts import auth
from kiosk.extensions import db
from kiosk.models import AuditEvent, Book, Reader, Role, Section, Track, User
from kiosk.views.auth_forms import ActiveForm, RoleForm, UserCreateForm
from kiosk.web import console
from kiosk.web.inputs import page_arg

bp = Blueprint("admin", __name__, url_prefix="/admin")

AUDIT_PAGE_SIZE = 50
@dataclass(frozen=True)
class AuditRow:
    """One audit event, ready to show."""

    at: str
    who: str
    action: str
    target: str
    detail: str


def _catalogue_counts() -> dict[str, int]:
    """How many sections, books, chapters and readers the library holds."""
    models = {"sections": Section, "books": Book, "tracks": Track, "readers": Reader}
    return {
        name: db.session.scalar(select(func.count()).select_from(model)) or 0
        for name, model in models.items()
    }


@bp.get("/")
@auth.librarian_required
def dashboard() -> str:
    """The console's front page: what the library holds and where to go next."""
    areas = [area for area in console.visible_areas() if area.endpoint != "admin.dashboard"]
    return render_template("admin/dashboard.html", counts=_catalogue_counts(), areas=areas)


def _user_or_404(user_id: int) -> User:
    """The account ``user_id``, or a 404."""
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    return user


def _users_page(form: UserCreateForm, status: int = 200) -> Response:
    """The account list with the creation ``form`` (as typed, minus passwords)."""
    users = db.session.scalars(select(User).order_by(User.active.desc(), User.username)).all()
    page = render_template(
        "admin/users.html", users=users, form=form, role_form=RoleForm, active_form=ActiveForm
    )
    return Response(page, status=status, mimetype="text/html")


def _actor() -> User:
    """The signed-in account, as a model row."""
    return cast(User, current_user._get_current_object())


@bp.get("/users")
@auth.admin_required
def users() -> Response:
    """Every account, with forms to add, deactivate and change roles."""
    return _users_page(UserCreateForm())


@bp.post("/users")
@auth.admin_required
def create_user() -> Response:
    """Add an account; invalid input comes back with the reason and what was typed."""
    form = UserCreateForm()
    if form.validate_on_submit():
        try:
            user = auth.create_user(
                form.username.data or "", form.password.data or "", form.role.data,
                form.display_name.data or "", actor=_actor(),
            )
        except auth.AccountError as error:
            field = getattr(form, error.field or "username", form.username)
            field.errors = [*field.errors, str(error.message)]
        else:
            db.session.commit()
            flash(gettext("已创建账号“%(name)s”。", name=user.username), "success")
            return redirect(url_for("admin.users"), code=303)
    return _users_page(form, status=422)


def _apply(change: Any, *args: Any) -> Response:
    """Run an account ``change``; commit it, or flash why it was refused. Back to the list."""
    try:
        change(*args, actor=_actor())
    except auth.AccountError as error:
        db.session.rollback()
        flash(str(error.message), "error")
    else:
        db.session.commit()
        flash(gettext("已保存。"), "success")
    return redirect(url_for("admin.users"), code=303)


@bp.post("/users/<int:user_id>/role")
@auth.admin_required
def change_role(user_id: int) -> Response:
    """Make an account an admin or a librarian."""
    user = _user_or_404(user_id)
    form = RoleForm()
    if not form.validate_on_submit():
        abort(400)
    return _apply(auth.set_role, user, Role(form.role.data))


@bp.post("/users/<int:user_id>/active")
@auth.admin_required
def set_active(user_id: int) -> Response:
    """Deactivate (ends their sessions at once) or reactivate an account."""
    user = _user_or_404(user_id)
    form = ActiveForm()
    if not form.validate_on_submit():
        abort(400)
    return _apply(auth.set_active, user, form.active.data == "1")


def _audit_row(event: AuditEvent) -> AuditRow:
    """Plain text for one event (the template escapes it)."""
    detail = json.dumps(event.detail, ensure_ascii=False, sort_keys=True) if event.detail else ""
    target = f"{event.target_kind} {event.target_id}" if event.target_kind else ""
    return AuditRow(
        at=format_datetime(event.at, "yyyy-MM-dd HH:mm:ss"),
        who=event.user.username if event.user else "—",
        action=console.action_label(event.action),
        target=target.strip(),
        detail=detail,
    )


@bp.get("/audit")
@auth.admin_required
def audit() -> str:
    """The audit log, newest first, a page at a time."""
    page_number = request.args.get("page", 1, type=page_arg)
    query = select(AuditEvent).order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    page = db.paginate(query, page=page_number, per_page=AUDIT_PAGE_SIZE, error_out=False)
    rows = [_audit_row(event) for event in page.items]
    return render_template("admin/audit.html", rows=rows, page=page)


def init_app(app: Flask) -> None:
    """Register the console blueprint, its navigation, and the areas it provides itself."""
    app.register_blueprint(bp)
    app.context_processor(lambda: {"console_areas": console.visible_areas})
    console.add_action_labels(app, {})
    console.add_area(app, "admin.dashboard", _l("概览"))
    console.add_area(app, "admin.users", _l("账号"), _l("添加馆员、停用账号、分配角色"), admin_only=True)
    console.add_area(app, "admin.audit", _l("审计日志"), _l("谁在何时做了什么"), admin_only=True)
