"""Measure a take in one streaming ffmpeg pass: loudness, peaks, clipping, noise, speech.

One filter graph carries the decoded audio through ``astats`` (raw peaks, for clipping),
the shared conditioning chain, and ``ebur128``, cut into 100 ms frames so that its
momentary loudness (K-weighted, 400 ms) is printed once per frame to a small text file
(~2 MB for an hour). From those windows we find the first and last speech, so trimming
needs no reverse pass, and the noise floor (the quiet end of the pauses between speech).
Window levels are in LUFS, which for broadband noise is close to dBFS RMS. Decoding is capped
with ``-t max_duration_s + 1`` so a tiny file that expands to hours cannot run away; the
duration is judged from what was decoded, not what the header claims.

True peak (4x oversampled) is the dearest part of ``ebur128`` (about half its time), so
the mastering pipeline measures its input with sample peak only: the verification of the
encoded MP3 measures true peak and has the last word. The pipeline also keeps what this
pass has already decoded and conditioned (``conditioned_path``): every filter after the
conditioning passes audio through unchanged, so the pass's output *is* that signal, and
the later passes read it as headerless 32-bit float instead of decoding the take again.
"""

from __future__ import annotations

import math
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Protocol

import numpy as np

from recorder import ffmpeg, steps
from recorder.errors import FfmpegError, NotAudioError, TooLongError
from recorder.presets import DEFAULT, Preset

DIGITAL_SILENCE_DBFS = -120.0
NOISE_FLOOR_PERCENTILE = 10.0
LOUD_PERCENTILE = 95.0
NOISE_MARGIN_DB = 6.0
NOISE_CAP_BELOW_SPEECH_DB = 10.0
CLIP_PEAK_DBFS = -0.1
RAW_FORMAT = "f32le"  # what the filters work in: kept without any conversion
DECODE_SPEED_FLOOR_X = 20.0  # a measurement slower than 20x real time is stuck

_NUM = r"(-?(?:\d+(?:\.\d+)?|inf|nan))"
_SUMMARY = {
    "integrated_lufs": re.compile(r"Integrated loudness:\s+I:\s+" + _NUM),
    "loudness_range_lu": re.compile(r"Loudness range:\s+LRA:\s+" + _NUM),
    "sample_peak_dbfs": re.compile(r"Sample peak:\s+Peak:\s+" + _NUM),
    "true_peak_dbtp": re.compile(r"True peak:\s+Peak:\s+" + _NUM),
}
_CLIP_STAT = re.compile(r"\[astats@raw @ [^\]]+\] ([A-Za-z ]+): " + _NUM)
_OUT_TIME = re.compile(r"^out_time_us=(\d+)$", re.MULTILINE)
_WINDOW = re.compile(r"pts_time:([\d.]+)\s+lavfi\.r128\.M=" + _NUM)
MOMENTARY_WINDOW_S = 0.4
MIN_NOISE_S = 1.0  # less non-speech than this and the noise floor is unknown
NOISE_GUARD_WINDOWS = 4  # non-speech windows this close to speech still hold its energy
STEADY_SPAN = 2  # windows either side that must agree for a window to be taken for noise
STEADY_DB = 4.0  # room tone moves less than this across them; syllables move more
RAW_STATS = ("astats@raw=measure_perchannel=none"
             ":measure_overall=Peak_level+Peak_count+Number_of_samples")
# With the defect analysis riding along, the same astats reports each channel's flat tops too
# (``recorder.defects.parse_astats``), so the source's samples are scanned once.
RAW_STATS_PER_CHANNEL = RAW_STATS.replace("measure_perchannel=none",
                                          "measure_perchannel=Peak_count+Flat_factor+Peak_level")
# ebur128 prints no momentary level until it has 400 ms of audio, which hid speech in the
# first 0.3 s of a take. The meter is fed that much digital silence first (taken out again
# before the conditioned signal is written), so the first windows are measured too.
METER_LEAD_S = MOMENTARY_WINDOW_S - 0.1
ROOM_TONE_ABOVE_QUIET_DB = 6.0  # windows this close to the quietest count as room tone
ROOM_TONE_GUARD_WINDOWS = 2


