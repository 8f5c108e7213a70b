"""Independent measurement helpers for the recorder tests (not using recorder.loudness)."""

from __future__ import annotations

import math
import struct
import subprocess
from dataclasses import replace
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pyloudnorm
import soundfile
from scipy.signal import resample_poly

from recorder.defects import Blank, Clicks, Clipping, Findings, Gating, Hum, Noise, Plosives, TooShort

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()


def ffmpeg(*args: str) -> subprocess.CompletedProcess[str]:
    """Run ffmpeg directly (independent of recorder.ffmpeg)."""
    return subprocess.run([FFMPEG, "-hide_banner", "-nostdin", "-y", *args],
                          capture_output=True, text=True, check=True, timeout=120)


def decode(path: Path, tmp_dir: Path) -> tuple[np.ndarray, int]:
    """Decode any file to float samples (frames x channels) with ffmpeg + soundfile."""
    wav = tmp_dir / f"{path.stem}.decoded.wav"
    ffmpeg("-i", str(path), "-c:a", "pcm_f32le", str(wav))
    data, rate = soundfile.read(wav, dtype="float64", always_2d=True)
    return data, rate


def integrated_lufs(data: np.ndarray, rate: int) -> float:
    """BS.1770 integrated loudness with pyloudnorm."""
    return float(pyloudnorm.Meter(rate).integrated_loudness(data))


def true_peak_dbtp(data: np.ndarray) -> float:
    """True peak by 4x polyphase oversampling."""
    up = resample_poly(data, 4, 1, axis=0)
    peak = float(np.max(np.abs(up)))
    return 20 * np.log10(peak) if peak > 0 else -np.inf


def silence_edges_s(
    data: np.ndarray, rate: int, threshold_dbfs: float = -65.0
) -> tuple[float, float]:
    """Seconds of near-silence at the head and at the tail (10 ms RMS windows)."""
    mono = data.mean(axis=1)
    win = rate // 100
    n = len(mono) // win
    rms = np.sqrt(np.mean(mono[: n * win].reshape(n, win) ** 2, axis=1) + 1e-20)
    loud = np.nonzero(20 * np.log10(rms) > threshold_dbfs)[0]
    if len(loud) == 0:
        return n / 100, n / 100
    return loud[0] / 100, (n - 1 - loud[-1]) / 100


def ffmpeg_metadata(path: Path) -> dict[str, str]:
    """Tags as ffmpeg's ffmetadata muxer sees them."""
    out = subprocess.run([FFMPEG, "-hide_banner", "-nostdin", "-i", str(path), "-f", "ffmetadata",
                          "-"], capture_output=True, text=True, check=True, timeout=60).stdout
    tags: dict[str, str] = {}
    for line in out.splitlines()[1:]:
        key, sep, value = line.partition("=")
        if sep:
            tags[key.lower()] = value.replace("\\=", "=").replace("\\;", ";").replace("\\#", "#")
    return tags


def silent_flac(path: Path, *, hours: float, claim_length: bool = True) -> Path:
    """Write a FLAC of digital silence, hours long, in a few dozen KB (built by hand).

    Every frame is one CONSTANT subframe of 65535 samples at 8 kHz. With
    ``claim_length=False`` STREAMINFO says "total samples unknown".
    """
    block, rate = 65535, 8000
    frames = int(hours * 3600 * rate) // block
    total = frames * block if claim_length else 0
    info = struct.pack(">HH", block, block) + b"\0" * 6
    info += ((rate << 44) | (0 << 41) | (15 << 36) | total).to_bytes(8, "big") + b"\0" * 16
    body = bytearray(b"fLaC" + bytes([0x80, 0, 0, 34]) + info)
    for number in range(frames):
        header = bytes([0xFF, 0xF8, 0x74, 0x08]) + _utf8(number) + struct.pack(">H", block - 1)
        frame = header + bytes([_crc8(header)]) + b"\0\0\0"
        body += frame + struct.pack(">H", _crc16(frame))
    path.write_bytes(bytes(body))
    return path


def _utf8(value: int) -> bytes:
    """FLAC's UTF-8-like coding of a frame number."""
    return chr(value).encode("utf-8", "surrogatepass")


def _crc8(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


def _crc16(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x8005) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
    return crc


def gen_findings(**found: str) -> Findings:
    """Findings of a clean 60 s take, with the named kinds found at the given severity."""
    findings = Findings(
        duration_s=60.0,
        blank=Blank(speech_s=40.0, duration_s=60.0),
        too_short=TooShort(speech_s=40.0, expected_reading_s=50.0, text_chars=225),
        clipping=Clipping(clipped_runs=0, clipped_share=0.0, clip_level_dbfs=-math.inf),
        noise=Noise(noise_floor_dbfs=-72.0, broadband_noise_dbfs=-72.0, speech_level_dbfs=-23.0, snr_db=49.0,
                    measured_in_pauses=True),
        gating=Gating(suspect_zero_noise=False, gated_s=0.0),
        hum=Hum(hum_hz=None, hum_level_dbfs=-math.inf, hum_below_speech_db=math.inf, prominence_db=1.0),
        plosives=Plosives(plosive_count=0),
        clicks=Clicks(click_count=0),
    )
    for code, severity in found.items():
        findings = replace(findings, **{code: replace(getattr(findings, code), found=True, severity=severity)})
    return findings
