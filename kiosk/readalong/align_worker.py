"""One forced alignment, in a process of its own: ``python -m kiosk.readalong.align_worker``.

Reads a JSON request on standard input, writes a JSON answer on standard output, exits.
aeneas's C extension hangs on the second alignment in one process, so ``aligner`` starts
this module afresh for every piece of a chapter, under a timeout. Only aeneas's C
extensions are used: its espeak-ng command-line fallback is seconds off, so it is switched
off here and a missing extension is an error that says so.

Request: ``{"audio": path, "ffmpeg": path, "start_s": s, "duration_s": s, "voice": "cmn",
"fragments": [text, ...], "nonspeech_min_s": 0.08, "scratch": dir}``. Answer:
``{"cues": [[start_s, end_s], ...], "pid": n}`` (seconds from ``start_s``), or ``{"error": text}``
with exit status 1. aeneas lets the first fragment begin at 0.0, head silence included, and
the last end with the span: both are moved to where speech starts and ends (a simple energy
check). With ``"pauses": true`` instead of fragments it answers ``{"pauses": [[start_s, end_s], ...]}``,
the silences of the span, where a long chapter may be cut into pieces.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import wave
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

SAMPLE_RATE_HZ = 22050  # espeak's own rate: its speech is read as it is, never converted
WAV_FORMAT = ("pcm_s16le", 1, SAMPLE_RATE_HZ)  # what aeneas reads without converting
C_EXTENSIONS = ("cdtw", "cmfcc", "cew")
DECODE_TIMEOUT_S = 600
FRAME_S = 0.01  # the energy check's frame
SPEECH_BELOW_PEAK_DB = 35.0  # a frame this far under the loud frames is room tone, not speech
SPEECH_FLOOR_DBFS = -60.0
SPEECH_ABOVE_FLOOR_DB = 12.0  # and this far above the room tone
SPEECH_RUN_FRAMES = 3  # speech starts with 30 ms above the threshold, not with a click
LEAD_S = 0.05  # a cue starts this much before the first sound
PAUSES_RATE_HZ = 8000  # enough to tell speech from silence, in a seventh of the memory


class AlignmentError(Exception):
    """The alignment could not be made; the message says why."""


def missing_extensions() -> list[str]:
    """The aeneas C extensions that cannot be loaded here (all of them when aeneas is missing)."""
    try:
        from aeneas import globalfunctions
    except ImportError:
        return ["aeneas", *C_EXTENSIONS]
    return [name for name in C_EXTENSIONS if not globalfunctions.can_run_c_extension(name)]


def decode(ffmpeg: str, audio: str, start_s: float, duration_s: float | None, wav: Path,
           rate_hz: int = SAMPLE_RATE_HZ) -> None:
    """Decode a span of ``audio`` to mono 16-bit WAV at 22.05 kHz, as aeneas takes it."""
    span = ["-ss", f"{start_s:.3f}"] + (["-t", f"{duration_s:.3f}"] if duration_s else [])
    argv = [ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", *span, "-i", audio,
            "-ac", "1", "-ar", str(rate_hz), "-c:a", "pcm_s16le", "-y", str(wav)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=DECODE_TIMEOUT_S, check=False)  # noqa: S603
    if done.returncode != 0:
        raise AlignmentError(f"ffmpeg could not decode {audio}: {done.stderr[-300:]}")


def frame_levels_db(wav: Path) -> npt.NDArray[np.float64]:
    """The level of each 10 ms frame of a 16-bit mono WAV, in dBFS."""
    with wave.open(str(wav), "rb") as reader:
        rate = reader.getframerate()
        samples = np.frombuffer(reader.readframes(reader.getnframes()), dtype="<i2")
    width = max(1, int(rate * FRAME_S))
    frames = samples[: len(samples) // width * width].astype(np.float32).reshape(-1, width) / 32768.0
    power = np.mean(frames * frames, axis=1, dtype=np.float64)
    return np.asarray(10 * np.log10(power + 1e-12), dtype=np.float64)


def speech_mask(levels_db: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
    """Frames that are speech: well above the room tone and near the loud frames, in runs of 30 ms."""
    if len(levels_db) == 0:
        return np.zeros(0, dtype=bool)
    loud = float(np.percentile(levels_db, 95))
    floor = float(np.percentile(levels_db, 10))  # the room tone between sentences
    threshold = min(max(floor + SPEECH_ABOVE_FLOOR_DB, loud - SPEECH_BELOW_PEAK_DB, SPEECH_FLOOR_DBFS), loud - 10.0)
    above = levels_db > threshold
    edges = np.flatnonzero(np.diff(np.concatenate(([0], above.astype(np.int8), [0]))))
    speech = np.zeros(len(levels_db), dtype=bool)
    for start, end in zip(edges[::2], edges[1::2], strict=True):  # runs of frames above the threshold
        if end - start >= SPEECH_RUN_FRAMES:
            speech[start:end] = True
    return speech


def speech_bounds(levels_db: npt.NDArray[np.float64]) -> tuple[float, float] | None:
    """Where speech starts and ends in the span, in seconds; ``None`` for silence."""
    found = np.flatnonzero(speech_mask(levels_db))
    if len(found) == 0:
        return None
    return float(found[0]) * FRAME_S, float(found[-1] + 1) * FRAME_S


def pauses(levels_db: npt.NDArray[np.float64], min_s: float = 0.3) -> list[list[float]]:
    """The silences of at least ``min_s`` between speech, as ``[start_s, end_s]``."""
    speech = speech_mask(levels_db)
    found: list[list[float]] = []
    start = None
    for index, is_speech in enumerate(speech):
        if not is_speech and start is None:
            start = index
        elif is_speech and start is not None:
            if (index - start) * FRAME_S >= min_s and start > 0:
                found.append([start * FRAME_S, index * FRAME_S])
            start = None
    return found


def trim_to_speech(cues: list[list[float]], bounds: tuple[float, float] | None) -> list[list[float]]:
    """Move the first cue's start to where speech starts and the last cue's end to where it ends."""
    if not cues or bounds is None:
        return cues
    first_start = max(cues[0][0], min(bounds[0] - LEAD_S, cues[0][1]))
    last_end = min(cues[-1][1], max(bounds[1] + LEAD_S, cues[-1][0]))
    trimmed = [list(cue) for cue in cues]
    trimmed[0][0] = max(0.0, first_start)
    trimmed[-1][1] = last_end
    return trimmed


def align(request: dict[str, Any]) -> list[list[float]]:
    """Align the request's fragments to its span of audio; one ``[start_s, end_s]`` per fragment."""
    missing = missing_extensions()
    if missing:
        raise AlignmentError("aeneas C extensions not available: " + ", ".join(missing))
    fragments = [str(text) for text in request["fragments"]]
    with tempfile.TemporaryDirectory(prefix="align-", dir=request.get("scratch")) as scratch:
        wav = Path(scratch) / "span.wav"
        decode(str(request["ffmpeg"]), str(request["audio"]), float(request.get("start_s", 0.0)),
               request.get("duration_s"), wav)
        cues = _run_aeneas(wav, fragments, str(request.get("voice", "cmn")),
                           float(request.get("nonspeech_min_s", 0.08)), scratch)
        return trim_to_speech(cues, speech_bounds(frame_levels_db(wav)))


