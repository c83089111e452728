"""`newsarchive run` and `newsarchive demo`.

The run machinery (fetcher, extractor, store) is imported when a command runs, not
when the CLI starts."""

from __future__ import annotations

import logging
import shlex
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from pipeline.cli.options import (
    LazyHelpOption,
    config_options,
    db_option,
    guarded,
    source_option,
    verbose_option,
    workers_option,
)
from pipeline.cli.output import clean_line, setup_logging, stderr, stdout
from pipeline.cli.tables import is_terminal, plain_table

if TYPE_CHECKING:
    from rich.table import Table

    from pipeline.config.loader import Config
    from pipeline.jobs.tally import RunReport, SourceCounts

log = logging.getLogger(__name__)


class _Days(click.FloatRange):
    """0 to config.checks.MAX_DAYS, the bound the config's own checks use (read when
    the option is given, so that the CLI starts without loading the config module)."""

    def __init__(self) -> None:
        super().__init__(min=0)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        from pipeline.config.checks import MAX_DAYS

        self.max = MAX_DAYS
        return super().convert(value, param, ctx)


def _refresh_help() -> str:
    from pipeline.config.checks import MAX_DAYS

    return f"Also re-fetch stored articles younger than DAYS to pick up edits (0 to {MAX_DAYS:g})."


def _progress(counts: dict[str, SourceCounts], started: float, done: set[str]) -> Table:
    from rich.table import Table

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
    retry_failed: bool = False,
) -> RunReport:
    """Lock the archive, run, report; shared by `run` and `demo`."""
    import asyncio

    from rich.live import Live

    from pipeline import times
    from pipeline.export.formats import json_text
    from pipeline.jobs.lock import RunLock
    from pipeline.jobs.run import Runner, run_archive, select_sources
    from pipeline.jobs.tally import SourceCounts
    from pipeline.store import Archive

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
                retry_failed=retry_failed,
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


@click.command()
@config_options
@source_option("Run only this source (repeatable).")
@click.option(
    "--refresh-after",
    cls=LazyHelpOption,
    type=_Days(),
    metavar="DAYS",
    lazy_help=_refresh_help,
)
@workers_option
@click.option(
    "--retry-failed",
    is_flag=True,
    help="Give the failed URLs of the sources run another chance (after a fix).",
)
@click.option("-q", "--quiet", is_flag=True, help="Print nothing unless something is wrong.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary on stdout.")
@verbose_option
@guarded
def run(
    config_path: Path,
    db: Path | None,
    sources: tuple[str, ...],
    refresh_after: float | None,
    workers: int | None,
    retry_failed: bool,
    quiet: bool,
    as_json: bool,
    verbose: int,
) -> None:
    """Discover, fetch, extract and store new articles from every source.

    \b
    Exit codes:
      0    finished (page-level failures are recorded, not fatal)
      1    finished, but a source yielded nothing because it failed
      2    bad configuration or usage
      3    another run holds the archive's lock
      130  interrupted (Ctrl-C, SIGINT): pages in flight were finished and saved
      143  terminated (SIGTERM): the same
    """
    from pipeline.config.loader import load

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
        retry_failed=retry_failed,
    )
    sys.exit(report.exit_code)


@click.command()
@db_option(Path("archive/demo.db"), "Where to archive.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8765,
    show_default=True,
    help="Port of the sample site on 127.0.0.1 (0: any free port).",
)
@verbose_option
@guarded
def demo(db: Path, port: int, verbose: int) -> None:
    """Serve a bundled sample news site on 127.0.0.1 and archive it end to end."""
    from pipeline.config.loader import parse
    from pipeline.demo.site import NewsSite, load_demo_articles
    from pipeline.jobs.tally import SourceCounts
    from pipeline.store import Archive, queries

    setup_logging(verbose)
    name, articles, briefs = load_demo_articles()
    with NewsSite(articles, name, briefs=briefs, port=port) as site:
        click.echo(
            f"Serving {name} at {site.base}/ "
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
    heads = ("id", "published", "lang", "words", "title", "author")
    cells = [
        (
            str(row["id"]),
            (row["published"] or "")[:10],
            row["language"] or "",
            str(row["word_count"] or ""),
            clean_line(row["title"]),
            clean_line(row["author"]),
        )
        for row in rows
    ]
    if is_terminal():
        from rich.table import Table

        table = Table(title=f"Archived in {db}", show_lines=False)
        for column in heads:
            table.add_column(column, overflow="fold" if column == "title" else "ellipsis")
        for cell in cells:
            table.add_row(*cell)
        stdout().print(table)
    else:
        for line in [f"Archived in {db}", *plain_table(heads, cells, ("id", "words"))]:
            click.echo(line)
    c = report.sources.get("gazette", SourceCounts())
    dup = " (the syndicated wire copy)" if c.duplicate == 1 else ""
    nothing = " (nothing new: the archive already has the site)" if not c.new else ""
    # Plain echo, never wrapped by a console's width: the commands are copied and pasted.
    click.echo(
        f"This run: {c.new} new stories, {c.duplicate} duplicate{dup}, {c.skipped} skipped, "
        f"{c.failed} failed; {report.requests} HTTP requests{nothing}."
    )
    where = shlex.quote(str(db))
    click.echo("\nNext:")
    click.echo(f"  newsarchive search harbour --db {where}")
    click.echo(f"  newsarchive show 1 --db {where}")
    click.echo(f"  newsarchive export --format jsonl --db {where} --output demo.jsonl")
    click.echo(f"  newsarchive serve --db {where}")
    sys.exit(report.exit_code)
