"""``kiosk import PATH… --section SLUG``: bulk-import audio files or folders, with a report."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext

from kiosk.ingest import importer

REASONS = {
    importer.SkipReason.NOT_AUDIO: "not audio",
    importer.SkipReason.UNREADABLE: "unreadable",
    importer.SkipReason.DUPLICATE: "duplicate (already in the catalogue)",
    importer.SkipReason.LINK: "symbolic link (not followed)",
    importer.SkipReason.FAILED: "failed to save",
}

# Skipped for a reason that is no failure: the audio is already in, or was left out on purpose.
ACCOUNTED_FOR = (importer.SkipReason.DUPLICATE, importer.SkipReason.LINK)


def report_lines(report: importer.ImportReport) -> list[str]:
    """The report, one line per file and a summary."""
    lines = []
    for entry in report.entries:
        if entry.outcome == importer.Outcome.SKIPPED:
            reason = REASONS[entry.reason] if entry.reason else "skipped"
            detail = f" — {entry.detail}" if entry.detail else ""
            lines.append(f"  skipped   {entry.name}: {reason}{detail}")
        else:
            lines.append(f"  {entry.outcome.value:<9} {entry.name} → 《{entry.book}》 track {entry.track_id}")
    lines.append(
        f"Imported {report.imported} file(s) ({report.count(importer.Outcome.MASTERED)} mastered, "
        f"{report.count(importer.Outcome.KEPT)} kept as they were) into {report.books_created} new book(s); "
        f"skipped {report.count(importer.Outcome.SKIPPED)}."
    )
    return lines


@click.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--section", "slug", required=True, help="Slug of the section the books go into.")
@click.option("--unpublished", is_flag=True,
              help="Bring everything in hidden (new books unpublished, chapters added to existing books "
                   "unpublished), to check in the console before publishing.")
@with_appcontext
def import_command(paths: tuple[Path, ...], slug: str, unpublished: bool) -> None:
    """Import audio files or folders (walked recursively) into a section, reading their tags."""
    section = importer.section_by_slug(slug)
    if section is None:
        raise click.BadParameter(f"no section with slug {slug!r}", param_hint="--section")
    sources, skipped = importer.collect(paths)
    click.echo(f"Importing {len(sources)} file(s) into {section.name} ({section.slug}) …")
    report = importer.import_sources(sources, section, via="cli", publish=not unpublished)
    report.entries[:0] = skipped
    for line in report_lines(report):
        click.echo(line)
    if unpublished and report.imported:
        click.echo("Nothing imported is published yet: check the books in the console (/admin/books), then publish.")
    if not report.imported and not any(entry.reason in ACCOUNTED_FOR for entry in report.entries):
        found = "no audio files were found" if not sources else "none of the audio files could be imported"
        raise click.ClickException(f"nothing was imported: {found} in {', '.join(map(str, paths))}.")
