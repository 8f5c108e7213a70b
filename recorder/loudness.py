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
_WINDOW = re.compile(r"pts_time:([\d.]+)\s+lavfi\.r128\.M=" + _NUM)
MOMENTARY_WINDOW_S = 0.4
MIN_NOISE_S = 1.0  # less non-speech than this and the noise floor is unknown
NOISE_GUARD_WINDOWS = 4  # non-speech windows this close to speech still hold its energy
RAW_STATS = ("astats@raw=measure_perchannel=none"
             ":measure_overall=Peak_level+Peak_count+Number_of_samples")


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

    Raises:
        TooLongError: More than ``preset.max_duration_s`` seconds decoded.
        NotAudioError: ffmpeg could not decode the audio.
    """
    with tempfile.TemporaryDirectory(prefix="measure-", dir=work_dir) as tmp:
        windows_file = Path(tmp) / "windows.txt"
        output = ["-f", "null", "-"]
        if conditioned_path is not None:
            output = ["-y", "-c:a", f"pcm_{RAW_FORMAT}", "-f", RAW_FORMAT, str(conditioned_path)]
        argv = _argv(Path(path), preset, windows_file, input_format, true_peak, output)
        try:
            proc = ffmpeg.run(argv, timeout_s=_timeout_s(preset.max_duration_s), label="measure")
        except FfmpegError as exc:
            if exc.returncode is None:
                raise
            raise NotAudioError(f"cannot decode {path}: {exc.stderr_tail[-300:]}") from exc
        times_s, levels_dbfs = parse_windows(windows_file.read_text(errors="replace"))
    return _build(proc.stderr, times_s, levels_dbfs, preset)


def input_args(path: Path, cap_s: float, input_format: str | None) -> list[str]:
    """Input options: the decode cap, an optional forced demuxer, and the file."""
    forced = ["-f", input_format] if input_format else []
    return ["-t", f"{cap_s:.3f}", *forced, "-i", str(path)]


def raw_input_args(raw_path: Path, preset: Preset) -> list[str]:
    """Input options for a conditioned signal kept by ``measure(conditioned_path=...)``."""
    return ["-f", RAW_FORMAT, "-ar", str(preset.sample_rate_hz), "-ch_layout", "mono",
            "-i", str(raw_path)]


def _argv(path: Path, preset: Preset, windows_file: Path, input_format: str | None,
          true_peak: bool, output: list[str]) -> list[str]:
    """Build the measurement command."""
    window_samples = preset.sample_rate_hz * preset.window_ms // 1000
    graph = steps.chain(
        RAW_STATS,
        steps.prepare(preset.sample_rate_hz, preset.highpass_hz),
        f"asetnsamples=n={window_samples}:p=1",
        steps.loudness_meter(true_peak=true_peak, per_frame=True),
        f"ametadata=mode=print:key=lavfi.r128.M:file={_safe(windows_file)}",
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


def parse_windows(text: str) -> tuple[list[float], list[float]]:
    """Parse ametadata's print output into window start times and momentary levels."""
    times_s: list[float] = []
    levels: list[float] = []
    for match in _WINDOW.finditer(text):
        times_s.append(float(match.group(1)))
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
    threshold = speech_threshold_dbfs(summary["integrated_lufs"], quiet, preset)
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


def _pause_windows(levels: list[float], threshold_dbfs: float) -> list[float]:
    """Levels of windows with no speech window within the guard distance."""
    guard = NOISE_GUARD_WINDOWS
    speech = [level > threshold_dbfs for level in levels]
    # Prefix sums of speech windows answer "any speech in [i - guard, i + guard]" in O(1).
    prefix = [0]
    for voiced in speech:
        prefix.append(prefix[-1] + voiced)
    count = len(levels)
    return [level for i, level in enumerate(levels)
            if prefix[min(count, i + guard + 1)] == prefix[max(0, i - guard)]]


def chain_loudness(inputs: list[str], filter_chain: str, preset: Preset = DEFAULT) -> float:
    """Integrated loudness of the input after ``filter_chain`` (no encode, no peak scan).

    Used to meter a limiter's output, since limiting lowers loudness by an amount only
    the audio itself can tell.
    """
    graph = steps.chain(filter_chain, "ebur128=framelog=quiet")
    argv = [*inputs, "-map", "0:a:0", "-af", graph, "-f", "null", "-"]
    proc = ffmpeg.run(argv, timeout_s=_timeout_s(preset.max_duration_s), label="limit")
    return parse_summary(proc.stderr)["integrated_lufs"]
