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
from scipy.signal import butter, resample_poly, sosfilt

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
POEM = "床前明月光，疑是地上霜。举头望明月，低头思故乡。春眠不觉晓，处处闻啼鸟。"


def gen_take(tmp: Path, *, level_lufs: float = -23.0, seconds: float = 20.0, seed: int = 1) -> np.ndarray:
    """Speech-like syllables over a room tone at ``ROOM_DBFS``, at 44.1 kHz."""
    path = synth.speechlike(tmp / f"take-{seed}.wav", duration_s=seconds, level_lufs=level_lufs, seed=seed,
                            codec_args=["-c:a", "pcm_f32le"])
    x = read_wav(path)
    return x + room_tone(len(x), ROOM_DBFS, seed)


def analyse(x: np.ndarray, text: str | None = None) -> Findings:
    """Resample to the analysis rate with scipy (not ffmpeg) and analyse in memory."""
    return analyse_samples(resample_poly(x, ANALYSIS_RATE_HZ // 100, RATE_HZ // 100), text=text)


def gen_file(tmp: Path, x: np.ndarray, name: str, subtype: str = "PCM_24") -> Path:
    """A take written as WAV at 44.1 kHz (as the booth records it)."""
    path = tmp / f"{name}.wav"
    soundfile.write(path, x, RATE_HZ, subtype=subtype)
    return path


def band_power(x: np.ndarray) -> np.ndarray:
    """Power above 8 kHz at the analysis rate, made with scipy (as ``decode_argv`` makes it with ffmpeg)."""
    high = sosfilt(butter(6, 8000, "highpass", fs=RATE_HZ, output="sos"), x)
    return resample_poly(high**2, ANALYSIS_RATE_HZ // 100, RATE_HZ // 100)


@pytest.fixture(scope="module")
def espeak_reading(tmp_path_factory: pytest.TempPathFactory) -> np.ndarray:
    """espeak-ng reading a poem with hardly a pause, over a faint room tone, at 44.1 kHz."""
    require_tool("espeak-ng", shutil.which("espeak-ng") is not None, "apt-get install espeak-ng")
    spoken = read_wav(synth.speech(POEM, tmp_path_factory.mktemp("espeak") / "poem.wav"))
    return spoken + room_tone(len(spoken), -70.0, 1)


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


@pytest.mark.parametrize("subtype", ["PCM_16", "PCM_24"])
def test_clipping_just_over_full_scale_found_in_the_file(clean: np.ndarray, tmp_path: Path, subtype: str) -> None:
    path = gen_file(tmp_path, inject_clipping(clean, 2.0), "clipped", subtype)
    stored = soundfile.read(path, dtype="int32")[0]  # the file's own samples, at its own full scale
    at_extremes = int(np.sum(stored == stored.max()) + np.sum(stored == stored.min()))
    findings = analyse_file(path)
    assert findings.clipping.found
    assert findings.clipping.flat_top_samples == at_extremes
    assert findings.clipping.mean_flat_run_samples >= 3
    assert findings.clipping.clip_level_dbfs > -0.1


def test_clean_file_has_no_flat_tops(clean: np.ndarray, tmp_path: Path) -> None:
    findings = analyse_file(gen_file(tmp_path, clean, "clean"))
    assert not findings.clipping.found
    assert findings.clipping.flat_top_samples < 10


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


def test_clicks_inside_speech_found_above_8_khz(espeak_reading: np.ndarray, tmp_path: Path) -> None:
    hop = RATE_HZ // 100
    length = len(espeak_reading) // hop * hop
    power = np.mean(espeak_reading[:length].reshape(-1, hop) ** 2, axis=1)
    high = sosfilt(butter(6, 8000, "highpass", fs=RATE_HZ, output="sos"), espeak_reading)
    high_power = np.mean(high[:length].reshape(-1, hop) ** 2, axis=1)
    # Inside vowels: loud, and with little above 8 kHz (a loud hiss, "sh", would mask a click).
    voiced = np.nonzero((power > power.max() / 100) & (high_power < power / 1000))[0]
    places = [int(frame) * hop + hop // 2 for frame in voiced[:: max(1, len(voiced) // 4)][1:4]]
    clicked = espeak_reading.copy()
    amplitude = 10 ** (-12 / 20) * float(np.max(np.abs(espeak_reading)))
    for place in places:
        clicked[place:place + 3] += amplitude * np.array([1.0, -0.6, 0.2])
    assert not analyse_file(gen_file(tmp_path, espeak_reading, "reading")).clicks.found
    findings = analyse_file(gen_file(tmp_path, clicked, "clicked"))
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


def test_english_text_is_read_by_the_word(clean: np.ndarray) -> None:
    sentence = "Readers may borrow books, read the papers, or read a story aloud. "  # 12 words
    assert not analyse(clean, text=sentence * 4).too_short.found  # 48 words in 13 s of speech
    findings = analyse(clean, text=sentence * 20)  # 240 words: no one reads them in 13 s
    assert findings.too_short.found and findings.too_short.text_words == 240


@pytest.mark.parametrize(("text", "seconds"), [
    ("床前明月光，疑是地上霜。", 10 / 4.5),
    ("The library opens at nine.", 5 / 2.5),
    ("图书馆 opens at 9 点。", 4 / 4.5 + 3 / 2.5),
])
def test_expected_reading_counts_characters_and_words_not_punctuation(text: str, seconds: float) -> None:
    assert expected_reading_s(text) == pytest.approx(seconds)


@pytest.mark.parametrize("with_band", [False, True])
def test_blocks_of_any_size_give_the_same_findings(clean: np.ndarray, with_band: bool) -> None:
    quiet = np.convolve(clean**2, np.ones(4410) / 4410, mode="same") < 10 ** (-60 / 10)
    place = int(np.nonzero(quiet[2 * RATE_HZ:])[0][0]) + 2 * RATE_HZ + RATE_HZ // 20  # in a pause
    clicked = clean.copy()
    clicked[place:place + 3] += 0.05 * np.array([1.0, -0.6, 0.2])
    samples = resample_poly(clicked, 160, 441).astype(np.float32)
    band = band_power(clicked) if with_band else None
    analyser = Analyser()
    for start in range(0, len(samples), 12345):
        analyser.feed(samples[start:start + 12345], None if band is None else band[start:start + 12345])
    findings = analyser.finish()
    assert findings.to_dict() == analyse_samples(samples, hf_power=band).to_dict()
    assert findings.clicks.times_s == pytest.approx([place / RATE_HZ], abs=0.03)


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
