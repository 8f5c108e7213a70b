"""Accounts: argon2 hashes, login and logout, next addresses, passwords, roles, the CLI, audit."""

from __future__ import annotations

import re

import pytest
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import select, text

from kiosk.accounts import auth
from kiosk.extensions import db
from kiosk.models import AuditEvent, Role, User
from tests.conftest import AuthActions

PASSWORD = "correct horse battery"  # noqa: S105 - test fixture
NEW_PASSWORD = "a much better secret"  # noqa: S105 - test fixture


def make_user(app: Flask, name: str = "wang", role: Role = Role.LIBRARIAN, **fields: str) -> int:
    """Create an account through the service and return its id."""
    with app.app_context():
        password = fields.get("password", PASSWORD)
        user = auth.create_user(name, password, role, fields.get("display", ""))
        db.session.commit()
        return user.id


def login(client: FlaskClient, name: str = "wang", password: str = PASSWORD, **extra: str):
    """Post the login form (CSRF is off in the shared test app)."""
    return client.post("/admin/login", data={"username": name, "password": password, **extra})


def actions(app: Flask) -> list[str]:
    """The audit log's actions, oldest first."""
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def test_password_is_stored_as_an_argon2id_hash(app: Flask) -> None:
    """The database holds a salted argon2id PHC string, never the password."""
    make_user(app, "wang")
    make_user(app, "li")
    with app.app_context():
        hashes = db.session.execute(text("SELECT password_hash FROM users")).scalars().all()
    assert len(set(hashes)) == 2  # salted: the same password hashes differently
    for stored in hashes:
        assert stored.startswith("$argon2id$")
        assert PASSWORD not in stored
        assert PasswordHasher().verify(stored, PASSWORD)  # an independent check of the hash


def test_usernames_are_unique_without_regard_to_case(app: Flask) -> None:
    """``Wang`` and ``wang`` are one account; login accepts any case."""
    make_user(app, "Wang")
    with app.app_context(), pytest.raises(auth.AccountError):
        auth.create_user("WANG", PASSWORD)
    with app.app_context():
        assert db.session.scalars(select(User.username)).all() == ["wang"]
        assert auth.authenticate("wAnG", PASSWORD) is not None


@pytest.mark.parametrize(
    ("username", "password", "message"),
    [
        ("x", PASSWORD, "用户名须为 2–32 个字符"),
        ("wang li", PASSWORD, "用户名须为 2–32 个字符"),
        ("wang", "short", "密码至少需要 10 个字符。"),
        ("wangxiaoming", "WangXiaoMing", "密码不能与用户名相同。"),
        ("wang", "x" * 129, "密码不能超过 128 个字符。"),
    ],
)
def test_account_rules_refuse_bad_input(
    app: Flask, username: str, password: str, message: str
) -> None:
    """Invalid usernames and weak passwords are refused with a Chinese reason."""
    with app.test_request_context(), pytest.raises(auth.AccountError) as refused:
        auth.create_user(username, password)
    with app.test_request_context():
        assert message in str(refused.value.message)


def test_login_page_is_chinese_and_carries_next(client: FlaskClient) -> None:
    """The form has Chinese labels and keeps a same-site ``next``."""
    page = client.get("/admin/login?next=/admin/users").get_data(as_text=True)
    assert "馆员登录" in page and "用户名" in page and "密码" in page
    assert 'value="/admin/users"' in page


def test_login_then_dashboard(app: Flask, client: FlaskClient) -> None:
    """A good login lands on a real dashboard and is audited."""
    make_user(app, "wang", display="王老师")
    response = login(client)
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/"
    page = client.get("/admin/").get_data(as_text=True)
    assert "王老师" in page and "个栏目" in page
    assert re.search(r'<span class="count">9</span>\s*个栏目', page)  # the nine default sections
    with app.app_context():
        assert db.session.scalars(select(User)).one().last_login_at is not None
    assert actions(app) == ["user_created", "login"]


def test_failed_login_keeps_the_username_but_not_the_password(
    app: Flask, client: FlaskClient
) -> None:
    """Wrong password: a Chinese error, the typed username kept, the password never echoed."""
    make_user(app, "wang")
    response = login(client, "Wang", "wrong password 123")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "用户名或密码不正确。" in page
    assert 'value="Wang"' in page
    assert "wrong password 123" not in page
    assert client.get("/admin/").status_code == 302  # still anonymous
    assert actions(app)[-1] == "login_failed"


