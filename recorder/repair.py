"""Repairs the pipeline may add for what ``recorder.defects`` found: ffmpeg filter text, nothing else.

Hum is notched out at the mains frequency and its harmonics: ``bandreject`` is a biquad notch,
infinitely deep at its centre and ``HUM_NOTCH_WIDTH_HZ`` wide, so a voice loses a few hertz
around 50/100/150/200 Hz (inaudible) and the hum loses 40 dB or more. The notch is only as deep
as the mains frequency is measured: a line 0.1 Hz off the centre of a 4 Hz notch keeps a
twentieth of itself (-26 dB; measured: the 100 and 150 Hz lines of a -33 dBFS hum stood 13-15
dB over the room after mastering), of an 8 Hz notch a fortieth, and then the lines sink into
the room (-44 dB, ``tests/recorder/test_master_defects.py``). Each function returns ``""``
when there is nothing to repair, so ``steps.chain`` can take the result as it is.
"""

from __future__ import annotations

from recorder.defects import Hum

HUM_HARMONICS = 4  # 50-200 Hz: the fourth is still often heard on small speakers
HUM_NOTCH_WIDTH_HZ = 8.0  # mains drifts by 0.2 Hz at most, the fourth harmonic by 0.8 Hz; and is measured to ~0.05 Hz


def hum_notch(hum_hz: float, harmonics: int = HUM_HARMONICS, width_hz: float = HUM_NOTCH_WIDTH_HZ) -> str:
    """Notches at ``hum_hz`` and its first ``harmonics - 1`` harmonics, e.g. 50, 100, 150, 200 Hz."""
    return ",".join(f"bandreject=f={hum_hz * k:g}:width_type=h:w={width_hz:g}" for k in range(1, harmonics + 1))


def repair_hum(hum: Hum) -> str:
    """The notch chain for a hum finding, or ``""`` when no hum was found."""
    if not hum.found or hum.hum_hz is None:
        return ""
    return hum_notch(hum.hum_hz)
