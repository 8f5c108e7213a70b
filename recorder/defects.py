"""Find what mastering cannot fix in a take: noise, hum, clipping, pops, clicks, gating, a blank or short reading.

Analysis only: mono float PCM at ``ANALYSIS_RATE_HZ`` in, one dataclass per kind of defect out,
each with its measured figures in named units. ``analyse_file`` decodes any take with one
ffmpeg run (``recorder.ffmpeg.run``): astats counts the flat tops in the source's own samples,
and the mono mix comes out at 16 kHz with, as a second channel, the power of the band above
8 kHz (where clicks stand out of a voice), in a headerless float file (~7.7 MB per minute) read
back in 30 s blocks. ``Analyser`` keeps only small per-frame features (10 ms frames, ~50 bytes
each) and a low-band spectrum per second; the judgement is made on those at the end. Memory is
mostly one block's spectra: ~125 MB over the interpreter for a 10-minute take (measured), some
45 MB more of features for a 90-minute one.

The mastering pipeline does not decode twice: ``StreamAnalysis`` puts the same graph
(``analysis_graph``) into the measuring pass as a filter graph of its own and reads its output
from a pipe in 5 s blocks while ffmpeg works, so the analysis runs on the other core (about 6 s
of Python and 7 s of ffmpeg per hour of take) and the worker stays near 110 MB for an hour's take.

Speech is told from noise by its syllable-rate modulation (the 10 ms level swings by several
dB two to eight times a second; steady noise, hiss and hum swing by a fraction of a dB), not
by its level: a soft sentence is still speech, and a loud fan is still noise.
"""

from __future__ import annotations

import itertools
import math
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import IO, Any, ClassVar

import numpy as np
import numpy.typing as npt

from recorder import ffmpeg
from recorder.errors import FfmpegError, NotAudioError

FloatArray = npt.NDArray[np.float64]

ANALYSIS_RATE_HZ = 16000
HOP = 160  # 10 ms frames
FRAME_S = HOP / ANALYSIS_RATE_HZ
WINDOW = 512  # 32 ms spectral window ending at each frame's end
SEGMENT = 16000  # 1 s segments for the hum spectrum (0.98 Hz bins with HUM_FFT)
HUM_FFT = 16384
HUM_MAX_HZ = 400.0
BLOCK_SAMPLES = 30 * SEGMENT  # what is read and analysed at once: 30 s, ~2 MB
# Read from a pipe (``StreamAnalysis``), blocks of 5 s: the working arrays of a block are then a
# few MB, so the worker's peak stays ~70 MB over an hour's take instead of ~160 (measured; the
# features, ~25 MB an hour, are what remains), at the cost of a little more Python per second.
STREAM_BLOCK_SAMPLES = 5 * SEGMENT
DECODE_SPEED_FLOOR_X = 20.0
DEFAULT_MAX_DURATION_S = 90 * 60.0

# Speech: syllable-rate level swings (dB RMS over ~0.4 s) in frames above the silence floor.
MODULATION_SPEECH_DB = 2.5
MODULATION_WINDOW_S = 0.4
SPEECH_OVER_QUIET_DB = 10.0
SPEECH_GAP_S = 0.3  # shorter non-speech gaps inside speech are speech (between syllables)
MIN_SPEECH_RUN_S = 0.25
SPEECH_GUARD_S = 0.1  # frames this close to speech are not used for the noise floor
BLANK_SPEECH_S = 1.0
# Noise floor: the quietest 500 ms of non-speech (as the LibriVox checker measures it).
NOISE_WINDOW_S = 0.5
ZERO_NOISE_DBFS = -90.0  # quieter than any microphone: a gate or digital silence
DIGITAL_SILENCE_DBFS = -120.0
# Speech level minus noise floor. ACX's -60 dBFS floor under -23..-18 dBFS of speech is 37-42 dB,
# measured over the whole band; below 8 kHz a white hiss reads 4.4 dB quieter than that.
NOISE_WARN_SNR_DB = 38.0
NOISE_FAIL_SNR_DB = 25.0
GATED_MIN_S = 0.1
GATED_WARN_S = 0.5
GATED_MIN_RUNS = 3
# Hum: lines at the mains frequency and its harmonics, in the pauses' long-term spectrum.
MAINS_HZ = (50.0, 60.0)
HUM_HARMONICS = 3
HUM_LINE_HALF_WIDTH_HZ = 2.0
HUM_NEIGHBOUR_HZ = (5.0, 20.0)
HUM_PROMINENCE_DB = 8.0
HUM_PERCENTILE = 10.0
HUM_MASKS_SHARE = 0.1  # under a hum 10 dB louder than the rest, the rest is not measured
HUM_WARN_BELOW_SPEECH_DB = 50.0  # quieter hum than this under the speech is inaudible
HUM_FAIL_BELOW_SPEECH_DB = 20.0
# Clipping, in the source as decoded (before any resampling): runs of samples held at a
# channel's own extreme value (ffmpeg's astats counts them), at most CLIP_FLAT_BELOW_DBFS under
# full scale (a take clipped and then turned down keeps its flat tops).
CLIP_FLAT_MIN_SAMPLES = 10
CLIP_FLAT_MEAN_RUN = 3.0  # a peak sample sits in a run this long on average: flat tops, not crests
CLIP_FLAT_BELOW_DBFS = -30.0
# Clipping that resampling or a lossy codec has rippled: a pile-up at the top of the amplitude histogram.
HIST_FLOOR_DBFS = -40.0
HIST_TOP_DBFS = 20.0
HIST_BIN_DB = 0.05
CLIP_ZONE_DB = 0.5
CLIP_SEARCH_DB = 3.0
CLIP_PILEUP_RATIO = 1.0
CLIP_MIN_SAMPLES = 10
CLIP_MIN_RUNS = 5
CLIP_FAIL_SHARE = 0.001
# Plosive pops: low-band (below ~100 Hz) bursts far above the take's usual low band.
POP_MAX_HZ = 100.0
POP_SHARE = 0.45
POP_ABOVE_MEDIAN_DB = 15.0
POP_BELOW_SPEECH_DB = 20.0
# Clicks, in a take with a band above 8 kHz (recorded at 20 kHz or more): a 0.5 ms burst of
# that band's power CLICK_BURST_DB over everything from 1.5 to 20 ms either side of it. The
# voice has little there and no burst alone (its pulses come in trains, its hiss lasts); a
# click, broadband and over at once, has most of its energy there.
HF_BAND_HZ = 8000
HF_DECODE_RATE_HZ = 32000
HF_SUM = 8  # samples at ANALYSIS_RATE_HZ: 0.5 ms
HF_SUMS_PER_FRAME = HOP // HF_SUM
HF_OWN = 3  # 0.5 ms sums either side that still hold the burst itself
HF_NEIGHBOURS = 40  # 20 ms either side
CLICK_BURST_DB = 16.0
CLICK_UNDER_SPEECH_DB = 30.0  # a quieter burst (0.5 ms energy re the speech's mean power) is no retake
HF_MIN_SOURCE_RATE_HZ = 20000  # under it the band holds only the voice's top leaking through the high-pass
# Clicks in a narrower take: a spike of the linear-prediction residual far above its neighbourhood, and short.
CLICK_RATIO = 15.0
CLICK_CREST = 7.0
CLICK_NEIGHBOURS = 10
CLICK_ONSET_RISE_DB = 15.0
LPC_ORDER = 16
# Reading pace: Mandarin is read aloud at 4-5 characters a second, English at 2-3 words; faster
# than MAX_SPEECH_CPS characters or MAX_SPEECH_WPS words a second of speech (pauses excluded) no one reads.
READING_CPS = 4.5
MAX_SPEECH_CPS = 8.0
READING_WPS = 2.5
MAX_SPEECH_WPS = 8.0
_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_READ_CHARS = re.compile(f"[{_HAN}]")
_READ_WORDS = re.compile(f"[^\\W{_HAN}]+")  # letters and digits between the characters: words

