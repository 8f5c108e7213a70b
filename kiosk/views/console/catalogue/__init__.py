"""The console's catalogue: sections, books, chapters, readers, booth texts, and the trash.

Every change goes through a service (``kiosk.catalogue_admin``, ``chapter_uploads``,
``booth_texts``, ``trash``), which audits it, and is committed once here. Invalid input
re-renders the page with the reason and what was typed (422, or the upload's own status);
buttons are small CSRF-carrying forms that answer with a 303. One blueprint, ``bp`` in
``base``; each area's views are in their own module, attached by ``init_app``.
"""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

from kiosk.views.console.catalogue.base import bp
from kiosk.web import console

ACTION_LABELS = {
    "section_updated": _l("修改栏目"), "section_moved": _l("调整栏目顺序"),
    "section_published": _l("显示栏目"), "section_hidden": _l("隐藏栏目"),
    "book_created": _l("创建图书"), "book_updated": _l("修改图书"), "book_moved": _l("移动图书"),
    "book_cover_set": _l("封面已更换"), "book_published": _l("发布图书"),
    "book_unpublished": _l("下架图书"), "book_deleted": _l("删除图书"),
    "book_restored": _l("恢复图书"), "track_upload_received": _l("上传录音"),
    "track_upload_failed": _l("录音处理失败"), "track_created": _l("添加章节"),
    "track_audio_replaced": _l("替换录音"), "track_updated": _l("修改章节"),
    "track_moved": _l("调整章节顺序"), "tracks_reordered": _l("调整章节顺序"),
    "track_published": _l("发布章节"), "track_unpublished": _l("下架章节"),
    "track_deleted": _l("删除章节"), "track_restored": _l("恢复章节"),
    "reader_updated": _l("修改朗读者"), "readers_merged": _l("合并朗读者"),
    "text_created": _l("添加朗读文本"), "text_updated": _l("修改朗读文本"),
    "text_moved": _l("调整朗读文本顺序"), "text_published": _l("显示朗读文本"),
    "text_hidden": _l("隐藏朗读文本"), "text_deleted": _l("删除朗读文本"),
    "trash_purged": _l("清空过期回收站"),
}


def init_app(app: Flask) -> None:
    """Register the blueprint, name its audit actions, and add its areas to the console."""
    from kiosk.views.console.catalogue import (
        books,  # noqa: F401 - attach their views to bp
        chapter_texts,  # read-along texts of chapters (its init_app names its audit actions)
        chapters,  # noqa: F401 - attach their views to bp
        readers,  # noqa: F401 - attach their views to bp
        sections,  # noqa: F401 - attach their views to bp
        texts,  # noqa: F401 - attach their views to bp
        trash,  # noqa: F401 - attach their views to bp
    )

    app.register_blueprint(bp)
    console.add_action_labels(app, ACTION_LABELS)
    chapter_texts.init_app(app)
    areas = (
        ("sections", _l("栏目"), _l("有声墙上的九个栏目：名称、顺序、颜色、显示")),
        ("books", _l("图书"), _l("图书、封面、章节与录音")),
        ("readers", _l("朗读者"), _l("朗读者资料，合并重复的朗读者")),
        ("texts", _l("朗读文本"), _l("录音亭提词器上的文本")),
    )
    for endpoint, label, description in areas:
        console.add_area(app, f"admin_catalogue.{endpoint}", label, description)
    console.add_area(app, "admin_catalogue.trash", _l("回收站"),
                           _l("30 天内删除的图书和章节，可以恢复"), admin_only=True)
