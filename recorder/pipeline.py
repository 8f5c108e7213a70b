"""Master a take: probe, measure once, decide, render to MP3 and verify in one pass, tag.

``master`` is what the kiosk's job queue calls for every booth recording; ``analyse``
gives the same quality report without encoding (for a quick check at the booth).

Where the time goes (60 min take, 2 cores): the MP3 encode dominates, so everything else
is arranged never to need a second one. The take is decoded once: the measuring pass
(sample peak only) keeps the conditioned signal as raw float in the work directory, and
every later pass reads that, seeking straight to the part it needs.

Dynamics: a take whose peaks fit under the ceiling at the target loudness gets a plain
gain and keeps its dynamics exactly. Otherwise a true-peak limiter (look-ahead, short
release, 4x oversampled) takes off what is over the ceiling and nothing else; what it
costs in loudness is found by metering the limited audio (a pass with no decode and no
encode; on a six-minute sample of an hour's take) at two gains and interpolating, so the
gain into the limiter is just what reaches the target. The encode meters its own output
with true peak; only a result outside the tolerance (or over the ceiling) is made again.

Defects: the measuring pass also carries the defect analysis (``recorder.defects``) in a
filter graph of its own, fed from the same decode before the rumble filter (pops and hum
live below it) and read by Python as ffmpeg makes it, so it costs no decode and runs on the
other core. Hum it finds is notched out (``recorder.repair``) at the head of the render's
chain, and the master's last second (room tone) is measured again to show it has gone.
The take's true peak comes from the kept conditioned signal (``conditioned_true_peak_dbtp``).

Room tone: the master starts ``head_room_tone_s`` before the first speech and ends
``tail_room_tone_s`` after the last; where the take has less, the shortfall is made up
with the take's own room tone (its longest quiet stretch, looped), never digital silence.
"""

from __future__ import annotations

import logging
import math
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from recorder import ffmpeg, steps
from recorder.defects import ANALYSIS_RATE_HZ, SEGMENT, Analyser, Findings, StreamAnalysis
from recorder.encode import EncodedLevels, atomic_path, encode_mp3
from recorder.errors import SilentTakeError, TooLongError, TooShortError, TruncatedError
from recorder.loudness import (
    RAW_FORMAT,
    Measurement,
    conditioned_true_peak_dbtp,
    demuxed_seconds,
    graph_loudness,
    measure,
)
from recorder.presets import DEFAULT, Preset
from recorder.probe import ProbeResult, probe
from recorder.quality import QualityReport, judge, mastering_gain_db
from recorder.repair import repair_hum
from recorder.tags import TrackTags, write_tags

log = logging.getLogger(__name__)

MAX_CORRECTIONS = 1
DRIVE_TOLERANCE_LU = 0.1  # a limiter costing less loudness than this is simply made up
MIN_LOUDNESS_SLOPE = 0.2  # d(limited loudness)/d(gain) is never taken as flatter than this
TP_CORRECTION_STEP_DB = 0.1
TRUNCATION_TOLERANCE_S = 1.0  # decoded audio may fall this short of the header's claim
TRUNCATION_TOLERANCE_SHARE = 0.02
OUTPUT_LABEL = "[master]"
SAMPLED_METERING_OVER_S = 600.0  # takes longer than this meter the limiter on a sample
METER_SAMPLES = 12
METER_SAMPLE_S = 30.0
HUM_CHECK_S = SEGMENT / ANALYSIS_RATE_HZ  # the master's last second, room tone, is checked for hum


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
    """The decisions for one render.

    Attributes:
        start_s: Where the kept part of the take starts.
        end_s: Where it ends.
        head_fill_s: Room tone added before it (what the take lacks of the head).
        tail_fill_s: Room tone added after it.
        room_tone_s: The span of the take looped for the fills; None: comfort noise.
        room_tone_dbfs: Level of the comfort noise used when there is no span.
        gain_db: The gain; with a limiter, the first guess of the gain into it.
        limiter_ceiling_dbtp: The true-peak limiter's ceiling; None for a plain gain.
        aim_lufs: Loudness the encoder's input is given (target plus codec loss).
        repair: Filters put before the gain (``recorder.repair``: the hum notch), or "".
    """

    start_s: float
    end_s: float
    head_fill_s: float
    tail_fill_s: float
    room_tone_s: tuple[float, float] | None
    room_tone_dbfs: float
    gain_db: float
    limiter_ceiling_dbtp: float | None
    aim_lufs: float
    repair: str = ""

    @property
    def duration_s(self) -> float:
        """Length of the rendered audio: room tone plus the kept range."""
        return self.head_fill_s + (self.end_s - self.start_s) + self.tail_fill_s