def test_unknown_user_and_wrong_password_look_alike(app: Flask, client: FlaskClient) -> None:
    """No hint about which usernames exist."""
    make_user(app, "wang")
    unknown = login(client, "nobody", PASSWORD).get_data(as_text=True)
    wrong = login(client, "wang", "wrong password 123").get_data(as_text=True)
    assert "用户名或密码不正确。" in unknown and "用户名或密码不正确。" in wrong


def test_empty_login_form_says_what_is_missing(client: FlaskClient) -> None:
    """Required fields are named in Chinese."""
    response = client.post("/admin/login", data={"username": "", "password": ""})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "请输入用户名。" in page and "请输入密码。" in page


def test_anonymous_console_request_goes_to_login_with_next(client: FlaskClient) -> None:
    """The login redirect remembers the page (path and query), as a relative address."""
    response = client.get("/admin/audit?page=2")
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/login?next=/admin/audit?page%3D2"


def test_anonymous_api_style_request_gets_json_401(client: FlaskClient) -> None:
    """A client asking for JSON gets the API's error shape, not a login page."""
    response = client.get("/admin/", headers={"Accept": "application/json"})
    assert response.status_code == 401
    assert response.get_json()["error"] == "unauthorized"
    assert response.get_json()["message"] == "请先登录。"


def test_login_follows_a_same_site_next(app: Flask, client: FlaskClient) -> None:
    """``next`` on this site is honoured."""
    make_user(app)
    response = login(client, next="/admin/password")
    assert response.headers["Location"] == "/admin/password"


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/admin",
        "/\\evil.example",
        "\\\\evil.example",
        "javascript:alert(1)",
        "http:/evil.example",
        "/admin\r\nSet-Cookie: x=1",
        "admin/users",
    ],
)
def test_login_refuses_open_redirects(app: Flask, client: FlaskClient, target: str) -> None:
    """Any ``next`` that could leave the site is replaced by the dashboard."""
    make_user(app)
    response = login(client, next=target)
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/"


def test_logout_ends_the_session(app: Flask, client: FlaskClient) -> None:
    """POST /admin/logout signs out (GET is not allowed) and is audited."""
    make_user(app)
    login(client)
    assert client.get("/admin/logout").status_code == 405
    response = client.post("/admin/logout")
    assert response.status_code == 303
    assert response.headers["Location"] == "/admin/login"
    assert "您已退出登录。" in client.get("/admin/login").get_data(as_text=True)
    assert client.get("/admin/").status_code == 302
    assert actions(app)[-1] == "logout"


def test_change_password(app: Flask, client: FlaskClient) -> None:
    """The new password works, the old one does not; other sessions end, this one stays."""
    make_user(app)
    other_device = app.test_client()
    login(other_device)
    login(client)
    form = {"current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    response = client.post("/admin/password", data=form)
    assert response.status_code == 303
    assert client.get("/admin/").status_code == 200  # this session carries on
    assert other_device.get("/admin/").status_code == 302  # the other one has ended
    with app.app_context():
        assert auth.authenticate("wang", PASSWORD) is None
        assert auth.authenticate("wang", NEW_PASSWORD) is not None
    assert "password_changed" in actions(app)


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"current_password": "not my password", "new_password": NEW_PASSWORD,
          "confirm": NEW_PASSWORD}, "当前密码不正确。"),
        ({"current_password": PASSWORD, "new_password": NEW_PASSWORD,
          "confirm": NEW_PASSWORD + "!"}, "两次输入的新密码不一致。"),
        ({"current_password": PASSWORD, "new_password": "short", "confirm": "short"},
         "密码至少需要 10 个字符。"),
        ({"current_password": "", "new_password": "", "confirm": ""}, "请输入密码。"),
    ],
)
def test_change_password_refusals(
    app: Flask, client: FlaskClient, form: dict[str, str], message: str
) -> None:
    """Each refusal says why in Chinese and leaves the old password in place."""
    make_user(app)
    login(client)
    response = client.post("/admin/password", data=form)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in page
    assert NEW_PASSWORD not in page
    with app.app_context():
        assert auth.authenticate("wang", PASSWORD) is not None


def test_a_deactivated_account_is_signed_out_and_cannot_log_in(
    app: Flask, client: FlaskClient
) -> None:
    """Deactivation takes effect on the next request."""
    user_id = make_user(app)
    login(client)
    with app.app_context():
        db.session.get(User, user_id).active = False
        db.session.commit()
    assert client.get("/admin/").status_code == 302
    assert "用户名或密码不正确。" in login(client).get_data(as_text=True)


