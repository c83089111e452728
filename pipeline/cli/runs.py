"""`newsarchive run` and `newsarchive demo`."""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from pathlib import Path
from typing import Any

import click
from rich.live import Live
from rich.table import Table

from pipeline import times
from pipeline.cli.app import cli, config_options, guarded
from pipeline.cli.output import clean_line, setup_logging, stderr, stdout
from pipeline.config.checks import MAX_DAYS
from pipeline.config.loader import Config, load, parse
from pipeline.export import json_text
from pipeline.jobs.lock import RunLock
from pipeline.jobs.run import Runner, run_archive, select_sources
from pipeline.jobs.tally import RunReport, SourceCounts
from pipeline.store import Archive, queries

log = logging.getLogger("newsarchive.cli")


def _progress(counts: dict[str, SourceCounts], started: float, done: set[str]) -> Table:
    table = Table(title=f"newsarchive run · {time.monotonic() - started:.0f} s", expand=False)
    for column in ("source", "found", "new", "duplicate", "skipped", "failed", "state"):
        table.add_column(column, justify="left" if column in ("source", "state") else "right")
    for name, c in counts.items():
        state = "done" if name in done else ("fetching" if c.attempted else "discovering")
        if c.broken and name in done:
            state = "[red]failed[/red]"
        table.add_row(
            name, str(c.found), str(c.new), str(c.duplicate), str(c.skipped), str(c.failed), state
        )
    return table


def summary_line(report: RunReport) -> str:
    parts = [
        f"{report.total(k)} {label}"
        for k, label in (
            ("new", "new"),
            ("duplicate", "duplicate"),
            ("revised", "revised"),
            ("skipped", "skipped"),
            ("failed", "failed"),
        )
    ]
    return (
        f"run {report.run_id} {report.status} in {report.seconds:.1f} s: "
        f"{len(report.sources)} sources, {', '.join(parts)}; {report.requests} requests;"
        f" exit {report.exit_code}"
    )


def report_json(report: RunReport) -> dict[str, Any]:
    return {
        "run_id": report.run_id,
        "status": report.status,
        "exit_code": report.exit_code,
        "started": report.started,
        "seconds": round(report.seconds, 3),
        "requests": report.requests,
        "totals": {
            k: report.total(k)
            for k in (
                "found",
                "discovered",
                "attempted",
                "new",
                "duplicate",
                "revised",
                "unchanged",
                "skipped",
                "failed",
            )
        },
        "cpu_seconds": {
            "main": round(report.cpu_main, 3),
            "extract": round(report.cpu_extract, 3),
            "store": round(report.cpu_store, 3),
            "capture": round(report.cpu_capture, 3),
            "fetch_and_other": round(report.cpu_main - report.cpu_store - report.cpu_capture, 3),
        },
        "sources": {
            name: {
                **c.as_record(),
                "found": c.found,
                "attempted": c.attempted,
                "broken": c.broken,
                "errors": c.errors,
                "unhealthy": report.health.get(name, []),
            }
            for name, c in report.sources.items()
        },
    }


def execute(
    config: Config,
    db: Path,
    *,
    sources: tuple[str, ...] = (),
    refresh_after: float | None = None,
    workers: int | None = None,
    quiet: bool = False,
    as_json: bool = False,
) -> RunReport:
    """Lock the archive, run, report; shared by `run` and `demo`."""
    selected = select_sources(config, sources)
    started = times.now()
    live_view = sys.stderr.isatty() and not quiet and not as_json
    with RunLock(db, started) as lock:
        if lock.stale is not None:
            log.warning(
                "took over the lock of a run that died (pid %s, started %s)",
                lock.stale.pid,
                lock.stale.started,
            )
        with Archive.open(db) as archive:
            holder: dict[str, Runner] = {}
            done: set[str] = set()

            def on_event(kind: str, source: str, detail: str) -> None:
                if kind == "done":
                    done.add(source)

            coroutine = run_archive(
                config,
                archive,
                sources=selected,
                refresh_after=refresh_after,
                workers=workers,
                on_event=on_event,
                on_runner=lambda r: holder.update(r=r),
            )
            if live_view:
                clock = time.monotonic()
                counts = {s.name: SourceCounts() for s in selected}
                with Live(
                    console=stderr(),
                    refresh_per_second=4,
                    transient=False,
                    get_renderable=lambda: _progress(
                        holder["r"].counts if "r" in holder else counts, clock, done
                    ),
                ):
                    report = asyncio.run(coroutine)
            else:
                report = asyncio.run(coroutine)
    if report.failure is not None:  # the machine stopped the run: one line says why
        click.echo(f"newsarchive: error: {clean_line(report.failure)}", err=True)
        if quiet:
            return report
    if as_json:
        click.echo(json_text(report_json(report)))
        return report
    if quiet:  # quiet unless something is wrong: an unhealthy source is
        for name, reasons in report.health.items():
            for reason in reasons:
                click.echo(f"newsarchive: warning: {name}: {clean_line(reason)}", err=True)
    if not quiet or report.exit_code != 0:
        click.echo(summary_line(report), err=True)
        for name, c in report.sources.items():
            if c.broken:
                first = clean_line(c.errors[0]) if c.errors else "every page failed"
                click.echo(f"  source '{name}' yielded nothing: {first}", err=True)
    return report


