"""Turn a take's findings into plain Chinese for the volunteer, one piece at a time, and figures for the librarian.

The one place for the words the volunteer reads about a take (``ADVICE_ZH``; English in
``ADVICE_EN``); ``recorder.quality`` puts them into the report.

The volunteer sees one short sentence: what to do differently, never a unit (no LUFS, no dB).
Items come most important first: a take without speech, then one that leaves text out (much
too short, or a sentence skipped: ``skipped_advice``, from the booth's read-along alignment), then
what spoils a take for every listener (clipping, loud noise), then what a listener notices
(pops, clicks, hum), then what the librarian must fix (a noise gate in the booth's settings).
The librarian's moderation page shows ``figures``: every measured value with its unit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from recorder.defects import Finding, Findings

QUIET_LUFS = -35.0  # at or under this the reader was too far from the microphone

# Most important first; the order is the order of the advice.
PRIORITY = ("blank", "too_short", "skipped", "too_quiet", "clipping", "noise", "plosives", "clicks", "hum", "gating")

ADVICE_ZH = {
    "blank": "没有录到说话声，请检查话筒是否打开，再录一次",
    "too_short": "录音比文字短很多，可能漏读了，请从头再录一次",
    "skipped": "第{n}句好像漏读了：{q}，请从头再录一次",  # see ``skipped_advice``
    "too_quiet": "声音太小，请靠近话筒一点",
    "clipping": "声音太大有破音，请离话筒远一点",
    "noise": "背景噪音较大，请关上门窗再录一次",
    "plosives": "有“噗”的喷麦声，请把话筒稍微偏向嘴巴一侧",
    "clicks": "录音里有咔哒声，请别碰话筒和桌子，可以先喝口水",
    "hum": "有电器的嗡嗡声，已自动去除；下次请让话筒线远离电源",
    "gating": "录音设备开着自动降噪，请告诉馆员",
    "off_target": "音量没能调整到馆藏标准，馆员会再检查一下",
}
ADVICE_EN = {
    "blank": "No speech was recorded: check that the microphone is on, and record again.",
    "too_short": "The recording is much shorter than the text: something may be missing. Please record it again.",
    "skipped": "Something seems to be left out at sentence {n}: {q}. Please record the whole text again.",
    "too_quiet": "Too quiet: please move a little closer to the microphone.",
    "clipping": "Too loud, it distorts: please move back from the microphone.",
    "noise": "There is a lot of background noise: please close the door and windows and record again.",
    "plosives": "Breath pops on the microphone: please turn it slightly to the side of your mouth.",
    "clicks": "There are clicks: please don't touch the microphone or the table; a sip of water helps.",
    "hum": "Electrical hum was found and removed; next time keep the microphone cable away from power.",
    "gating": "The recorder's noise suppression is on: please tell a librarian.",
    "off_target": "The volume could not be brought to the library's standard; a librarian will check it.",
}
QUOTED_SENTENCES_MAX = 3  # a volunteer reads a short sentence: the first few skipped ones are named
QUOTE_CHARS_MAX = 24
OPENERS = "「『“‘\"'（(《"  # characters, each dropped from the start of a quoted sentence
CLOSERS = "。！？；…!?.;」』”’\"')）)》"  # and from its end
CLIP_WARN_SHARE = 0.001  # without the analysis: share of samples at full scale
CLIP_FAIL_SHARE = 0.01


@dataclass(frozen=True)
class Advice:
    """One piece of advice for the volunteer.

    Attributes:
        code: The finding's code, e.g. ``"clipping"``.
        text_zh: The sentence shown at the booth.
        severity: ``"warn"`` or ``"fail"`` (a take to record again).
    """

    code: str
    text_zh: str
    severity: str = "warn"

    @property
    def text_en(self) -> str:
        """The English sentence, for a kiosk set to English."""
        return ADVICE_EN[self.code]


@dataclass(frozen=True)
class SentenceAdvice(Advice):
    """Advice that names sentences of the text read: their numbers (from 1) and their words.

    Attributes:
        sentences: The sentences' numbers in the text, from 1.
        quotes: Their words, each shortened to ``QUOTE_CHARS_MAX`` characters.
    """

    sentences: tuple[int, ...] = ()
    quotes: tuple[str, ...] = ()

    @property
    def text_en(self) -> str:
        """The English sentence, naming the same sentences."""
        numbers = ", ".join(str(n) for n in self.sentences[:QUOTED_SENTENCES_MAX])
        quotes = " ".join(f"“{q}”" for q in self.quotes)
        return ADVICE_EN[self.code].format(n=numbers + (" and others" if self._more else ""), q=quotes)

    @property
    def _more(self) -> bool:
        """Whether more sentences were found than are named."""
        return len(self.sentences) > QUOTED_SENTENCES_MAX


def skipped_advice(sentences: list[tuple[int, str]]) -> SentenceAdvice:
    """"第3句好像漏读了：「…」，请从头再录一次": the sentences (number from 1, text) alignment found skipped.

    The first ``QUOTED_SENTENCES_MAX`` are named and quoted; a take with a sentence left out is recorded again.
    """
    if not sentences:
        raise ValueError("skipped_advice needs at least one sentence")
    named = sentences[:QUOTED_SENTENCES_MAX]
    quotes = tuple(_shorten(text) for _, text in named)
    numbers = "、".join(str(number) for number, _ in named) + ("等" if len(sentences) > len(named) else "")
    text_zh = ADVICE_ZH["skipped"].format(n=numbers, q="".join(f"「{q}」" for q in quotes))
    return SentenceAdvice("skipped", text_zh, "fail", sentences=tuple(n for n, _ in sentences), quotes=quotes)


def with_advice(items: list[Advice], item: Advice) -> list[Advice]:
    """``items`` with ``item`` in its place by ``PRIORITY`` (codes not in it, e.g. ``off_target``, come last)."""
    rank = {code: index for index, code in enumerate(PRIORITY)}
    place = rank.get(item.code, len(PRIORITY))
    at = next((i for i, other in enumerate(items) if rank.get(other.code, len(PRIORITY)) > place), len(items))
    return [*items[:at], item, *items[at:]]


def _shorten(text: str) -> str:
    """A sentence as quoted: its quotes and closing punctuation dropped, at most ``QUOTE_CHARS_MAX`` characters."""
    text = text.strip().lstrip(OPENERS).rstrip(CLOSERS)
    return text if len(text) <= QUOTE_CHARS_MAX else text[: QUOTE_CHARS_MAX - 1] + "…"


def advise(findings: Findings, *, integrated_lufs: float | None = None) -> list[Advice]:
    """Every piece of advice that applies, most important first.

    Args:
        findings: What ``recorder.defects`` found in the take.
        integrated_lufs: The take's loudness as measured (``Measurement.integrated_lufs``);
            at or under ``QUIET_LUFS`` the volunteer is asked to come closer.
    """
    items = {item.code: _advice(item) for item in findings.found()}
    if findings.blank.found:  # nothing else means anything without a voice
        return [items["blank"]]
    if integrated_lufs is not None and math.isfinite(integrated_lufs) and integrated_lufs <= QUIET_LUFS:
        items["too_quiet"] = advice_for("too_quiet")
    return [items[code] for code in PRIORITY if code in items]


def advise_levels(*, has_speech: bool, integrated_lufs: float, clipping_share: float) -> list[Advice]:
    """Advice from the loudness measurement alone, for a file measured without the defect analysis."""
    if not has_speech:
        return [advice_for("blank", "fail")]
    items = []
    if clipping_share > CLIP_WARN_SHARE:
        items.append(advice_for("clipping", "fail" if clipping_share > CLIP_FAIL_SHARE else "warn"))
    if math.isfinite(integrated_lufs) and integrated_lufs <= QUIET_LUFS:
        items.append(advice_for("too_quiet"))
    return items


def advice_for(code: str, severity: str = "warn") -> Advice:
    """The advice with code ``code`` (one of ``ADVICE_ZH``)."""
    return Advice(code, ADVICE_ZH[code], severity)


def verdict_of(items: list[Advice]) -> str:
    """``"fail"`` if any piece of advice fails the take, ``"warn"`` if there is any, else ``"pass"``."""
    severities = {item.severity for item in items}
    return "fail" if "fail" in severities else "warn" if severities else "pass"


def first_advice(findings: Findings, *, integrated_lufs: float | None = None) -> Advice | None:
    """The one piece of advice to show now (None: the take is fine)."""
    items = advise(findings, integrated_lufs=integrated_lufs)
    return items[0] if items else None


def verdict(findings: Findings) -> str:
    """``"fail"`` if any finding fails the take, ``"warn"`` if any is found, else ``"pass"``."""
    severities = {item.severity for item in findings.found()}
    return "fail" if "fail" in severities else "warn" if severities else "pass"


def figures(findings: Findings) -> dict[str, Any]:
    """The librarian's figures: every finding with its measured values (units in the names)."""
    return findings.to_dict()


def _advice(item: Finding) -> Advice:
    """The advice for one finding."""
    return Advice(item.code, ADVICE_ZH[item.code], item.severity or "warn")
