"""Forms of the catalogue console: sections, books, chapters, readers, booth texts (Chinese labels).

Text inputs are trimmed before they are checked, so a title of spaces counts as empty; what
the librarian typed is kept on the re-rendered page. Strings are stored as typed (HTML
included) and escaped wherever they are shown.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import AnyOf, DataRequired, Length, ValidationError

from kiosk.library.changes import CatalogueError
from kiosk.library.edits import check_colour


def _strip(value: Any) -> Any:
    """Trim surrounding whitespace from text input."""
    return value.strip() if isinstance(value, str) else value


def _text(label: Any, max_chars: int, *, required: bool = False, area: bool = False) -> Any:
    """A trimmed text input of at most ``max_chars`` characters."""
    validators: list[Any] = [
        Length(max=max_chars, message=_l("最多 %(n)d 个字符。", n=max_chars)),
    ]
    if required:
        validators.insert(0, DataRequired(message=_l("请填写%(what)s。", what=label)))
    field = TextAreaField if area else StringField
    return field(label, validators=validators, filters=[_strip])


def _colour(form: FlaskForm, field: StringField) -> None:
    """White text must stay readable on the section's colour."""
    try:
        field.data = check_colour(field.data or "")
    except CatalogueError as error:
        raise ValidationError(error.message) from error


class SectionForm(FlaskForm):
    """Rename, describe and colour a section of the wall."""

    name = _text(_l("名称"), 64, required=True)
    name_en = _text(_l("英文名称"), 128)
    description = _text(_l("简介"), 500, area=True)
    description_en = _text(_l("英文简介"), 500, area=True)
    colour = StringField(_l("颜色"), validators=[_colour], filters=[_strip])
    icon = _text(_l("图标"), 8)


class BookForm(FlaskForm):
    """Create or edit a book, and choose its section."""

    section_id = SelectField(_l("所在栏目"), coerce=int, invalid_value_message=_l("请选择栏目。"),
                             invalid_choice_message=_l("请选择栏目。"))
    title = _text(_l("书名"), 256, required=True)
    title_en = _text(_l("英文书名"), 256)
    author = _text(_l("作者"), 256)
    description = _text(_l("简介"), 5000, area=True)

    def __init__(self, *args: Any, sections: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.section_id.choices = sections


class CoverForm(FlaskForm):
    """Upload a cover image."""

    cover = FileField(_l("封面图片"), validators=[FileRequired(_l("请选择图片文件。"))])


class UploadForm(FlaskForm):
    """Add a chapter from a professional recording."""

    title = _text(_l("章节标题"), 256, required=True)
    reader = _text(_l("朗读者"), 128)
    keep_as_is = BooleanField(_l("已符合标准时保持原样（仅限 MP3）"))
    audio = FileField(_l("录音文件"), validators=[FileRequired(_l("请选择音频文件。"))])


class ReplaceAudioForm(FlaskForm):
    """Replace a chapter's recording (the old file stays, the new one gets a new address)."""

    keep_as_is = BooleanField(_l("已符合标准时保持原样（仅限 MP3）"))
    audio = FileField(_l("新的录音文件"), validators=[FileRequired(_l("请选择音频文件。"))])


class TrackForm(FlaskForm):
    """Rename a chapter and set its reader."""

    title = _text(_l("章节标题"), 256, required=True)
    reader = _text(_l("朗读者"), 128)


class ReaderForm(FlaskForm):
    """A reader's public profile."""

    name = _text(_l("显示名称"), 128, required=True)
    bio = _text(_l("简介"), 2000, area=True)


class MergeForm(FlaskForm):
    """Merge this reader into another one."""

    target = SelectField(_l("合并到"), coerce=int, invalid_value_message=_l("请选择要保留的朗读者。"),
                         invalid_choice_message=_l("请选择要保留的朗读者。"))

    def __init__(self, *args: Any, readers: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.target.choices = readers


class TextForm(FlaskForm):
    """A text for the booth's teleprompter."""

    title = _text(_l("标题"), 256, required=True)
    author = _text(_l("作者"), 256)
    body = _text(_l("正文"), 20000, required=True, area=True)


class ActionForm(FlaskForm):
    """A button that changes something (carries only the CSRF token)."""


class MoveForm(FlaskForm):
    """Move an item up or down a list."""

    direction = HiddenField(validators=[AnyOf(["up", "down"], message=_l("请求有误，请返回重试。"))])

    @property
    def step(self) -> int:
        """-1 for up, +1 for down."""
        return -1 if self.direction.data == "up" else 1


class PublishForm(FlaskForm):
    """Publish (``1``) or hide (``0``) an item."""

    published = HiddenField(validators=[AnyOf(["0", "1"], message=_l("请求有误，请返回重试。"))])


class OrderForm(FlaskForm):
    """A book's chapter ids in their new order (sent by drag and drop)."""

    order = StringField(validators=[DataRequired(), Length(max=20000)])

    def ids(self) -> list[int] | None:
        """The ids, or ``None`` when the list is malformed."""
        parts = (self.order.data or "").split(",")
        return [int(p) for p in parts] if all(p.strip().isdigit() for p in parts) else None