@cli.command()
@config_options
@click.option(
    "--source", "sources", multiple=True, metavar="NAME", help="Run only this source (repeatable)."
)
@click.option(
    "--refresh-after",
    type=click.FloatRange(min=0, max=MAX_DAYS),
    metavar="DAYS",
    help="Also re-fetch stored articles younger than DAYS to pick up edits.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=0),
    metavar="N",
    help="Extraction worker processes (default: one per core; 0: none).",
)
@click.option("-q", "--quiet", is_flag=True, help="Print nothing unless something is wrong.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary on stdout.")
@click.option("-v", "--verbose", count=True, help="More logging on stderr (-v, -vv).")
@guarded
def run(
    config_path: Path,
    db: Path | None,
    sources: tuple[str, ...],
    refresh_after: float | None,
    workers: int | None,
    quiet: bool,
    as_json: bool,
    verbose: int,
) -> None:
    """Discover, fetch, extract and store new articles from every source.

    Exit codes: 0 finished; 1 finished but a source yielded nothing because it failed;
    2 bad configuration or usage; 3 another run holds the archive's lock.
    """
    setup_logging(verbose, quiet)
    config = load(config_path)
    report = execute(
        config,
        db or config.archive,
        sources=sources,
        refresh_after=refresh_after,
        workers=workers,
        quiet=quiet,
        as_json=as_json,
    )
    sys.exit(report.exit_code)


@cli.command()
@click.option(
    "--db",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("archive/demo.db"),
    show_default=True,
    help="Where to archive.",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8765,
    show_default=True,
    help="Port of the sample site on 127.0.0.1 (0: any free port).",
)
@click.option("-v", "--verbose", count=True, help="More logging on stderr.")
@guarded
def demo(db: Path, port: int, verbose: int) -> None:
    """Serve a bundled sample news site on 127.0.0.1 and archive it end to end."""
    from pipeline.demo.site import NewsSite, load_demo_articles

    setup_logging(verbose)
    name, articles, briefs = load_demo_articles()
    out = stdout()
    with NewsSite(articles, name, briefs=briefs, port=port) as site:
        out.print(
            f"Serving [bold]{name}[/bold] at {site.base}/ "
            f"({len(articles)} article pages, feed, sitemaps, robots.txt)"
        )
        config = parse(
            {
                "archive": str(db),
                "defaults": {"delay": 0.02, "host_concurrency": 4, "max_articles": 500},
                "sources": [{"name": "gazette", "url": site.base + "/"}],
            },
            "demo",
        )
        report = execute(config, db)
    with Archive.open(db, readonly=True) as archive:
        rows = queries.latest(archive, 50)
    table = Table(title=f"Archived in {db}", show_lines=False)
    for column in ("id", "published", "lang", "words", "title", "author"):
        table.add_column(column, overflow="fold" if column == "title" else "ellipsis")
    for row in rows:
        table.add_row(
            str(row["id"]),
            (row["published"] or "")[:10],
            row["language"] or "",
            str(row["word_count"] or ""),
            clean_line(row["title"]),
            clean_line(row["author"]),
        )
    out.print(table)
    c = report.sources.get("gazette", SourceCounts())
    dup = " (the syndicated wire copy)" if c.duplicate == 1 else ""
    nothing = " (nothing new: the archive already has the site)" if not c.new else ""
    out.print(
        f"This run: {c.new} new stories, {c.duplicate} duplicate{dup}, {c.skipped} skipped, "
        f"{c.failed} failed; {report.requests} HTTP requests{nothing}."
    )
    out.print("\nNext:")
    out.print(f"  newsarchive search harbour --db {db}")
    out.print(f"  newsarchive show 1 --db {db}")
    out.print(f"  newsarchive export --format jsonl --db {db} --output demo.jsonl")
    out.print(f"  newsarchive serve --db {db}")
    sys.exit(report.exit_code)
