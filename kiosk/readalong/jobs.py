"""The alignment job on the queue: one task per chapter text, queued after the text is committed.

The task lives here, beside the work it does, so that the areas that attach texts (the
console, approving a booth take, imports, the demo) can queue it without reaching up to
``kiosk.jobs.tasks``; that module imports this one, so every worker knows the task, and
its sweep queues again the alignments that were lost or whose audio changed.
"""

from __future__ import annotations

import logging

from kiosk.jobs import lifecycle
from kiosk.jobs.queue import huey, in_app
from kiosk.models import ChapterText
from kiosk.readalong import texts

log = logging.getLogger(__name__)

RETRY_DELAY_S = 30


def _claimed(text_id: int) -> None:
    """Claim the text's alignment, then align it while a heartbeat holds the lease."""
    if not lifecycle.claim(ChapterText.id, text_id):
        return
    with lifecycle.heartbeat(ChapterText.id, text_id):
        texts.run_alignment(text_id)


@huey.task(retries=1, retry_delay=RETRY_DELAY_S)
def align_text(text_id: int) -> None:
    """Align a chapter's text to its audio (after mastering: the timings refer to the published file)."""
    in_app(_claimed, text_id)


def queue_alignment(text_id: int) -> None:
    """Queue a committed text's alignment (inline in immediate mode, as tests use)."""
    align_text(text_id)