class RideAlong(Protocol):
    """Work that shares the measuring pass's decode: its own graph and output, read as it comes.

    ``graph`` is a ``-filter_complex`` reading ``[0:a:0]``; ``output`` the output options that
    send its result to ``pipe:1``; ``consume`` reads that pipe while the pass runs, and
    ``done`` gets the pass's stderr at the end (see ``recorder.defects.StreamAnalysis``).
    """

    graph: str
    output: list[str]

    def consume(self, handle: IO[bytes]) -> None:
        """Read the pipe as ffmpeg writes it."""

    def done(self, stderr: str) -> object:
        """Finish with the pass's stderr."""


@dataclass(frozen=True)
class Measurement:
    """What one measurement pass found. Levels in dB; ``-inf`` means digital silence.

    Attributes:
        integrated_lufs: EBU R128 integrated loudness (-70 or below: nothing gated in).
        loudness_range_lu: EBU R128 loudness range.
        true_peak_dbtp: True peak of the conditioned signal; NaN when measured without
            oversampling (``measure(..., true_peak=False)``).
        sample_peak_dbfs: Sample peak of the raw decoded signal.
        clipping_share: Fraction of raw samples sitting at full scale.
        noise_floor_dbfs: RMS of the quietest pause windows (10th percentile of the
            windows well away from speech), excluding digital silence; ``-inf`` when
            the take has no non-zero quiet part, NaN (unknown) when it has less than
            ``MIN_NOISE_S`` of pause - a fast reader's quietest windows are still speech.
        dynamic_spread_db: Loud (95th percentile) minus quiet windows.
        duration_s: Decoded duration.
        speech_s: Total length of windows judged speech.
        first_speech_s: Start of the first speech window (None without speech).
        last_speech_end_s: End of the last speech window (None without speech).
        conditioned_peak_dbfs: Sample peak of the conditioned signal.
        room_tone_s: The longest stretch of room tone (start, end) in seconds - no speech,
            not digital silence - to pad the master with; None when the take has none.
    """

    integrated_lufs: float
    loudness_range_lu: float
    true_peak_dbtp: float
    sample_peak_dbfs: float
    clipping_share: float
    noise_floor_dbfs: float
    dynamic_spread_db: float
    duration_s: float
    speech_s: float
    first_speech_s: float | None
    last_speech_end_s: float | None
    conditioned_peak_dbfs: float = math.nan
    room_tone_s: tuple[float, float] | None = None

    @property
    def peak_db(self) -> float:
        """The best peak measured on the conditioned signal: true peak, else sample peak."""
        return self.conditioned_peak_dbfs if math.isnan(self.true_peak_dbtp) else self.true_peak_dbtp

    @property
    def speech_ratio(self) -> float:
        """Share of the decoded duration judged speech."""
        return self.speech_s / self.duration_s if self.duration_s > 0 else 0.0

    @property
    def has_speech(self) -> bool:
        """Whether anything was found that looks like speech (see ``find_speech``)."""
        return self.first_speech_s is not None


