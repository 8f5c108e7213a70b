"""Turn a take's findings into plain Chinese for the volunteer, one piece at a time, and figures for the librarian.

The volunteer sees one short sentence: what to do differently, never a unit (no LUFS, no dB).
Items come most important first: a take without speech, then one that leaves text out, then
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
PRIORITY = ("blank", "too_short", "too_quiet", "clipping", "noise", "plosives", "clicks", "hum", "gating")

ADVICE_ZH = {
    "blank": "没有录到说话声，请检查话筒是否打开，再录一次",
    "too_short": "录音比文字短很多，可能漏读了，请从头再录一次",
    "too_quiet": "声音太小，请靠近话筒一点",
    "clipping": "声音太大有破音，请离话筒远一点",
    "noise": "背景噪音较大，请关上门窗再录一次",
    "plosives": "有“噗”的喷麦声，请把话筒稍微偏向嘴巴一侧",
    "clicks": "录音里有咔哒声，请别碰话筒和桌子，可以先喝口水",
    "hum": "有电器的嗡嗡声，已自动去除；下次请让话筒线远离电源",
    "gating": "录音设备开着自动降噪，请告诉馆员",
}
ADVICE_EN = {
    "blank": "No speech was recorded: check that the microphone is on, and record again.",
    "too_short": "The recording is much shorter than the text: something may be missing. Please record it again.",
    "too_quiet": "Too quiet: please move a little closer to the microphone.",
    "clipping": "Too loud, it distorts: please move back from the microphone.",
    "noise": "There is a lot of background noise: please close the door and windows and record again.",
    "plosives": "Breath pops on the microphone: please turn it slightly to the side of your mouth.",
    "clicks": "There are clicks: please don't touch the microphone or the table; a sip of water helps.",
    "hum": "Electrical hum was found and removed; next time keep the microphone cable away from power.",
    "gating": "The recorder's noise suppression is on: please tell a librarian.",
}


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
        items["too_quiet"] = Advice("too_quiet", ADVICE_ZH["too_quiet"], "warn")
    return [items[code] for code in PRIORITY if code in items]


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
