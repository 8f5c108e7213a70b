"""Keep the English catalogue in step with the Chinese msgids in code and templates.

    python scripts/translations.py          # extract, merge into en/messages.po, compile .mo
    python scripts/translations.py --check  # exit 1 if anything is untranslated or stale

Chinese is the source language (msgids are the Chinese text), so a missing English
translation shows Chinese to an English reader, never English to a Chinese one.
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
PO_PATH = ROOT / "kiosk" / "translations" / "en" / "LC_MESSAGES" / "messages.po"
MO_PATH = PO_PATH.with_suffix(".mo")
KEYWORDS = {"_": None, "_l": None, "gettext": None, "lazy_gettext": None, "ngettext": (1, 2)}
METHODS = [("kiosk/**.py", "python"), ("templates/**.html", "jinja2")]


def extract() -> Catalog:
    """Every translatable string in the code and templates."""
    template = Catalog(project="kiosk", fuzzy=False)
    for filename, lineno, message, comments, context in extract_from_dir(
        str(ROOT), METHODS, keywords=KEYWORDS, options_map={"templates/**.html": {}}
    ):
        template.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return template


def load_po() -> Catalog:
    """The English catalogue as it is on disk (empty if missing)."""
    if not PO_PATH.exists():
        return Catalog(locale="en", project="kiosk", fuzzy=False)
    with PO_PATH.open("rb") as handle:
        return read_po(handle, locale="en")


def compiled(catalog: Catalog) -> bytes:
    """The .mo bytes for ``catalog``."""
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    return buffer.getvalue()


def untranslated(template: Catalog, catalog: Catalog) -> list[str]:
    """msgids in the code that have no English translation."""
    missing = []
    for message in template:
        if not message.id:
            continue
        found = catalog.get(message.id, context=message.context)
        if found is None or not found.string or (isinstance(found.string, tuple) and not all(found.string)):
            missing.append(str(message.id))
    return missing


def main() -> int:
    """Update (or with --check, verify) the English catalogue."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true")
    check = parser.parse_args().check
    template, catalog = extract(), load_po()
    if not check:
        catalog.update(template, no_fuzzy_matching=True)
        catalog.obsolete.clear()
        PO_PATH.parent.mkdir(parents=True, exist_ok=True)
        with PO_PATH.open("wb") as handle:
            write_po(handle, catalog, width=100, omit_header=False, sort_output=False)
        MO_PATH.write_bytes(compiled(catalog))
    missing = untranslated(template, catalog)
    stale = MO_PATH.exists() and MO_PATH.read_bytes() != compiled(catalog)
    for msgid in missing:
        print(f"untranslated: {msgid}", file=sys.stderr)
    if stale or not MO_PATH.exists():
        print("messages.mo is out of date: run python scripts/translations.py", file=sys.stderr)
    return 1 if missing or stale or not MO_PATH.exists() else 0


if __name__ == "__main__":
    sys.exit(main())