def analyse(
    input_path: str | os.PathLike[str],
    preset: Preset = DEFAULT,
    *,
    work_dir: str | os.PathLike[str] | None = None,
    text: str | None = None,
) -> QualityReport:
    """Probe, measure and analyse a take and judge it, without encoding anything.

    Args:
        input_path: The take.
        preset: Target and limits.
        work_dir: Scratch directory.
        text: What the volunteer read (for "much too short for the text"), if known.

    Raises:
        NotAudioError: Not decodable audio.
        TooLargeError: File over ``preset.max_size_bytes``.
        TooLongError: Audio over ``preset.max_duration_s``.
        TruncatedError: The file ends before its header says it does.
        TooShortError: Audio under ``preset.min_duration_s``.
    """
    measured, findings = _measure_checked(Path(input_path), preset, work_dir, text=text)
    return judge(measured, preset, findings)


def master(
    input_path: str | os.PathLike[str],
    output_path: str | os.PathLike[str],
    *,
    tags: TrackTags,
    preset: Preset = DEFAULT,
    work_dir: str | os.PathLike[str] | None = None,
    text: str | None = None,
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
        text: What the volunteer read (the booth's text), for "much too short for the text".

    Returns:
        The verified result with its quality report.

    Raises:
        NotAudioError: Not decodable audio.
        TooLargeError: File over ``preset.max_size_bytes``.
        TooLongError: Audio over ``preset.max_duration_s``.
        TruncatedError: The file ends before its header says it does.
        TooShortError: Audio under ``preset.min_duration_s``.
        SilentTakeError: No speech found; ``.report`` says why.
        FfmpegError: ffmpeg failed while rendering.
    """
    source = Path(input_path)
    with tempfile.TemporaryDirectory(prefix="master-", dir=work_dir) as scratch:
        conditioned = Path(scratch) / "conditioned.raw"
        measured, findings = _measure_checked(source, preset, work_dir, text=text, true_peak=False,
                                              conditioned_path=conditioned)
        report = judge(measured, preset, findings, input_true_peak_dbtp=_input_true_peak(conditioned, measured))
        if not measured.has_speech:
            raise SilentTakeError(f"no speech in {source.name}", report=report)
        plan = plan_render(measured, preset, repair=repair_hum(findings.hum))
        with atomic_path(Path(output_path)) as tmp:
            plan, final = _render_and_verify(conditioned, tmp, plan, preset)
            if plan.repair:
                report = report.with_master_hum(master_hum_dbfs(tmp, scratch))
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
        report=report.with_final(final.integrated_lufs, final.true_peak_dbtp, preset,
                                 final_loudness_range_lu=final.loudness_range_lu,
                                 gain_db=round(plan.gain_db, 2),
                                 limited=plan.limiter_ceiling_dbtp is not None),
    )


def _input_true_peak(conditioned: Path, measured: Measurement) -> float:
    """The take's true peak, from the conditioned signal the measuring pass kept (timed like a step)."""
    started = time.perf_counter()
    true_peak_dbtp = conditioned_true_peak_dbtp(conditioned, measured.conditioned_peak_dbfs)
    wall_s = time.perf_counter() - started
    log.info("true peak took %.2f s", wall_s, extra={"step": "true peak", "wall_s": wall_s})
    return true_peak_dbtp


def master_hum_dbfs(master_path: Path, scratch: str | os.PathLike[str]) -> float:
    """Hum level (dBFS) left in a master's last second, its room tone: ``-inf`` when no line stands out.

    The same measure as the take's (``recorder.defects``' hum lines over their neighbours),
    so the two compare: after the notch the lines are gone into the room's own noise.
    """
    raw = Path(scratch) / "tail.f32"
    ffmpeg.run(["-sseof", f"-{HUM_CHECK_S + 0.05:.2f}", "-i", str(master_path), "-map", "0:a:0",
                "-af", f"aresample={ANALYSIS_RATE_HZ},aformat=sample_fmts=flt:channel_layouts=mono",
                "-c:a", "pcm_f32le", "-f", "f32le", "-y", str(raw)], timeout_s=60.0, label="hum check")
    samples = np.fromfile(raw, dtype="<f4")[-SEGMENT:]
    analyser = Analyser()
    analyser.feed(samples)
    return analyser.finish().hum.hum_level_dbfs


def _measure_checked(
    source: Path, preset: Preset, work_dir: str | os.PathLike[str] | None,
    *, text: str | None, true_peak: bool = True, conditioned_path: Path | None = None,
) -> tuple[Measurement, Findings]:
    """Probe (cheap refusals first, including a header claiming too long), measure and analyse, check length.

    Raises:
        TruncatedError: Less audio decoded than the header promises.
        TooShortError: Less audio than ``preset.min_duration_s``.
    """
    info: ProbeResult = probe(source, preset)
    if info.duration_s is not None and info.duration_s > preset.max_duration_s + 1:
        raise TooLongError(f"{source.name} claims {info.duration_s:.0f} s")
    if info.duration_s is None:  # the header hides the length: count it without decoding
        demuxed_s = demuxed_seconds(source, preset, info.demuxer)
        if demuxed_s > preset.max_duration_s + 1:
            raise TooLongError(f"{source.name} holds over {demuxed_s:.0f} s")
    analysis = StreamAnalysis(text=text, source_rate_hz=info.sample_rate_hz or None)
    measured = measure(source, preset, work_dir=work_dir, input_format=info.demuxer,
                       true_peak=true_peak, conditioned_path=conditioned_path, ride_along=analysis)
    if is_truncated(info, measured.duration_s):
        raise TruncatedError(f"{source.name}: {measured.duration_s:.1f} s decoded of "
                             f"{info.duration_s:.1f} s claimed")
    if measured.duration_s < preset.min_duration_s:
        raise TooShortError(f"{source.name}: {measured.duration_s:.1f} s")
    assert analysis.findings is not None  # noqa: S101 - measure() calls done() on success
    return measured, analysis.findings


def is_truncated(info: ProbeResult, decoded_s: float) -> bool:
    """Whether the decoded audio falls clearly short of a duration the header states.

    Durations ffmpeg only estimates from the bitrate (no Xing/Info header) prove nothing.
    """
    if info.duration_s is None or info.duration_estimated:
        return False
    allowed_s = max(TRUNCATION_TOLERANCE_S, TRUNCATION_TOLERANCE_SHARE * info.duration_s)
    return decoded_s < info.duration_s - allowed_s


def plan_render(m: Measurement, preset: Preset, *, repair: str = "") -> RenderPlan:
    """Decide the kept range, the room tone to add, the gain and whether to limit.

    ``repair``: filters to put before the gain (the hum notch, from ``recorder.repair``).

    A plain gain is enough when the take's sample peak, raised by it, stays under the
    ceiling by ``peak_allowance_db`` (room for inter-sample peaks and MP3 overshoot).
    """
    first = max(0.0, m.first_speech_s or 0.0)
    last = m.last_speech_end_s if m.last_speech_end_s is not None else m.duration_s
    start_s = max(0.0, first - preset.head_room_tone_s)
    end_s = min(m.duration_s, last + preset.tail_room_tone_s)
    aim_lufs = preset.target_lufs + preset.codec_loss_lu
    gain_db = mastering_gain_db(m, preset) + preset.codec_loss_lu
    peak_db = m.peak_db
    fits = math.isfinite(peak_db) and (
        peak_db + gain_db + preset.peak_allowance_db <= preset.true_peak_ceiling_dbtp)
    return RenderPlan(
        start_s=start_s,
        end_s=end_s,
        head_fill_s=_fill_s(preset.head_room_tone_s - (first - start_s)),
        tail_fill_s=_fill_s(preset.tail_room_tone_s - (end_s - last)),
        room_tone_s=m.room_tone_s,
        room_tone_dbfs=m.noise_floor_dbfs if math.isfinite(m.noise_floor_dbfs) else -80.0,
        gain_db=gain_db,
        limiter_ceiling_dbtp=None if fits else limiter_ceiling_dbtp(preset),
        aim_lufs=aim_lufs,
        repair=repair,
    )


def _fill_s(shortfall_s: float) -> float:
    """Room tone to add for a shortfall, ignoring slivers under a millisecond."""
    return round(shortfall_s, 3) if shortfall_s > 0.001 else 0.0


def limiter_ceiling_dbtp(preset: Preset) -> float:
    """Where the true-peak limiter holds peaks: the ceiling less the codec's overshoot."""
    return preset.true_peak_ceiling_dbtp - preset.limiter_margin_db


def render_inputs(raw_path: Path, plan: RenderPlan, preset: Preset) -> list[str]:
    """ffmpeg inputs of a render: the kept range, then the room tone for head and tail.

    Each reads the conditioned take from where it needs (raw PCM seeks exactly), so no
    part of the take is decoded or held in memory twice.
    """
    inputs = _raw_span(raw_path, plan.start_s, plan.end_s, preset)
    for fill_s in (plan.head_fill_s, plan.tail_fill_s):
        if fill_s <= 0:
            continue
        if plan.room_tone_s is None:
            amplitude = 10 ** (plan.room_tone_dbfs / 20)
            inputs += ["-f", "lavfi", "-i", f"anoisesrc=c=pink:r={preset.sample_rate_hz}"
                       f":a={amplitude:.8f}:seed=1:d={fill_s:.3f}"]
        else:
            inputs += _raw_span(raw_path, *plan.room_tone_s, preset)
    return inputs


def _raw_span(raw_path: Path, start_s: float, end_s: float, preset: Preset) -> list[str]:
    """Input options reading ``[start_s, end_s)`` of a conditioned take kept by ``measure``."""
    return ["-f", RAW_FORMAT, "-ar", str(preset.sample_rate_hz), "-ch_layout", "mono",
            "-ss", f"{start_s:.3f}", "-t", f"{end_s - start_s:.3f}", "-i", str(raw_path)]


def render_graph(plan: RenderPlan, preset: Preset, gain_db: float | None = None,
                 *, oversample: int | None = None) -> str:
    """The filter graph of a render (inputs as ``render_inputs`` orders them), ending in ``[master]``.

    Room tone is looped to length and joined on; then the repairs (the hum notch, on the
    room tone too), the gain, then the limiter if any (in float, so nothing clips between
    them), oversampled ``oversample`` times (``preset.limiter_oversample`` unless told).
    """
    fills: list[str] = []
    parts: list[str] = []
    index = 1
    for name, fill_s in (("head", plan.head_fill_s), ("tail", plan.tail_fill_s)):
        if fill_s <= 0:
            parts.append("")
            continue
        span_s = (plan.room_tone_s[1] - plan.room_tone_s[0]) if plan.room_tone_s else fill_s
        loop = steps.loop_to(fill_s, round(span_s * preset.sample_rate_hz))
        fills.append(f"[{index}:a]{loop}[{name}];")
        parts.append(f"[{name}]")
        index += 1
    limiter = ""
    if plan.limiter_ceiling_dbtp is not None:
        limiter = steps.true_peak_limiter(
            plan.limiter_ceiling_dbtp, preset.sample_rate_hz,
            oversample_factor=preset.limiter_oversample if oversample is None else oversample,
            attack_ms=preset.limiter_attack_ms,
            release_ms=preset.limiter_release_ms)
    joined = steps.concat([label for label in (parts[0], "[0:a]", parts[1]) if label])
    tail = steps.chain(plan.repair, steps.gain(plan.gain_db if gain_db is None else gain_db), limiter)
    return "".join(fills) + f"{joined},{tail}{OUTPUT_LABEL}"


def limited_gain_db(raw_path: Path, inputs: list[str], plan: RenderPlan, preset: Preset) -> float:
    """The gain into the limiter at which the limited audio measures ``plan.aim_lufs``.

    The limiter's cost grows with the gain, so the loudness is metered at the plain gain
    and, if the limiter took enough to matter, again at a gain that makes that up; the
    answer is interpolated between the two (secant step). The metering runs the limiter
    without oversampling (a third of the cost): it takes the same loudness to within a
    few hundredths of a LU. A long take is metered on a sample (see ``_sampled_meter``).
    """
    metered = _sampled_meter(raw_path, plan, preset) if (
        plan.end_s - plan.start_s > SAMPLED_METERING_OVER_S) else _whole_meter(inputs, plan, preset)
    first_db = plan.gain_db
    first_lufs = metered(first_db)
    if not math.isfinite(first_lufs):
        return first_db
    short_lu = plan.aim_lufs - first_lufs
    if abs(short_lu) <= DRIVE_TOLERANCE_LU:
        return first_db + short_lu
    second_db = first_db + short_lu
    second_lufs = metered(second_db)
    slope = max(MIN_LOUDNESS_SLOPE, (second_lufs - first_lufs) / (second_db - first_db))
    log.info("limiter drive: %.2f dB -> %.2f LUFS, %.2f dB -> %.2f LUFS", first_db, first_lufs,
             second_db, second_lufs)
    return second_db + (plan.aim_lufs - second_lufs) / slope


def _whole_meter(inputs: list[str], plan: RenderPlan, preset: Preset) -> Callable[[float], float]:
    """Loudness of the whole limited render at a gain."""
    def metered(gain_db: float) -> float:
        graph = render_graph(plan, preset, gain_db, oversample=1)
        return graph_loudness(inputs, graph, OUTPUT_LABEL, preset)
    return metered


def _sampled_meter(raw_path: Path, plan: RenderPlan, preset: Preset) -> Callable[[float], float]:
    """Loudness of the whole limited render at a gain, predicted from an even sample of it.

    What the limiter takes is a property of the reading, the same in every stretch of a
    long take, so ``METER_SAMPLES`` spans of ``METER_SAMPLE_S`` spread over it tell it for
    a tenth of the cost. The sample's own loudness without the limiter ties it to the
    whole: at the plan's gain the whole measures ``plan.aim_lufs`` unlimited.
    """
    step_s = (plan.end_s - plan.start_s) / METER_SAMPLES
    inputs: list[str] = []
    for index in range(METER_SAMPLES):
        start_s = plan.start_s + (index + 0.5) * step_s - METER_SAMPLE_S / 2
        inputs += _raw_span(raw_path, start_s, start_s + METER_SAMPLE_S, preset)
    joined = steps.concat([f"[{index}:a]" for index in range(METER_SAMPLES)])

    def sample_lufs(gain_db: float, ceiling_dbtp: float | None) -> float:
        limiter = "" if ceiling_dbtp is None else steps.true_peak_limiter(
            ceiling_dbtp, preset.sample_rate_hz, oversample_factor=1,
            attack_ms=preset.limiter_attack_ms, release_ms=preset.limiter_release_ms)
        graph = f"{joined},{steps.chain(plan.repair, steps.gain(gain_db), limiter)}{OUTPUT_LABEL}"
        return graph_loudness(inputs, graph, OUTPUT_LABEL, preset)

    offset_lu = plan.aim_lufs - sample_lufs(plan.gain_db, None)
    return lambda gain_db: sample_lufs(gain_db, plan.limiter_ceiling_dbtp) + offset_lu


def _render_and_verify(
    raw_path: Path, target: Path, plan: RenderPlan, preset: Preset,
) -> tuple[RenderPlan, EncodedLevels]:
    """Encode (metering the MP3 as it is made), and correct once if out of bounds."""
    inputs = render_inputs(raw_path, plan, preset)
    for attempt in range(MAX_CORRECTIONS + 1):
        final = _render(raw_path, inputs, target, plan, preset)
        error_lu = preset.target_lufs - final.integrated_lufs
        over_db = final.true_peak_dbtp - preset.true_peak_ceiling_dbtp
        log.info("render %d: %.2f LUFS, %.2f dBTP (plan %s)", attempt, final.integrated_lufs,
                 final.true_peak_dbtp, plan)
        if abs(error_lu) <= preset.tolerance_lu and over_db <= 0:
            break
        if attempt < MAX_CORRECTIONS:
            plan = corrected(plan, error_lu, over_db, preset)
    return plan, final


def _render(raw_path: Path, inputs: list[str], target: Path, plan: RenderPlan,
            preset: Preset) -> EncodedLevels:
    """One render: find the gain into the limiter if there is one, then encode."""
    gain_db = plan.gain_db
    if plan.limiter_ceiling_dbtp is not None:
        gain_db = limited_gain_db(raw_path, inputs, plan, preset)
    return encode_mp3(inputs, target, filter_graph=render_graph(plan, preset, gain_db),
                      output_label=OUTPUT_LABEL, preset=preset)


def corrected(plan: RenderPlan, error_lu: float, over_db: float, preset: Preset) -> RenderPlan:
    """A plan nudged by the verified error: the aim by the loudness error, the ceiling by the overshoot.

    A plain gain that overshot the ceiling gets the limiter, held lower by the overshoot.
    """
    ceiling = plan.limiter_ceiling_dbtp
    if over_db > 0:
        current = limiter_ceiling_dbtp(preset) if ceiling is None else ceiling
        ceiling = current - over_db - TP_CORRECTION_STEP_DB
    return replace(plan, gain_db=plan.gain_db + error_lu, aim_lufs=plan.aim_lufs + error_lu,
                   limiter_ceiling_dbtp=ceiling)
