"""`newsarchive reextract` and `newsarchive import-warc`."""

from __future__ import annotations

import sys
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from pipeline.cli.options import (
    config_options,
    guarded,
    source_option,
    verbose_option,
    workers_option,
)
from pipeline.cli.output import clean_line, setup_logging
from pipeline.errors import UsageError

if TYPE_CHECKING:
    from pipeline.config.loader import Config


def _config(config_path: Path, db: Path | None) -> tuple[Config | None, Path]:
    """The config when there is one (optional for these commands) and the archive."""
    from pipeline.config.loader import DEFAULT_ARCHIVE, load

    config = load(config_path) if config_path.exists() else None
    if db is not None:
        return config, db
    return config, config.archive if config is not None else Path(DEFAULT_ARCHIVE)


def _print(report: object, as_json: bool, summary: str) -> None:
    if as_json:
        from pipeline.export import json_text

        click.echo(json_text(asdict(report)))  # type: ignore[call-overload]
        return
    click.echo(summary, err=True)
    errors = getattr(report, "errors", [])
    for error in errors[:10]:
        click.echo(f"  {clean_line(error)}", err=True)
    if len(errors) > 10:
        click.echo(f"  … and {len(errors) - 10} more", err=True)


@click.command("reextract")
@config_options
@source_option()
@click.option("--since", metavar="WHEN", help="Only stories published since (YYYY-MM-DD, 7d…).")
@workers_option
@click.option("--json", "as_json", is_flag=True, help="A JSON report on stdout.")
@verbose_option
@guarded
def reextract_command(
    config_path: Path,
    db: Path | None,
    sources: tuple[str, ...],
    since: str | None,
    workers: int | None,
    as_json: bool,
    verbose: int,
) -> None:
    """Extract stored stories again from their WARC captures, with the current code and
    sources.yaml settings (e.g. new `drop` selectors). No network access. A changed text
    becomes a new revision; the previous one is kept."""
    import asyncio

    from pipeline import times
    from pipeline.jobs.lock import RunLock
    from pipeline.jobs.offline import reextract
    from pipeline.store import Archive
    from pipeline.store.queries import parse_when

    setup_logging(verbose)
    config, path = _config(config_path, db)
    bound = parse_when(since, datetime.now(UTC)) if since else None
    max_bytes = config.fetch.max_bytes if config is not None else 10_000_000
    if not path.exists():
        raise UsageError(f"{path}: no archive here")
    with (
        RunLock(path, times.now()),
        Archive.open(path) as archive,
    ):
        report = asyncio.run(
            reextract(
                config, archive, sources=sources, since=bound, workers=workers, max_bytes=max_bytes
            )
        )
    _print(
        report,
        as_json,
        f"re-extracted {report.examined} stories in {report.seconds:.1f} s: "
        f"{report.revised} revised, {report.updated} metadata updated, {report.unchanged} "
        f"unchanged, {report.not_article} no longer articles (kept), {report.failed} failed",
    )
    sys.exit(1 if report.failed and not (report.revised + report.updated + report.unchanged) else 0)


@click.command("import-warc")
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@config_options
@click.option(
    "--source",
    metavar="NAME",
    help="Store under this source (default: the configured source of the same "
    "site, else a name made from the host).",
)
@workers_option
@click.option("--json", "as_json", is_flag=True, help="A JSON report on stdout.")
@verbose_option
@guarded
def import_warc_command(
    files: tuple[Path, ...],
    config_path: Path,
    db: Path | None,
    source: str | None,
    workers: int | None,
    as_json: bool,
    verbose: int,
) -> None:
    """Import the HTML pages of WARC/ARC files (.warc, .warc.gz, .arc.gz) written by other
    tools: extracted and stored like fetched pages, deduplicated against the archive.
    Corrupt or truncated records are counted and skipped."""
    import asyncio

    from pipeline import times
    from pipeline.jobs.lock import RunLock
    from pipeline.jobs.offline import import_warcs
    from pipeline.store import Archive

    setup_logging(verbose)
    config, path = _config(config_path, db)
    if source is not None and not source.replace("-", "").isalnum():
        raise UsageError(f"--source {source!r}: use lower-case letters, digits and '-'")
    max_bytes = config.fetch.max_bytes if config is not None else 10_000_000
    with (
        RunLock(path, times.now()),
        Archive.open(path) as archive,
    ):
        report = asyncio.run(
            import_warcs(
                files, config, archive, source=source, workers=workers, max_bytes=max_bytes
            )
        )
    rate = report.new / report.seconds if report.seconds else 0.0
    _print(
        report,
        as_json,
        f"imported {len(files)} file(s) in {report.seconds:.1f} s: {report.responses} "
        f"responses, {report.new} new stories ({rate:.0f}/s), {report.duplicate} "
        f"duplicates, {report.known} already archived, {report.skipped} skipped, "
        f"{report.damaged} damaged records, {report.failed} failed",
    )
    sys.exit(0)
