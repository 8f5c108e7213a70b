"""master() runs the defect analysis for every take: hum notched and gone, figures in the report, the text judged.

Every figure is checked against an independent measure: numpy FFTs of the decoded master's
pauses, ffmpeg's own ``ebur128=peak=true``, the room tone level that was injected.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import soundfile

from bench.bench_defects import RATE_HZ, inject_hum, loudness_lufs, read_wav, room_tone
from recorder import synth
from recorder.advice import ADVICE_ZH
from recorder.defects import analyse_file
from recorder.pipeline import MasterResult, analyse, master
from recorder.presets import DEFAULT
from recorder.tags import TrackTags
from tests.recorder.helpers import decode, ffmpeg
from tests.recorder.measures import speech_edges_s

ROOM_DBFS = -65.0
HUM_DBFS = -33.0  # issue 12's hum
POEM = "床前明月光，疑是地上霜。举头望明月，低头思故乡。"


def gen_take(tmp: Path, *, seconds: float = 16.0, level_lufs: float = -23.0, seed: int = 1) -> np.ndarray:
    """Speech-like syllables over room tone at ``ROOM_DBFS``, 44.1 kHz mono."""
    path = synth.speechlike(tmp / f"clean-{seed}.wav", duration_s=seconds, level_lufs=level_lufs, seed=seed,
                            codec_args=["-c:a", "pcm_f32le"])
    x = read_wav(path)
    return x + room_tone(len(x), ROOM_DBFS, seed)


def gen_file(tmp: Path, x: np.ndarray, name: str) -> Path:
    """A take written as 24-bit WAV, as the booth records it."""
    path = tmp / f"{name}.wav"
    soundfile.write(path, x, RATE_HZ, subtype="PCM_24")
    return path


def line_dbfs(x: np.ndarray, rate: int, centre_hz: float, half_width_hz: float = 2.0) -> float:
    """Power of a spectral line (RMS of a sine there, in dBFS) by a Hann-windowed FFT of ``x``."""
    window = np.hanning(len(x))
    n = 1 << int(np.ceil(np.log2(len(x) * 4)))
    power = np.abs(np.fft.rfft(x * window, n=n)) ** 2 * 2.0 / (n * np.sum(window**2)) * (n / len(x))
    freqs = np.fft.rfftfreq(n, 1 / rate)
    band = (freqs >= centre_hz - half_width_hz) & (freqs <= centre_hz + half_width_hz)
    return float(10 * np.log10(power[band].sum() * len(x) / n + 1e-30))


def tail_pause(path: Path, tmp: Path, seconds: float = 1.0) -> tuple[np.ndarray, int]:
    """The last ``seconds`` of a file (after the last speech: room tone), decoded by ffmpeg."""
    data, rate = decode(path, tmp)
    return data.mean(axis=1)[-int(seconds * rate):], rate


@pytest.fixture(scope="module")
def hummed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, MasterResult, Path]:
    """A take with 50 Hz mains hum (and its harmonics) at -33 dBFS, mastered."""
    tmp = tmp_path_factory.mktemp("hum")
    clean = gen_take(tmp)
    take = gen_file(tmp, inject_hum(clean, loudness_lufs(clean) - HUM_DBFS, 50.0), "hummed")
    return take, master(take, tmp / "master.mp3", tags=TrackTags(title="hum")), tmp


def test_hum_take_is_flagged(hummed: tuple[Path, MasterResult, Path]) -> None:
    _, result, _ = hummed
    findings = result.report.findings
    assert findings is not None and findings["hum"]["found"]
    assert findings["hum"]["hum_hz"] == pytest.approx(50.0, abs=0.3)
    assert "hum" in [a.code for a in result.report.advice]
    assert findings["hum"]["master_hum_level_dbfs"] is None or (
        findings["hum"]["master_hum_level_dbfs"] < findings["hum"]["hum_level_dbfs"] - 30)


@pytest.mark.parametrize("harmonic_hz", [50.0, 100.0, 150.0])
def test_hum_is_gone_from_the_masters_pauses(hummed: tuple[Path, MasterResult, Path], harmonic_hz: float) -> None:
    take, result, tmp = hummed
    before, rate = tail_pause(take, tmp)
    after, master_rate = tail_pause(result.output_path, tmp)
    gain_db = DEFAULT.target_lufs - loudness_lufs(read_wav(take))
    hum_before = line_dbfs(before, rate, harmonic_hz)
    assert hum_before > HUM_DBFS - 12  # the take's pauses do hum (the harmonics are 6 and 10 dB down)
    hum_after = line_dbfs(after, master_rate, harmonic_hz)
    # Turned up by the mastering gain it would be louder still; notched, it sinks into the room.
    assert hum_after < hum_before + gain_db - 30
    neighbours = max(line_dbfs(after, master_rate, harmonic_hz + offset) for offset in (-12.0, 12.0))
    assert hum_after < neighbours + 6  # no line left standing over the room's own noise


def test_report_has_noise_floor_and_input_true_peak(hummed: tuple[Path, MasterResult, Path],
                                                    tmp_path: Path) -> None:
    clean = gen_take(tmp_path, seed=3)
    take = gen_file(tmp_path, clean, "clean")
    report = master(take, tmp_path / "out.mp3", tags=TrackTags(title="x")).report
    assert report.noise_floor_dbfs == pytest.approx(ROOM_DBFS, abs=3)
    stderr = ffmpeg("-i", str(take), "-af", f"highpass=f={DEFAULT.highpass_hz:g}:poles=2,ebur128=peak=true",
                    "-f", "null", "-").stderr
    reference_dbtp = float(re.findall(r"True peak:\s+Peak:\s+(-?[\d.]+)", stderr)[-1])
    assert report.input_true_peak_dbtp == pytest.approx(reference_dbtp, abs=0.15)
    data = report.to_dict()
    assert data["noise_floor_dbfs"] is not None and data["input_true_peak_dbtp"] is not None
    assert data["findings"]["noise"]["noise_floor_dbfs"] == pytest.approx(ROOM_DBFS, abs=3)
    assert data["advice"] == [] and data["verdict"] == "pass"
    assert data["final_loudness_range_lu"] is not None and data["limited"] is not None


def test_expressive_reader_is_not_noisy_and_keeps_its_tail(tmp_path: Path) -> None:
    """Issue 12: full and soft sentences 9 dB apart with clean pauses; once failed as noisy, its tail cut to 0.2 s."""
    parts = []
    for index in range(6):
        sentence = read_wav(synth.speechlike(tmp_path / f"s{index}.wav", duration_s=3,
                                             level_lufs=-20 - 9 * (index % 2), seed=index + 10,
                                             codec_args=["-c:a", "pcm_f32le"]))
        parts += [sentence, np.zeros(int(1.5 * RATE_HZ))]
    x = np.concatenate(parts)
    take = gen_file(tmp_path, x + room_tone(len(x), ROOM_DBFS, 3), "expressive")
    result = master(take, tmp_path / "out.mp3", tags=TrackTags(title="x"))
    assert "noise" not in [a.code for a in result.report.advice]
    assert result.report.verdict != "fail"
    assert result.report.noise_floor_dbfs == pytest.approx(ROOM_DBFS, abs=3)  # not the soft sentences
    data, rate = decode(result.output_path, tmp_path)
    head_s, tail_s = speech_edges_s(data.mean(axis=1), rate)
    assert head_s == pytest.approx(DEFAULT.head_room_tone_s, abs=0.1)
    assert 1.0 <= tail_s <= 2.0


def test_the_text_read_reaches_the_analysis(tmp_path: Path) -> None:
    take = gen_file(tmp_path, gen_take(tmp_path, seconds=8), "short")
    result = master(take, tmp_path / "out.mp3", tags=TrackTags(title="x"), text=POEM * 6)
    assert result.report.advice[0].code == "too_short"
    assert result.report.advice[0].text_zh == ADVICE_ZH["too_short"]
    assert result.report.verdict == "fail"
    fits = master(take, tmp_path / "fits.mp3", tags=TrackTags(title="x"), text=POEM[:12])
    assert "too_short" not in [a.code for a in fits.report.advice]


def test_the_analysis_on_the_measuring_pass_finds_what_a_decode_of_its_own_finds(
        hummed: tuple[Path, MasterResult, Path]) -> None:
    """The pipeline shares the measuring decode; ``analyse_file`` decodes on its own: the same findings."""
    take, result, _ = hummed
    assert analyse(take, text=POEM).findings == analyse_file(take, text=POEM).to_dict()
    mastered = dict(result.report.findings or {})
    hum = dict(mastered.pop("hum"))
    assert hum.pop("master_hum_level_dbfs") is not None or hum["found"]
    assert {**mastered, "hum": hum} == analyse_file(take).to_dict()
