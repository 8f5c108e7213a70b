"""Mastering presets as data: loudness targets, room tone, output format and limits."""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Preset:
    """Everything that decides how a take is mastered and judged.

    The MP3 bitrate is 96 kbit/s CBR mono: for a single voice at 44.1 kHz, LAME at
    96 kbit/s mono is transparent to most listeners (it keeps the full 16 kHz band that
    64 kbit/s starts to cut), costs ~43 MB per hour, and CBR keeps seeking and
    ``Range`` requests exact for the kiosk's player. ACX asks for 192 kbit/s, which
    doubles storage for no audible gain on speech played through a kiosk's speakers.

    Attributes:
        target_lufs: Integrated loudness of the master (EBU R128 / BS.1770).
        true_peak_ceiling_dbtp: Highest true peak allowed in the master.
        tolerance_lu: How far the verified master may drift from ``target_lufs``
            before one correction pass is made.
        highpass_hz: Rumble filter corner.
        head_room_tone_s: Room tone kept (or silence added) before the first speech.
        tail_room_tone_s: Room tone kept (or silence added) after the last speech.
        sample_rate_hz: Output sample rate.
        channels: Output channel count.
        bitrate_kbps: MP3 constant bitrate.
        mp3_compression_level: LAME's ``-q`` (0 slowest .. 9 fastest). It only trades the
            encoder's search effort for speed; the bitrate, and so the size, stay the same.
            7 turns off LAME's noise shaping and halves the encode (the largest step of
            mastering); at 96 kbit/s mono there are bits to spare for speech, and on
            speech and speech-like takes the noise-to-mask ratio measured no worse than
            at 2-6 (LAME's default, 3, takes 2.2x as long). See bench/results.md.
        silence_floor_dbfs: Windows quieter than this are always silence.
        silence_below_speech_db: Windows this far below the take's integrated loudness
            count as silence (the detector adapts to quiet and loud readers alike).
        window_ms: Analysis window for speech/silence detection and noise floor.
        min_speech_s: Less speech than this and the take is refused as silent.
        min_dynamic_spread_db: Speech swings between syllables and pauses; a take whose
            loud and quiet windows differ by less than this is steady noise or hum.
        limiter_margin_db: Room between the true-peak limiter's ceiling and
            ``true_peak_ceiling_dbtp`` for the MP3 coder's overshoot (a few tenths of a dB
            on speech, up to half a dB over an hour's peaks), so limited peaks end within
            a dB under the ceiling and one encode is enough.
        limiter_attack_ms: The limiter's look-ahead: how early gain starts coming down.
        limiter_release_ms: How fast it recovers: short, so only the peak itself loses
            level (the limiter works on 4x oversampled audio, where this is gentle).
        limiter_oversample: Oversampling factor of the true-peak limiter.
        peak_allowance_db: How far a plain gain's output may rise over the input's
            sample peak (inter-sample peaks plus MP3 overshoot) before a limiter is used.
        codec_loss_lu: How much quieter LAME's output is than its input at this bitrate:
            its quantiser rounds magnitudes down, by 0.45 LU at 96 kbit/s mono on speech
            and speech-like noise alike (0.26 at 192 kbit/s). Aimed for, then verified.
        min_duration_s: Shortest take accepted (decoded audio): under it, "too short".
        max_duration_s: Longest take accepted (checked on decoded audio).
        max_size_bytes: Largest file accepted: 1 GiB, which holds 90 minutes of 48 kHz
            16-bit stereo WAV (989 MiB), the largest ordinary booth or studio format.
    """

    target_lufs: float = -18.0
    true_peak_ceiling_dbtp: float = -1.5
    tolerance_lu: float = 0.5
    highpass_hz: float = 80.0
    head_room_tone_s: float = 0.5
    tail_room_tone_s: float = 1.5
    sample_rate_hz: int = 44100
    channels: int = 1
    bitrate_kbps: int = 96
    mp3_compression_level: int = 7
    silence_floor_dbfs: float = -60.0
    silence_below_speech_db: float = 20.0
    window_ms: int = 100
    min_speech_s: float = 0.5
    min_dynamic_spread_db: float = 3.0
    limiter_margin_db: float = 0.5
    limiter_attack_ms: float = 1.0
    limiter_release_ms: float = 15.0
    limiter_oversample: int = 4
    peak_allowance_db: float = 0.5
    codec_loss_lu: float = 0.45
    min_duration_s: float = 2.0
    max_duration_s: float = 90 * 60.0
    max_size_bytes: int = 1024 * 1024 * 1024

    def with_target(self, target_lufs: float) -> Preset:
        """Return a copy with another loudness target."""
        return replace(self, target_lufs=target_lufs)


DEFAULT = Preset()
