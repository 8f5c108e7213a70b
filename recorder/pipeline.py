"""Master a take: probe, measure once, decide, render to MP3 and verify in one pass, tag.

``master`` is what the kiosk's job queue calls for every booth recording; ``analyse``
gives the same quality report without encoding (for a quick check at the booth).

Where the time goes (60 min take, 2 cores): the MP3 encode dominates, so everything else
is arranged never to need a second one. The take is decoded once: the measuring pass
(sample peak only) keeps the conditioned signal as raw float in the work directory, and
every later pass reads that. A limiter takes away loudness that only the limited audio
can tell, so a take that needs real limiting is limited and metered first (a cheap pass
with no decode and no encode), and the encode adds the exact make-up gain. The encode
meters its own output with true peak; only a result outside the tolerance (or over the
ceiling) is made again.
"""

from __future__ import annotations

import logging
import math
import os
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

from recorder import steps
from recorder.encode import EncodedLevels, atomic_path, encode_mp3
from recorder.errors import SilentTakeError, TooLongError
from recorder.loudness import Measurement, chain_loudness, measure, raw_input_args
from recorder.presets import DEFAULT, Preset
from recorder.probe import ProbeResult, probe
from recorder.quality import QualityReport, judge, mastering_gain_db
from recorder.tags import TrackTags, write_tags

log = logging.getLogger(__name__)

MAX_CORRECTIONS = 1
MAKEUP_OVERSHOOT_DB = 1.0  # below this a limiter costs less loudness than the tolerance
# Gain into the limiter, beyond the linear gain, as a share of the overshoot: about what
# the limiter takes away on speech, so the make-up gain after it stays small (within
# +-0.7 dB on the takes tried) and a boost seldom lifts the limited peaks far.
LIMITER_DRIVE_SHARE = 0.9
MAX_MAKEUP_BOOST_DB = 1.0  # within limiter_margin_db: peaks may rise this much
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

    @property
    def duration_s(self) -> float:
        """Length of the rendered audio: padding plus the kept range."""
        return self.head_pad_s + (self.end_s - self.start_s) + self.tail_pad_s


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
        work_dir: Scratch directory (system temp by default): small measurement files and
            the conditioned take, 32-bit float mono (~635 MB per hour of input).

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
    with tempfile.TemporaryDirectory(prefix="master-", dir=work_dir) as scratch:
        conditioned = Path(scratch) / "conditioned.raw"
        _, measured = _measure_checked(source, preset, work_dir, true_peak=False,
                                       conditioned_path=conditioned)
        report = judge(measured, preset)
        if not measured.has_speech:
            raise SilentTakeError(f"no speech in {source.name}", report=report)
        plan = plan_render(measured, preset)
        with atomic_path(Path(output_path)) as tmp:
            plan, final = _render_and_verify(raw_input_args(conditioned, preset), tmp, plan,
                                             preset)
            write_tags(tmp, tags)
            size_bytes = tmp.stat().st_size
    return MasterResult(
        output_path=Path(output_path),
        duration_ms=round(plan.duration_s * 1000),
        size_bytes=size_bytes,
        integrated_lufs=final.integrated_lufs,
        true_peak_dbtp=final.true_peak_dbtp,
        sample_rate_hz=preset.sample_rate_hz,
        bitrate_kbps=preset.bitrate_kbps,
        report=report.with_final(final.integrated_lufs, final.true_peak_dbtp),
    )


def _measure_checked(
    source: Path, preset: Preset, work_dir: str | os.PathLike[str] | None,
    *, true_peak: bool = True, conditioned_path: Path | None = None,
) -> tuple[str, Measurement]:
    """Probe (cheap refusals first, including a header claiming too long) then measure.

    Returns the demuxer found by content, to be pinned in every later decode, and the
    measurement.
    """
    info: ProbeResult = probe(source, preset)
    if info.duration_s is not None and info.duration_s > preset.max_duration_s + 1:
        raise TooLongError(f"{source.name} claims {info.duration_s:.0f} s")
    return info.demuxer, measure(source, preset, work_dir=work_dir, input_format=info.demuxer,
                                 true_peak=true_peak, conditioned_path=conditioned_path)