def find_pauses(request: dict[str, Any]) -> list[list[float]]:
    """The silences of the request's span of audio (to cut a long chapter between paragraphs)."""
    with tempfile.TemporaryDirectory(prefix="pauses-", dir=request.get("scratch")) as scratch:
        wav = Path(scratch) / "span.wav"
        decode(str(request["ffmpeg"]), str(request["audio"]), float(request.get("start_s", 0.0)),
               request.get("duration_s"), wav, rate_hz=PAUSES_RATE_HZ)
        return pauses(frame_levels_db(wav))


def _run_aeneas(wav: Path, fragments: list[str], voice: str, nonspeech_min_s: float, scratch: str) -> list[list[float]]:
    """aeneas on a WAV file: synthesised speech of the fragments, DTW, boundaries moved into pauses."""
    from aeneas.audiofile import AudioFile
    from aeneas.language import Language
    from aeneas.runtimeconfiguration import RuntimeConfiguration
    from aeneas.task import Task
    from aeneas.textfile import TextFile, TextFragment
    from aeneas.ttswrappers.espeakttswrapper import ESPEAKTTSWrapper

    # The command-line fallback gives timings seconds off: without the C extension, fail.
    ESPEAKTTSWrapper.HAS_SUBPROCESS_CALL = False
    language = Language.ENG if voice.startswith("en") else Language.CMN
    text_file = TextFile()
    for index, text in enumerate(fragments):
        text_file.add_fragment(TextFragment(identifier=f"s{index:05d}", language=language, lines=[text],
                                                filtered_lines=[text]))
    task = Task(config_string=(
        f"task_language={language}|is_text_type=plain|os_task_file_format=json"
        f"|task_adjust_boundary_algorithm=percent|task_adjust_boundary_percent_value=50"
        f"|task_adjust_boundary_nonspeech_min={nonspeech_min_s:.3f}"
    ))
    task.text_file = text_file
    rconf = RuntimeConfiguration(
        f"tts=espeak|tts_voice_code={voice}|c_extensions=True|cew_subprocess_enabled=False"
        f"|ffmpeg_sample_rate={SAMPLE_RATE_HZ}|tmp_path={scratch}"
    )
    audio = AudioFile(file_path=str(wav), file_format=WAV_FORMAT, rconf=rconf)
    audio.read_samples_from_file()
    task.audio_file = audio  # its length is checked; the samples are read again below, then dropped
    runner = _wav_task(task, str(wav), rconf)
    audio.clear_data()
    runner.execute()
    return [[float(f.begin), float(f.end)] for f in task.sync_map_leaves() if f.fragment_type == 0]


def _wav_task(task: Any, wav: str, rconf: Any) -> Any:
    """aeneas's task runner, reading our WAV as it is (no ffprobe, no conversion by ffmpeg)."""
    from aeneas.executetask import ExecuteTask

    class WavTask(ExecuteTask):
        def _extract_mfcc(self, file_path: Any = None, file_format: Any = None, audio_file: Any = None) -> Any:
            if file_path is None and audio_file is None:  # the real recording
                file_path, file_format = wav, WAV_FORMAT
            return super()._extract_mfcc(file_path=file_path, file_format=file_format, audio_file=audio_file)

    return WavTask(task=task, rconf=rconf)


def main() -> int:
    """Serve one request from standard input."""
    try:
        request = json.load(sys.stdin)
        answer: dict[str, Any] = {"pauses": find_pauses(request)} if request.get("pauses") else {"cues": align(request)}
        answer["pid"] = os.getpid()
        status = 0
    except AlignmentError as error:
        answer, status = {"error": str(error)}, 1
    except Exception as error:  # aeneas raises many kinds; the parent reads the message
        answer, status = {"error": f"{type(error).__name__}: {error}"}, 1
    json.dump(answer, sys.stdout)
    sys.stdout.flush()
    return status


if __name__ == "__main__":
    sys.exit(main())
