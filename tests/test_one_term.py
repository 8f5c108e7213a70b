"""One Chinese word for a section, 栏目, on the wall, in the console, import and statistics.

Visitors, librarians and the printed wall must not meet 分区 on one page and 主题 on the next
for the same thing. This scans every template and every string in the Python code for another
word used for a section. Words that also mean something else (主题 "theme", 分类 "sort",
分区 "disk partition") are only flagged in the phrases that make them name a section.
"""

from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
TERM = "栏目"

# Words that are never anything but a section here.
ALWAYS_A_SECTION = ["版块", "板块", "专区", "频道", "类目"]
# 分区 names a section unless it is a disk's partition.
PARTITION = r"(?<!磁盘)(?<!硬盘)分区"
# 主题 and 分类 name a section only when counted, chosen or listed like one.
COUNTED = r"(?:[这那每哪各一两三四五六七八九十\d]\s*个|全部|所有|所在|本|选(?:择)?(?:一个)?|换(?:一个)?)"
AS_A_SECTION = [rf"{COUNTED}(?:主题|分类)", r"(?:主题|分类)(?:：|列表|名称|页面|顺序)"]
SECOND_TERM = re.compile("|".join([*ALWAYS_A_SECTION, PARTITION, *AS_A_SECTION]))


def python_strings(path: Path) -> list[tuple[int, str]]:
    """Every string literal in a Python file, with its line."""
    tokens = tokenize.generate_tokens(io.StringIO(path.read_text(encoding="utf-8")).readline)
    return [(token.start[0], token.string) for token in tokens if token.type == tokenize.STRING]


def text_lines(path: Path) -> list[tuple[int, str]]:
    """Every line of a template or script, with its number."""
    return list(enumerate(path.read_text(encoding="utf-8").splitlines(), start=1))


def sources() -> list[tuple[Path, list[tuple[int, str]]]]:
    """The templates, the visitor scripts and every Python string visitors or librarians may read."""
    found: list[tuple[Path, list[tuple[int, str]]]] = []
    for pattern in ("templates/**/*.html", "kiosk/static/*.js"):
        found += [(path, text_lines(path)) for path in sorted(REPO_ROOT.glob(pattern))]
    for folder in ("kiosk", "recorder"):
        for path in sorted((REPO_ROOT / folder).rglob("*.py")):
            if "migrations" not in path.parts:  # old revisions keep the words they were written with
                found.append((path, python_strings(path)))
    return found


def second_terms() -> list[str]:
    """``path:line: word`` for every other word for a section in the scanned sources."""
    return [
        f"{path.relative_to(REPO_ROOT)}:{line}: {match.group(0)}"
        for path, lines in sources()
        for line, text in lines
        for match in SECOND_TERM.finditer(text)
    ]


def test_the_scan_reads_templates_and_python() -> None:
    names = {path.relative_to(REPO_ROOT).as_posix() for path, _ in sources()}
    assert {"templates/visitor/wall.html", "templates/admin/catalogue/sections.html",
            "kiosk/views/console/catalogue_forms.py", "kiosk/library/catalogue.py"} <= names


def test_no_second_word_for_a_section() -> None:
    found = second_terms()
    assert not found, f"call a section {TERM}, not:\n" + "\n".join(found)


@pytest.mark.parametrize(
    "text",
    ["全部分区", "所在分区", "个分区", "请选择分区。", "这个主题还没有上架的有声书。", "选一个主题，点开就能听。",
     "9 个主题", "所在分类", "主题：中国精神", "进入版块", "少儿专区", "频道", "全部主题"],
)
def test_the_scan_catches_another_word_for_a_section(text: str) -> None:
    assert SECOND_TERM.search(text), text


@pytest.mark.parametrize(
    "text",
    ["这首诗的主题是思乡", "主题鲜明", "按栏目分组：先找栏目，再选书。", "磁盘分区已满", "分类讨论", "栏目",
     "主题曲", "按拼音分类排序"],
)
def test_the_scan_leaves_other_meanings_alone(text: str) -> None:
    assert not SECOND_TERM.search(text), text


@pytest.mark.parametrize(
    ("path", "phrase"),
    [("templates/visitor/wall.html", "选一个栏目"), ("templates/visitor/section.html", "这个栏目"),
     ("templates/admin/catalogue/sections.html", "_('栏目')"), ("templates/admin/import/form.html", "_('栏目')"),
     ("templates/admin/stats/page.html", "_('栏目')"), ("kiosk/views/console/catalogue_forms.py", "所在栏目")],
)
def test_wall_console_import_and_statistics_say_the_one_term(path: str, phrase: str) -> None:
    assert phrase in (REPO_ROOT / path).read_text(encoding="utf-8")
