"""Judge a take for the reader at the booth: a QualityReport with verdict and advice.

The rules follow ACX's spirit (RMS -23..-18 dBFS, peaks <= -3 dB, noise floor <= -60
dBFS) adapted to automatic mastering: level and peaks are fixed by the mastering, so only
what mastering cannot repair is judged harshly - no speech, clipping, and noise.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from recorder.loudness import Measurement
from recorder.presets import DEFAULT, Preset

QUIET_LUFS = -35.0
LOUD_LUFS = -8.0
CLIP_WARN_SHARE = 0.001
CLIP_FAIL_SHARE = 0.01
NOISE_WARN_DBFS = -50.0
NOISE_FAIL_DBFS = -40.0
LOW_SPEECH_RATIO = 0.2

ADVICE_ZH = {
    "silent": "没有录到声音，请检查话筒后重录",
    "too_quiet": "声音太小，请靠近话筒",
    "too_loud": "声音太大，请离话筒远一点",
    "clipping": "录音有破音，请离话筒远一点",
    "noisy": "环境噪音较大，请关好门窗再录",
    "little_speech": "录音中停顿很多，请检查是否录全",
    "off_target": "音量没能调整到馆藏标准，馆员会再检查一下",
}


@dataclass(frozen=True)
class Advice:
    """One piece of advice for the reader.

    Attributes:
        code: Machine code, e.g. ``"too_quiet"``.
        text_zh: The sentence shown at the booth.
        severity: ``"warn"`` or ``"fail"``.
    """

    code: str
    text_zh: str
    severity: str = "warn"


@dataclass(frozen=True)
class QualityReport:
    """The quality of one take, before and (if mastered) after mastering.

    Levels are dB values; ``None`` stands for "no level" (digital silence) in ``to_dict``.
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
    final_lufs: float | None = None
    final_true_peak_dbtp: float | None = None
    verdict: str = "pass"
    advice: list[Advice] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict (non-finite numbers become None)."""
        data = asdict(self)
        return {key: _jsonable(value) for key, value in data.items()}

    def with_final(self, final_lufs: float, final_true_peak_dbtp: float,
                   preset: Preset = DEFAULT) -> QualityReport:
        """A copy with the mastered file's verified loudness and peak.

        A master outside the preset's tolerance or over its ceiling is never "pass": it
        gets the ``off_target`` advice (a warning), whatever the take was like.
        """
        advice = list(self.advice)
        if not master_in_tolerance(final_lufs, final_true_peak_dbtp, preset):
            advice.append(_advice("off_target"))
        verdict = self.verdict if self.verdict == "fail" else "warn" if advice else "pass"
        values = {**self.__dict__, "final_lufs": final_lufs,
                  "final_true_peak_dbtp": final_true_peak_dbtp, "advice": advice,
                  "verdict": verdict}
        return QualityReport(**values)


def judge(m: Measurement, preset: Preset = DEFAULT) -> QualityReport:
    """Build the report for a measurement and decide the verdict.

    Noise is judged where the listener hears it: after the mastering gain, as ACX does.
    An unknown noise floor (NaN: too little pause to tell noise from voice) is not judged.
    """
    mastered_noise = m.noise_floor_dbfs + mastering_gain_db(m, preset)
    advice = advise(m, mastered_noise)
    severities = {a.severity for a in advice}
    verdict = "fail" if "fail" in severities else "warn" if advice else "pass"
    return QualityReport(
        input_lufs=m.integrated_lufs,
        input_true_peak_dbtp=m.true_peak_dbtp,
        sample_peak_dbfs=m.sample_peak_dbfs,
        clipping_share=m.clipping_share,
        noise_floor_dbfs=m.noise_floor_dbfs,
        mastered_noise_floor_dbfs=mastered_noise,
        speech_ratio=round(m.speech_ratio, 4),
        speech_s=round(m.speech_s, 2),
        duration_s=round(m.duration_s, 2),
        verdict=verdict,
        advice=advice,
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


def advise(m: Measurement, mastered_noise_dbfs: float) -> list[Advice]:
    """The advice items that apply to a measurement, most important first."""
    if not m.has_speech:
        return [_advice("silent", "fail")]
    items: list[Advice] = []
    if m.clipping_share > CLIP_WARN_SHARE:
        items.append(_advice("clipping", "fail" if m.clipping_share > CLIP_FAIL_SHARE else "warn"))
    if m.integrated_lufs < QUIET_LUFS:
        items.append(_advice("too_quiet"))
    elif m.integrated_lufs > LOUD_LUFS and not items:
        items.append(_advice("too_loud"))
    if math.isfinite(mastered_noise_dbfs) and mastered_noise_dbfs > NOISE_WARN_DBFS:
        items.append(_advice("noisy", "fail" if mastered_noise_dbfs > NOISE_FAIL_DBFS else "warn"))
    if m.speech_ratio < LOW_SPEECH_RATIO:
        items.append(_advice("little_speech"))
    return items


def _advice(code: str, severity: str = "warn") -> Advice:
    """An Advice with its Chinese text."""
    return Advice(code=code, text_zh=ADVICE_ZH[code], severity=severity)


def _jsonable(value: Any) -> Any:
    """Replace non-finite floats (recursively) with None."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value
