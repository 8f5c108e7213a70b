"""Moderation hints from an alignment: sentences a reader seems to have skipped or garbled.

A skipped sentence still gets a cue (aeneas places every fragment), but a squeezed one: far
less time per syllable than the reading's own pace, or next to none at all. Pace is counted
in syllables: a Han character is one, a run of Latin letters about one per three letters.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from statistics import median

from kiosk.readalong.sentences import Sentence

MIN_SYLLABLES = 6  # a short sentence's time says too little
SQUEEZED_SHARE = 0.6  # of the reading's median time per syllable
NOTHING_S = 0.25
# Where the text has too few long sentences to learn the reading's own pace, a sentence is
# squeezed when it is given less than this per syllable: nobody reads ten syllables a second.
FASTEST_S_PER_SYLLABLE = 0.1
LATIN = re.compile(r"[A-Za-z]+")


def syllables(text: str) -> float:
    """About how many syllables ``text`` reads as."""
    han = sum(1 for c in text if "\u3400" <= c <= "\u9fff" or c.isdigit())
    latin = sum(max(1.0, len(word) / 3) for word in LATIN.findall(text))
    return han + latin


def suspect_sentences(sentences: Sequence[Sentence], cues: Sequence[Sequence[float]]) -> list[int]:
    """The indexes of sentences that look skipped or garbled (too little time for their length)."""
    paces = [(cue[1] - cue[0]) / syllables(s.text) for s, cue in zip(sentences, cues, strict=True)
             if syllables(s.text) >= MIN_SYLLABLES]
    usual = median(paces) if len(paces) >= 3 else FASTEST_S_PER_SYLLABLE / SQUEEZED_SHARE
    found = []
    for index, (sentence, (start_s, end_s)) in enumerate(zip(sentences, cues, strict=True)):
        count, spent_s = syllables(sentence.text), end_s - start_s
        if spent_s < NOTHING_S or (count >= MIN_SYLLABLES and spent_s / count < SQUEEZED_SHARE * usual):
            found.append(index)
    return found