_HIST_BINS = round((HIST_TOP_DBFS - HIST_FLOOR_DBFS) / HIST_BIN_DB) + 1
_HANN = np.hanning(WINDOW)
_HANN_SQUARED = _HANN**2
_LOW_BINS = max(2, int(POP_MAX_HZ * 2 * WINDOW / ANALYSIS_RATE_HZ) + 1)  # bins 1.. of a 2*WINDOW-point DFT
_PHASES = 2 * np.pi * np.outer(np.arange(WINDOW), np.arange(1, _LOW_BINS)) / (2 * WINDOW)
# Columns: the Hann-windowed sum (DFT bin 0), the alternating sum (bin N/2), then the real and
# imaginary parts of the low bins (their squares add up to the bins' power).
_PROJECTIONS = np.column_stack([_HANN, _HANN * np.where(np.arange(WINDOW) % 2 == 0, 1.0, -1.0),
                                _HANN[:, None] * np.cos(_PHASES), _HANN[:, None] * np.sin(_PHASES)])


@dataclass(frozen=True, kw_only=True)
class Finding:
    """One kind of defect: whether it was found, how bad, and its figures.

    Attributes:
        found: Whether the take has this defect.
        severity: ``""`` (not found), ``"warn"`` or ``"fail"``.
    """

    code: ClassVar[str] = ""
    found: bool = False
    severity: str = ""

    def figures(self) -> dict[str, Any]:
        """The measured figures, JSON-ready (non-finite numbers become None)."""
        data = asdict(self)
        return {key: _jsonable(value) for key, value in data.items()}


@dataclass(frozen=True, kw_only=True)
class Blank(Finding):
    """Nothing that sounds like speech: silence, room tone or steady noise only."""

    code: ClassVar[str] = "blank"
    speech_s: float
    duration_s: float


@dataclass(frozen=True, kw_only=True)
class TooShort(Finding):
    """Much less speech than the text needs, even read fast: a part was left out."""

    code: ClassVar[str] = "too_short"
    speech_s: float
    expected_reading_s: float | None
    text_chars: int
    text_words: int = 0


@dataclass(frozen=True, kw_only=True)
class Clipping(Finding):
    """Peaks flattened at the converter's (or a preamp's) limit."""

    code: ClassVar[str] = "clipping"
    clipped_runs: int
    clipped_share: float
    clip_level_dbfs: float
    flat_top_samples: int = 0
    mean_flat_run_samples: float = 0.0


@dataclass(frozen=True, kw_only=True)
class Noise(Finding):
    """Steady background noise (hiss, fan, traffic) heard in the pauses, hum excluded."""

    code: ClassVar[str] = "noise"
    noise_floor_dbfs: float
    broadband_noise_dbfs: float
    speech_level_dbfs: float
    snr_db: float
    measured_in_pauses: bool


@dataclass(frozen=True, kw_only=True)
class Gating(Finding):
    """Pauses at digital (near-)zero: a noise gate or noise suppression hides the room."""

    code: ClassVar[str] = "gating"
    suspect_zero_noise: bool
    gated_s: float


@dataclass(frozen=True, kw_only=True)
class Hum(Finding):
    """Mains hum: steady lines at 50 or 60 Hz and their harmonics.

    ``hum_hz`` is the mains frequency as measured (e.g. 50.08), so a notch can sit on it.
    """

    code: ClassVar[str] = "hum"
    hum_hz: float | None
    hum_level_dbfs: float
    hum_below_speech_db: float
    prominence_db: float


