"""Forms of the login page, the password page and account management (Chinese labels).

Password rules live in ``kiosk.accounts.auth`` (one place for the web and the CLI); the forms only
require input and cap its length.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, SelectField, StringField
from wtforms.validators import AnyOf, EqualTo, InputRequired, Length

from kiosk.accounts.auth import DISPLAY_NAME_MAX_CHARS, PASSWORD_MAX_CHARS
from kiosk.models import Role

try:  # WTForms 3.3 names its choices; older versions take (value, label) pairs
    from wtforms.fields.choices import SelectChoice as _Choice
except ImportError:  # pragma: no cover - WTForms < 3.3
    def _Choice(value: str, label: object) -> tuple[str, object]:
        """A (value, label) pair, as older WTForms wants."""
        return value, label

ROLE_CHOICES = [_Choice(Role.LIBRARIAN.value, _l("馆员")), _Choice(Role.ADMIN.value, _l("管理员"))]


def _password_field(label: object, *extra: object) -> PasswordField:
    """A required password input of bounded length."""
    return PasswordField(
        label,
        validators=[
            InputRequired(message=_l("请输入密码。")),
            Length(max=PASSWORD_MAX_CHARS, message=_l("密码太长了。")),
            *extra,
        ],
    )


class LoginForm(FlaskForm):
    """Sign in to the console."""

    username = StringField(
        _l("用户名"),
        validators=[
            InputRequired(message=_l("请输入用户名。")),
            Length(max=64, message=_l("用户名太长了。")),
        ],
    )
    password = _password_field(_l("密码"))
    next = HiddenField()


class PasswordChangeForm(FlaskForm):
    """Change one's own password."""

    current_password = _password_field(_l("当前密码"))
    new_password = _password_field(_l("新密码"))
    confirm = _password_field(
        _l("再次输入新密码"), EqualTo("new_password", message=_l("两次输入的新密码不一致。"))
    )


class UserCreateForm(FlaskForm):
    """An admin adds an account."""

    username = StringField(
        _l("用户名"),
        validators=[
            InputRequired(message=_l("请输入用户名。")),
            Length(max=64, message=_l("用户名太长了。")),
        ],
    )
    display_name = StringField(
        _l("显示名称"),
        validators=[Length(max=DISPLAY_NAME_MAX_CHARS, message=_l("显示名称太长了。"))],
    )
    role = SelectField(_l("角色"), choices=ROLE_CHOICES, default=Role.LIBRARIAN.value)
    password = _password_field(_l("初始密码"))
    confirm = _password_field(
        _l("再次输入密码"), EqualTo("password", message=_l("两次输入的密码不一致。"))
    )


class RoleForm(FlaskForm):
    """An admin changes an account's role."""

    role = SelectField(_l("角色"), choices=ROLE_CHOICES)


class ActiveForm(FlaskForm):
    """An admin deactivates or reactivates an account."""

    active = HiddenField(validators=[AnyOf(["0", "1"], message=_l("请求有误，请返回重试。"))])
