"""Independent measures of a master against its take: loudness, true peak, edges, dynamics.

Nothing here uses ``recorder``: integrated loudness is pyloudnorm's, true peak is ffmpeg's
``ebur128=peak=true`` run directly, and the dynamics are read off 10 ms windows of the
take and of the decoded master, aligned in time by cross-correlating their envelopes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tests.recorder.helpers import decode, ffmpeg, integrated_lufs

WINDOW_S = 0.01
LOUD_SHARE = 0.01  # the loudest 1 % of speech windows are the "loud syllables"
SPEECH_RANGE_DB = 30.0  # windows within this of the loudest are speech
EDGE_ABOVE_ROOM_DB = 15.0  # the speech envelope starts/ends this far over the room tone
EDGE_UNDER_LOUDEST_DB = 45.0
DIGITAL_SILENCE_DB = -140.0
MAX_LAG_S = 0.5


@dataclass(frozen=True)
class Levels:
    """Loudness, true peak and their ratio (PLR) of one file."""

    lufs: float
    true_peak_dbtp: float

    @property
    def plr_db(self) -> float:
        """Peak-to-loudness ratio."""
        return self.true_peak_dbtp - self.lufs


def ffmpeg_true_peak_dbtp(path: Path) -> float:
    """True peak as ffmpeg's ``ebur128=peak=true`` reports it (a 4x oversampled meter)."""
    stderr = ffmpeg("-nostats", "-i", str(path), "-af", "ebur128=peak=true:framelog=quiet",
                    "-f", "null", "-").stderr
    summary = stderr[stderr.rfind("Summary:"):]
    found = re.search(r"True peak:\s+Peak:\s+(-?[\d.]+|-inf)", summary)
    assert found, summary
    return float(found.group(1))


def levels(path: Path, tmp_dir: Path) -> tuple[Levels, np.ndarray, int]:
    """Levels of ``path`` (pyloudnorm, ffmpeg true peak) and its decoded mono samples."""
    data, rate = decode(path, tmp_dir)
    return Levels(integrated_lufs(data, rate), ffmpeg_true_peak_dbtp(path)), data.mean(axis=1), rate


def window_db(mono: np.ndarray, rate: int) -> np.ndarray:
    """Mean-square level of consecutive 10 ms windows, in dB."""
    size = round(rate * WINDOW_S)
    count = len(mono) // size
    power = np.mean(mono[: count * size].reshape(count, size) ** 2, axis=1)
    return 10 * np.log10(power + 1e-15)


def speech_edges_s(mono: np.ndarray, rate: int) -> tuple[float, float]:
    """Seconds before the speech envelope starts and after it ends.

    The envelope is the 10 ms levels; room tone is the 10th percentile of those that are
    not digital silence, and speech is where the envelope rises ``EDGE_ABOVE_ROOM_DB``
    over it (and within ``EDGE_UNDER_LOUDEST_DB`` of the loudest window).
    """
    env = window_db(mono, rate)
    room = float(np.percentile(env[env > DIGITAL_SILENCE_DB], 10))
    threshold = max(room + EDGE_ABOVE_ROOM_DB, float(env.max()) - EDGE_UNDER_LOUDEST_DB)
    above = np.nonzero(env > threshold)[0]
    assert len(above), "no speech in the master"
    return above[0] * WINDOW_S, (len(env) - 1 - above[-1]) * WINDOW_S


def aligned(take_db: np.ndarray, master_db: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The two window series cut to their common span, shifted by the best-correlating lag."""
    a, b = 10 ** (take_db / 20), 10 ** (master_db / 20)
    lags = range(-round(MAX_LAG_S / WINDOW_S), round(MAX_LAG_S / WINDOW_S) + 1)
    best = max(lags, key=lambda lag: _correlation(a, b, lag))
    return _overlap(take_db, master_db, best)


def _overlap(a: np.ndarray, b: np.ndarray, lag: int) -> tuple[np.ndarray, np.ndarray]:
    """``a[i]`` paired with ``b[i + lag]``, over the indices both have."""
    if lag < 0:
        b_cut, a_cut = _overlap(b, a, -lag)
        return a_cut, b_cut
    count = min(len(a), len(b) - lag)
    return a[:count], b[lag:lag + count]


def _correlation(a: np.ndarray, b: np.ndarray, lag: int) -> float:
    """Normalised correlation of two envelopes at a lag."""
    x, y = _overlap(a, b, lag)
    return float(np.dot(x, y) / (np.linalg.norm(x) * np.linalg.norm(y) + 1e-20))


def loud_syllable_extra_loss_db(take_db: np.ndarray, master_db: np.ndarray,
                                reduction_db: float) -> float:
    """How much more the loud syllables lost, relative to the rest, than ``reduction_db``.

    The loud syllables are the loudest 1 % of the take's speech windows, the rest its
    middle 20-80 %. Each window's change (master minus take) is compared with the rest's
    median change; the figure is the median loss of the loud windows beyond the peak-to-
    loudness reduction the ceiling forced.
    """
    take, master = aligned(take_db, master_db)
    speech = take > take.max() - SPEECH_RANGE_DB
    ranked = np.sort(take[speech])
    loud = take >= ranked[int(len(ranked) * (1 - LOUD_SHARE))]
    low, high = ranked[int(len(ranked) * 0.2)], ranked[int(len(ranked) * 0.8)]
    rest = speech & (take >= low) & (take <= high)
    change = master - take
    loss = np.median(change[rest]) - change[loud]
    return float(np.median(loss) - reduction_db)