@dataclass(frozen=True, kw_only=True)
class Plosives(Finding):
    """Pops: bursts of breath on the diaphragm, heard as low thumps on p, b, t."""

    code: ClassVar[str] = "plosives"
    plosive_count: int
    times_s: tuple[float, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Clicks(Finding):
    """Short clicks: mouth noise, a knock on the stand, a bad cable or a dropped buffer."""

    code: ClassVar[str] = "clicks"
    click_count: int
    times_s: tuple[float, ...] = ()


@dataclass(frozen=True)
class Findings:
    """Everything found in one take, each kind with its figures."""

    duration_s: float
    blank: Blank
    too_short: TooShort
    clipping: Clipping
    noise: Noise
    gating: Gating
    hum: Hum
    plosives: Plosives
    clicks: Clicks

    def all(self) -> tuple[Finding, ...]:
        """Every kind, found or not."""
        return (self.blank, self.too_short, self.clipping, self.noise, self.gating, self.hum,
                self.plosives, self.clicks)

    def found(self) -> list[Finding]:
        """The kinds found in this take."""
        return [item for item in self.all() if item.found]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``{"duration_s": ..., "<code>": {"found": ..., figures...}, ...}``."""
        data: dict[str, Any] = {"duration_s": round(self.duration_s, 3)}
        data.update({item.code: item.figures() for item in self.all()})
        return data


@dataclass(frozen=True)
class FlatTops:
    """A channel's samples at its own extreme values, in the source as decoded (ffmpeg's astats).

    Attributes:
        peak_samples: Samples at the channel's minimum or maximum ("Peak count").
        mean_run_samples: Mean length of the run of equal samples such a sample is in ("Flat factor").
        peak_dbfs: The channel's peak.
        samples: The channel's length in samples.
    """

    peak_samples: int
    mean_run_samples: float
    peak_dbfs: float
    samples: int


@dataclass
class _Features:
    """Per-frame (10 ms) and per-second figures gathered block by block."""

    energy: list[FloatArray] = field(default_factory=list)
    low_share: list[FloatArray] = field(default_factory=list)
    click_peak: list[FloatArray] = field(default_factory=list)
    click_rms: list[FloatArray] = field(default_factory=list)
    zero: list[npt.NDArray[np.bool_]] = field(default_factory=list)
    hum_spectra: list[FloatArray] = field(default_factory=list)


class Analyser:
    """Feed mono float blocks at ``ANALYSIS_RATE_HZ`` with ``feed``; ``finish`` gives the findings.

    With each block may come the power of the band above 8 kHz (``hf_power``, see ``decode_argv``),
    where clicks are found; without it, clicks are looked for in the block itself.
    """

    def __init__(self) -> None:
        self._pending = np.zeros(0, np.float32)
        self._pending_hf: npt.NDArray[np.float32] | None = None
        self._context = np.zeros(WINDOW - HOP, np.float32)
        self._features = _Features()
        self._bursts = _BurstScanner()
        self._hist = np.zeros(_HIST_BINS + 1, np.int64)
        self._rises = np.zeros(_HIST_BINS + 2, np.int64)
        self._last_abs_bin = 0
        self._samples = 0

    def feed(self, block: npt.ArrayLike, hf_power: npt.ArrayLike | None = None) -> None:
        """Analyse another stretch of samples (any length; whole seconds are processed).

        Args:
            block: Mono samples at ``ANALYSIS_RATE_HZ``.
            hf_power: The same stretch's power above ``HF_BAND_HZ``, sample by sample (every
                block or none).
        """
        data = np.concatenate([self._pending, np.asarray(block, np.float32).ravel()])
        if hf_power is not None:
            hf = np.asarray(hf_power, np.float32).ravel()
            self._pending_hf = hf if self._pending_hf is None else np.concatenate([self._pending_hf, hf])
        whole = len(data) // SEGMENT * SEGMENT
        if whole:
            self._process(data[:whole], self._hf_part(whole), segments=True)
        self._pending = data[whole:]

    def finish(self, text: str | None = None, flat_tops: FlatTops | None = None) -> Findings:
        """Judge the take.

        Args:
            text: What was read (for the expected reading time).
            flat_tops: The source's extreme samples as decoded (``parse_astats``), for clipping.
        """
        tail = len(self._pending) // HOP * HOP
        if tail:
            self._process(self._pending[:tail], self._hf_part(tail), segments=False)
        self._pending = np.zeros(0, np.float32)
        self._bursts.flush()
        return _judge(self._features, self._bursts, self._hist, self._rises, text, flat_tops)

    def _hf_part(self, length: int) -> npt.NDArray[np.float32] | None:
        """The first ``length`` pending samples of the band above 8 kHz (None without it)."""
        if self._pending_hf is None:
            return None
        part, self._pending_hf = self._pending_hf[:length], self._pending_hf[length:]
        return part

    def _process(self, x: npt.NDArray[np.float32], hf: npt.NDArray[np.float32] | None, *, segments: bool) -> None:
        """Frame features of ``x`` (a whole number of frames; of seconds if ``segments``)."""
        self._samples += len(x)
        banded = hf is not None and len(hf) == len(x)
        if banded:
            assert hf is not None  # noqa: S101 - banded says so
            self._bursts.feed(np.maximum(hf.astype(np.float64), 0.0))  # the resampler rings below zero
        frames = x.reshape(-1, HOP).astype(np.float64)
        self._features.zero.append(np.all(frames == 0.0, axis=1))
        self._histogram(np.abs(x))
        # A cheap sound card's DC offset is no noise; the median finds it without speech's asymmetry.
        # Per second, so that how the take was cut into blocks changes nothing.
        rows = x.reshape(-1, SEGMENT) if segments else x.reshape(1, -1)
        centred = (rows - np.median(rows, axis=1, keepdims=True)).ravel()
        energy = np.mean(centred.reshape(-1, HOP).astype(np.float64) ** 2, axis=1)
        energy[self._features.zero[-1]] = 0.0
        self._features.energy.append(energy)
        self._spectral(centred, residual=not banded)
        if segments:
            self._hum(centred.reshape(-1, SEGMENT))

    def _spectral(self, x: npt.NDArray[np.float32], *, residual: bool) -> None:
        """Per frame, from a 32 ms window ending with it: low-band share and (if ``residual``) the LPC residual's peaks.

        The low-band share needs only the first few bins of the window's spectrum and its total
        power (Parseval), not a whole FFT. Linear prediction whitens the voice (its formants are
        predictable), so a click, which is not, stands out of the residual even in the middle of
        a word; a take with a band above 8 kHz has its clicks found there, and skips this.
        """
        padded = np.concatenate([self._context, x])
        self._context = padded[len(padded) - (WINDOW - HOP):]
        windows = np.lib.stride_tricks.sliding_window_view(padded, WINDOW)[::HOP].astype(np.float64)
        # Every figure needed is a projection of the window: one matrix product gives them all.
        # einsum's own loops, not BLAS: OpenBLAS would start a thread per core for these small
        # products and spin them against the ffmpeg run this analysis shares the machine with
        # (measured: 2.6x the CPU for the same result).
        projected = np.einsum("fn,nk->fk", windows, _PROJECTIONS)
        first, middle, low = projected[:, 0], projected[:, 1], projected[:, 2:]
        # One-sided power of bins 1..N/2 of the zero-padded window: (N*sum(w^2) - X0^2 + X_{N/2}^2) / 2.
        energy = np.einsum("fn,fn,n->f", windows, windows, _HANN_SQUARED)
        total = (2 * WINDOW * energy - first**2 + middle**2) / 2 + 1e-20
        self._features.low_share.append(np.sum(low**2, axis=1) / total)
        if not residual:
            return
        weighted = windows * _HANN
        power = np.abs(np.fft.rfft(weighted, n=2 * WINDOW, axis=1)) ** 2
        coefficients = _lpc(np.fft.irfft(power, axis=1)[:, :LPC_ORDER + 1])
        recent = windows[:, WINDOW - HOP - LPC_ORDER:]
        residual_signal = sum(coefficients[:, i:i + 1] * recent[:, LPC_ORDER - i:LPC_ORDER - i + HOP]
                              for i in range(LPC_ORDER + 1))
        magnitude = np.abs(np.asarray(residual_signal))
        self._features.click_peak.append(magnitude.max(axis=1))
        self._features.click_rms.append(np.sqrt(np.mean(magnitude**2, axis=1)))

    def _hum(self, segments: npt.NDArray[np.float32]) -> None:
        """Power spectrum below ``HUM_MAX_HZ`` of each second (Hann, 0.98 Hz bins)."""
        window = np.hanning(SEGMENT)
        spectrum = np.fft.rfft(segments * window, n=HUM_FFT, axis=1)
        keep = int(HUM_MAX_HZ * HUM_FFT / ANALYSIS_RATE_HZ) + 1
        # Scaled so that a sine of RMS a sums to a**2 over its line's bins.
        scale = 2.0 / (HUM_FFT * np.sum(window**2))
        self._features.hum_spectra.append(np.abs(spectrum[:, :keep]) ** 2 * scale)

    def _histogram(self, magnitude: npt.NDArray[np.float32]) -> None:
        """Amplitude histogram (dB bins) and, per bin, how many runs rose into it."""
        level = 20 * np.log10(np.maximum(magnitude, 1e-12))
        bins = np.clip(((level - HIST_FLOOR_DBFS) / HIST_BIN_DB).astype(np.int64) + 1, 0, _HIST_BINS)
        self._hist += np.bincount(bins, minlength=_HIST_BINS + 1)
        previous = np.concatenate([[self._last_abs_bin], bins[:-1]])
        self._last_abs_bin = int(bins[-1])
        rising = bins > previous
        # A rise from bin a to bin b enters every bin in (a, b]: +1 at a+1, -1 at b+1, summed later.
        self._rises += np.bincount(previous[rising] + 1, minlength=_HIST_BINS + 2)
        self._rises -= np.bincount(bins[rising] + 1, minlength=_HIST_BINS + 2)


class _BurstScanner:
    """Per frame, the 0.5 ms burst of the band above 8 kHz that stands most alone, block by block.

    A burst is judged against the 20 ms either side of it, so the last 20 ms of a block wait
    for the next one (or for ``flush``). Per frame it keeps the burst's energy and the most
    energy found around it (1.5 to 20 ms away).
    """

    def __init__(self) -> None:
        self._context = np.zeros(HF_SUM - 1)  # power before the block, for its first 0.5 ms sums
        self._before = np.zeros(HF_NEIGHBOURS)  # the sums already judged, as the left neighbourhood
        self._waiting = np.zeros(0)  # the sums not judged yet
        self.burst: list[FloatArray] = []
        self.around: list[FloatArray] = []

    def feed(self, power: FloatArray) -> None:
        """Power samples of whole frames; judges every frame with 20 ms after it."""
        padded = np.concatenate([self._context, power])
        self._context = padded[len(padded) - (HF_SUM - 1):]
        sums = _window_sums(padded, HF_SUM).reshape(-1, HF_SUM).max(axis=1)  # the loudest 0.5 ms in each 0.5 ms
        self._waiting = np.concatenate([self._waiting, sums])
        ready = (len(self._waiting) - HF_NEIGHBOURS) // HF_SUMS_PER_FRAME * HF_SUMS_PER_FRAME
        if ready > 0:
            self._judge(ready)

    def flush(self) -> None:
        """Judge what is waiting, with nothing after it."""
        ready = len(self._waiting)
        self._waiting = np.concatenate([self._waiting, np.zeros(HF_NEIGHBOURS)])
        if ready:
            self._judge(ready)
        self._waiting = np.zeros(0)

    def _judge(self, ready: int) -> None:
        """Each of the first ``ready`` waiting sums against its neighbourhood; the best per frame."""
        stretch = np.concatenate([self._before, self._waiting[:ready + HF_NEIGHBOURS]])
        # side[i]: the most in stretch[i : i + HF_NEIGHBOURS - HF_OWN + 1]
        side = np.lib.stride_tricks.sliding_window_view(stretch, HF_NEIGHBOURS - HF_OWN + 1).max(axis=1)
        index = np.arange(ready)
        around = np.maximum(side[index], side[index + HF_NEIGHBOURS + HF_OWN])
        sums = stretch[HF_NEIGHBOURS:HF_NEIGHBOURS + ready]
        ratio = (sums / np.maximum(around, 1e-30)).reshape(-1, HF_SUMS_PER_FRAME)
        best = np.argmax(ratio, axis=1) + np.arange(len(ratio)) * HF_SUMS_PER_FRAME
        self.burst.append(sums[best])
        self.around.append(around[best])
        self._before = stretch[ready:ready + HF_NEIGHBOURS]
        self._waiting = self._waiting[ready:]


def analyse_samples(samples: npt.ArrayLike, *, text: str | None = None,
                    hf_power: npt.ArrayLike | None = None) -> Findings:
    """Findings for mono float samples at ``ANALYSIS_RATE_HZ`` held in memory.

    ``hf_power``: the power above ``HF_BAND_HZ``, sample by sample, as ``decode_argv`` makes it.
    """
    data = np.asarray(samples, np.float32).ravel()
    hf = None if hf_power is None else np.asarray(hf_power, np.float32).ravel()
    analyser = Analyser()
    for start in range(0, len(data), BLOCK_SAMPLES):
        analyser.feed(data[start:start + BLOCK_SAMPLES], None if hf is None else hf[start:start + BLOCK_SAMPLES])
    return analyser.finish(text)


def analyse_file(
    path: str | os.PathLike[str],
    *,
    text: str | None = None,
    input_format: str | None = None,
    work_dir: str | os.PathLike[str] | None = None,
    max_duration_s: float = DEFAULT_MAX_DURATION_S,
) -> Findings:
    """Decode a take (any format ffmpeg reads) and find its defects.

    Args:
        path: The raw take; only read.
        text: What the volunteer read, for the expected reading time (None: not judged).
        input_format: Demuxer to force (``ProbeResult.demuxer``).
        work_dir: Where the decoded float file goes (~3.8 MB per minute; a temp dir by default).
        max_duration_s: Decoding stops one second past this.

    Raises:
        NotAudioError: ffmpeg could not decode the audio.
    """
    with tempfile.TemporaryDirectory(prefix="defects-", dir=work_dir) as tmp:
        raw = Path(tmp) / "analysis.f32"
        try:
            done = ffmpeg.run(decode_argv(Path(path), raw, input_format, max_duration_s),
                              timeout_s=60.0 + max_duration_s / DECODE_SPEED_FLOOR_X, label="defects")
        except FfmpegError as exc:
            if exc.returncode is None:
                raise
            raise NotAudioError(f"cannot decode {path}: {exc.stderr_tail[-300:]}") from exc
        rate_hz = source_rate_hz(done.stderr)
        band = rate_hz is not None and rate_hz >= HF_MIN_SOURCE_RATE_HZ
        analyser = Analyser()
        for block in read_blocks(raw):
            analyser.feed(block[:, 0], block[:, 1] if band else None)
        return analyser.finish(text, parse_astats(done.stderr))


_MONO_FLOAT = "aformat=sample_fmts=flt:channel_layouts=mono"
STREAM_LABEL = "[defects]"


def analysis_graph(output_label: str = STREAM_LABEL, *, flat_tops: bool = True) -> str:
    """The ``-filter_complex`` graph that makes the analysis signal from the first audio stream.

    The source's own samples, before anything else, go through ``astats`` (its flat tops, on
    stderr; left out with ``flat_tops=False`` when another astats of the same run reports
    them: astats is the dearest filter here). The mono mix is then brought to 32 kHz and
    split: one branch is the analysis signal, the other is high-passed at ``HF_BAND_HZ``
    (three biquads, 36 dB an octave) and squared. Both come down to ``ANALYSIS_RATE_HZ``
    together, as the two channels of ``output_label`` (headerless float, ~7.7 MB a minute).
    Its labels are its own, so it can ride along another graph in the same ffmpeg run
    (``StreamAnalysis``).
    """
    stats = "astats=metadata=0:measure_overall=Number_of_samples:measure_perchannel=Peak_count+Flat_factor+Peak_level,"
    high_pass = ",".join([f"highpass=f={HF_BAND_HZ}"] * 3)
    return (f"[0:a:0]{stats if flat_tops else ''}{_MONO_FLOAT},aresample={HF_DECODE_RATE_HZ},"
            f"asplit[defects_signal][defects_band];"
            f"[defects_band]{high_pass},asplit[defects_x][defects_y];"
            f"[defects_x][defects_y]amultiply,{_MONO_FLOAT}[defects_hf];"
            f"[defects_signal]{_MONO_FLOAT}[defects_mono];[defects_mono][defects_hf]amerge=inputs=2,"
            f"aresample={ANALYSIS_RATE_HZ},aformat=sample_fmts=flt:channel_layouts=stereo{output_label}")


def decode_argv(path: Path, raw_path: Path, input_format: str | None, max_duration_s: float) -> list[str]:
    """ffmpeg arguments decoding the first audio stream for the analysis (``analysis_graph``) into a file."""
    forced = ["-f", input_format] if input_format else []
    return ["-v", "info", "-t", f"{max_duration_s + 1:.3f}", *forced, "-i", str(path),
            "-filter_complex", analysis_graph(), "-map", STREAM_LABEL, "-c:a", "pcm_f32le", "-f", "f32le",
            "-y", str(raw_path)]


def read_blocks(raw_path: Path, block_samples: int = BLOCK_SAMPLES) -> Iterator[npt.NDArray[np.float32]]:
    """Headerless little-endian float sample pairs (signal, power above 8 kHz), a block at a time."""
    with raw_path.open("rb") as handle:
        yield from read_stream_blocks(handle, block_samples)


def read_stream_blocks(handle: IO[bytes], block_samples: int = BLOCK_SAMPLES) -> Iterator[npt.NDArray[np.float32]]:
    """Sample pairs from an open file or pipe (reads block by block; a pipe's short reads are waited out)."""
    size = 2 * 4 * block_samples
    while True:
        data = handle.read(size)
        if len(data) < 8:
            return
        yield np.frombuffer(data[:len(data) // 8 * 8], dtype="<f4").reshape(-1, 2)


class StreamAnalysis:
    """The defect analysis riding along another ffmpeg run (the measuring pass), sharing its decode.

    Add ``graph`` as a ``-filter_complex`` and ``output`` as an output of that run (its own
    filter graph, so ffmpeg runs it on its own thread), hand the run's ``pipe:1`` to ``consume``
    while it works (``recorder.ffmpeg.stream``), then its stderr to ``done``; ``findings`` holds
    the result. The same signal as ``analyse_file`` decodes, so the same findings; the flat tops
    come from the run's own per-channel astats on the source's samples (``recorder.loudness``).
    """

    def __init__(self, *, text: str | None, source_rate_hz: int | None) -> None:
        """Args: the text read (or None), and the source's sample rate (the band above 8 kHz needs 20 kHz)."""
        self.graph = analysis_graph(flat_tops=False)  # the measuring pass's astats@raw reports them
        self.output = ["-map", STREAM_LABEL, "-c:a", "pcm_f32le", "-f", "f32le", "pipe:1"]
        self._text = text
        self._band = source_rate_hz is not None and source_rate_hz >= HF_MIN_SOURCE_RATE_HZ
        self._analyser = Analyser()
        self.findings: Findings | None = None

    def consume(self, handle: IO[bytes]) -> None:
        """Analyse the two-channel stream as it comes."""
        for block in read_stream_blocks(handle, STREAM_BLOCK_SAMPLES):
            self._analyser.feed(block[:, 0], block[:, 1] if self._band else None)

    def done(self, stderr: str) -> Findings:
        """Judge the take, with the flat tops the run's ``astats`` reported."""
        self.findings = self._analyser.finish(self._text, parse_astats(stderr))
        return self.findings


_ASTATS_LINE = re.compile(r"\[(?:Parsed_astats_\d+|astats@\w+) @ [^]]*\] "
                          r"(Channel|Overall|Peak level dB|Flat factor|Peak count|Number of samples):? *(\S*)")


_INPUT_RATE = re.compile(r"Stream #0:\d+\S*: Audio: [^\n]*?(\d+) Hz")


def source_rate_hz(stderr: str) -> int | None:
    """The sample rate of the input's first audio stream, as ffmpeg reports it (None if it does not)."""
    found = _INPUT_RATE.search(stderr.split("Stream mapping:")[0])
    return int(found.group(1)) if found else None


def parse_astats(stderr: str) -> FlatTops | None:
    """The channel with the most flat-topped peaks, from astats' report on stderr (None without one).

    Any astats instance with per-channel Peak count, Flat factor and Peak level will do: the
    analysis graph's own, or the measuring pass's ``astats@raw`` when the analysis rides along.

    astats' flat factor is 20·log10 of the sum of the squared run lengths over the peak count:
    the mean length of the run a peak sample is in.
    """
    channels: list[dict[str, str]] = []
    samples = 0
    overall = False  # the figures after "Overall" are of all channels together
    for key, value in _ASTATS_LINE.findall(stderr):
        if key in ("Channel", "Overall"):
            overall = key == "Overall"
            if not overall:
                channels.append({})
        elif key == "Number of samples":
            samples = int(float(value))
        elif channels and not overall:
            channels[-1][key] = value
    tops = []
    for channel in channels:
        try:
            flat_db = float(channel["Flat factor"])
            tops.append(FlatTops(peak_samples=int(float(channel["Peak count"])),
                                 mean_run_samples=10 ** (flat_db / 20) if math.isfinite(flat_db) else 0.0,
                                 peak_dbfs=float(channel["Peak level dB"]), samples=samples))
        except (KeyError, ValueError):
            continue
    return max(tops, key=lambda top: top.peak_samples * top.mean_run_samples, default=None)


def expected_reading_s(text: str) -> float:
    """Seconds a text takes to read aloud at an ordinary pace (Chinese characters and other words, not punctuation)."""
    chars, words = _text_size(text)
    return chars / READING_CPS + words / READING_WPS


def _text_size(text: str) -> tuple[int, int]:
    """(Chinese characters, other words) in a text."""
    return len(_READ_CHARS.findall(text)), len(_READ_WORDS.findall(text))


# --- the judgement, on the gathered features -------------------------------------------------


def _judge(f: _Features, bursts: _BurstScanner, hist: npt.NDArray[np.int64], rises: npt.NDArray[np.int64],
           text: str | None, flat_tops: FlatTops | None) -> Findings:
    """Turn the gathered features into findings."""
    energy = _cat(f.energy)
    duration_s = len(energy) * FRAME_S
    level_db = 10 * np.log10(np.maximum(energy, 1e-12))
    zero = np.concatenate(f.zero) if f.zero else np.zeros(0, bool)
    speech = speech_frames(level_db, zero)
    speech_s = float(speech.sum()) * FRAME_S
    speech_level = _mean_db(energy[speech])
    hum = judge_hum(f.hum_spectra, speech, speech_level)
    return Findings(
        duration_s=duration_s,
        blank=Blank(found=speech_s < BLANK_SPEECH_S, severity="fail" if speech_s < BLANK_SPEECH_S else "",
                    speech_s=round(speech_s, 2), duration_s=round(duration_s, 2)),
        too_short=judge_length(speech_s, text),
        clipping=judge_clipping(hist, rises, flat_tops),
        noise=judge_noise(energy, speech, zero, speech_level, hum),
        gating=judge_gating(energy, speech, zero),
        hum=hum,
        plosives=judge_plosives(_cat(f.low_share), level_db, speech, speech_level),
        clicks=_judge_clicks(f, bursts, zero, level_db, speech_level),
    )


def _judge_clicks(f: _Features, bursts: _BurstScanner, zero: npt.NDArray[np.bool_], level_db: FloatArray,
                  speech_level_dbfs: float) -> Clicks:
    """Clicks from the band above 8 kHz when the take has one, else from the LPC residual."""
    burst, around = _cat(bursts.burst), _cat(bursts.around)
    if len(burst) and len(burst) == len(level_db):
        return judge_bursts(burst, around, zero, level_db, speech_level_dbfs)
    return judge_clicks(_cat(f.click_peak), _cat(f.click_rms), zero, level_db)


def speech_frames(level_db: FloatArray, zero: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    """Frames inside speech: where the level swings at syllable rate, whatever its height.

    The level (floored at the quiet end, so digital silence is no swing) is smoothed over
    30 ms, and its RMS deviation from a 0.4 s moving mean is taken over 0.4 s: steady
    noise and hum stay under a dB, syllables swing by ten or more.
    """
    if not len(level_db):
        return np.zeros(0, bool)
    live = level_db[~zero]
    floor = np.percentile(live, 5) - 6.0 if len(live) else DIGITAL_SILENCE_DBFS
    level = np.maximum(level_db, max(floor, DIGITAL_SILENCE_DBFS))
    span = max(1, round(MODULATION_WINDOW_S / FRAME_S))
    smooth = _moving_mean(level, 3)
    swing = np.sqrt(_moving_mean((smooth - _moving_mean(smooth, span)) ** 2, span))
    modulated = swing >= MODULATION_SPEECH_DB
    # Speech stands over the room: a swing from room tone down to a gate's zero is not speech.
    audible = level_db[level_db > ZERO_NOISE_DBFS]
    quiet = np.percentile(audible, 10) if len(audible) else DIGITAL_SILENCE_DBFS
    modulated &= level_db >= max(quiet, ZERO_NOISE_DBFS) + SPEECH_OVER_QUIET_DB
    return _close_gaps(modulated, round(SPEECH_GAP_S / FRAME_S), round(MIN_SPEECH_RUN_S / FRAME_S))


def judge_length(speech_s: float, text: str | None) -> TooShort:
    """Too short when even a very fast reader needs more speech for the text."""
    if not text:
        return TooShort(speech_s=round(speech_s, 2), expected_reading_s=None, text_chars=0)
    chars, words = _text_size(text)
    short = speech_s < chars / MAX_SPEECH_CPS + words / MAX_SPEECH_WPS  # a blank take is short too
    return TooShort(found=short, severity="fail" if short else "", speech_s=round(speech_s, 2),
                    expected_reading_s=round(expected_reading_s(text), 2), text_chars=chars, text_words=words)


def judge_clipping(hist: npt.NDArray[np.int64], rises: npt.NDArray[np.int64],
                   flat_tops: FlatTops | None = None) -> Clipping:
    """Clipping: flat tops in the source as decoded, or a pile-up at the top of the amplitude histogram."""
    piled = judge_pileup(hist, rises)
    if flat_tops is None:
        return piled
    if not _is_flat_topped(flat_tops):
        return replace(piled, flat_top_samples=flat_tops.peak_samples,
                       mean_flat_run_samples=round(flat_tops.mean_run_samples, 2))
    share = flat_tops.peak_samples / max(flat_tops.samples, 1)
    runs = round(flat_tops.peak_samples / flat_tops.mean_run_samples)
    return Clipping(found=True, severity="fail" if share >= CLIP_FAIL_SHARE else "warn",
                    clipped_runs=max(runs, piled.clipped_runs), clipped_share=round(max(share, piled.clipped_share), 6),
                    clip_level_dbfs=round(flat_tops.peak_dbfs, 2), flat_top_samples=flat_tops.peak_samples,
                    mean_flat_run_samples=round(flat_tops.mean_run_samples, 2))


def _is_flat_topped(tops: FlatTops) -> bool:
    """Many peak samples, in runs: a converter (or a gain stage after it) held them at its limit.

    An unclipped take reaches its own extreme once or twice, in runs of one or two samples; a
    low-resolution crest may repeat a value, but not three samples on end at every peak.
    """
    return (tops.peak_samples >= CLIP_FLAT_MIN_SAMPLES and tops.mean_run_samples >= CLIP_FLAT_MEAN_RUN
            and tops.peak_dbfs >= CLIP_FLAT_BELOW_DBFS)


def judge_pileup(hist: npt.NDArray[np.int64], rises: npt.NDArray[np.int64]) -> Clipping:
    """Clipping: somewhere in the top few dB, the amplitude histogram piles up instead of thinning out.

    Unclipped speech has fewer samples the nearer the peak; a clipped take piles them up at its
    limit. Resampling and lossy codecs ripple a flat top and overshoot it by a dB or more, so
    the limit is searched for in the top ``CLIP_SEARCH_DB``, bin by bin: the dB above a bin
    holding at least as many samples as the dB below it is a pile-up.
    """
    total = int(hist.sum())
    occupied = np.nonzero(hist[1:])[0]
    none = Clipping(clipped_runs=0, clipped_share=0.0, clip_level_dbfs=-math.inf)
    if not total or not len(occupied):
        return none
    zone = round(CLIP_ZONE_DB / HIST_BIN_DB)
    top = int(occupied[-1]) + 1
    cumulative_rises = np.cumsum(rises)
    for start in range(top - zone + 1, max(1 + 2 * zone, top - round(CLIP_SEARCH_DB / HIST_BIN_DB)), -1):
        in_zone = int(hist[start:start + 2 * zone].sum())
        below = int(hist[start - 2 * zone:start].sum())
        if in_zone >= CLIP_MIN_SAMPLES and in_zone >= CLIP_PILEUP_RATIO * below:
            runs = int(cumulative_rises[start])
            if runs < CLIP_MIN_RUNS:
                continue
            share = int(hist[start:].sum()) / total
            return Clipping(found=True, severity="fail" if share >= CLIP_FAIL_SHARE else "warn", clipped_runs=runs,
                            clipped_share=round(share, 6),
                            clip_level_dbfs=round(HIST_FLOOR_DBFS + (start - 1) * HIST_BIN_DB, 2))
    return none


def judge_noise(energy: FloatArray, speech: npt.NDArray[np.bool_], zero: npt.NDArray[np.bool_],
                speech_level_dbfs: float, hum: Hum) -> Noise:
    """The quietest 500 ms away from speech, and how far it sits under the speech."""
    floor, in_pauses = quietest_window_dbfs(energy, speech, zero)
    broadband = floor
    if hum.found and math.isfinite(floor):
        # The hum is notched out; what stays is the rest. Under a much louder hum, the rest
        # is within the hum's measuring error: unknown (NaN), and the hum is the finding.
        remaining = 10 ** (floor / 10) - 10 ** (hum.hum_level_dbfs / 10)
        share = remaining / 10 ** (floor / 10)
        broadband = 10 * math.log10(remaining) if share >= HUM_MASKS_SHARE else math.nan
    snr = speech_level_dbfs - broadband if math.isfinite(speech_level_dbfs) else math.nan
    judged = in_pauses and math.isfinite(snr)
    severity = ""
    if judged and snr < NOISE_WARN_SNR_DB:
        severity = "fail" if snr < NOISE_FAIL_SNR_DB else "warn"
    return Noise(found=bool(severity), severity=severity, noise_floor_dbfs=round(floor, 2),
                 broadband_noise_dbfs=round(broadband, 2), speech_level_dbfs=round(speech_level_dbfs, 2),
                 snr_db=round(snr, 2), measured_in_pauses=in_pauses)


def quietest_window_dbfs(energy: FloatArray, speech: npt.NDArray[np.bool_],
                         zero: npt.NDArray[np.bool_]) -> tuple[float, bool]:
    """RMS of the quietest 500 ms away from speech, as LibriVox's checker measures it.

    Returns the level and whether it was measured in pauses; with no 500 ms of pause it is
    the quietest 500 ms of all, and speech may be in it. Digital silence at the ends counts,
    as it does for LibriVox: a microphone always hears its room.
    """
    width = round(NOISE_WINDOW_S / FRAME_S)
    if not (~zero).any() or len(energy) < width:
        return -math.inf, False
    means = _window_sums(energy, width) / width
    guard = round(SPEECH_GUARD_S / FRAME_S)
    near_speech = _dilate(speech, guard).astype(np.float64)
    pause = _window_sums(near_speech, width) == 0
    if pause.any():
        return _db(float(means[pause].min())), True
    return _db(float(means.min())), False


def judge_gating(energy: FloatArray, speech: npt.NDArray[np.bool_], zero: npt.NDArray[np.bool_]) -> Gating:
    """Pauses at (near) digital zero inside the take: the room has been gated away."""
    floor, _ = quietest_window_dbfs(energy, speech, zero)
    live = np.nonzero(~zero)[0]
    gated_s, gated_runs = 0.0, 0
    if len(live):
        inner = 10 * np.log10(np.maximum(energy[live[0]:live[-1] + 1], 1e-20)) < ZERO_NOISE_DBFS
        runs = _runs(inner)
        gated = [length for _, length in runs if length * FRAME_S >= GATED_MIN_S]
        gated_s = sum(gated) * FRAME_S
        gated_runs = len(gated)
    suspect = bool(len(live)) and floor < ZERO_NOISE_DBFS and bool(speech.any())
    found = suspect or gated_s >= GATED_WARN_S or gated_runs >= GATED_MIN_RUNS
    return Gating(found=found, severity="warn" if found else "", suspect_zero_noise=suspect,
                  gated_s=round(gated_s, 2))


def judge_hum(spectra: list[FloatArray], speech: npt.NDArray[np.bool_], speech_level_dbfs: float) -> Hum:
    """Mains lines in the long-term spectrum of the pauses (of everything, if too few pauses)."""
    none = Hum(hum_hz=None, hum_level_dbfs=-math.inf, hum_below_speech_db=math.inf, prominence_db=0.0)
    if not spectra:
        return none
    stacked = np.concatenate(spectra)
    per_second = round(1 / FRAME_S)
    seconds = min(len(stacked), len(speech) // per_second)
    speechy = speech[:seconds * per_second].reshape(seconds, per_second).mean(axis=1) if seconds else np.zeros(0)
    pauses = stacked[:seconds][speechy < 0.2]
    # A low percentile over the seconds keeps what is there all the time (hum), not a voice's
    # moving harmonics, which leave most bins empty most of the time.
    typical = np.percentile(pauses if len(pauses) >= 2 else stacked, HUM_PERCENTILE, axis=0)
    families = [_hum_lines(typical, mains) for mains in MAINS_HZ]
    mains, prominences, level = max(families, key=lambda family: (_is_hum(family[1]), max(family[1])))
    prominence = max(prominences)
    below = speech_level_dbfs - level if math.isfinite(speech_level_dbfs) else math.inf
    found = _is_hum(prominences) and below <= HUM_WARN_BELOW_SPEECH_DB
    if not found:
        return Hum(hum_hz=None, hum_level_dbfs=round(level, 2), hum_below_speech_db=round(below, 2),
                   prominence_db=round(prominence, 2))
    return Hum(found=True, severity="fail" if below <= HUM_FAIL_BELOW_SPEECH_DB else "warn", hum_hz=round(mains, 2),
               hum_level_dbfs=round(level, 2), hum_below_speech_db=round(below, 2),
               prominence_db=round(prominence, 2))


def _hum_lines(spectrum: FloatArray, mains_hz: float) -> tuple[float, list[float], float]:
    """(mains, each harmonic's prominence over its neighbours in dB, hum level dBFS) of one mains family."""
    bin_hz = ANALYSIS_RATE_HZ / HUM_FFT
    prominences, power, measured_hz = [], 0.0, mains_hz
    for harmonic in range(1, HUM_HARMONICS + 1):
        centre = mains_hz * harmonic
        line = _band(spectrum, centre - HUM_LINE_HALF_WIDTH_HZ, centre + HUM_LINE_HALF_WIDTH_HZ, bin_hz)
        near, far = HUM_NEIGHBOUR_HZ
        neighbours = np.concatenate([_band(spectrum, centre - far, centre - near, bin_hz),
                                     _band(spectrum, centre + near, centre + far, bin_hz)])
        background = float(np.median(neighbours)) * len(line) + 1e-30
        line_power = float(line.sum())
        prominence = 10 * math.log10(line_power / background + 1e-30)
        prominences.append(prominence)
        if prominence >= HUM_PROMINENCE_DB / 2:
            power += max(line_power - background, 0.0)
        if prominence == max(prominences):  # the clearest line tells the mains' exact frequency
            first = max(0, math.ceil((centre - HUM_LINE_HALF_WIDTH_HZ) / bin_hz))
            centroid_hz = float(np.sum(np.arange(first, first + len(line)) * bin_hz * line) / (line_power + 1e-30))
            measured_hz = centroid_hz / harmonic if line_power > 0 else mains_hz
    return measured_hz, prominences, _db(power)


def _is_hum(prominences: list[float]) -> bool:
    """A line at the mains frequency itself (no voice goes that low), two lines, or one very strong.

    A single bump at 100-180 Hz alone is more likely a low voice's pitch than hum.
    """
    lines = sum(p >= HUM_PROMINENCE_DB for p in prominences)
    return prominences[0] >= HUM_PROMINENCE_DB or lines >= 2 or max(prominences) >= 2 * HUM_PROMINENCE_DB


def judge_plosives(low_share: FloatArray, level_db: FloatArray, speech: npt.NDArray[np.bool_],
                   speech_level_dbfs: float) -> Plosives:
    """Frames whose energy is mostly below 100 Hz and far above the take's usual low band."""
    if not len(low_share) or not math.isfinite(speech_level_dbfs):
        return Plosives(plosive_count=0)
    low_db = level_db + 10 * np.log10(np.maximum(low_share, 1e-12))
    usual = float(np.median(low_db[speech])) if speech.any() else float(np.median(low_db))
    pop = ((low_share >= POP_SHARE) & (low_db >= usual + POP_ABOVE_MEDIAN_DB)
           & (low_db >= speech_level_dbfs - POP_BELOW_SPEECH_DB))
    # One pop rings for a few periods of its 25-60 Hz thump: frames within 200 ms are one pop, and
    # a lone frame is the splatter of a word starting out of silence.
    times = tuple(round(start * FRAME_S, 2) for start, _ in _runs(_close_gaps(pop, 20, 2)))
    return Plosives(found=bool(times), severity="warn" if times else "", plosive_count=len(times), times_s=times)


def judge_bursts(burst: FloatArray, around: FloatArray, zero: npt.NDArray[np.bool_], level_db: FloatArray,
                 speech_level_dbfs: float) -> Clicks:
    """Frames holding a 0.5 ms burst above 8 kHz that stands ``CLICK_BURST_DB`` over its 20 ms.

    The neighbourhood is never taken as quieter than the take's quiet stretches, so a speck in
    digital silence is no click, nor is a burst ``CLICK_UNDER_SPEECH_DB`` under the speech (a
    click 40 dB under the reading's peaks); a burst leading into a word is its consonant.
    """
    live = around[~zero] if (~zero).any() else around
    floor = float(np.percentile(live, 10)) if len(live) else 0.0
    click = burst >= 10 ** (CLICK_BURST_DB / 10) * np.maximum(around, max(floor, 1e-30))
    if math.isfinite(speech_level_dbfs):
        click &= burst >= 10 ** ((speech_level_dbfs - CLICK_UNDER_SPEECH_DB) / 10)
    click &= ~_onsets(level_db)
    return _clicks_from_frames(click)


def _onsets(level_db: FloatArray) -> npt.NDArray[np.bool_]:
    """Frames where the level rises ``CLICK_ONSET_RISE_DB`` and stays up: a word starts (its consonant)."""
    after = np.max(np.stack([np.roll(level_db, -k) for k in (2, 3, 4)]), axis=0)
    before = np.minimum(np.roll(level_db, 2), np.roll(level_db, 1))
    return np.asarray(after >= before + CLICK_ONSET_RISE_DB)


def _clicks_from_frames(click: npt.NDArray[np.bool_]) -> Clicks:
    """One click per cluster of click frames (within 30 ms), the take's first and last 30 ms left out.

    The first windows are predicted from silence that was never there; the last hold the resampler's flush.
    """
    click = click.copy()
    click[:WINDOW // HOP] = False
    click[-(WINDOW // HOP):] = False
    times = tuple(round(start * FRAME_S, 2) for start, _ in _runs(_close_gaps(click, 3, 1)))
    return Clicks(found=bool(times), severity="warn" if times else "", click_count=len(times), times_s=times)


def judge_clicks(peak: FloatArray, rms: FloatArray, zero: npt.NDArray[np.bool_], level_db: FloatArray) -> Clicks:
    """Frames whose LPC-residual peak towers over the neighbourhood and over the frame itself."""
    if len(peak) < 2 * CLICK_NEIGHBOURS + 1:
        return Clicks(click_count=0)
    local = _moving_median(rms, 2 * CLICK_NEIGHBOURS + 1)
    floor = np.percentile(rms[~zero], 10) if (~zero).any() else 0.0
    # An onset (a syllable, a door) stays loud in the next frame; a click is over at once.
    beside = np.maximum(np.concatenate([[0.0], rms[:-1]]), np.concatenate([rms[1:], [0.0]]))
    click = (peak >= CLICK_RATIO * np.maximum.reduce([local, beside, np.full_like(rms, floor)]))
    click &= (peak >= CLICK_CREST * rms) & (peak > 0)
    click &= ~_onsets(level_db)  # a burst that leads into a word is a consonant, not a click
    return _clicks_from_frames(click)


# --- small array helpers ------------------------------------------------------------------------


def _lpc(autocorrelation: FloatArray) -> FloatArray:
    """Prediction-error filters (``[1, a1..ap]`` per row) by the Levinson-Durbin recursion."""
    r = autocorrelation.copy()
    r[:, 0] = r[:, 0] * (1 + 1e-6) + 1e-20  # a whisper of white noise keeps silence solvable
    order = r.shape[1] - 1
    a = np.zeros_like(r)
    a[:, 0] = 1.0
    error = r[:, 0].copy()
    for i in range(1, order + 1):
        reflection = -(r[:, i] + np.sum(a[:, 1:i] * r[:, i - 1:0:-1], axis=1)) / error
        a[:, 1:i] = a[:, 1:i] + reflection[:, None] * a[:, i - 1:0:-1]
        a[:, i] = reflection
        error = error * (1 - reflection**2)
    return a


def _cat(parts: list[FloatArray]) -> FloatArray:
    """Concatenate per-block arrays (empty when there are none)."""
    return np.concatenate(parts) if parts else np.zeros(0)


def _db(power: float) -> float:
    """Power to dB (``-inf`` for zero)."""
    return 10 * math.log10(power) if power > 0 else -math.inf


def _mean_db(energy: FloatArray) -> float:
    """Mean power of frames in dB (``-inf`` for none)."""
    return _db(float(energy.mean())) if len(energy) else -math.inf


def _window_sums(values: FloatArray, width: int) -> FloatArray:
    """Sums of every ``width`` consecutive values."""
    cumulative = np.concatenate([[0.0], np.cumsum(values, dtype=np.float64)])
    return cumulative[width:] - cumulative[:-width]


def _moving_mean(values: FloatArray, width: int) -> FloatArray:
    """Centred moving mean (shorter at the ends), same length as ``values``."""
    cumulative = np.concatenate([[0.0], np.cumsum(values, dtype=np.float64)])
    index = np.arange(len(values))
    lo = np.maximum(index - width // 2, 0)
    hi = np.minimum(index - width // 2 + width, len(values))
    return (cumulative[hi] - cumulative[lo]) / (hi - lo)


def _moving_median(values: FloatArray, width: int) -> FloatArray:
    """Centred moving median over ``width`` (odd) values, edges padded by reflection."""
    half = width // 2
    padded = np.pad(values, half, mode="reflect")
    return np.median(np.lib.stride_tricks.sliding_window_view(padded, width), axis=1)


def _runs(mask: npt.NDArray[np.bool_]) -> list[tuple[int, int]]:
    """(start, length) of each run of True."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    starts, ends = np.nonzero(edges == 1)[0], np.nonzero(edges == -1)[0]
    return [(int(s), int(e - s)) for s, e in zip(starts, ends, strict=True)]


def _close_gaps(mask: npt.NDArray[np.bool_], max_gap: int, min_run: int) -> npt.NDArray[np.bool_]:
    """Fill False gaps shorter than ``max_gap`` between Trues; drop True runs under ``min_run``."""
    out = mask.copy()
    runs = _runs(mask)
    for (start, length), (next_start, _) in itertools.pairwise(runs):
        if next_start - (start + length) < max_gap:
            out[start + length:next_start] = True
    for start, length in _runs(out):
        if length < min_run:
            out[start:start + length] = False
    return out


def _dilate(mask: npt.NDArray[np.bool_], frames: int) -> npt.NDArray[np.bool_]:
    """True within ``frames`` of any True."""
    if frames <= 0 or not mask.any():
        return mask
    return _window_sums(np.pad(mask.astype(np.float64), frames), 2 * frames + 1) > 0


def _band(spectrum: FloatArray, lo_hz: float, hi_hz: float, bin_hz: float) -> FloatArray:
    """The bins from ``lo_hz`` to ``hi_hz``."""
    return spectrum[max(0, math.ceil(lo_hz / bin_hz)):math.floor(hi_hz / bin_hz) + 1]


def _jsonable(value: Any) -> Any:
    """Non-finite floats become None; tuples become lists."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, tuple | list):
        return [_jsonable(item) for item in value]
    return value
