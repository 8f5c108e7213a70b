"""defects: each defect injected at a known strength into a clean take, found and measured.

The defects are the benchmark's own (``bench/bench_defects.py``, which measures detection
over many takes and strengths); here each is checked once, with its figures compared to what
was injected or to an independent measurement (scipy, numpy, ffmpeg run directly).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile
from scipy.signal import resample_poly

from bench.bench_defects import (
    RATE_HZ,
    inject_blank,
    inject_clipping,
    inject_gating,
    inject_hiss,
    inject_hum,
    inject_plosives,
    loudness_lufs,
    read_wav,
    room_tone,
)
from recorder import synth
from recorder.defects import ANALYSIS_RATE_HZ, Analyser, Findings, analyse_file, analyse_samples, expected_reading_s
from recorder.errors import NotAudioError
from recorder.repair import hum_notch, repair_hum
from tests.helpers import require_tool
from tests.recorder.helpers import ffmpeg

ROOM_DBFS = -65.0  # over the synthetic syllables' own faint bed (about -74 dBFS)


def gen_take(tmp: Path, *, level_lufs: float = -23.0, seconds: float = 20.0, seed: int = 1) -> np.ndarray:
    """Speech-like syllables over a room tone at ``ROOM_DBFS``, at 44.1 kHz."""
    path = synth.speechlike(tmp / f"take-{seed}.wav", duration_s=seconds, level_lufs=level_lufs, seed=seed,
                            codec_args=["-c:a", "pcm_f32le"])
    x = read_wav(path)
    return x + room_tone(len(x), ROOM_DBFS, seed)


def analyse(x: np.ndarray, text: str | None = None) -> Findings:
    """Resample to the analysis rate with scipy (not ffmpeg) and analyse in memory."""
    return analyse_samples(resample_poly(x, ANALYSIS_RATE_HZ // 100, RATE_HZ // 100), text=text)


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> np.ndarray:
    """A clean 20 s take at -23 LUFS."""
    return gen_take(tmp_path_factory.mktemp("defects"))


@pytest.fixture(scope="module")
def expressive(tmp_path_factory: pytest.TempPathFactory) -> np.ndarray:
    """Issue 12's expressive reader: full and 9 dB softer sentences alternating, clean pauses between."""
    tmp = tmp_path_factory.mktemp("expressive")
    parts = []
    for index in range(6):
        sentence = read_wav(synth.speechlike(tmp / f"s{index}.wav", duration_s=3, level_lufs=-20 - 9 * (index % 2),
                                             seed=index + 10, codec_args=["-c:a", "pcm_f32le"]))
        parts += [sentence, np.zeros(int(1.5 * RATE_HZ))]
    x = np.concatenate(parts)
    return x + room_tone(len(x), ROOM_DBFS, 3)


def test_clean_take_has_nothing(clean: np.ndarray) -> None:
    findings = analyse(clean)
    assert findings.found() == []
    assert findings.noise.noise_floor_dbfs == pytest.approx(ROOM_DBFS, abs=3)
    assert findings.noise.measured_in_pauses
    assert findings.duration_s == pytest.approx(len(clean) / RATE_HZ, abs=0.02)


def test_expressive_reader_is_not_noisy(expressive: np.ndarray) -> None:
    findings = analyse(expressive)
    assert "noise" not in [f.code for f in findings.found()]
    assert findings.noise.noise_floor_dbfs == pytest.approx(ROOM_DBFS, abs=3)  # not the soft sentences
    soft_and_full_s = 6 * 3 * 0.55  # speech-like phrases fill about 2/3 of each sentence
    assert findings.blank.speech_s > soft_and_full_s


def test_hum_at_minus_33_dbfs_is_found_and_measured(clean: np.ndarray) -> None:
    hummed = inject_hum(clean, loudness_lufs(clean) + 33.0, 50.0)  # issue 12: hum at -33 dBFS
    hum_dbfs = 10 * np.log10(np.mean((hummed - clean) ** 2))
    findings = analyse(hummed)
    assert findings.hum.found
    assert findings.hum.hum_hz == pytest.approx(50.0, abs=0.2)
    assert findings.hum.hum_level_dbfs == pytest.approx(hum_dbfs, abs=1.5)
    assert findings.hum.severity == "fail"
    assert not findings.noise.found  # the hum is notched out; the room under it is quiet


def test_60_hz_hum_is_told_from_50(clean: np.ndarray) -> None:
    findings = analyse(inject_hum(clean, 35.0, 60.0))
    assert findings.hum.found and findings.hum.hum_hz == pytest.approx(60.0, abs=0.2)


def test_hum_notch_removes_hum_and_keeps_speech(clean: np.ndarray, tmp_path: Path) -> None:
    hummed = inject_hum(clean, 20.0, 50.0)
    hum = analyse(hummed).hum
    chain = repair_hum(hum)
    assert hum.hum_hz is not None and chain == hum_notch(hum.hum_hz)
    notched = {}
    for name, signal in (("hum", hummed - clean), ("take", hummed)):
        source, out = tmp_path / f"{name}.wav", tmp_path / f"{name}-notched.wav"
        soundfile.write(source, signal, RATE_HZ, subtype="FLOAT")
        ffmpeg("-i", str(source), "-af", chain, "-c:a", "pcm_f32le", str(out))
        notched[name] = soundfile.read(out, dtype="float64")[0]
    hum_alone = hummed - clean
    settled = slice(RATE_HZ, -RATE_HZ)  # past the notches' ring-in
    reduction_db = 10 * np.log10(np.mean(hum_alone[settled] ** 2) / np.mean(notched["hum"][settled] ** 2))
    assert reduction_db > 25
    assert loudness_lufs(notched["take"]) == pytest.approx(loudness_lufs(clean), abs=0.5)
    assert repair_hum(analyse(clean).hum) == ""


