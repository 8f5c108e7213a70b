"""Signing in and out of the console, and changing one's own password."""

from __future__ import annotations

from typing import cast

import flask
from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext
from flask_limiter import RequestLimit
from flask_login import current_user, login_user
from werkzeug.wrappers import Response

from kiosk.accounts import auth
from kiosk.extensions import db
from kiosk.models import User
from kiosk.views.auth_forms import LoginForm, PasswordChangeForm
from kiosk.web import security

bp = Blueprint("auth", __name__)


def _login_page(form: LoginForm, status: int = 200, error: str | None = None) -> flask.Response:
    """The login page with ``form`` as typed (never the password) and an optional error."""
    form.password.data = ""
    page = render_template("admin/login.html", form=form, error=error)
    return flask.Response(page, status=status, mimetype="text/html")


def _too_many_attempts(reason: str, username: str, retry_after_s: int) -> flask.Response:
    """429 for a throttled login, recorded in the audit log once a minute (a flood is one row)."""
    if security.first_refusal_this_minute(username, reason):
        auth.audit("login_refused", target_kind="users", target_id=username or None, reason=reason)
        db.session.commit()
    message = gettext("登录尝试次数过多，请过一会儿再试。")
    response = _login_page(LoginForm(), status=429, error=message)
    response.headers["Retry-After"] = str(retry_after_s)
    return response


def _client_limit_breached(limit: RequestLimit) -> flask.Response:  # Flask-Limiter wants Flask's type
    """Flask-Limiter's on_breach: this address tried too many times."""
    username = auth.normalise_username(request.form.get("username", ""))
    return _too_many_attempts("client", username, security.retry_after_s(limit))


def _client_limit() -> str:
    """The per-address limit from configuration."""
    return str(current_app.config["KIOSK_LOGIN_CLIENT_LIMIT"])


def _after_login() -> str:
    """Where a successful login goes: a same-site ``next``, else the dashboard."""
    return auth.safe_next(request.form.get("next") or request.args.get("next")) or url_for(
        "admin.dashboard"
    )


@bp.route("/admin/login", methods=["GET", "POST"])
@security.limiter.limit(
    _client_limit,
    methods=["POST"],
    deduct_when=lambda response: response.status_code != 302,  # only failures count
    on_breach=_client_limit_breached,
    exempt_when=lambda: security.known_device_for(auth.normalise_username(request.form.get("username", ""))),
)
def login() -> Response:
    """Sign in; failures are counted per address (Flask-Limiter) and per account."""
    if current_user.is_authenticated and request.method == "GET":
        return redirect(_after_login())
    form = LoginForm()
    if request.method == "GET":
        form.next.data = auth.safe_next(request.args.get("next")) or ""
    if not form.validate_on_submit():
        return _login_page(form, status=200 if request.method == "GET" else 422)
    username = auth.normalise_username(form.username.data or "")
    if security.account_locked(username):
        return _too_many_attempts("account", username, security.account_retry_after_s(username))
    user = auth.authenticate(username, form.password.data or "")
    if user is None:
        security.note_failed_login(username)
        auth.audit("login_failed", target_kind="users", target_id=username)
        db.session.commit()
        return _login_page(form, error=gettext("用户名或密码不正确。"))
    security.clear_failed_logins(username)
    auth.sign_in(user)
    db.session.commit()
    response = redirect(_after_login())
    security.remember_device(response, username)
    return response


@bp.post("/admin/logout")
@auth.librarian_required
def logout() -> Response:
    """Sign out (a POST with a CSRF token, so no other site can log a librarian out)."""
    auth.sign_out()
    db.session.commit()
    flash(gettext("您已退出登录。"), "info")
    return redirect(url_for("auth.login"), code=303)


@bp.route("/admin/password", methods=["GET", "POST"])
@auth.librarian_required
def password() -> Response | str:
    """Change one's own password; other sessions of the account end."""
    form = PasswordChangeForm()
    if form.validate_on_submit():
        user = cast(User, current_user._get_current_object())
        current, new = form.current_password.data or "", form.new_password.data or ""
        try:
            auth.change_password(user, current, new)
        except auth.AccountError as error:
            field = getattr(form, error.field or "new_password", form.new_password)
            field.errors = [*field.errors, str(error.message)]
        else:
            db.session.commit()
            login_user(user)  # this session follows the new password; the others end
            flash(gettext("密码已修改。"), "success")
            return redirect(url_for("admin.dashboard"), code=303)
    status = 422 if request.method == "POST" else 200
    return Response(render_template("admin/password.html", form=form), status=status, mimetype="text/html")
