"""Real-browser tests: Playwright (Python) driving Debian's Chromium on an emulated phone."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

DEFAULT_CHROMIUM = "/usr/bin/chromium"


def chromium_executable() -> Path | None:
    """The Chromium to drive: ``$KIOSK_TEST_CHROMIUM``, else Debian's, if it is there."""
    wanted = os.environ.get("KIOSK_TEST_CHROMIUM") or DEFAULT_CHROMIUM
    found = shutil.which(wanted)
    return Path(found) if found else None


def browser_marks(timeout_s: int) -> list[pytest.MarkDecorator]:
    """A real-browser module's ``pytestmark``: the ``browser`` marker and a timeout.

    No ``skipif`` on a missing Chromium here: the ``playwright`` fixture, which every browser
    fixture goes through, requires it with ``tests.helpers.require_tool`` (a skip on a
    developer's machine with the fix named, a failure under ``CI=true``), in that one place.
    """
    return [pytest.mark.browser, pytest.mark.timeout(timeout_s)]
