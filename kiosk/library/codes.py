"""Short codes printed in QR codes: unambiguous, upper-case, QR alphanumeric-mode friendly."""

from __future__ import annotations

import re
import secrets

# Crockford's base32: no I, L, O or U, so a code read aloud or retyped survives.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 5
_LOOKALIKES = str.maketrans({"O": "0", "I": "1", "L": "1"})
_CODE_SHAPE = re.compile(rf"^[{ALPHABET}]{{3,16}}$")


def new_code(length: int = CODE_LENGTH) -> str:
    """A random code; callers check it is unused."""
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def normalise_code(raw: str) -> str | None:
    """The canonical form of a code typed or scanned, or ``None`` if it cannot be one."""
    candidate = raw.strip().upper().translate(_LOOKALIKES)
    return candidate if _CODE_SHAPE.fullmatch(candidate) else None