@pytest.mark.parametrize(("below_db", "severity"), [(30.0, "warn"), (15.0, "fail")])
def test_hiss(clean: np.ndarray, below_db: float, severity: str) -> None:
    hissed = inject_hiss(clean, below_db)
    findings = analyse(hissed)
    assert findings.noise.found and findings.noise.severity == severity
    # What the analysis hears of white noise is its half under 8 kHz: measured here with scipy.
    heard = resample_poly(hissed - clean, 160, 441)
    expected_snr_db = loudness_lufs(clean) - 10 * np.log10(np.mean(heard**2))
    assert findings.noise.snr_db == pytest.approx(expected_snr_db, abs=3)


def test_clipping_runs_counted(clean: np.ndarray) -> None:
    clipped = inject_clipping(clean, 6.0)
    at_limit = np.abs(clipped) >= 1.0
    runs = int(np.sum(at_limit[1:] & ~at_limit[:-1]))  # counted at 44.1 kHz, before resampling
    findings = analyse(clipped)
    assert findings.clipping.found
    assert runs / 2 <= findings.clipping.clipped_runs <= runs * 2
    assert findings.clipping.clip_level_dbfs > -2.0


def test_plosives_counted_where_injected(clean: np.ndarray) -> None:
    findings = analyse(inject_plosives(clean, 0.0, count=3, seed=2))
    assert findings.plosives.found
    assert findings.plosives.plosive_count == 3


def test_clicks_in_pauses_counted(clean: np.ndarray) -> None:
    quiet = np.convolve(clean**2, np.ones(4410) / 4410, mode="same") < 10 ** (-60 / 10)
    rng = np.random.default_rng(4)
    places = sorted(rng.choice(np.nonzero(quiet[RATE_HZ:-RATE_HZ])[0] + RATE_HZ, size=40, replace=False))
    places = [p for i, p in enumerate(places) if i == 0 or p - places[i - 1] > RATE_HZ // 5][:4]
    clicked = clean.copy()
    for place in places:
        clicked[place:place + 3] += 0.05 * np.array([1.0, -0.6, 0.2])
    findings = analyse(clicked)
    assert findings.clicks.click_count == len(places)
    assert np.allclose(sorted(findings.clicks.times_s), np.array(places) / RATE_HZ, atol=0.03)


def test_gated_pauses_suspect_zero_noise(clean: np.ndarray) -> None:
    findings = analyse(inject_gating(clean, np.inf))
    assert findings.gating.found and findings.gating.suspect_zero_noise
    assert findings.gating.gated_s > 1.0
    assert not findings.noise.found


@pytest.mark.parametrize("kind", ["silence", "room tone", "noise"])
def test_blank_take(clean: np.ndarray, kind: str) -> None:
    findings = analyse(inject_blank(clean, kind))
    assert findings.blank.found and findings.blank.severity == "fail"


def test_much_too_short_for_the_text(clean: np.ndarray) -> None:
    text = "春眠不觉晓，处处闻啼鸟。" * 30  # 300 characters: over a minute of reading
    findings = analyse(clean, text=text)
    assert findings.too_short.found
    assert findings.too_short.expected_reading_s == pytest.approx(300 / 4.5, abs=0.01)
    assert not analyse(clean, text=text[:60]).too_short.found


def test_expected_reading_counts_characters_not_punctuation() -> None:
    assert expected_reading_s("床前明月光，疑是地上霜。") == pytest.approx(10 / 4.5)


def test_blocks_of_any_size_give_the_same_findings(clean: np.ndarray) -> None:
    samples = resample_poly(clean, 160, 441).astype(np.float32)
    analyser = Analyser()
    for start in range(0, len(samples), 12345):
        analyser.feed(samples[start:start + 12345])
    assert analyser.finish().to_dict() == analyse_samples(samples).to_dict()


def test_file_analysis_of_espeak_reading(tmp_path: Path) -> None:
    require_tool("espeak-ng", shutil.which("espeak-ng") is not None, "apt-get install espeak-ng")
    text = "床前明月光，疑是地上霜。举头望明月，低头思故乡。"
    spoken = read_wav(synth.speech(text, tmp_path / "s.wav"))
    take = tmp_path / "take.flac"
    soundfile.write(take, spoken + room_tone(len(spoken), -70.0, 1), RATE_HZ, subtype="PCM_24")
    findings = analyse_file(take, text=text)
    assert not findings.blank.found and not findings.too_short.found
    assert not findings.noise.found


def test_undecodable_file(tmp_path: Path) -> None:
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"not audio at all" * 100)
    with pytest.raises(NotAudioError):
        analyse_file(junk)