def measure(
    path: str | os.PathLike[str],
    preset: Preset = DEFAULT,
    *,
    work_dir: str | os.PathLike[str] | None = None,
    input_format: str | None = None,
    true_peak: bool = True,
    conditioned_path: str | os.PathLike[str] | None = None,
    ride_along: RideAlong | None = None,
) -> Measurement:
    """Measure ``path`` in one streaming ffmpeg pass.

    Args:
        path: Any file ffmpeg can decode. Only read.
        preset: Conditioning, window length, silence rules and ``max_duration_s``.
        work_dir: Where the small per-window text file goes (a temp dir by default).
        input_format: Demuxer to force (from ``ProbeResult.demuxer``), so decoding
            follows the content, not the extension.
        true_peak: Measure true peak (4x oversampled); without it only sample peaks.
        conditioned_path: Also write the conditioned signal here (mono 32-bit float at
            ``preset.sample_rate_hz``, no header; ~635 MB per hour; read it back with
            ``raw_input_args``).
        ride_along: Other work on the same decode (the defect analysis), in its own filter
            graph, so ffmpeg runs it on another thread; it reads its output as it comes.

    Raises:
        TooLongError: More than ``preset.max_duration_s`` seconds decoded.
        NotAudioError: ffmpeg could not decode the audio.
    """
    with tempfile.TemporaryDirectory(prefix="measure-", dir=work_dir) as tmp:
        windows_file = Path(tmp) / "windows.txt"
        output = ["-f", "null", "-"]
        if conditioned_path is not None:
            output = ["-y", "-c:a", f"pcm_{RAW_FORMAT}", "-f", RAW_FORMAT, str(conditioned_path)]
        argv = _argv(Path(path), preset, windows_file, input_format, true_peak, output,
                     RAW_STATS if ride_along is None else RAW_STATS_PER_CHANNEL)
        timeout_s = _timeout_s(preset.max_duration_s)
        try:
            if ride_along is None:
                proc = ffmpeg.run(argv, timeout_s=timeout_s, label="measure")
            else:
                argv += ["-filter_complex", ride_along.graph, *ride_along.output]
                proc = ffmpeg.stream(argv, ride_along.consume, timeout_s=timeout_s, label="measure")
        except FfmpegError as exc:
            if exc.returncode is None:
                raise
            raise NotAudioError(f"cannot decode {path}: {exc.stderr_tail[-300:]}") from exc
        times_s, levels_dbfs = parse_windows(windows_file.read_text(errors="replace"))
    measured = _build(proc.stderr, times_s, levels_dbfs, preset)
    if ride_along is not None:
        ride_along.done(proc.stderr)
    return measured


def input_args(path: Path, cap_s: float, input_format: str | None) -> list[str]:
    """Input options: the decode cap, an optional forced demuxer, and the file."""
    forced = ["-f", input_format] if input_format else []
    return ["-t", f"{cap_s:.3f}", *forced, "-i", str(path)]


def demuxed_seconds(path: Path, preset: Preset, input_format: str | None) -> float:
    """How long the audio stream is, up to the decode cap, by copying packets (no decoding).

    For files whose header does not tell: a 40 kB FLAC can hold ten hours of silence, and
    finding that out by decoding costs the whole cap in CPU and scratch space; its packets
    are counted in a blink. The copy stops at the cap, like every decode.
    """
    argv = [*input_args(path, preset.max_duration_s + 1, input_format), "-map", "0:a:0",
            "-c", "copy", "-f", "null", "-progress", "pipe:1", "-"]
    try:
        proc = ffmpeg.run(argv, timeout_s=_timeout_s(preset.max_duration_s), label="length")
    except FfmpegError as exc:
        if exc.returncode is None:
            raise
        raise NotAudioError(f"cannot read {path}: {exc.stderr_tail[-300:]}") from exc
    found = _OUT_TIME.findall(proc.stdout)
    return int(found[-1]) / 1e6 if found else 0.0


def raw_input_args(raw_path: Path, preset: Preset) -> list[str]:
    """Input options for a conditioned signal kept by ``measure(conditioned_path=...)``."""
    return ["-f", RAW_FORMAT, "-ar", str(preset.sample_rate_hz), "-ch_layout", "mono",
            "-i", str(raw_path)]


def _argv(path: Path, preset: Preset, windows_file: Path, input_format: str | None,
          true_peak: bool, output: list[str], raw_stats: str = RAW_STATS) -> list[str]:
    """Build the measurement command."""
    window_samples = preset.sample_rate_hz * preset.window_ms // 1000
    lead_samples = round(METER_LEAD_S * preset.sample_rate_hz)
    graph = steps.chain(
        raw_stats,
        steps.prepare(preset.sample_rate_hz, preset.highpass_hz),
        f"adelay=delays={lead_samples}S:all=1",
        f"asetnsamples=n={window_samples}:p=1",
        steps.loudness_meter(true_peak=true_peak, per_frame=True),
        f"ametadata=mode=print:key=lavfi.r128.M:file={_safe(windows_file)}",
        f"atrim=start_sample={lead_samples},asetpts=PTS-STARTPTS",
    )
    cap_s = preset.max_duration_s + 1
    return [*input_args(path, cap_s, input_format), "-map", "0:a:0", "-vn", "-sn", "-dn",
            "-af", graph, *output]


