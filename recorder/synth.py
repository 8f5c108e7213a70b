"""Synthesise test and demo audio with ffmpeg's lavfi sources (and espeak-ng if present).

``speechlike`` makes pink-noise "syllables" at about 4 per second, grouped into phrases
with pauses and a faint room-noise bed, so silence detection and loudness behave as they
do on a reader's voice. Every writer goes through ``encode.atomic_path``.
"""

from __future__ import annotations

import math
import os
import shutil
from pathlib import Path

from recorder import ffmpeg, loudness, steps
from recorder.encode import atomic_path
from recorder.errors import EspeakMissingError
from recorder.presets import Preset

_CODEC_BY_SUFFIX = {
    ".wav": ["-c:a", "pcm_s16le"],
    ".flac": ["-c:a", "flac"],
    ".mp3": ["-c:a", "libmp3lame", "-b:a", "128k"],
    ".ogg": ["-c:a", "libvorbis"],
    ".opus": ["-c:a", "libopus"],
    ".m4a": ["-c:a", "aac"],
}
# Syllables ~4.3/s with jitter, phrases of ~3 s separated by ~1.5 s pauses, and a room
# bed 60 dB under the syllable peaks.
_SPEECH_ENVELOPE = (
    "0.001+pow(max(0,sin(2*PI*4.3*t+1.7*sin(2*PI*0.7*t))),2)"
    "*gt(sin(2*PI*0.22*t+1),-0.45)*(0.6+0.4*sin(2*PI*0.13*t))"
)
_CALIBRATION_PRESET = Preset(max_duration_s=6 * 3600.0)
# A reading: sentences of 3 s and clean 1 s pauses, every other sentence read softer, one
# emphasised syllable (+6 dB) in each. {soft} and {room} are the soft sentences' and the
# room bed's amplitudes relative to a full sentence.
_READING_ENVELOPE = (
    "{room}+lt(mod(t,4),3)*pow(max(0,sin(2*PI*4.3*t+1.7*sin(2*PI*0.7*t))),2)"
    "*if(mod(floor(t/4),2),{soft},1)*(1+between(mod(t,4),1.15,1.4))"
)


def tone(
    out_path: str | os.PathLike[str],
    *,
    duration_s: float,
    frequency_hz: float = 440.0,
    level_dbfs: float = -20.0,
    sample_rate_hz: int = 44100,
    channels: int = 1,
    codec_args: list[str] | None = None,
) -> Path:
    """Write a sine tone of ``level_dbfs`` peak; the format follows the suffix."""
    amplitude = 10 ** (level_dbfs / 20)
    source = f"sine=f={frequency_hz:g}:r={sample_rate_hz}:d={duration_s:.3f}"
    graph = steps.chain(f"volume={amplitude:.6f}", _channels(channels))
    return _write_lavfi(source, graph, out_path, sample_rate_hz, codec_args)


def silence(
    out_path: str | os.PathLike[str],
    *,
    duration_s: float,
    sample_rate_hz: int = 44100,
    codec_args: list[str] | None = None,
) -> Path:
    """Write digital silence."""
    source = f"anullsrc=r={sample_rate_hz}:cl=mono,atrim=end={duration_s:.3f}"
    return _write_lavfi(source, "anull", out_path, sample_rate_hz, codec_args)


def noise(
    out_path: str | os.PathLike[str],
    *,
    duration_s: float,
    level_dbfs: float = -40.0,
    seed: int = 1,
    sample_rate_hz: int = 44100,
) -> Path:
    """Write steady pink noise (a take of room noise with nobody speaking)."""
    amplitude = 10 ** (level_dbfs / 20)
    source = (f"anoisesrc=c=pink:r={sample_rate_hz}:a={amplitude:.6f}:seed={seed}"
              f":d={duration_s:.3f}")
    return _write_lavfi(source, "anull", out_path, sample_rate_hz, None)


def speechlike(
    out_path: str | os.PathLike[str],
    *,
    duration_s: float,
    level_lufs: float = -23.0,
    seed: int = 1,
    sample_rate_hz: int = 44100,
    channels: int = 1,
    pad_head_s: float = 0.0,
    pad_tail_s: float = 0.0,
    codec_args: list[str] | None = None,
) -> Path:
    """Write speech-like audio at ``level_lufs`` integrated loudness.

    Args:
        out_path: Destination; the suffix picks the format (WAV is 16-bit unless
            ``codec_args`` says otherwise, e.g. ``["-c:a", "pcm_f32le"]`` for hot levels).
        duration_s: Length of the "speech" (padding excluded).
        level_lufs: Target integrated loudness (calibrated by one measurement pass).
        seed: Noise seed, so fixtures are reproducible.
        sample_rate_hz: Output rate.
        channels: 1 or 2.
        pad_head_s: Digital silence before the speech.
        pad_tail_s: Digital silence after the speech.
        codec_args: ffmpeg codec arguments overriding the suffix's default.
    """
    source = _speech_source(duration_s, seed, sample_rate_hz)
    gain_db = level_lufs - _loudness_of(source)
    graph = steps.chain(
        steps.gain(gain_db), _channels(channels), steps.pad(pad_head_s, pad_tail_s)
    )
    return _write_lavfi(source, graph, out_path, sample_rate_hz, codec_args)


