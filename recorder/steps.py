"""Filter-chain pieces: small pure functions that return ffmpeg filter strings.

Each function builds one step; ``chain`` joins steps. Units are in the parameter names.
Normalisation is linear (``volume``) after one measurement pass; a true-peak limiter is
added only when the gain would push peaks over the ceiling. (ffmpeg's two-pass ``loudnorm`` is
avoided: on real speech it silently falls back to dynamic mode, resamples to 192 kHz and
is ~40x slower.)
"""

from __future__ import annotations

OVERSAMPLE_FACTOR = 4
# The oversampling resampler's filter length (ffmpeg's default is 32): 8 finds the peaks
# between samples as well for a limiter's purpose at half the cost, and what it lets alias
# lands above 16 kHz, which the 96 kbit/s MP3 encoder filters out anyway.
OVERSAMPLE_FILTER_SIZE = 8


def chain(*steps: str) -> str:
    """Join filter steps into one chain, skipping empty ones."""
    return ",".join(step for step in steps if step)


def resample_mono(sample_rate_hz: int) -> str:
    """Resample to ``sample_rate_hz`` and downmix to mono, in float."""
    return f"aresample={sample_rate_hz},aformat=sample_fmts=flt:channel_layouts=mono"


def highpass(cutoff_hz: float) -> str:
    """Second-order high-pass filter against rumble and handling noise."""
    return f"highpass=f={cutoff_hz:g}:poles=2"


def prepare(sample_rate_hz: int, highpass_hz: float) -> str:
    """The conditioning shared by measurement and rendering, so both see the same signal.

    ``highpass_hz <= 0`` leaves the high-pass out (used when measuring our own masters).
    """
    return chain(resample_mono(sample_rate_hz), highpass(highpass_hz) if highpass_hz > 0 else "")


def trim(start_s: float, end_s: float) -> str:
    """Keep ``[start_s, end_s)`` and restart timestamps at zero."""
    return f"atrim=start={start_s:.3f}:end={end_s:.3f},asetpts=PTS-STARTPTS"


def pad(head_s: float, tail_s: float) -> str:
    """Add digital silence before (``head_s``) and after (``tail_s``) the audio.

    For test material: masters are padded with the take's own room tone (``loop_to``).
    """
    steps = []
    if head_s > 0.0005:
        steps.append(f"adelay=delays={head_s * 1000:.0f}:all=1")
    if tail_s > 0.0005:
        steps.append(f"apad=pad_dur={tail_s:.3f}")
    return chain(*steps)


def gain(gain_db: float) -> str:
    """Linear gain in dB, computed in float so nothing clips before the limiter."""
    return f"volume={gain_db:.2f}dB:precision=float"


def peak_limiter(ceiling_dbfs: float, *, attack_ms: float = 5.0, release_ms: float = 50.0) -> str:
    """Limit sample peaks to ``ceiling_dbfs``; ``level=0`` stops it re-normalising.

    ``attack_ms`` is the look-ahead: gain comes down over that time before a peak, and
    ``latency=1`` takes the look-ahead delay back out, so the audio stays where it was.
    Inter-sample peaks and MP3 coding can overshoot a sample-peak ceiling by a few tenths
    of a dB (see ``true_peak_limiter``).
    """
    limit = 10 ** (ceiling_dbfs / 20)
    return (f"alimiter=limit={limit:.5f}:level=0:asc=0:attack={attack_ms:g}"
            f":release={release_ms:g}:latency=1")


def true_peak_limiter(
    ceiling_dbtp: float, sample_rate_hz: int, *, oversample_factor: int = OVERSAMPLE_FACTOR,
    attack_ms: float = 1.0, release_ms: float = 15.0,
) -> str:
    """Limit true peaks to ``ceiling_dbtp``: a look-ahead limiter on oversampled audio.

    At 4x the rate the limiter's sample peaks are within about a tenth of a dB of the
    true peak (as BS.1770 meters it), so nothing between the samples escapes. The short
    look-ahead and release touch only the peaks themselves: a loud syllable loses what
    is over the ceiling and recovers within a pitch period or two, instead of the whole
    syllable (or phrase) being pulled down.
    """
    limiter = peak_limiter(ceiling_dbtp, attack_ms=attack_ms, release_ms=release_ms)
    if oversample_factor <= 1:
        return limiter
    size = OVERSAMPLE_FILTER_SIZE
    return chain(f"aresample={sample_rate_hz * oversample_factor}:filter_size={size}", limiter,
                 f"aresample={sample_rate_hz}:filter_size={size}")


def loop_to(duration_s: float, loop_samples: int) -> str:
    """Repeat the first ``loop_samples`` of the input until it lasts ``duration_s``."""
    return f"aloop=loop=-1:size={max(1, loop_samples)},atrim=end={duration_s:.3f}"


def concat(labels: list[str]) -> str:
    """Join the audio streams ``labels`` (e.g. ``["[0:a]", "[1:a]"]``) end to end."""
    if len(labels) == 1:
        return f"{labels[0]}anull"
    return f"{''.join(labels)}concat=n={len(labels)}:v=0:a=1"


def loudness_meter(*, true_peak: bool, per_frame: bool = False) -> str:
    """EBU R128 meter: summary on stderr, per-frame values as metadata when asked.

    True peak is 4x oversampled inside ``ebur128`` and costs about as much as the rest of
    the meter, so it is only asked for where its answer is the authority.
    """
    peak = "true" if true_peak else "sample"
    return f"ebur128=peak={peak}:metadata={int(per_frame)}:framelog=quiet"