def _safe(path: Path) -> str:
    """Escape a path for use as a filter option value."""
    text = str(path)
    for char in ("\\", "'", ":", ",", ";", "[", "]", "="):
        text = text.replace(char, "\\" + char)
    return text.replace("\\", "\\\\")


def _timeout_s(max_duration_s: float) -> float:
    """Generous wall-clock limit: decoding faster than 20x real time, plus a minute."""
    return 60.0 + max_duration_s / DECODE_SPEED_FLOOR_X


def parse_windows(text: str, lead_s: float = METER_LEAD_S) -> tuple[list[float], list[float]]:
    """Parse ametadata's print output into window start times and momentary levels.

    Times are of the take: the meter's lead of silence (``lead_s``) is taken off, and its
    own windows left out.
    """
    times_s: list[float] = []
    levels: list[float] = []
    for match in _WINDOW.finditer(text):
        time_s = round(float(match.group(1)) - lead_s, 6)
        if time_s >= 0:
            times_s.append(time_s)
            levels.append(float(match.group(2)))
    return times_s, levels


def parse_summary(stderr: str) -> dict[str, float]:
    """Parse ebur128's summary; missing values come back as NaN."""
    tail = stderr[stderr.rfind("Summary:"):] if "Summary:" in stderr else ""
    return {key: _float(rx.search(tail)) for key, rx in _SUMMARY.items()}


def parse_raw_stats(stderr: str) -> dict[str, float]:
    """Parse the raw ``astats`` block: peak level, peak count, number of samples."""
    return {name.strip(): float(value) for name, value in _CLIP_STAT.findall(stderr)}


def _float(match: re.Match[str] | None) -> float:
    """Float of a regex group, NaN when absent."""
    return float(match.group(1)) if match else math.nan


def _build(stderr: str, times_s: list[float], levels: list[float], preset: Preset) -> Measurement:
    """Combine the parsed pieces into a Measurement and enforce the duration cap."""
    window_s = preset.window_ms / 1000
    duration_s = (times_s[-1] + window_s) if times_s else 0.0
    if duration_s <= 0:
        raise NotAudioError("no audio decoded")
    if duration_s > preset.max_duration_s:
        raise TooLongError(f"decoded {duration_s:.1f} s > {preset.max_duration_s:.0f} s")
    summary = parse_summary(stderr)
    raw = parse_raw_stats(stderr)
    quiet, spread = noise_floor_and_spread(levels)
    threshold = speech_threshold_dbfs(summary["integrated_lufs"], steady_quiet_dbfs(levels),
                                      preset)
    speech = find_speech(times_s, levels, threshold, spread, preset)
    return Measurement(
        integrated_lufs=summary["integrated_lufs"],
        loudness_range_lu=summary["loudness_range_lu"],
        true_peak_dbtp=summary["true_peak_dbtp"],
        sample_peak_dbfs=raw.get("Peak level dB", summary["sample_peak_dbfs"]),
        clipping_share=_clipping_share(raw),
        noise_floor_dbfs=pause_noise_floor(levels, threshold, spread, preset),
        dynamic_spread_db=spread,
        duration_s=duration_s,
        speech_s=speech[0],
        first_speech_s=speech[1],
        last_speech_end_s=speech[2],
        conditioned_peak_dbfs=summary["sample_peak_dbfs"],
        room_tone_s=room_tone_span(times_s, levels, threshold, quiet, preset, duration_s),
    )


def _clipping_share(raw: dict[str, float]) -> float:
    """Share of samples at full scale, counted only when the take reaches full scale."""
    peak = raw.get("Peak level dB", -math.inf)
    samples = raw.get("Number of samples", 0.0)
    if peak < CLIP_PEAK_DBFS or samples <= 0:
        return 0.0
    return min(1.0, raw.get("Peak count", 0.0) / samples)