def reading(
    out_path: str | os.PathLike[str],
    *,
    duration_s: float,
    level_lufs: float = -23.0,
    soft_db: float = 9.0,
    room_below_speech_db: float = 50.0,
    seed: int = 1,
    sample_rate_hz: int = 44100,
    codec_args: list[str] | None = None,
) -> Path:
    """Write an expressive reading: full and soft sentences, loud syllables, room tone between.

    Sentences of 3 s start every 4 s (the first at 0 s: speech from the first instant);
    every other one is ``soft_db`` quieter, each has one syllable emphasised by 6 dB, and the
    1 s pauses hold only a steady room bed ``room_below_speech_db`` under a full sentence's
    syllable crests.

    Args:
        out_path: Destination; the suffix picks the format.
        duration_s: Length of the take.
        level_lufs: Integrated loudness (calibrated by one measurement pass).
        soft_db: How much quieter the soft sentences are.
        room_below_speech_db: Room bed level under the full sentences' crests.
        seed: Noise seed.
        sample_rate_hz: Output rate.
        codec_args: ffmpeg codec arguments overriding the suffix's default.
    """
    envelope = _READING_ENVELOPE.format(soft=f"{10 ** (-soft_db / 20):.4f}",
                                        room=f"{10 ** (-room_below_speech_db / 20):.6f}")
    source = _speech_source(duration_s, seed, sample_rate_hz, envelope)
    graph = steps.gain(level_lufs - _loudness_of(source))
    return _write_lavfi(source, graph, out_path, sample_rate_hz, codec_args)


def espeak_available() -> bool:
    """Whether espeak-ng is installed."""
    return shutil.which("espeak-ng") is not None


def speech(text: str, out_path: str | os.PathLike[str], *, lang: str = "cmn") -> Path:
    """Speak ``text`` with espeak-ng and write it (format by suffix).

    Raises:
        EspeakMissingError: espeak-ng is not installed.
    """
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise EspeakMissingError("espeak-ng not found on PATH")
    out = Path(out_path)
    with atomic_path(out, suffix=".espeak.wav") as raw:
        ffmpeg.run_program([exe, "-v", lang, "-w", str(raw), "--", text], timeout_s=120.0)
        with atomic_path(out) as tmp:
            ffmpeg.run(["-y", "-i", str(raw), *_codec_for(out, None), "-f", _muxer(out),
                        str(tmp)], timeout_s=120.0)
    return out


def pleasant_reading(
    out_path: str | os.PathLike[str],
    *,
    duration_s: float,
    seed: int = 0,
    text: str | None = None,
    lang: str = "cmn",
) -> Path:
    """A calm demo recording: espeak-ng reading ``text`` if possible, else soft chimes.

    The chime bed is a few gentle sine partials, chosen by ``seed``, each struck and
    decaying, repeating every two seconds - pleasant enough for a demo library wall.
    """
    if text and espeak_available():
        return speech(text, out_path, lang=lang)
    base_hz = (220.0, 246.94, 261.63, 293.66, 329.63)[seed % 5]
    partials = "+".join(
        f"{0.25 / (k + 1):.3f}*sin(2*PI*{base_hz * ratio:.2f}*t)"
        for k, ratio in enumerate((1.0, 1.5, 2.0, 2.5))
    )
    envelope = "exp(-2.2*mod(t,2))*(1-exp(-60*mod(t,2)))"
    source = f"aevalsrc=exprs='({partials})*{envelope}':s=44100:d={duration_s:.3f}"
    return _write_lavfi(source, "volume=0.5", out_path, 44100, None)


def _speech_source(duration_s: float, seed: int, sample_rate_hz: int,
                   envelope: str = _SPEECH_ENVELOPE) -> str:
    """The lavfi graph for speech-like audio at an arbitrary level."""
    return (
        f"anoisesrc=c=pink:r={sample_rate_hz}:a=0.5:seed={seed}:d={duration_s:.3f},"
        f"lowpass=f=3800,highpass=f=120,volume='{envelope}':eval=frame"
    )


def _loudness_of(source: str) -> float:
    """Integrated loudness of a lavfi source, via one ebur128 pass."""
    proc = ffmpeg.run(["-f", "lavfi", "-i", source, "-af", "ebur128=framelog=quiet",
                       "-f", "null", "-"], timeout_s=600.0)
    value = loudness.parse_summary(proc.stderr)["integrated_lufs"]
    return value if math.isfinite(value) else -70.0


def _channels(channels: int) -> str:
    """Format conversion to the wanted channel count."""
    return "aformat=channel_layouts=stereo" if channels == 2 else ""


def _codec_for(out: Path, codec_args: list[str] | None) -> list[str]:
    """Codec arguments for a destination, by suffix unless given."""
    if codec_args is not None:
        return codec_args
    return _CODEC_BY_SUFFIX.get(out.suffix.lower(), [])


def _muxer(out: Path) -> str:
    """ffmpeg muxer name for a destination suffix."""
    return {".m4a": "ipod", ".opus": "ogg"}.get(out.suffix.lower(), out.suffix.lower()[1:])


def _write_lavfi(
    source: str, graph: str, out_path: str | os.PathLike[str], sample_rate_hz: int,
    codec_args: list[str] | None,
) -> Path:
    """Render a lavfi source through ``graph`` into ``out_path`` atomically."""
    out = Path(out_path)
    with atomic_path(out) as tmp:
        ffmpeg.run(["-y", "-f", "lavfi", "-i", source, "-af", graph or "anull",
                    "-ar", str(sample_rate_hz), *_codec_for(out, codec_args),
                    "-f", _muxer(out), str(tmp)], timeout_s=1800.0)
    return out
