"""pipeline: master() checked by decoding its MP3 and measuring independently.

How quickly hours of audio are refused is measured by ``bench/bench_give_up.py``.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from mutagen.id3 import ID3
from mutagen.mp3 import MP3, BitrateMode

from recorder import synth
from recorder.advice import ADVICE_ZH
from recorder.errors import NotAudioError, SilentTakeError, TooLongError, TruncatedError
from recorder.pipeline import analyse, master, plan_render
from recorder.presets import DEFAULT, Preset
from recorder.tags import TrackTags
from tests.helpers import require_tool
from tests.recorder.helpers import (
    decode,
    ffmpeg,
    integrated_lufs,
    silence_edges_s,
    silent_flac,
    true_peak_dbtp,
)

FLOAT_WAV = ["-c:a", "pcm_f32le"]


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("level_lufs", [-40, -30, -18, -10, -6])
def test_loudness_and_peak(tmp_path: Path, tags: TrackTags, level_lufs: float) -> None:
    take = synth.speechlike(tmp_path / "in.wav", duration_s=15, level_lufs=level_lufs,
                            seed=-level_lufs, codec_args=FLOAT_WAV)
    result = master(take, tmp_path / "out.mp3", tags=tags)
    data, rate = decode(result.output_path, tmp_path)
    assert integrated_lufs(data, rate) == pytest.approx(-18.0, abs=1.0)
    assert true_peak_dbtp(data) <= -1.0
    assert (rate, data.shape[1]) == (44100, 1)
    assert result.integrated_lufs == pytest.approx(-18.0, abs=1.0)


def test_plan_limits_only_when_peaks_would_pass_the_ceiling(padded_take: Path) -> None:
    from recorder.loudness import measure

    m = measure(padded_take, true_peak=False)
    quiet_peaks = plan_render(replace(m, conditioned_peak_dbfs=-40.0), DEFAULT)
    assert quiet_peaks.limiter_ceiling_dbtp is None  # a plain gain
    hot = plan_render(replace(m, conditioned_peak_dbfs=-1.0), DEFAULT)
    assert hot.limiter_ceiling_dbtp is not None
    assert hot.gain_db == quiet_peaks.gain_db  # not driven into it: its cost is metered


def test_room_tone_trimmed(tmp_path: Path, padded_take: Path, tags: TrackTags) -> None:
    result = master(padded_take, tmp_path / "out.mp3", tags=tags)
    data, rate = decode(result.output_path, tmp_path)
    head_s, tail_s = silence_edges_s(data, rate, threshold_dbfs=-50)  # above the room bed
    assert 0.3 <= head_s <= 0.8
    assert 1.0 <= tail_s <= 2.0
    assert result.duration_ms == pytest.approx(len(data) / rate * 1000, abs=60)


def test_output_format_tags_and_result(tmp_path: Path, padded_take: Path, tags: TrackTags) -> None:
    out = tmp_path / "out.mp3"
    result = master(padded_take, out, tags=tags)
    info = MP3(out).info
    assert (info.sample_rate, info.channels, info.bitrate) == (44100, 1, 96000)
    assert info.bitrate_mode in (BitrateMode.CBR, BitrateMode.UNKNOWN)
    assert str(ID3(out)["TIT2"]) == "静夜思"
    assert result.size_bytes == out.stat().st_size
    assert (result.sample_rate_hz, result.bitrate_kbps) == (44100, 96)
    assert result.report.final_lufs == result.integrated_lufs
    assert [p.name for p in tmp_path.iterdir()] == ["out.mp3"]  # no temp files left


def test_idempotent_and_input_untouched(tmp_path: Path, padded_take: Path, tags: TrackTags) -> None:
    before = _sha(padded_take)
    first = master(padded_take, tmp_path / "a.mp3", tags=tags).output_path
    second = master(padded_take, tmp_path / "b.mp3", tags=tags).output_path
    assert _sha(first) == _sha(second)
    assert _sha(padded_take) == before


def test_telephone_8k(tmp_path: Path, tags: TrackTags) -> None:
    take = synth.speechlike(tmp_path / "tel.wav", duration_s=10, level_lufs=-26,
                            sample_rate_hz=8000)
    result = master(take, tmp_path / "out.mp3", tags=tags)
    data, rate = decode(result.output_path, tmp_path)
    assert rate == 44100
    assert integrated_lufs(data, rate) == pytest.approx(-18.0, abs=1.0)


def test_hires_stereo_24bit(tmp_path: Path, tags: TrackTags) -> None:
    take = synth.speechlike(tmp_path / "hi.wav", duration_s=10, level_lufs=-24,
                            sample_rate_hz=96000, channels=2, codec_args=["-c:a", "pcm_s24le"])
    result = master(take, tmp_path / "out.mp3", tags=tags)
    data, rate = decode(result.output_path, tmp_path)
    assert (rate, data.shape[1]) == (44100, 1)
    assert integrated_lufs(data, rate) == pytest.approx(-18.0, abs=1.0)


def test_clipped_take_flagged(tmp_path: Path, tags: TrackTags) -> None:
    loud = synth.speechlike(tmp_path / "loud.wav", duration_s=10, level_lufs=-8,
                            codec_args=FLOAT_WAV)
    clipped = tmp_path / "clipped.wav"
    ffmpeg("-i", str(loud), "-af", "volume=12dB", "-c:a", "pcm_s16le", str(clipped))
    result = master(clipped, tmp_path / "out.mp3", tags=tags)
    assert result.report.clipping_share > 0.01
    assert "clipping" in [a.code for a in result.report.advice]
    assert result.report.verdict == "fail"
    data, _ = decode(result.output_path, tmp_path)
    assert true_peak_dbtp(data) <= -1.0


def test_too_quiet_take_works_with_advice(tmp_path: Path, tags: TrackTags) -> None:
    take = synth.speechlike(tmp_path / "quiet.wav", duration_s=10, level_lufs=-48,
                            codec_args=FLOAT_WAV)
    result = master(take, tmp_path / "out.mp3", tags=tags)
    data, rate = decode(result.output_path, tmp_path)
    assert integrated_lufs(data, rate) == pytest.approx(-18.0, abs=1.0)
    assert result.report.advice[0].text_zh == ADVICE_ZH["too_quiet"]


def test_truncated_mp3_refused_as_incomplete(tmp_path: Path, tags: TrackTags) -> None:
    full = synth.speechlike(tmp_path / "full.mp3", duration_s=20, level_lufs=-22)
    half = tmp_path / "half.mp3"
    half.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    with pytest.raises(TruncatedError) as info:
        master(half, tmp_path / "out.mp3", tags=tags)
    assert (info.value.code, info.value.message_zh[:5]) == ("truncated", "文件不完整")
    assert not (tmp_path / "out.mp3").exists()


@pytest.mark.parametrize("make", [
    lambda p: synth.silence(p, duration_s=8),
    lambda p: synth.noise(p, duration_s=8, level_dbfs=-30),
], ids=["silence", "noise"])
def test_no_speech_refused_with_report(tmp_path: Path, tags: TrackTags, make) -> None:
    take = make(tmp_path / "take.wav")
    out = tmp_path / "out.mp3"
    with pytest.raises(SilentTakeError) as info:
        master(take, out, tags=tags)
    assert info.value.code == "silent_take"
    assert info.value.report is not None
    assert info.value.report.verdict == "fail"
    assert not out.exists()


NOT_AUDIO = [b"", b"\x89PNG\r\n\x1a\n" + bytes(300), bytes(range(256)) * 64]


@pytest.mark.parametrize("content", NOT_AUDIO, ids=["empty", "png", "bytes"])
def test_not_audio_refused(tmp_path: Path, tags: TrackTags, content: bytes) -> None:
    take = tmp_path / "take.mp3"
    take.write_bytes(content)
    with pytest.raises(NotAudioError):
        master(take, tmp_path / "out.mp3", tags=tags)
    assert not (tmp_path / "out.mp3").exists()


def test_hours_of_silent_flac_refused(tmp_path: Path, tags: TrackTags) -> None:
    flac = silent_flac(tmp_path / "ten-hours.flac", hours=10)
    assert flac.stat().st_size < 100_000
    with pytest.raises(TooLongError) as info:
        master(flac, tmp_path / "out.mp3", tags=tags)
    assert info.value.code == "too_long"
    assert not (tmp_path / "out.mp3").exists()


def test_existing_output_kept_on_failure(tmp_path: Path, tags: TrackTags) -> None:
    out = tmp_path / "out.mp3"
    out.write_bytes(b"previous master")
    silence = synth.silence(tmp_path / "s.wav", duration_s=3)
    with pytest.raises(SilentTakeError):
        master(silence, out, tags=tags)
    assert out.read_bytes() == b"previous master"


def test_analyse_without_encoding(tmp_path: Path, padded_take: Path) -> None:
    report = analyse(padded_take, Preset())
    assert report.verdict in ("pass", "warn")
    assert report.final_lufs is None
    assert report.input_lufs == pytest.approx(-23, abs=1.0)


_MASTER_AND_REPORT_RSS = """
import json, re, resource, sys
from pathlib import Path
from recorder.pipeline import master
from recorder.tags import TrackTags
result = master(sys.argv[1], sys.argv[2], tags=TrackTags(title="long"))
print(json.dumps({"duration_ms": result.duration_ms,
                  "children_kib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
                  # VmHWM, not RUSAGE_SELF: Linux carries ru_maxrss over exec from pytest.
                  "self_kib": int(re.search(r"VmHWM:\\s+(\\d+)",
                                            Path("/proc/self/status").read_text()).group(1))}))
"""


@pytest.mark.slow
def test_ten_minutes_memory_bounded(tmp_path: Path) -> None:
    require_tool("Linux /proc", Path("/proc/self/status").exists(), "the peak memory is read from it")
    take = synth.speechlike(tmp_path / "long.flac", duration_s=600, level_lufs=-25)
    # A fresh interpreter, so RUSAGE_CHILDREN counts only the mastering's ffmpeg runs.
    proc = subprocess.run([sys.executable, "-c", _MASTER_AND_REPORT_RSS, str(take),
                           str(tmp_path / "out.mp3")], capture_output=True, text=True,
                          check=True, timeout=240, cwd=Path(__file__).parents[2])
    usage = json.loads(proc.stdout.strip().splitlines()[-1])
    assert usage["duration_ms"] > 590_000, usage
    assert usage["children_kib"] < 150 * 1024, usage
    assert usage["self_kib"] < 150 * 1024, usage
