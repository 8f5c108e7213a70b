"""Real-browser tests: Playwright (Python) driving Debian's Chromium on an emulated phone."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

DEFAULT_CHROMIUM = "/usr/bin/chromium"


def chromium_executable() -> Path | None:
    """The Chromium to drive: ``$KIOSK_TEST_CHROMIUM``, else Debian's, if it is there."""
    wanted = os.environ.get("KIOSK_TEST_CHROMIUM") or DEFAULT_CHROMIUM
    found = shutil.which(wanted)
    return Path(found) if found else None
