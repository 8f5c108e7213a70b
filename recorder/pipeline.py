"""Master a take: probe, measure once, decide, render to MP3 in one pass, verify, tag.

``master`` is what the kiosk's job queue calls for every booth recording; ``analyse``
gives the same quality report without encoding (for a quick check at the booth).
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass, replace
from pathlib import Path

from recorder import steps
from recorder.encode import atomic_path, encode_mp3
from recorder.errors import SilentTakeError, TooLongError
from recorder.loudness import Measurement, measure, measure_filtered
from recorder.presets import DEFAULT, Preset
from recorder.probe import ProbeResult, probe
from recorder.quality import QualityReport, judge, mastering_gain_db
from recorder.tags import TrackTags, write_tags

log = logging.getLogger(__name__)

MAX_CORRECTIONS = 1
MAX_GAIN_FITS = 2
GAIN_FIT_TOLERANCE_LU = 0.2
FIT_OVERSHOOT_DB = 1.0
TP_CORRECTION_STEP_DB = 0.3


@dataclass(frozen=True)
class MasterResult:
    """The mastered file and how it measured.

    Attributes:
        output_path: Where the MP3 was written.
        duration_ms: Duration of the master.
        size_bytes: Size of the master, tags included.
        integrated_lufs: Verified loudness of the master.
        true_peak_dbtp: Verified true peak of the master.
        sample_rate_hz: Output sample rate.
        bitrate_kbps: Output MP3 bitrate.
        report: Quality report of the take, with the final measurements filled in.
    """

    output_path: Path
    duration_ms: int
    size_bytes: int
    integrated_lufs: float
    true_peak_dbtp: float
    sample_rate_hz: int
    bitrate_kbps: int
    report: QualityReport


@dataclass(frozen=True)
class RenderPlan:
    """The decisions for one render: trim points, padding, gain and limiter ceiling."""

    start_s: float
    end_s: float
    head_pad_s: float
    tail_pad_s: float
    gain_db: float
    limiter_ceiling_dbtp: float | None
    overshoot_db: float = 0.0


def analyse(
    input_path: str | os.PathLike[str],
    preset: Preset = DEFAULT,
    *,
    work_dir: str | os.PathLike[str] | None = None,
) -> QualityReport:
    """Probe and measure a take and judge it, without encoding anything.

    Raises:
        NotAudioError: Not decodable audio.
        TooLargeError: File over ``preset.max_size_bytes``.
        TooLongError: Audio over ``preset.max_duration_s``.
    """
    return judge(_measure_checked(Path(input_path), preset, work_dir)[1], preset)


def master(
    input_path: str | os.PathLike[str],
    output_path: str | os.PathLike[str],
    *,
    tags: TrackTags,
    preset: Preset = DEFAULT,
    work_dir: str | os.PathLike[str] | None = None,
) -> MasterResult:
    """Master a take into a tagged, loudness-normalised mono CBR MP3.

    The input is only read. The output appears atomically (complete or not at all), and
    the same input always gives the same bytes, so a crashed job can simply be re-run.

    Args:
        input_path: The raw take, any format ffmpeg decodes.
        output_path: The MP3 to write (replaced if it exists).
        tags: ID3 tags to write.
        preset: Loudness target, ceilings, format and limits.
        work_dir: Scratch directory for small measurement files (system temp by default).

    Returns:
        The verified result with its quality report.

    Raises:
        NotAudioError: Not decodable audio.
        TooLargeError: File over ``preset.max_size_bytes``.
        TooLongError: Audio over ``preset.max_duration_s``.
        SilentTakeError: No speech found; ``.report`` says why.
        FfmpegError: ffmpeg failed while rendering.
    """
    source = Path(input_path)
    demuxer, measured = _measure_checked(source, preset, work_dir)
    report = judge(measured, preset)
    if not measured.has_speech:
        raise SilentTakeError(f"no speech in {source.name}", report=report)
    plan = fit_gain(source, plan_render(measured, preset), preset, demuxer)
    with atomic_path(Path(output_path)) as tmp:
        final = _render_and_verify(source, demuxer, tmp, plan, preset, work_dir)
        write_tags(tmp, tags)
        size_bytes = tmp.stat().st_size
    return MasterResult(
        output_path=Path(output_path),
        duration_ms=round(final.duration_s * 1000),
        size_bytes=size_bytes,
        integrated_lufs=final.integrated_lufs,
        true_peak_dbtp=final.true_peak_dbtp,
        sample_rate_hz=preset.sample_rate_hz,
        bitrate_kbps=preset.bitrate_kbps,
        report=report.with_final(final.integrated_lufs, final.true_peak_dbtp),
    )


def _measure_checked(
    source: Path, preset: Preset, work_dir: str | os.PathLike[str] | None
) -> tuple[str, Measurement]:
    """Probe (cheap refusals first, including a header claiming too long) then measure.

    Returns the demuxer found by content, to be pinned in every later decode, and the
    measurement.
    """
    info: ProbeResult = probe(source, preset)
    if info.duration_s is not None and info.duration_s > preset.max_duration_s + 1:
        raise TooLongError(f"{source.name} claims {info.duration_s:.0f} s")
    return info.demuxer, measure(source, preset, work_dir=work_dir, input_format=info.demuxer)


def plan_render(m: Measurement, preset: Preset, *, extra_gain_db: float = 0.0,
                extra_margin_db: float = 0.0) -> RenderPlan:
    """Decide trim, padding, gain and whether a limiter is needed.

    Real room tone around the speech is kept up to the preset's head/tail lengths; any
    shortfall is made up with digital silence.
    """
    first = m.first_speech_s or 0.0
    last = m.last_speech_end_s if m.last_speech_end_s is not None else m.duration_s
    start_s = max(0.0, first - preset.head_room_tone_s)
    end_s = min(m.duration_s, last + preset.tail_room_tone_s)
    gain_db = mastering_gain_db(m, preset) + extra_gain_db
    ceiling = preset.true_peak_ceiling_dbtp - preset.limiter_margin_db - extra_margin_db
    needs_limiter = not math.isfinite(m.true_peak_dbtp) or m.true_peak_dbtp + gain_db > ceiling
    return RenderPlan(
        start_s=start_s,
        end_s=end_s,
        head_pad_s=preset.head_room_tone_s - (first - start_s),
        tail_pad_s=preset.tail_room_tone_s - (end_s - last),
        gain_db=gain_db,
        limiter_ceiling_dbtp=ceiling if needs_limiter or extra_margin_db > 0 else None,
        overshoot_db=max(0.0, m.true_peak_dbtp + gain_db - ceiling) if needs_limiter else 0.0,
    )


def render_chain(plan: RenderPlan, preset: Preset, *, oversample: bool = True) -> str:
    """The ffmpeg filter chain for a plan.

    The limiter follows the gain (it works in float, so order does not change the result,
    and ``alimiter``'s limit cannot go below -24 dBFS, which a pre-gain ceiling might need).
    """
    limiter = ""
    if plan.limiter_ceiling_dbtp is not None:
        limiter = steps.true_peak_limiter(plan.limiter_ceiling_dbtp, preset.sample_rate_hz,
                                          oversample_factor=4 if oversample else 1)
    return steps.chain(
        steps.prepare(preset.sample_rate_hz, preset.highpass_hz),
        steps.trim(plan.start_s, plan.end_s),
        steps.pad(plan.head_pad_s, plan.tail_pad_s),
        steps.gain(plan.gain_db),
        limiter,
    )


def fit_gain(source: Path, plan: RenderPlan, preset: Preset, demuxer: str | None = None
             ) -> RenderPlan:
    """With a limiter in the chain, adjust the gain until the limited audio hits the target.

    A limiter takes loudness away by an amount that depends on the audio, so the linear
    estimate falls short. Each fit is a decode-and-measure pass (no encode, ~3 s per hour);
    loudness grows monotonically with gain, so a secant step converges in one or two.
    """
    if plan.limiter_ceiling_dbtp is None or plan.overshoot_db < FIT_OVERSHOOT_DB:
        return plan
    points: list[tuple[float, float]] = []
    for _ in range(MAX_GAIN_FITS):
        # The limiter's loudness cost barely depends on oversampling: fit at 1x (faster).
        lufs = measure_filtered(source, render_chain(plan, preset, oversample=False), preset,
                                input_format=demuxer)
        if not math.isfinite(lufs):
            return plan
        error_lu = preset.target_lufs - lufs
        if abs(error_lu) <= GAIN_FIT_TOLERANCE_LU:
            break
        points.append((plan.gain_db, lufs))
        plan = replace(plan, gain_db=_next_gain(points, preset.target_lufs))
    return plan


def _next_gain(points: list[tuple[float, float]], target_lufs: float) -> float:
    """Secant step on (gain, loudness) points; a plain step from one point."""
    gain_db, lufs = points[-1]
    slope = 1.0
    if len(points) >= 2:
        (g0, l0), (g1, l1) = points[-2], points[-1]
        if g1 != g0 and 0.05 < (l1 - l0) / (g1 - g0) <= 1.0:
            slope = (l1 - l0) / (g1 - g0)
    return gain_db + (target_lufs - lufs) / slope


def _render_and_verify(
    source: Path, demuxer: str, target: Path, plan: RenderPlan, preset: Preset,
    work_dir: str | os.PathLike[str] | None,
) -> Measurement:
    """Encode, measure the MP3, and correct once if loudness or peak is out of bounds."""
    verify_preset = _verify_preset(preset)
    for attempt in range(MAX_CORRECTIONS + 1):
        encode_mp3(source, target, filter_chain=render_chain(plan, preset), preset=preset,
                   input_format=demuxer)
        final = measure(target, verify_preset, work_dir=work_dir)
        error_lu = preset.target_lufs - final.integrated_lufs
        over_db = final.true_peak_dbtp - preset.true_peak_ceiling_dbtp
        log.info("render %d: %.2f LUFS, %.2f dBTP (plan %s)", attempt, final.integrated_lufs,
                 final.true_peak_dbtp, plan)
        if abs(error_lu) <= preset.tolerance_lu and over_db <= 0:
            break
        if attempt < MAX_CORRECTIONS:
            plan = _corrected(plan, error_lu, over_db, preset)
    return final


def _corrected(plan: RenderPlan, error_lu: float, over_db: float, preset: Preset) -> RenderPlan:
    """A plan nudged by the verified error: gain by the loudness error, ceiling by the overshoot."""
    ceiling = plan.limiter_ceiling_dbtp
    if over_db > 0:
        base = preset.true_peak_ceiling_dbtp - preset.limiter_margin_db
        current = min(ceiling if ceiling is not None else base, base)
        ceiling = current - over_db - TP_CORRECTION_STEP_DB
    return replace(plan, gain_db=plan.gain_db + error_lu, limiter_ceiling_dbtp=ceiling)


def _verify_preset(preset: Preset) -> Preset:
    """The preset for measuring our own master: no rumble filter, any length we produced."""
    return Preset(**{**preset.__dict__, "highpass_hz": 0.0,
                     "max_duration_s": preset.max_duration_s + 60.0})
