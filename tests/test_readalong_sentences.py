"""Sentence splitting for read-along: the way a Chinese reader reads aloud, and English too."""

from __future__ import annotations

import pytest

from kiosk.readalong.sentences import Sentence, normalise, paragraphs, split


def texts(text: str) -> list[str]:
    return [s.text for s in split(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("春天来了。小草绿了。", ["春天来了。", "小草绿了。"]),
        ("你去吗？我去！", ["你去吗？", "我去！"]),
        ("他说得对；我们走吧。", ["他说得对；", "我们走吧。"]),
        ("盼望着，盼望着……东风来了", ["盼望着，盼望着……", "东风来了"]),
        ("真的吗？！太好了。", ["真的吗？！", "太好了。"]),
        ("没有句号的一行", ["没有句号的一行"]),
        ("逗号，不分句，顿号、也不分", ["逗号，不分句，顿号、也不分"]),
        ("冒号：也不分句。", ["冒号：也不分句。"]),
        ("half-width!? ok", ["half-width!?", "ok"]),
    ],
)
def test_chinese_sentence_ends(text: str, expected: list[str]) -> None:
    assert texts(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("他说：「我来了。」然后走了。", ["他说：「我来了。」", "然后走了。"]),
        ("“你好吗？”她问。", ["“你好吗？”", "她问。"]),
        ("『好。』「再见！」", ["『好。』", "「再见！」"]),
        ("（注：见上文。）下一句。", ["（注：见上文。）", "下一句。"]),
        ("《春》写于一九三三年。", ["《春》写于一九三三年。"]),
        ("他喊：“快跑！””", ["他喊：“快跑！””"]),
    ],
)
def test_closing_quotes_stay_with_their_sentence(text: str, expected: list[str]) -> None:
    assert texts(text) == expected


def test_line_breaks_end_sentences_and_number_paragraphs() -> None:
    found = split("第一段第一句。第一段第二句\n\n　　第二段，行首全角空格\r\n第三段。")
    assert found == [
        Sentence("第一段第一句。", 0), Sentence("第一段第二句", 0),
        Sentence("第二段，行首全角空格", 1), Sentence("第三段。", 2),
    ]
    assert paragraphs(found) == [[0, 1], [2], [3]]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("It was late. The lamps were lit.", ["It was late.", "The lamps were lit."]),
        ("Mr. Li arrived. He sat down.", ["Mr. Li arrived.", "He sat down."]),
        ("Pi is 3.14 or so. Yes.", ["Pi is 3.14 or so.", "Yes."]),
        ("See example.org for more. Done!", ["See example.org for more.", "Done!"]),
        ("Wait... what? No!", ["Wait...", "what?", "No!"]),
        ('"Go home." She left.', ['"Go home."', "She left."]),
        ("Use e.g. this one. Fine.", ["Use e.g. this one.", "Fine."]),
    ],
)
def test_english_sentences(text: str, expected: list[str]) -> None:
    assert texts(text) == expected


def test_mixed_chinese_and_english() -> None:
    assert texts("我读了 The Little Prince. 很好看。Really? 真的。") == [
        "我读了 The Little Prince.", "很好看。", "Really?", "真的。",
    ]


def test_punctuation_alone_joins_the_sentence_before() -> None:
    assert texts("他走了。——\n……") == ["他走了。——", "……"]
    assert texts("好。 。") == ["好。。"]


@pytest.mark.parametrize("empty", ["", "   ", "\n\n\u3000\n", "\ufeff"])
def test_nothing_to_read_gives_no_sentences(empty: str) -> None:
    assert split(empty) == []


def test_normalise_removes_bom_controls_and_runs_of_spaces() -> None:
    assert normalise("\ufeff春\x00天  来\t了\r\n下\u2028一行") == "春天 来 了\n下\n一行"


def test_every_character_of_the_text_is_kept_in_order() -> None:
    text = "他说：「我来了。」然后走了。Mr. Li said: \"Hi!\" 好？！\n\n下一段……完"
    joined = "".join(texts(text))
    assert joined.replace(" ", "") == "".join(text.split())