def test_cli_user_add_with_password_stdin(
    app: Flask, runner: FlaskCliRunner, client: FlaskClient
) -> None:
    """``kiosk user add NAME --role admin --password-stdin`` makes an account that can log in."""
    result = runner.invoke(
        args=["user", "add", "Zhao", "--role", "admin", "--password-stdin"], input=PASSWORD + "\n"
    )
    assert result.exit_code == 0, result.output
    assert "zhao" in result.output
    with app.app_context():
        user = db.session.scalars(select(User)).one()
        assert (user.username, user.role, user.active) == ("zhao", Role.ADMIN, True)
        assert user.password_hash.startswith("$argon2id$")
    assert login(client, "zhao").status_code == 302
    assert client.get("/admin/users").status_code == 200


def test_cli_user_add_with_a_prompt(app: Flask, runner: FlaskCliRunner) -> None:
    """Without ``--password-stdin`` the password is asked twice, hidden; librarian by default."""
    result = runner.invoke(args=["user", "add", "qian"], input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output
    with app.app_context():
        assert auth.authenticate("qian", PASSWORD).role == Role.LIBRARIAN


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["user", "add", "sun", "--password-stdin"], "short\n", "密码至少需要 10 个字符。"),
        (["user", "add", "a b", "--password-stdin"], PASSWORD + "\n", "用户名须为"),
        (["user", "add", "sun", "--role", "boss", "--password-stdin"], PASSWORD + "\n", "boss"),
    ],
)
def test_cli_user_add_refusals(
    app: Flask, runner: FlaskCliRunner, args: list[str], stdin: str, message: str
) -> None:
    """Bad input is refused with a non-zero exit and the reason; nothing is created."""
    result = runner.invoke(args=args, input=stdin)
    assert result.exit_code != 0
    assert message in result.output
    with app.app_context():
        assert db.session.scalars(select(User)).all() == []


def test_cli_user_add_refuses_a_duplicate(app: Flask, runner: FlaskCliRunner) -> None:
    """The same name twice (in any case) is refused the second time."""
    make_user(app, "wang")
    result = runner.invoke(args=["user", "add", "WANG", "--password-stdin"], input=PASSWORD + "\n")
    assert result.exit_code != 0
    assert "已被使用" in result.output


def test_cli_user_passwd(app: Flask, runner: FlaskCliRunner) -> None:
    """``kiosk user passwd`` resets a forgotten password."""
    make_user(app, "wang")
    result = runner.invoke(
        args=["user", "passwd", "wang", "--password-stdin"], input=NEW_PASSWORD + "\n"
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert auth.authenticate("wang", NEW_PASSWORD) is not None


def test_an_older_costlier_hash_is_upgraded_at_login(app: Flask) -> None:
    """A hash made with other parameters still verifies, and is replaced by the current kind."""
    user_id = make_user(app)
    old_hash = PasswordHasher(time_cost=3, memory_cost=65536, parallelism=4).hash(PASSWORD)
    with app.app_context():
        db.session.get(User, user_id).password_hash = old_hash
        db.session.commit()
        assert auth.authenticate("wang", PASSWORD) is not None
        db.session.commit()
        new_hash = db.session.get(User, user_id).password_hash
    assert new_hash != old_hash and new_hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$")


# ---- account management by admins ------------------------------------------------------


@pytest.fixture
def admin_client(app: Flask, client: FlaskClient) -> FlaskClient:
    """A client signed in as the admin ``boss``."""
    make_user(app, "boss", Role.ADMIN)
    assert login(client, "boss").status_code == 302
    return client


def user_id_of(app: Flask, name: str) -> int:
    """The id of account ``name``."""
    with app.app_context():
        return auth.find_user(name).id


def test_admin_creates_an_account(app: Flask, admin_client: FlaskClient) -> None:
    """The form adds a librarian who can then sign in; the creation is audited with its author."""
    form = {"username": "Li", "display_name": "李老师", "role": "librarian",
            "password": PASSWORD, "confirm": PASSWORD}
    response = admin_client.post("/admin/users", data=form)
    assert response.status_code == 303
    page = admin_client.get("/admin/users").get_data(as_text=True)
    assert "已创建账号“li”。" in page and "李老师" in page
    assert login(app.test_client(), "li").status_code == 302
    with app.app_context():
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "user_created")
                                   .order_by(AuditEvent.id.desc())).first()
        assert event.user.username == "boss" and event.target_id == str(user_id_of(app, "li"))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"username": "李"}, "用户名须为 2–32 个字符"),
        ({"username": "boss"}, "用户名“boss”已被使用。"),
        ({"confirm": "something else"}, "两次输入的密码不一致。"),
        ({"password": "short", "confirm": "short"}, "密码至少需要 10 个字符。"),
        ({"username": ""}, "请输入用户名。"),
        ({"role": "superuser"}, "选择"),  # WTForms' own (translated) "not a valid choice"
    ],
)
def test_account_form_refusals_keep_what_was_typed(
    app: Flask, admin_client: FlaskClient, changes: dict[str, str], message: str
) -> None:
    """Each refusal is 422 with a Chinese reason; typed text comes back, passwords do not."""
    form = {"username": "zhao", "display_name": "赵老师", "role": "librarian",
            "password": PASSWORD, "confirm": PASSWORD, **changes}
    response = admin_client.post("/admin/users", data=form)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in page
    assert 'value="赵老师"' in page
    assert PASSWORD not in page
    with app.app_context():
        assert auth.find_user("zhao") is None


