"""steps: each filter string, run through ffmpeg on synthesised audio, does what its name says.

The audio is made with numpy, filtered by ffmpeg directly (not through ``recorder.ffmpeg``),
decoded with soundfile and measured here: levels, lengths, edges and true peaks.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import soundfile

from recorder import steps
from tests.recorder.helpers import ffmpeg, integrated_lufs, silence_edges_s, true_peak_dbtp

RATE_HZ = 44_100


def tone(seconds: float, *, frequency_hz: float = 1000.0, amplitude: float = 0.5, phase: float = 0.0,
         rate_hz: int = RATE_HZ) -> np.ndarray:
    """A sine wave, one channel."""
    t = np.arange(round(seconds * rate_hz)) / rate_hz
    return amplitude * np.sin(2 * np.pi * frequency_hz * t + phase)


def faded(samples: np.ndarray, fade_s: float = 0.05, rate_hz: int = RATE_HZ) -> np.ndarray:
    """``samples`` with raised-cosine fades in and out (no abrupt edge to ring through a resampler)."""
    ramp = np.sin(np.linspace(0, np.pi / 2, round(fade_s * rate_hz))) ** 2
    envelope = np.ones(len(samples))
    envelope[: len(ramp)], envelope[len(samples) - len(ramp):] = ramp, ramp[::-1]
    return samples * envelope


def write(path: Path, samples: np.ndarray, rate_hz: int = RATE_HZ) -> Path:
    """A 32-bit float WAV of ``samples`` (frames, or frames x channels)."""
    soundfile.write(path, samples, rate_hz, subtype="FLOAT")
    return path


def run_filter(filter_chain: str, source: Path, tmp_path: Path) -> tuple[np.ndarray, int]:
    """``source`` through ``-af filter_chain`` into float WAV, decoded: (frames x channels, rate)."""
    out = tmp_path / f"{source.stem}.filtered.wav"
    ffmpeg("-i", str(source), "-af", filter_chain, "-c:a", "pcm_f32le", str(out))
    data, rate_hz = soundfile.read(out, dtype="float64", always_2d=True)
    return data, rate_hz


def rms_db(samples: np.ndarray) -> float:
    """Root-mean-square level in dB relative to full scale."""
    return float(20 * np.log10(np.sqrt(np.mean(np.square(samples)))))


def meter_output(filter_chain: str, source: Path) -> str:
    """What ffmpeg prints (stderr) running ``filter_chain`` on ``source`` into nothing."""
    return ffmpeg("-nostats", "-i", str(source), "-af", filter_chain, "-f", "null", "-").stderr


def summary_value(stderr: str, section: str, label: str) -> float:
    """A number from the ebur128 summary: ``label`` under ``section`` (e.g. "True peak", "Peak")."""
    summary = stderr[stderr.rfind("Summary:"):]
    block = summary[summary.index(section):]
    found = re.search(rf"{label}:\s+(-?[\d.]+|-inf)", block)
    assert found, summary
    return float(found.group(1))


def test_chain_runs_every_step_and_leaves_out_empty_ones(tmp_path: Path) -> None:
    source = write(tmp_path / "tone.wav", tone(2.0))
    data, _ = run_filter(steps.chain(steps.gain(-6.0), "", steps.gain(-6.0), ""), source, tmp_path)
    assert rms_db(data) - rms_db(tone(2.0)) == pytest.approx(-12.0, abs=0.02)


def test_trim_keeps_exactly_the_span_asked_for(tmp_path: Path) -> None:
    """A ramp whose value is its own time in seconds / 100 shows which samples were kept."""
    seconds = np.arange(12 * RATE_HZ) / RATE_HZ
    source = write(tmp_path / "ramp.wav", seconds / 100)
    data, rate_hz = run_filter(steps.trim(1.5, 9.25), source, tmp_path)
    kept = data[:, 0] * 100
    assert len(kept) == pytest.approx(7.75 * rate_hz, abs=1)
    assert kept[0] == pytest.approx(1.5, abs=1e-4)
    assert kept[-1] == pytest.approx(9.25, abs=2 / rate_hz)


def test_pad_adds_silence_before_and_after(tmp_path: Path) -> None:
    source = write(tmp_path / "tone.wav", tone(2.0))
    data, rate_hz = run_filter(steps.pad(0.5, 1.5), source, tmp_path)
    assert len(data) / rate_hz == pytest.approx(4.0, abs=0.01)
    head_s, tail_s = silence_edges_s(data, rate_hz)
    assert head_s == pytest.approx(0.5, abs=0.02)
    assert tail_s == pytest.approx(1.5, abs=0.02)


def test_no_padding_adds_nothing(tmp_path: Path) -> None:
    source = write(tmp_path / "tone.wav", tone(2.0))
    data, rate_hz = run_filter(steps.chain(steps.gain(0.0), steps.pad(0.0, 0.0)), source, tmp_path)
    assert len(data) == 2 * rate_hz
    assert silence_edges_s(data, rate_hz) == (0.0, 0.0)


def test_gain_changes_the_level_by_its_decibels(tmp_path: Path) -> None:
    source = write(tmp_path / "tone.wav", tone(2.0))
    data, _ = run_filter(steps.gain(-3.456), source, tmp_path)
    assert rms_db(data) - rms_db(tone(2.0)) == pytest.approx(-3.456, abs=0.01)


def test_gain_in_float_does_not_clip_before_the_limiter(tmp_path: Path) -> None:
    source = write(tmp_path / "loud.wav", tone(1.0, amplitude=0.9))
    data, _ = run_filter(steps.gain(6.0), source, tmp_path)
    assert np.max(np.abs(data)) == pytest.approx(0.9 * 10 ** (6 / 20), rel=0.01)  # 1.8: above full scale


def test_peak_limiter_holds_sample_peaks_to_the_ceiling(tmp_path: Path) -> None:
    source = write(tmp_path / "loud.wav", tone(2.0, amplitude=0.9))
    data, rate_hz = run_filter(steps.peak_limiter(-6.0206), source, tmp_path)
    settled = data[rate_hz // 10:]  # past the limiter's attack
    assert 20 * np.log10(np.max(np.abs(settled))) <= -6.0206 + 0.1


def test_peak_limiter_leaves_quieter_audio_alone(tmp_path: Path) -> None:
    """``level=0``: audio under the ceiling keeps its level (the limiter does not normalise)."""
    quiet = tone(2.0, amplitude=0.1)
    data, _ = run_filter(steps.peak_limiter(-6.0206), write(tmp_path / "quiet.wav", quiet), tmp_path)
    assert rms_db(data) == pytest.approx(rms_db(quiet), abs=0.1)


def inter_sample_peaks(seconds: float = 2.0, amplitude: float = 0.9) -> np.ndarray:
    """A quarter-rate sine sampled 45° off its crests: every sample is 3 dB below the true peak."""
    return tone(seconds, frequency_hz=RATE_HZ / 4, amplitude=amplitude, phase=np.pi / 4)


def test_true_peak_limiter_catches_peaks_between_samples(tmp_path: Path) -> None:
    source = write(tmp_path / "isp.wav", inter_sample_peaks())
    oversampled, rate_hz = run_filter(steps.true_peak_limiter(-6.0206, RATE_HZ), source, tmp_path)
    plain, _ = run_filter(steps.peak_limiter(-6.0206), source, tmp_path)
    settled = slice(RATE_HZ // 10, -RATE_HZ // 10)
    assert rate_hz == RATE_HZ  # back at the rate it came in at
    assert true_peak_dbtp(oversampled[settled]) <= -6.0206 + 0.5
    assert true_peak_dbtp(plain[settled]) > -6.0206 + 2.0  # sample peaks alone let these through


def test_prepare_makes_mono_at_the_rate_asked(tmp_path: Path) -> None:
    left, right = tone(3.0, amplitude=0.3, rate_hz=48_000), tone(3.0, frequency_hz=500.0, amplitude=0.3, rate_hz=48_000)
    source = write(tmp_path / "stereo.wav", np.stack([left, right], axis=1), 48_000)
    data, rate_hz = run_filter(steps.prepare(RATE_HZ, 0), source, tmp_path)
    assert (data.shape[1], rate_hz) == (1, RATE_HZ)
    assert len(data) == pytest.approx(3.0 * RATE_HZ, abs=2)
    spectrum = np.abs(np.fft.rfft(data[:, 0]))
    frequencies_hz = np.fft.rfftfreq(len(data), 1 / RATE_HZ)
    loudest = {round(float(f)) for f in frequencies_hz[np.argsort(spectrum)[-2:]]}
    assert loudest == {500, 1000}  # both channels are in the one channel


def test_prepare_filters_rumble_only_when_asked(tmp_path: Path) -> None:
    rumble = tone(3.0, frequency_hz=30.0, amplitude=0.5)
    source = write(tmp_path / "rumble.wav", rumble)
    filtered, _ = run_filter(steps.prepare(RATE_HZ, 80), source, tmp_path)
    unfiltered, _ = run_filter(steps.prepare(RATE_HZ, 0), source, tmp_path)
    settled = slice(RATE_HZ // 2, None)  # past the filter's start-up
    assert rms_db(filtered[settled]) - rms_db(rumble) < -12.0  # 30 Hz is well under the 80 Hz cut-off
    assert rms_db(unfiltered[settled]) == pytest.approx(rms_db(rumble), abs=0.1)


def test_prepare_keeps_the_voice_band(tmp_path: Path) -> None:
    voice = tone(3.0, frequency_hz=1000.0, amplitude=0.5)
    filtered, _ = run_filter(steps.prepare(RATE_HZ, 80), write(tmp_path / "voice.wav", voice), tmp_path)
    assert rms_db(filtered[RATE_HZ // 2:]) == pytest.approx(rms_db(voice), abs=0.1)


def test_loudness_meter_agrees_with_independent_measures(tmp_path: Path) -> None:
    samples = np.concatenate([faded(inter_sample_peaks(6.0, amplitude=0.5)), faded(tone(6.0, amplitude=0.2))])
    source = write(tmp_path / "mix.wav", samples)
    stderr = meter_output(steps.loudness_meter(true_peak=True), source)
    assert summary_value(stderr, "Integrated loudness", "I") == pytest.approx(
        integrated_lufs(samples[:, np.newaxis], RATE_HZ), abs=0.5)
    assert summary_value(stderr, "True peak", "Peak") == pytest.approx(true_peak_dbtp(samples), abs=0.5)


def test_loudness_meter_sample_peak_mode_reports_the_sample_peak(tmp_path: Path) -> None:
    samples = inter_sample_peaks(6.0, amplitude=0.5)
    stderr = meter_output(steps.loudness_meter(true_peak=False), write(tmp_path / "isp.wav", samples))
    sample_peak_db = 20 * np.log10(np.max(np.abs(samples)))
    assert summary_value(stderr, "Sample peak", "Peak") == pytest.approx(sample_peak_db, abs=0.1)
    assert "True peak" not in stderr[stderr.rfind("Summary:"):]


@pytest.mark.parametrize("per_frame", [True, False])
def test_loudness_meter_per_frame_values_only_when_asked(tmp_path: Path, per_frame: bool) -> None:
    source = write(tmp_path / "tone.wav", tone(3.0))
    frames = tmp_path / "frames.txt"
    frames.write_text("")
    meter = steps.loudness_meter(true_peak=False, per_frame=per_frame)
    meter_output(steps.chain(meter, f"ametadata=mode=print:file={frames}"), source)
    momentary = [line for line in frames.read_text().splitlines() if line.startswith("lavfi.r128.M=")]
    assert (len(momentary) > 10) is per_frame
