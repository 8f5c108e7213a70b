"""The console's import area: upload many audio files into a section, then read the report."""

from __future__ import annotations

from pathlib import Path
from typing import cast

from flask import Blueprint, Flask, abort, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from werkzeug.datastructures import FileStorage
from werkzeug.wrappers import Response
from wtforms import BooleanField, MultipleFileField, SelectField, StringField
from wtforms.validators import InputRequired, Length

from kiosk.accounts import auth
from kiosk.extensions import db
from kiosk.ingest import batches, importer
from kiosk.jobs import tasks
from kiosk.models import ImportBatch, Section, User
from kiosk.models.jobs import ACTIVE
from kiosk.web import console

bp = auth.protect_blueprint(Blueprint("admin_import", __name__, url_prefix="/admin"))

REFRESH_S = 3


class ImportForm(FlaskForm):
    """Files to import, the section they go to, and a title for files without an album tag."""

    files = MultipleFileField(_l("音频文件"))
    section = SelectField(_l("导入到栏目"), validators=[InputRequired(_l("请选择栏目。"))])
    fallback_title = StringField(
        _l("没有专辑标签的文件归入"), validators=[Length(max=importer.TITLE_MAX_CHARS, message=_l("书名太长了。"))]
    )
    unpublished = BooleanField(_l("先不上架：导入后在目录中检查，再发布"))


def _form() -> ImportForm:
    """The form with today's sections as choices."""
    form = ImportForm()
    sections = db.session.scalars(select(Section).order_by(Section.position, Section.id))
    form.section.choices = [(s.slug, s.name) for s in sections]
    return form


def _uploads() -> list[FileStorage]:
    """The files the browser sent (an empty file input sends one nameless part)."""
    return [f for f in request.files.getlist("files") if f.filename]


def _form_page(form: ImportForm, status: int = 200) -> Response:
    """The upload form with the latest batches."""
    page = render_template("admin/import/form.html", form=form, batches=batches.recent(),
                           max_files=batches.MAX_FILES)
    return Response(page, status=status, mimetype="text/html")


@bp.get("/import")
def form() -> Response:
    """Upload audio files for import."""
    return _form_page(_form())


def _check_files(form: ImportForm, uploads: list[FileStorage]) -> bool:
    """Whether the upload has between one and ``MAX_FILES`` files (else the field says why)."""
    if not uploads:
        form.files.errors = [*form.files.errors, str(_l("请选择要导入的文件。"))]
    elif len(uploads) > batches.MAX_FILES:
        message = _l("一次最多导入 %(n)d 个文件，请分批上传。", n=batches.MAX_FILES)
        form.files.errors = [*form.files.errors, str(message)]
    return not form.files.errors


@bp.post("/import")
def upload() -> Response:
    """Keep the uploaded files in a batch and queue the import; then show its page."""
    form = _form()
    uploads = _uploads()
    valid = form.validate_on_submit()
    if not _check_files(form, uploads) or not valid:
        return _form_page(form, status=422)
    section = importer.section_by_slug(form.section.data or "")
    if section is None:
        abort(400)
    actor = cast(User, current_user._get_current_object())
    spooled = [(_spooled_path(f), f.filename or "") for f in uploads]
    batch = batches.create(section, spooled, form.fallback_title.data or "", actor,
                                  publish=not form.unpublished.data)
    auth.audit("import_queued", actor=actor, target=batch, files=len(spooled), section=section.slug,
               published=batch.publish)
    db.session.commit()
    tasks.import_batch(batch.id)
    return redirect(url_for("admin_import.batch", batch_id=batch.id), code=303)


def _spooled_path(upload: FileStorage) -> Path:
    """The on-disk file Werkzeug streamed the upload into (see ``uploads.KioskRequest``)."""
    upload.stream.flush()
    return Path(upload.stream.name)


@bp.get("/import/<int:batch_id>")
def batch(batch_id: int) -> str:
    """A batch's progress (the page refreshes itself until done) and its report."""
    found = db.session.get(ImportBatch, batch_id)
    if found is None:
        abort(404)
    report = importer.ImportReport.from_dict(found.report) if found.report else None
    waiting = found.status in ACTIVE
    return render_template("admin/import/batch.html", batch=found, report=report, waiting=waiting,
                           refresh_s=REFRESH_S, Outcome=importer.Outcome)


def init_app(app: Flask) -> None:
    """Register the blueprint and show it in the console's navigation."""
    app.register_blueprint(bp)
    console.add_action_labels(app, {"import_queued": _l("上传导入"), "book_imported": _l("导入图书")})
    console.add_area(app, "admin_import.form", _l("批量导入"), _l("上传音频文件，按标签归入图书"))