def plan_render(m: Measurement, preset: Preset, *, extra_gain_db: float = 0.0,
                extra_margin_db: float = 0.0) -> RenderPlan:
    """Decide trim, padding, gain and whether a limiter is needed.

    Real room tone around the speech is kept up to the preset's head/tail lengths; any
    shortfall is made up with digital silence. The gain aims at the target plus what the
    MP3 encoder is known to take away. When the limiter has real work to do, the gain
    into it is raised by a share of the overshoot (see ``needs_makeup``).
    """
    first = m.first_speech_s or 0.0
    last = m.last_speech_end_s if m.last_speech_end_s is not None else m.duration_s
    start_s = max(0.0, first - preset.head_room_tone_s)
    end_s = min(m.duration_s, last + preset.tail_room_tone_s)
    gain_db = mastering_gain_db(m, preset) + preset.codec_loss_lu + extra_gain_db
    ceiling = preset.true_peak_ceiling_dbtp - preset.limiter_margin_db - extra_margin_db
    peak_db = m.peak_db
    needs_limiter = not math.isfinite(peak_db) or peak_db + gain_db > ceiling
    overshoot_db = max(0.0, peak_db + gain_db - ceiling) if needs_limiter else 0.0
    if overshoot_db >= MAKEUP_OVERSHOOT_DB:
        gain_db += LIMITER_DRIVE_SHARE * overshoot_db
    return RenderPlan(
        start_s=start_s,
        end_s=end_s,
        head_pad_s=preset.head_room_tone_s - (first - start_s),
        tail_pad_s=preset.tail_room_tone_s - (end_s - last),
        gain_db=gain_db,
        limiter_ceiling_dbtp=ceiling if needs_limiter or extra_margin_db > 0 else None,
        overshoot_db=overshoot_db,
    )


def needs_makeup(plan: RenderPlan) -> bool:
    """Whether the limiter works hard enough that its loudness cost must be measured."""
    return plan.limiter_ceiling_dbtp is not None and plan.overshoot_db >= MAKEUP_OVERSHOOT_DB


def render_chain(plan: RenderPlan) -> str:
    """The ffmpeg filter chain for a plan, applied to the conditioned take.

    The limiter follows the gain (it works in float, so order does not change the result,
    and ``alimiter``'s limit cannot go below -24 dBFS, which a pre-gain ceiling might need).
    It limits sample peaks, not 4x oversampled ones: ``limiter_margin_db`` covers the
    inter-sample and MP3 overshoot, and the encode verifies the true peak of its output.
    """
    limiter = ""
    if plan.limiter_ceiling_dbtp is not None:
        limiter = steps.peak_limiter(plan.limiter_ceiling_dbtp)
    return steps.chain(
        steps.trim(plan.start_s, plan.end_s),
        steps.pad(plan.head_pad_s, plan.tail_pad_s),
        steps.gain(plan.gain_db),
        limiter,
    )


def makeup_gain_db(limited_lufs: float, preset: Preset) -> float:
    """Gain after the limiter that brings its metered output to the target (and codec loss).

    A boost lifts the limited peaks too, so it is capped inside the limiter's margin; a
    take that would need more is left short and corrected by the verification.
    """
    if not math.isfinite(limited_lufs):
        return 0.0
    return min(MAX_MAKEUP_BOOST_DB, preset.target_lufs + preset.codec_loss_lu - limited_lufs)


def _render_and_verify(
    inputs: list[str], target: Path, plan: RenderPlan, preset: Preset,
) -> tuple[RenderPlan, EncodedLevels]:
    """Encode (metering the MP3 as it is made), and correct once if out of bounds."""
    for attempt in range(MAX_CORRECTIONS + 1):
        final = _render(inputs, target, plan, preset)
        error_lu = preset.target_lufs - final.integrated_lufs
        over_db = final.true_peak_dbtp - preset.true_peak_ceiling_dbtp
        log.info("render %d: %.2f LUFS, %.2f dBTP (plan %s)", attempt, final.integrated_lufs,
                 final.true_peak_dbtp, plan)
        if abs(error_lu) <= preset.tolerance_lu and over_db <= 0:
            break
        if attempt < MAX_CORRECTIONS:
            plan = _corrected(plan, error_lu, over_db, preset)
    return plan, final


def _render(inputs: list[str], target: Path, plan: RenderPlan, preset: Preset) -> EncodedLevels:
    """One render of the conditioned take, metering the limiter's output first if it works hard.

    The limiter runs twice then (metering, encoding): it is deterministic, and running
    it again costs less than keeping a second copy of the take on disk.
    """
    chain = render_chain(plan)
    if needs_makeup(plan):
        limited_lufs = chain_loudness(inputs, chain, preset)
        makeup_db = makeup_gain_db(limited_lufs, preset)
        log.info("limited: %.1f LUFS, make-up %.2f dB", limited_lufs, makeup_db)
        chain = steps.chain(chain, steps.gain(makeup_db))
    return encode_mp3(inputs, target, filter_chain=chain, preset=preset)


def _corrected(plan: RenderPlan, error_lu: float, over_db: float, preset: Preset) -> RenderPlan:
    """A plan nudged by the verified error: gain by the loudness error, ceiling by the overshoot."""
    ceiling = plan.limiter_ceiling_dbtp
    if over_db > 0:
        base = preset.true_peak_ceiling_dbtp - preset.limiter_margin_db
        current = min(ceiling if ceiling is not None else base, base)
        ceiling = current - over_db - TP_CORRECTION_STEP_DB
    return replace(plan, gain_db=plan.gain_db + error_lu, limiter_ceiling_dbtp=ceiling)
