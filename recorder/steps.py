"""Filter-chain pieces: small pure functions that return ffmpeg filter strings.

Each function builds one step; ``chain`` joins steps. Units are in the parameter names.
Normalisation is linear (``volume``) after one measurement pass; a peak limiter is added
only when the gain would push peaks over the ceiling. (ffmpeg's two-pass ``loudnorm`` is
avoided: on real speech it silently falls back to dynamic mode, resamples to 192 kHz and
is ~40x slower.)
"""

from __future__ import annotations

OVERSAMPLE_FACTOR = 4


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
    """Add digital silence before (``head_s``) and after (``tail_s``) the audio."""
    steps = []
    if head_s > 0.0005:
        steps.append(f"adelay=delays={head_s * 1000:.0f}:all=1")
    if tail_s > 0.0005:
        steps.append(f"apad=pad_dur={tail_s:.3f}")
    return chain(*steps)


def gain(gain_db: float) -> str:
    """Linear gain in dB, computed in float so nothing clips before the limiter."""
    return f"volume={gain_db:.2f}dB:precision=float"


def peak_limiter(ceiling_dbfs: float) -> str:
    """Limit sample peaks to ``ceiling_dbfs``; ``level=0`` stops it re-normalising.

    Inter-sample peaks and MP3 coding can overshoot a sample-peak ceiling by a few tenths
    of a dB, so callers keep a margin and verify the encoded result.
    """
    limit = 10 ** (ceiling_dbfs / 20)
    return f"alimiter=limit={limit:.5f}:level=0:asc=1:attack=5:release=50"


def true_peak_limiter(
    ceiling_dbtp: float, sample_rate_hz: int, *, oversample_factor: int = OVERSAMPLE_FACTOR
) -> str:
    """Limit peaks to ``ceiling_dbtp``, oversampled so inter-sample peaks are caught.

    Running ``alimiter`` at 4x the rate makes its sample peaks a close estimate of the
    true peak, at the cost of filtering four times the samples (plus two resamplers):
    on a 2-core machine it more than doubles the render time, which is why mastering
    uses ``peak_limiter`` with a margin and a verified result instead.
    """
    limiter = peak_limiter(ceiling_dbtp)
    if oversample_factor <= 1:
        return limiter
    return chain(f"aresample={sample_rate_hz * oversample_factor}", limiter,
                 f"aresample={sample_rate_hz}")


def loudness_meter(*, true_peak: bool, per_frame: bool = False) -> str:
    """EBU R128 meter: summary on stderr, per-frame values as metadata when asked.

    True peak is 4x oversampled inside ``ebur128`` and costs about as much as the rest of
    the meter, so it is only asked for where its answer is the authority.
    """
    peak = "true" if true_peak else "sample"
    return f"ebur128=peak={peak}:metadata={int(per_frame)}:framelog=quiet"
