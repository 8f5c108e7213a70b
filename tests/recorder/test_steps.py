"""steps: filter strings are pure and carry their units."""

from __future__ import annotations

from recorder import steps


def test_chain_skips_empty() -> None:
    assert steps.chain("a", "", "b") == "a,b"


def test_trim_and_pad() -> None:
    assert steps.trim(1.5, 9.25) == "atrim=start=1.500:end=9.250,asetpts=PTS-STARTPTS"
    assert steps.pad(0.5, 1.5) == "adelay=delays=500:all=1,apad=pad_dur=1.500"
    assert steps.pad(0.0, 0.0) == ""


def test_gain_and_limiter() -> None:
    assert steps.gain(-3.456) == "volume=-3.46dB:precision=float"
    limiter = steps.true_peak_limiter(-6.0206, 44100)
    assert limiter.startswith("aresample=176400,alimiter=limit=0.50000:level=0")
    assert limiter.endswith("aresample=44100")


def test_prepare_without_highpass() -> None:
    assert "highpass" not in steps.prepare(44100, 0)
    assert "highpass=f=80" in steps.prepare(44100, 80)


def test_peak_limiter_is_not_oversampled() -> None:
    assert steps.peak_limiter(-6.0206) == "alimiter=limit=0.50000:level=0:asc=1:attack=5:release=50"


def test_loudness_meter_peak_mode() -> None:
    assert steps.loudness_meter(true_peak=True) == "ebur128=peak=true:metadata=0:framelog=quiet"
    assert "peak=sample:metadata=1" in steps.loudness_meter(true_peak=False, per_frame=True)
