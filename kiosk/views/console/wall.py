"""The console's wall area: the register of printed codes, their downloads, and the print sheet."""

from __future__ import annotations

from typing import cast

from flask import Blueprint, Flask, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import SelectField, StringField
from wtforms.validators import InputRequired, Length

from kiosk.accounts import auth
from kiosk.extensions import db
from kiosk.models import QrCode, User
from kiosk.wall import cards as wall
from kiosk.wall import qr, register
from kiosk.wall.html import render_html
from kiosk.web import console
from kiosk.web.inputs import id_arg

bp = auth.protect_blueprint(Blueprint("admin_wall", __name__, url_prefix="/admin"))


class RepointForm(FlaskForm):
    """Point an old printed code at another section or book."""

    code = StringField(
        _l("二维码编号"), validators=[InputRequired(_l("请输入编号。")), Length(max=16)]
    )
    target = SelectField(_l("改为指向"), validators=[InputRequired(_l("请选择目标。"))])


def _form() -> RepointForm:
    """The re-pointing form with today's sections and books as choices."""
    form = RepointForm()
    form.target.choices = register.targets()
    return form


def _codes_page(form: RepointForm, status: int = 200) -> Response:
    """The register with the re-pointing ``form``."""
    page = render_template("wall/admin_codes.html", rows=register.rows(), form=form)
    return Response(page, status=status, mimetype="text/html")


@bp.get("/qr")
def codes() -> Response:
    """Every code ever issued: what it points at now, and how often it was scanned."""
    return _codes_page(_form())


@bp.post("/qr")
def repoint() -> Response:
    """Point an old code at a new section or book, and audit who did it."""
    form = _form()
    if not form.validate_on_submit():
        return _codes_page(form, status=422)
    try:
        before, after = register.repoint(form.code.data or "", form.target.data or "")
    except register.RegisterError as error:
        form.code.errors = [*form.code.errors, str(error)]
        return _codes_page(form, status=422)
    actor = cast(User, current_user._get_current_object())
    code = (form.code.data or "").strip().upper()
    auth.audit("qr_repointed", actor=actor, target_kind="qr_codes", target_id=code,
               old=before, new=after)
    db.session.commit()
    flash(gettext("已把 %(code)s 改为指向：%(target)s", code=code, target=after), "success")
    return redirect(url_for("admin_wall.codes"), code=303)


@bp.get("/qr/<code>.svg")
def code_svg(code: str) -> Response:
    """A code's symbol as SVG, for print."""
    data = qr.landing_url(qr.configured_base_url(), _known(code))
    return _download(qr.svg(data, size="50mm"), "image/svg+xml", f"qr-{_known(code)}.svg")


@bp.get("/qr/<code>.png")
def code_png(code: str) -> Response:
    """A code's symbol as PNG, for screens and messaging."""
    data = qr.landing_url(qr.configured_base_url(), _known(code))
    return _download(qr.png(data, module_px=12), "image/png", f"qr-{_known(code)}.png")


@bp.get("/wall/print")
def print_wall() -> str:
    """The printable wall (or ``?book=ID`` shelf labels): A4, one card a page, plus an overview."""
    base_url = qr.configured_base_url()
    book_ids = request.args.getlist("book", type=id_arg)
    try:
        cards = wall.book_cards(book_ids, base_url) if book_ids else wall.section_cards(base_url)
    except wall.WallError:
        abort(404)
    db.session.commit()  # codes issued for first-time prints are now on record
    return render_html(cards)


def _known(code: str) -> str:
    """The canonical form of an issued ``code``, or a 404."""
    found = db.session.get(QrCode, code.upper()) if len(code) <= 16 else None
    if found is None:
        abort(404)
    return found.code


def _download(body: str | bytes, mimetype: str, filename: str) -> Response:
    """An attachment response."""
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def init_app(app: Flask) -> None:
    """Register the blueprint and show it in the console's navigation."""
    app.register_blueprint(bp)
    console.add_action_labels(app, {"qr_repointed": _l("改指二维码")})
    console.add_area(
        app, "admin_wall.codes", _l("二维码"), _l("印出的每个码：指向哪里、扫了多少次")
    )
    console.add_area(
        app, "admin_wall.print_wall", _l("打印有声墙"), _l("A4 卡片，每页一张")
    )
