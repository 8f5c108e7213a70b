"""Forms of the moderation queue: approve into a book or a new book, reject, master again."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from kiosk.booth.moderation import MAX_REASON_CHARS
from kiosk.booth.remaster import MAX_TARGET_LUFS, MIN_TARGET_LUFS
from kiosk.models import Book, RoomTone, Section

try:  # WTForms 3.3 names its choices (and their <optgroup>); older versions take tuples
    from wtforms.fields.choices import SelectChoice
except ImportError:  # pragma: no cover - WTForms < 3.3
    SelectChoice = None

TITLE_MAX_CHARS = 256
NOT_A_CHOICE = _l("请从列表中选择。")
APPEND = "end"
AT_POSITION = "at"


def _choice(value: object, label: object, group: str | None = None) -> Any:
    """One option of a select or radio field, under ``group`` when given."""
    if SelectChoice is None:  # pragma: no cover - WTForms < 3.3
        return value, label
    return SelectChoice(value, label, optgroup=group)


def _chapter_title() -> StringField:
    """The chapter's title (defaults to the take's title when the form is built)."""
    return StringField(
        _l("章节标题"),
        validators=[InputRequired(_l("请填写章节标题。")), Length(max=TITLE_MAX_CHARS, message=_l("标题太长了。"))],
    )


class ApproveIntoBookForm(FlaskForm):
    """Publish the take as a chapter of an existing book."""

    book_id = SelectField(
        _l("书"), coerce=int, invalid_choice_message=NOT_A_CHOICE, validators=[InputRequired(_l("请选择一本书。"))]
    )
    chapter_title = _chapter_title()
    placement = RadioField(
        _l("放在"), choices=[_choice(APPEND, _l("最后一章之后")), _choice(AT_POSITION, _l("指定位置"))], default=APPEND,
        invalid_choice_message=NOT_A_CHOICE,
        validators=[InputRequired(_l("请选择章节位置。"))],
    )
    position = IntegerField(
        _l("第几章"), validators=[Optional(), NumberRange(min=1, max=9999, message=_l("请填写 1 以上的整数。"))],
    )

    def validate(self, extra_validators: Any = None) -> bool:
        """The fields' own checks, then: a place is needed when "at a given place" is chosen."""
        valid = super().validate(extra_validators)
        if self.placement.data == AT_POSITION and self.position.data is None and not self.position.errors:
            self.position.errors = [*self.position.errors, str(_l("请填写要放在第几章。"))]
            return False
        return valid

    def chosen_position(self) -> int | None:
        """The 1-based place, or ``None`` to append."""
        return self.position.data if self.placement.data == AT_POSITION else None


class ApproveNewBookForm(FlaskForm):
    """Publish the take as chapter 1 of a new book."""

    title = StringField(
        _l("书名"),
        validators=[InputRequired(_l("请填写书名。")), Length(max=TITLE_MAX_CHARS, message=_l("书名太长了。"))],
    )
    section_id = SelectField(
        _l("栏目"), coerce=int, invalid_choice_message=NOT_A_CHOICE, validators=[InputRequired(_l("请选择栏目。"))]
    )
    author = StringField(_l("作者"), validators=[Length(max=TITLE_MAX_CHARS, message=_l("作者名太长了。"))])
    chapter_title = _chapter_title()


class RejectForm(FlaskForm):
    """Decline the take with a reason the volunteer will read."""

    reason = TextAreaField(
        _l("不采用的原因（录音者会看到）"),
        validators=[
            InputRequired(_l("请填写不采用的原因，录音者会看到它。")),
            Length(max=MAX_REASON_CHARS, message=_l("原因太长了，请少于 500 个字。")),
        ],
    )


class RemasterForm(FlaskForm):
    """Master the original again with another loudness target or more room tone."""

    target_lufs = SelectField(
        _l("响度目标"), coerce=int, default=-18,
        choices=[_choice(v, f"{v} LUFS") for v in range(MAX_TARGET_LUFS, MIN_TARGET_LUFS - 1, -1)],
        invalid_choice_message=_l("响度目标须在 −23 到 −16 LUFS 之间。"),
        validators=[InputRequired(_l("请选择响度目标。"))],
    )
    room_tone = RadioField(
        _l("环境音"), default=RoomTone.STANDARD.value,
        choices=[_choice(RoomTone.STANDARD.value, _l("标准（开头约 0.5 秒，结尾约 1.5 秒）")),
                 _choice(RoomTone.MORE.value, _l("多保留一些（开头约 1 秒，结尾约 3 秒）"))],
        invalid_choice_message=NOT_A_CHOICE,
        validators=[InputRequired(_l("请选择环境音。"))],
    )


def book_choices(grouped: list[tuple[Section, list[Book]]]) -> list[Any]:
    """Books under their section's name (rendered as ``<optgroup>``: section → book)."""
    return [_choice(book.id, book.title, section.name) for section, books in grouped for book in books]


def section_choices(sections: list[Section]) -> list[Any]:
    """Sections in wall order."""
    return [_choice(section.id, section.name) for section in sections]