def noise_floor_and_spread(levels: list[float]) -> tuple[float, float]:
    """Quiet-window level and loud-minus-quiet spread over all windows, ignoring digital zero.

    This is what speech detection starts from; the reported noise floor is taken from the
    pauses only (``pause_noise_floor``), once speech has been found.
    """
    live = sorted(v for v in levels if v > DIGITAL_SILENCE_DBFS)
    if not live:
        return -math.inf, 0.0
    quiet = _percentile(live, NOISE_FLOOR_PERCENTILE)
    loud = _percentile(live, LOUD_PERCENTILE)
    return quiet, loud - quiet


def steady_quiet_dbfs(levels: list[float]) -> float:
    """The quiet level speech must rise above: the 10th percentile of the steady windows.

    A reader whose pauses are digital silence (a browser's noise suppression) has soft
    sentences for quietest live windows; taking those for the noise would raise the speech
    threshold over them. Steady windows (see ``_pause_windows``) are room tone or hum; a
    take with none has no noise to rise above (``-inf``).
    """
    steady = sorted(v for i, v in enumerate(levels) if v > DIGITAL_SILENCE_DBFS
                    and _steady(levels[max(0, i - STEADY_SPAN):i + STEADY_SPAN + 1]))
    return _percentile(steady, NOISE_FLOOR_PERCENTILE) if steady else -math.inf


