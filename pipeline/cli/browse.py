"""Reading the archive: `search`, `show`, `stats`, `export`, `serve`."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import click
from rich.console import Group
from rich.table import Table
from rich.text import Text

from pipeline.cli.app import EXIT_FAILED, cli, config_options, fail, guarded, resolve_db
from pipeline.cli.output import clean, clean_line, plain_snippet, snippet_text, stdout
from pipeline.config.loader import load
from pipeline.errors import UsageError
from pipeline.export import (
    FORMATS,
    ExportOptions,
    atomic_file,
    export_stream,
    export_tree,
    json_text,
)
from pipeline.store import Archive, queries
from pipeline.store.health import health

F = Callable[..., Any]


def filter_options(fn: F) -> F:
    for option in reversed(
        [
            click.option(
                "--source",
                "sources",
                multiple=True,
                metavar="NAME",
                help="Only this source (repeatable).",
            ),
            click.option(
                "--since",
                metavar="WHEN",
                help="Published on or after: YYYY-MM-DD, ISO time, or 7d/24h/2w ago.",
            ),
            click.option("--until", metavar="WHEN", help="Published on or before (same forms)."),
            click.option("--language", metavar="CODE", help="Only this language (e.g. en)."),
            click.option("--collapse", is_flag=True, help="Leave out near-duplicates."),
        ]
    ):
        fn = option(fn)
    return fn


@cli.command()
@click.argument("query")
@config_options
@filter_options
@click.option("--limit", type=click.IntRange(1, 10000), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@guarded
def search(
    query: str,
    config_path: Path,
    db: Path | None,
    sources: tuple[str, ...],
    since: str | None,
    until: str | None,
    language: str | None,
    collapse: bool,
    limit: int,
    as_json: bool,
) -> None:
    """Full-text search of titles and texts, best matches first (bm25).

    QUERY uses SQLite FTS5 syntax: words (all must occur), "a phrase", AND, OR, NOT,
    parentheses, prefix*, title:word.
    """
    filters = queries.Filters(sources, since, until, language, collapse=collapse)
    with Archive.open(resolve_db(config_path, db), readonly=True) as archive:
        hits = queries.search(archive, query, filters, limit)
    if as_json:
        for hit in hits:
            data = asdict(hit)
            data["snippet"] = plain_snippet(hit.snippet)
            data["rank"] = round(hit.rank, 4)
            click.echo(json_text(data))
        return
    out = stdout()
    if not hits:
        out.print("No matches.")
        return
    table = Table(show_lines=True)
    for column in ("id", "date", "source", "title / snippet"):
        table.add_column(column, overflow="fold")
    for hit in hits:
        body = snippet_text(hit.snippet)
        body.append("\n")
        body.append(clean_line(hit.url), style="dim")
        title = Text(clean_line(hit.title) or "(untitled)", style="bold")
        date = Text(clean_line(hit.published)[:10])
        table.add_row(str(hit.id), date, Text(clean_line(hit.source)), Group(title, body))
    out.print(table)


@cli.command()
@click.argument("id_or_url")
@config_options
@click.option("--json", "as_json", is_flag=True, help="The article as JSON.")
@click.option(
    "--diff",
    "diff_rev",
    is_flag=False,
    flag_value="",
    default=None,
    metavar="[REV]",
    help="What changed: against the previous revision, or against revision REV.",
)
@guarded
def show(
    id_or_url: str, config_path: Path, db: Path | None, as_json: bool, diff_rev: str | None
) -> None:
    """One article: its metadata and text (by id, URL or canonical URL)."""
    if diff_rev is not None:
        from pipeline.cli.changes import show_diff

        show_diff(config_path, db, id_or_url, diff_rev, as_json)
        return
    with Archive.open(resolve_db(config_path, db), readonly=True) as archive:
        row = queries.article(archive, id_or_url)
    if row is None:
        fail(f"no article {clean_line(id_or_url)!r} in the archive", EXIT_FAILED)
        return
    if as_json:
        click.echo(json_text(row, indent=2))
        return
    out = stdout()
    out.print(Text(clean_line(row["title"]) or "(untitled)", style="bold"))
    for label, key in (
        ("source", "source"),
        ("url", "url"),
        ("author", "author"),
        ("published", "published"),
        ("language", "language"),
        ("site", "sitename"),
        ("fetched", "fetched_at"),
        ("tags", "tags"),
        ("id", "id"),
    ):
        value = row[key]
        if value:
            value = ", ".join(value) if isinstance(value, list) else value
            out.print(Text.assemble((f"{label:>9}: ", "dim"), clean_line(value)))
    notes = []
    if row["revision"] and row["revision"] > 1:
        notes.append(f"revision {row['revision']} ({len(row['revisions'])} earlier)")
    if row["duplicates"]:
        notes.append(f"{len(row['duplicates'])} duplicate copies")
    if row["near_duplicate_of"]:
        notes.append(f"near-duplicate of #{row['near_duplicate_of']}")
    if notes:
        out.print(Text.assemble((f"{'notes':>9}: ", "dim"), "; ".join(notes)))
    out.print()
    out.print(Text(clean(row["text"])), soft_wrap=True)


def _bar(count: int, most: int, width: int = 20) -> str:
    return "█" * max(1, round(width * count / most)) if count and most else ""


@cli.command()
@config_options
@click.option("--json", "as_json", is_flag=True, help="JSON for scripts.")
@guarded
def stats(config_path: Path, db: Path | None, as_json: bool) -> None:
    """The archive as a whole: stories per source (new in the last 24 h and 7 days,
    duplicates, the URL frontier, source health) and per month.

    --json prints one object per source: its counts, "months" (YYYY-MM: stories) and
    its health ("healthy", "flags", "reasons", "last_run")."""
    now = datetime.now(UTC)
    with Archive.open(resolve_db(config_path, db), readonly=True) as archive:
        per_source = queries.stats(archive, now)
        checked = health(archive, list(per_source), now)
        runs = queries.recent_runs(archive, 1)
        warc_dir = _warc_dir(config_path, archive.path)
    warc_on_disk = (
        sum(f.stat().st_size for f in warc_dir.glob("*.warc*")) if (warc_dir.is_dir()) else 0
    )
    if as_json:
        data = {}
        for name, s in per_source.items():
            h = checked.get(name)
            data[name] = {
                **asdict(s),
                "warc_dir": str(warc_dir),
                "healthy": h.healthy if h else True,
                "flags": h.flags if h else [],
                "reasons": h.reasons if h else [],
                "last_run": h.last_run if h else None,
            }
        click.echo(json_text(data, indent=2))
        return
    out = stdout()
    if not per_source:
        out.print("The archive is empty: run `newsarchive run` first.")
        return
    table = Table(title="Stories per source", title_justify="left")
    heads = ("source", "stories", "24h", "7d", "last new", "dup", "pend", "retry", "fail", "skip")
    for column in (*heads, "health"):
        table.add_column(
            column, justify="left" if column in ("source", "last new", "health") else "right"
        )
    total = [0] * 8
    for s in per_source.values():
        counts = (s.articles, s.new_24h or 0, s.new_7d or 0)
        rest = (s.duplicates, s.pending, s.retrying, s.failed, s.skipped)
        total = [t + v for t, v in zip(total, (*counts, *rest), strict=True)]
        h = checked.get(s.name)
        state = Text(", ".join(h.flags), style="red") if h and h.flags else Text("ok")
        last = (s.last_new or "-").replace("T", " ")[:16]
        table.add_row(Text(clean_line(s.name)), *map(str, counts), last, *map(str, rest), state)
    if len(per_source) > 1:
        table.add_section()
        table.add_row("all", *map(str, total[:3]), "", *map(str, total[3:]), "")
    out.print(table)
    for name, h in checked.items():
        for reason in h.reasons:
            out.print(Text.assemble((f"{clean_line(name)}: ", "red"), clean_line(reason)))
    by_month = queries.months(per_source)
    if by_month:
        months = Table(title="Stories per month (by date published)", title_justify="left")
        months.add_column("month")
        months.add_column("stories", justify="right")
        months.add_column("")
        most = max(by_month.values())
        for month, count in by_month.items():
            months.add_row(Text(clean_line(month) or "?"), str(count), _bar(count, most))
        out.print(months)
    text_bytes = sum(s.text_bytes for s in per_source.values())
    capture_bytes = sum(s.capture_bytes for s in per_source.values())
    out.print(
        f"Stored: {_size(text_bytes)} of text (revisions included), "
        f"{_size(capture_bytes)} of compressed captures"
        + (f"; {_size(warc_on_disk)} of WARC files in {warc_dir}" if warc_on_disk else "")
    )
    if runs:
        r = runs[0]
        out.print(
            f"Last run: #{r['id']} started {r['started_at']}, {r['status']}"
            f" (exit {r['exit_code'] if r['exit_code'] is not None else '-'}):"
            f" {r['articles_new'] or 0} new, {r['failed'] or 0} failed."
        )


def _size(count: int) -> str:
    value = float(count)
    for unit in ("bytes", "KB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} TB"


def _warc_dir(config_path: Path, archive: Path) -> Path:
    """Where this archive's WARC files are (the config's warc.dir, else beside it)."""
    if config_path.exists():
        return load(config_path).warc_dir(archive)
    return archive.parent / "warc"


def _stdout_binary() -> IO[bytes]:
    return sys.stdout.buffer


@cli.command()
@config_options
@click.option(
    "--format",
    "fmt",
    type=click.Choice(list(FORMATS)),
    default="jsonl",
    show_default=True,
    help="jsonl/csv: one stream; txt/md: one file per story under --output.",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(path_type=Path),
    help="A file (jsonl, csv; default: stdout, or '-') or a directory (txt, md; required).",
)
@click.option("--query", metavar="FTS", help="Only stories matching this full-text query.")
@filter_options
@click.option(
    "--columns",
    metavar="A,B,...",
    help=f"jsonl/csv: these columns only (default: all: {', '.join(queries.ARTICLE_COLUMNS)}).",
)
@click.option(
    "--no-formula-guard",
    is_flag=True,
    help="csv: write cells exactly, even ones a spreadsheet would run as a formula.",
)
@guarded
def export(
    config_path: Path,
    db: Path | None,
    fmt: str,
    output: Path | None,
    query: str | None,
    sources: tuple[str, ...],
    since: str | None,
    until: str | None,
    language: str | None,
    collapse: bool,
    columns: str | None,
    no_formula_guard: bool,
) -> None:
    """Export stories, streamed in archive order (memory stays flat at any size).

    \b
    jsonl  one JSON object per line, UTF-8; list columns (authors, tags) as arrays.
    csv    RFC 4180, UTF-8 with a byte-order mark so Excel reads it as UTF-8; list
           columns as JSON. A cell beginning with = + - @ tab or CR (after any
           apostrophes) gets one apostrophe in front, so that a spreadsheet shows it
           instead of running it as a formula (OWASP's advice against CSV injection);
           --no-formula-guard writes such cells exactly. Excel cells hold at most 32,767
           characters: for very long texts, --columns without text.
    txt    OUTPUT/SOURCE/YYYY/MM/slug.txt: "Key: value" header lines, a blank line, the
           text exactly.
    md     the same tree, .md, with YAML front matter and the title as a heading.
    warc   the stories' raw captures (request-free response records, byte for byte
           as stored) as one .warc.gz; stories without a capture are left out.

    Re-exporting txt/md into the same directory rewrites only files whose content
    changed; file names are made safe from any title (letters, digits, hyphens).
    """
    chosen = FORMATS[fmt]
    cols: tuple[str, ...] = chosen.columns or queries.ARTICLE_COLUMNS
    if columns:
        cols = tuple(c.strip() for c in columns.split(",") if c.strip())
        if chosen.is_tree or chosen.columns:
            raise UsageError("--columns applies to jsonl and csv only")
    filters = queries.Filters(sources, since, until, language, query=query, collapse=collapse)
    with Archive.open(resolve_db(config_path, db), readonly=True) as archive:
        rows = queries.export_rows(archive, filters, columns=cols)
        if chosen.is_tree:
            if output is None or str(output) == "-":
                raise UsageError(f"--format {fmt} writes a directory: give it with --output DIR")
            report = export_tree(rows, chosen, output)
            click.echo(
                f"exported {report.articles} stories to {output}/: {report.written} written,"
                f" {report.unchanged} unchanged, {report.removed} old files removed",
                err=True,
            )
            return
        options = ExportOptions(
            columns=cols, formula_guard=not no_formula_guard, root=archive.path.parent
        )
        if output is None or str(output) == "-":
            stream = _stdout_binary()
            export_stream(rows, chosen, stream, options)
            stream.flush()
            return
        with atomic_file(output) as out:
            count = export_stream(rows, chosen, out, options)
    click.echo(f"exported {count} stories to {output} ({fmt})", err=True)


@cli.command()
@config_options
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8001,
    show_default=True,
    help="Port to listen on (0: any free port).",
)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on. Anything but loopback needs --expose.",
)
@click.option(
    "--expose",
    is_flag=True,
    help="Allow a non-loopback --host (e.g. 0.0.0.0): whoever reaches it reads the archive.",
)
@click.option(
    "--allow-sql/--no-sql",
    "allow_sql",
    default=None,
    help="Allow arbitrary SELECT queries (default: yes on loopback, no with --expose).",
)
@guarded
def serve(
    config_path: Path,
    db: Path | None,
    port: int,
    host: str,
    expose: bool,
    allow_sql: bool | None,
) -> None:
    """Browse the archive in Datasette: search box, facets on source, language and
    date, canned queries (best matches, latest per source, per month, runs, failures).

    Read-only; listens on 127.0.0.1 unless --host and --expose say otherwise. Ctrl-C
    stops it."""
    from pipeline.serve import ServeOptions
    from pipeline.serve import serve as run_server

    def ready(url: str) -> None:
        click.echo(f"Serving {url} (read-only; Ctrl-C to stop)", err=True)
        if expose:
            click.echo("newsarchive: warning: reachable from other machines (--expose)", err=True)

    path = resolve_db(config_path, db)
    run_server(ServeOptions(path, host, port, expose, allow_sql), ready)
