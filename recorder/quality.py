"""Judge a take for the reader at the booth and the librarian: a QualityReport with figures, verdict and advice.

Level and peaks are fixed by the mastering, so the verdict comes from what mastering cannot
repair: the defects ``recorder.defects`` finds (no speech, a reading much too short for its
text, clipping, noise, pops, clicks, hum, a noise gate) and a reader too far from the
microphone. The words are ``recorder.advice``'s: the volunteer reads one piece at a time
(``advice[0]``), the librarian gets every figure (``findings``, with units in the names).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from recorder import advice as words
from recorder.advice import Advice
from recorder.defects import DIGITAL_SILENCE_DBFS, Findings
from recorder.loudness import Measurement
from recorder.presets import DEFAULT, Preset

__all__ = ["Advice", "QualityReport", "judge", "master_in_tolerance", "mastering_gain_db"]


@dataclass(frozen=True)
class QualityReport:
    """The quality of one take, before and (if mastered) after mastering.

    Levels are dB values; ``None`` stands for "no level" (digital silence) in ``to_dict``.

    Attributes:
        input_lufs: Integrated loudness of the take (after the rumble filter).
        input_true_peak_dbtp: Its true peak.
        input_loudness_range_lu: Its loudness range (EBU R128 LRA).
        sample_peak_dbfs: Sample peak of the raw decoded take.
        clipping_share: Share of raw samples at full scale.
        noise_floor_dbfs: The quietest 500 ms away from speech (LibriVox's measure); -120
            (``DIGITAL_SILENCE_DBFS``) for digital silence.
        mastered_noise_floor_dbfs: That floor after the mastering gain.
        speech_ratio: Share of the take that is speech.
        speech_s: Seconds of speech.
        duration_s: Length of the take.
        final_lufs: Verified loudness of the master.
        final_true_peak_dbtp: Verified true peak of the master.
        final_loudness_range_lu: Loudness range of the master.
        gain_db: The mastering gain (into the limiter, if there was one).
        limited: Whether the true-peak limiter was needed.
        verdict: ``"pass"``, ``"warn"`` or ``"fail"``.
        advice: What to do differently, most important first (the booth shows the first).
        findings: The defect analysis's figures (``recorder.defects.Findings.to_dict``).
    """

    input_lufs: float
    input_true_peak_dbtp: float
    sample_peak_dbfs: float
    clipping_share: float
    noise_floor_dbfs: float
    mastered_noise_floor_dbfs: float
    speech_ratio: float
    speech_s: float
    duration_s: float
    input_loudness_range_lu: float = math.nan
    final_lufs: float | None = None
    final_true_peak_dbtp: float | None = None
    final_loudness_range_lu: float | None = None
    gain_db: float | None = None
    limited: bool | None = None
    verdict: str = "pass"
    advice: list[Advice] = field(default_factory=list)
    findings: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict (non-finite numbers become None); advice in Chinese and English."""
        data = asdict(self)
        data["advice"] = [{**asdict(item), "text_en": item.text_en} for item in self.advice]
        return {key: _jsonable(value) for key, value in data.items()}

    def with_final(self, final_lufs: float, final_true_peak_dbtp: float,
                   preset: Preset = DEFAULT, **figures: Any) -> QualityReport:
        """A copy with the mastered file's verified loudness and peak (and other ``figures`` of the master).

        A master outside the preset's tolerance or over its ceiling is never "pass": it
        gets the ``off_target`` advice (a warning), whatever the take was like.
        """
        items = list(self.advice)
        if not master_in_tolerance(final_lufs, final_true_peak_dbtp, preset):
            items.append(words.advice_for("off_target"))
        verdict = "fail" if self.verdict == "fail" else words.verdict_of(items)
        return replace(self, final_lufs=final_lufs, final_true_peak_dbtp=final_true_peak_dbtp,
                       advice=items, verdict=verdict, **figures)

    def with_master_hum(self, master_hum_dbfs: float) -> QualityReport:
        """A copy recording the hum left in the master's pauses (``-inf``: none measurable)."""
        if self.findings is None or "hum" not in self.findings:
            return self
        hum = {**self.findings["hum"], "master_hum_level_dbfs": round(master_hum_dbfs, 2)}
        return replace(self, findings={**self.findings, "hum": hum})


def judge(m: Measurement, preset: Preset = DEFAULT, findings: Findings | None = None, *,
          input_true_peak_dbtp: float | None = None) -> QualityReport:
    """Build the report for a measurement (and the defect analysis, when there was one) and decide the verdict.

    Args:
        m: The measuring pass.
        preset: The target, for the mastering gain.
        findings: ``recorder.defects``' findings; without them (a file measured for import)
            only a missing voice, clipping and a too-quiet reader are judged.
        input_true_peak_dbtp: The take's true peak when ``m`` was measured without it.
    """
    if findings is not None:
        items = words.advise(findings, integrated_lufs=m.integrated_lufs)
        # Digital silence has no level; it is reported at the floor of what is measured (and
        # the analysis's gating finding says whether the pauses were gated to it).
        noise_floor = max(findings.noise.noise_floor_dbfs, DIGITAL_SILENCE_DBFS)
    else:
        items = words.advise_levels(has_speech=m.has_speech, integrated_lufs=m.integrated_lufs,
                                    clipping_share=m.clipping_share)
        noise_floor = m.noise_floor_dbfs
    if not m.has_speech and not any(item.code == "blank" for item in items):
        items = [words.advice_for("blank", "fail")]  # nothing to master: the take is refused
    true_peak = m.true_peak_dbtp if input_true_peak_dbtp is None else input_true_peak_dbtp
    return QualityReport(
        input_lufs=m.integrated_lufs,
        input_true_peak_dbtp=round(true_peak, 2) if math.isfinite(true_peak) else true_peak,
        input_loudness_range_lu=m.loudness_range_lu,
        sample_peak_dbfs=m.sample_peak_dbfs,
        clipping_share=m.clipping_share,
        noise_floor_dbfs=noise_floor,
        mastered_noise_floor_dbfs=noise_floor + mastering_gain_db(m, preset),
        speech_ratio=round(m.speech_ratio, 4),
        speech_s=round(m.speech_s, 2),
        duration_s=round(m.duration_s, 2),
        verdict=words.verdict_of(items),
        advice=items,
        findings=findings.to_dict() if findings is not None else None,
    )


def master_in_tolerance(final_lufs: float, final_true_peak_dbtp: float, preset: Preset) -> bool:
    """Whether a master's verified loudness and true peak meet the preset."""
    return (math.isfinite(final_lufs)
            and abs(final_lufs - preset.target_lufs) <= preset.tolerance_lu
            and final_true_peak_dbtp <= preset.true_peak_ceiling_dbtp)


def mastering_gain_db(m: Measurement, preset: Preset) -> float:
    """Linear gain that brings the take to the preset's target (0 if unmeasurable)."""
    if not math.isfinite(m.integrated_lufs) or m.integrated_lufs <= -70.0:
        return 0.0
    return preset.target_lufs - m.integrated_lufs


def _jsonable(value: Any) -> Any:
    """Replace non-finite floats (recursively) with None."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value