def _percentile(sorted_values: list[float], percent: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    index = min(len(sorted_values) - 1, int(len(sorted_values) * percent / 100))
    return sorted_values[index]


def speech_threshold_dbfs(integrated_lufs: float, noise_floor_dbfs: float, preset: Preset) -> float:
    """Window level above which a window counts as speech, adapted to the take.

    Above the absolute floor, above a level well under the speech, and above the noise
    floor - but the noise term is capped under the speech, because in a take read with
    hardly a pause the "quietest windows" are still speech.
    """
    candidates = [preset.silence_floor_dbfs, noise_floor_dbfs + NOISE_MARGIN_DB]
    if math.isfinite(integrated_lufs):
        candidates[1] = min(candidates[1], integrated_lufs - NOISE_CAP_BELOW_SPEECH_DB)
        candidates.append(integrated_lufs - preset.silence_below_speech_db)
    return max(candidates)


def is_steady(spread_db: float, preset: Preset) -> bool:
    """Whether windows barely vary: steady noise or hum, not speech."""
    return spread_db < preset.min_dynamic_spread_db


def find_speech(
    times_s: list[float],
    levels: list[float],
    threshold_dbfs: float,
    spread_db: float,
    preset: Preset,
) -> tuple[float, float | None, float | None]:
    """Return (speech seconds, first speech start, last speech end).

    A steady take (see ``is_steady``) yields no speech at all.
    """
    window_s = preset.window_ms / 1000
    if is_steady(spread_db, preset):
        return 0.0, None, None
    voiced = [t for t, level in zip(times_s, levels, strict=True) if level > threshold_dbfs]
    # The momentary window trails each frame by 300 ms, so speech seems to last that long.
    trail_s = MOMENTARY_WINDOW_S - window_s
    speech_s = max(0.0, len(voiced) * window_s - trail_s)
    if speech_s < preset.min_speech_s:
        return speech_s, None, None
    return speech_s, voiced[0], max(voiced[0] + window_s, voiced[-1] + window_s - trail_s)


def pause_noise_floor(levels: list[float], threshold_dbfs: float, spread_db: float,
                      preset: Preset) -> float:
    """Noise floor: the 10th percentile of the pause windows well away from speech.

    Judging noise from the quietest windows of the whole take blames the voice: a reader
    who hardly pauses (or espeak-ng) has speech in all of them. So only windows with no
    speech window within ``NOISE_GUARD_WINDOWS`` either side count (the 400 ms momentary
    window smears speech into its neighbours), and with less than ``MIN_NOISE_S`` of such
    pause the floor is unknown (NaN). Digital silence is no noise and is left out; a take
    of nothing else has a floor of ``-inf``.
    """
    # A steady take has no speech at all: every window is room noise.
    steady = is_steady(spread_db, preset)
    pauses = levels if steady else _pause_windows(levels, threshold_dbfs)
    live = sorted(v for v in pauses if v > DIGITAL_SILENCE_DBFS)
    if not live:
        return -math.inf if len(pauses) * preset.window_ms >= MIN_NOISE_S * 1000 else math.nan
    if len(live) * preset.window_ms < MIN_NOISE_S * 1000:
        return math.nan
    return _percentile(live, NOISE_FLOOR_PERCENTILE)


def room_tone_span(times_s: list[float], levels: list[float], threshold_dbfs: float,
                   quiet_dbfs: float, preset: Preset, duration_s: float) -> tuple[float, float] | None:
    """The longest run of windows that hold only room tone, as (start, end) seconds.

    A room-tone window is within ``ROOM_TONE_ABOVE_QUIET_DB`` of the take's quietest
    windows, not digital silence, steady (see ``_pause_windows``), and has no speech window
    within ``ROOM_TONE_GUARD_WINDOWS`` (the faint ends of words are not room tone). A
    window's momentary level covers the 400 ms up to its end, so a run of them vouches for
    that whole span.
    """
    if not math.isfinite(quiet_dbfs):
        return None
    ceiling = min(threshold_dbfs, quiet_dbfs + ROOM_TONE_ABOVE_QUIET_DB)
    window_s = preset.window_ms / 1000
    guard = ROOM_TONE_GUARD_WINDOWS
    voiced = [level > threshold_dbfs for level in levels]
    best: tuple[float, float] | None = None
    run_start: float | None = None
    for index, (time_s, level) in enumerate(zip([*times_s, math.inf], [*levels, math.inf],
                                                strict=True)):
        near_speech = any(voiced[max(0, index - guard):index + guard + 1])
        steady = _steady(levels[max(0, index - STEADY_SPAN):index + STEADY_SPAN + 1])
        if DIGITAL_SILENCE_DBFS < level <= ceiling and not near_speech and steady:
            run_start = time_s if run_start is None else run_start
            last = time_s
            continue
        if run_start is not None:
            span = (max(0.0, run_start + window_s - MOMENTARY_WINDOW_S),
                    min(duration_s, last + window_s))
            if best is None or span[1] - span[0] > best[1] - best[0]:
                best = span
            run_start = None
    return best


def _pause_windows(levels: list[float], threshold_dbfs: float) -> list[float]:
    """Levels of windows with no speech window within the guard distance that are steady.

    Level alone cannot tell a soft sentence from room noise; their movement can: room
    tone's momentary level barely moves from one window to the next, while even soft
    speech rises and falls with its syllables. A window whose neighbourhood (``STEADY_SPAN``
    windows either side) moves more than ``STEADY_DB`` is not taken for noise.
    """
    guard = NOISE_GUARD_WINDOWS
    speech = [level > threshold_dbfs for level in levels]
    # Prefix sums of speech windows answer "any speech in [i - guard, i + guard]" in O(1).
    prefix = [0]
    for voiced in speech:
        prefix.append(prefix[-1] + voiced)
    count = len(levels)
    return [level for i, level in enumerate(levels)
            if prefix[min(count, i + guard + 1)] == prefix[max(0, i - guard)]
            and _steady(levels[max(0, i - STEADY_SPAN):i + STEADY_SPAN + 1])]


def _steady(levels: list[float]) -> bool:
    """Whether live window levels stay within ``STEADY_DB`` of each other (digital zero aside)."""
    live = [v for v in levels if v > DIGITAL_SILENCE_DBFS]
    return not live or max(live) - min(live) <= STEADY_DB


def graph_loudness(inputs: list[str], filter_graph: str, output_label: str,
                   preset: Preset = DEFAULT) -> float:
    """Integrated loudness of ``filter_graph``'s output ``output_label`` (no encode, no peak scan).

    Used to meter a limiter's output, since limiting lowers loudness by an amount only
    the audio itself can tell.
    """
    graph = f"{filter_graph};{output_label}ebur128=framelog=quiet[metered]"
    argv = [*inputs, "-filter_complex", graph, "-map", "[metered]", "-f", "null", "-"]
    proc = ffmpeg.run(argv, timeout_s=_timeout_s(preset.max_duration_s), label="limit")
    return parse_summary(proc.stderr)["integrated_lufs"]


# --- true peak of the kept conditioned signal, without a second ffmpeg pass ---------------------

TRUE_PEAK_OVERSAMPLE = 4
TRUE_PEAK_TAPS_PER_PHASE = 12  # as BS.1770-4 Annex 2: 48 taps, 4 phases
TRUE_PEAK_SEARCH_DB = 6.0  # no inter-sample peak of speech rises further above its neighbours
TRUE_PEAK_CHUNK_SAMPLES = 1 << 18


def _interpolation_phases() -> np.ndarray:
    """Kernels (phase x tap) giving the values a quarter, half and three quarters between samples.

    A Kaiser-windowed sinc at the original Nyquist frequency, like BS.1770's 48-tap filter;
    ``y[j + k/4] = sum(x[j - HALF + 1 + t] * kernel[k - 1, t])``.
    """
    half = TRUE_PEAK_TAPS_PER_PHASE // 2
    taps = np.arange(-half + 1, half + 1)  # x[j + t] for t in taps
    kernels = []
    for phase in range(1, TRUE_PEAK_OVERSAMPLE):
        offset = phase / TRUE_PEAK_OVERSAMPLE - taps  # distance of each tap from the point
        window = np.kaiser(2 * half * TRUE_PEAK_OVERSAMPLE + 1, 5.0)
        position = np.round((offset + half) * TRUE_PEAK_OVERSAMPLE).astype(int)
        kernels.append(np.sinc(offset) * window[position])
    return np.array(kernels)


def conditioned_true_peak_dbtp(raw_path: str | os.PathLike[str], sample_peak_dbfs: float) -> float:
    """True peak (4x oversampled, in the manner of BS.1770) of a conditioned take kept by ``measure``.

    The measuring pass skips ffmpeg's true-peak meter (the dearest part of ``ebur128``); this
    reads the kept float file once, a chunk at a time, and interpolates only between samples
    within ``TRUE_PEAK_SEARCH_DB`` of the sample peak: the few places an inter-sample peak can
    top it. ``-inf`` for digital silence.
    """
    if not math.isfinite(sample_peak_dbfs):
        return -math.inf
    threshold = 10 ** ((sample_peak_dbfs - TRUE_PEAK_SEARCH_DB) / 20)
    kernels = _interpolation_phases()
    half = TRUE_PEAK_TAPS_PER_PHASE // 2
    offsets = np.arange(-half + 1, half + 1)
    peak = 10 ** (sample_peak_dbfs / 20)
    carry = np.zeros(2 * half, np.float32)
    with open(raw_path, "rb") as handle:
        while True:
            chunk = np.fromfile(handle, dtype="<f4", count=TRUE_PEAK_CHUNK_SAMPLES)
            ended = len(chunk) < TRUE_PEAK_CHUNK_SAMPLES
            buffer = np.concatenate([carry, chunk, np.zeros(2 * half if ended else 0, np.float32)])
            loud = np.abs(buffer) >= threshold
            near = loud[half:len(buffer) - half] | loud[half + 1:len(buffer) - half + 1]
            points = np.nonzero(near)[0] + half
            if len(points):
                windows = buffer[points[:, None] + offsets].astype(np.float64)
                values = np.einsum("pt,kt->pk", windows, kernels)  # no BLAS threads (see recorder.defects)
                peak = max(peak, float(np.abs(values).max()))
            if ended:
                break
            carry = buffer[len(buffer) - 2 * half:]
    return 20 * math.log10(peak) if peak > 0 else -math.inf