def test_hostile_names_are_shown_escaped(app: Flask, admin_client: FlaskClient) -> None:
    """A display name with markup is stored as text and never rendered as HTML."""
    hostile = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    make_user(app, "mallory", display=hostile)
    for path in ("/admin/users", "/admin/audit"):
        page = admin_client.get(path).get_data(as_text=True)
        assert "<script>alert" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert" in admin_client.get("/admin/users").get_data(as_text=True)


def test_role_changes_and_the_last_admin_is_kept(app: Flask, admin_client: FlaskClient) -> None:
    """A librarian can be promoted; the only active admin cannot be demoted."""
    li = make_user(app, "li")
    assert admin_client.post(f"/admin/users/{li}/role", data={"role": "admin"}).status_code == 303
    boss = user_id_of(app, "boss")
    admin_client.post(f"/admin/users/{li}/active", data={"active": "0"})
    response = admin_client.post(f"/admin/users/{boss}/role", data={"role": "librarian"})
    assert response.status_code == 303
    page = admin_client.get("/admin/users").get_data(as_text=True)
    assert "至少要保留一个启用的管理员账号。" in page
    with app.app_context():
        assert auth.find_user("boss").role == Role.ADMIN
        assert auth.find_user("li").role == Role.ADMIN and not auth.find_user("li").active


def test_deactivation_ends_sessions_and_cannot_target_oneself(
    app: Flask, admin_client: FlaskClient
) -> None:
    """Deactivating someone signs them out at once; an admin cannot deactivate themself."""
    li = make_user(app, "li")
    li_client = app.test_client()
    login(li_client, "li")
    assert admin_client.post(f"/admin/users/{li}/active", data={"active": "0"}).status_code == 303
    assert li_client.get("/admin/").status_code == 302
    boss = user_id_of(app, "boss")
    admin_client.post(f"/admin/users/{boss}/active", data={"active": "0"})
    assert "不能停用自己的账号。" in admin_client.get("/admin/users").get_data(as_text=True)
    assert admin_client.post(f"/admin/users/{li}/active", data={"active": "1"}).status_code == 303
    assert login(li_client, "li").status_code == 302
    assert {"user_deactivated", "user_activated"} <= set(actions(app))


def test_unknown_account_and_bad_form_values(admin_client: FlaskClient) -> None:
    """An unknown id is 404; a value outside the form's choices is 400."""
    assert admin_client.post("/admin/users/999/role", data={"role": "admin"}).status_code == 404
    assert admin_client.post("/admin/users/1/active", data={"active": "maybe"}).status_code == 400


def test_audit_log_is_paginated_newest_first(app: Flask, admin_client: FlaskClient) -> None:
    """Fifty events a page, newest first, with page links."""
    with app.app_context():
        for n in range(60):
            auth.audit("book_edited", target_kind="books", target_id=n, title=f"第{n}本")
        db.session.commit()
    first = admin_client.get("/admin/audit").get_data(as_text=True)
    assert "第59本" in first and "第5本" not in first and 'rel="next"' in first
    second = admin_client.get("/admin/audit?page=2").get_data(as_text=True)
    assert "第5本" in second and "登录" in second  # the admin's own login, among the oldest
    assert admin_client.get("/admin/audit?page=999").status_code == 200
    assert admin_client.get("/admin/audit?page=-3").status_code == 200


def test_the_password_page_is_a_page(client: FlaskClient, auth: AuthActions) -> None:
    """Served as HTML (a werkzeug Response defaults to text/plain, which a browser shows as text)."""
    auth.login()
    response = client.get("/admin/password")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
