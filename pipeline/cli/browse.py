"""Reading the archive: `search`, `show`, `export`, `serve` (`stats` is in stats.py).

Heavy modules (the store, rich, the exporters, datasette) are imported inside the
commands, so that `newsarchive --help` and the other commands do not pay for them."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import click

from pipeline.cli.options import (
    EXIT_FAILED,
    LazyChoice,
    LazyHelpOption,
    config_options,
    fail,
    format_options,
    guarded,
    resolve_db,
    source_option,
)
from pipeline.cli.output import clean, clean_line, plain_snippet
from pipeline.cli.tables import is_terminal, write_records
from pipeline.errors import UsageError
from pipeline.models import ACCESS_LABELS

if TYPE_CHECKING:
    from pipeline.store.queries import Hit

F = Callable[..., Any]


def filter_options(fn: F) -> F:
    for option in reversed(
        [
            source_option(),
            click.option(
                "--since",
                metavar="WHEN",
                help="Published on or after: YYYY-MM-DD, ISO time, or 7d/24h/2w ago.",
            ),
            click.option("--until", metavar="WHEN", help="Published on or before (same forms)."),
            click.option("--language", metavar="CODE", help="Only this language (e.g. en)."),
            click.option("--collapse", is_flag=True, help="Leave out near-duplicates."),
            click.option(
                "--access",
                type=click.Choice(ACCESS_LABELS[:2]),
                help="Only stories with this access label: ok (all there) or paywalled"
                " (cut by a paywall; docs/access.md).",
            ),
        ]
    ):
        fn = option(fn)
    return fn


def _hit_record(hit: Hit) -> dict[str, Any]:
    data = asdict(hit)
    data["snippet"] = plain_snippet(hit.snippet)
    data["rank"] = round(hit.rank, 4)
    return data


@click.command()
@click.argument("query")
@config_options
@filter_options
@click.option(
    "--limit",
    type=click.IntRange(1, 10000),
    default=20,
    show_default=True,
    metavar="N",
    help="At most N matches (1-10000).",
)
@format_options("One JSON object per line (as --nl).")
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
    access: str | None,
    limit: int,
    fmt: str | None,
) -> None:
    """Full-text search of titles and texts, best matches first (bm25).

    QUERY uses SQLite FTS5 syntax: words (all must occur), "a phrase", AND, OR, NOT,
    parentheses, prefix*, title:word.

    On a terminal the matches are a table; piped, they are plain lines (id, date,
    source, title; then the URL and the snippet, indented), never cut short.
    """
    from pipeline.store import Archive, queries

    filters = queries.Filters(sources, since, until, language, collapse=collapse, access=access)
    with Archive.open(resolve_db(config_path, db), readonly=True) as archive:
        hits = queries.search(archive, query, filters, limit)
    if fmt is not None:
        write_records((_hit_record(hit) for hit in hits), "nl" if fmt == "json" else fmt)
        return
    if not hits:
        click.echo("No matches.")
        return
    if not is_terminal():
        for hit in hits:
            date = clean_line(hit.published)[:10] or "-"
            title = clean_line(hit.title) or "(untitled)"
            click.echo(f"{hit.id}  {date}  {clean_line(hit.source)}  {title}")
            click.echo(f"    {clean_line(hit.url)}")
            click.echo(f"    {plain_snippet(hit.snippet)}")
        return
    _search_table(hits)


def _search_table(hits: list[Hit]) -> None:
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    from pipeline.cli.output import snippet_text, stdout

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
    stdout().print(table)


@click.command()
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
    from rich.text import Text

    from pipeline.cli.output import stdout
    from pipeline.export.formats import json_text
    from pipeline.store import Archive, queries

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
        ("access", "access"),
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
    if row.get("standfirst"):
        out.print(Text(clean(row["standfirst"]), style="bold"), soft_wrap=True)
        out.print()
    out.print(Text(clean(row["text"])), soft_wrap=True)


def _stdout_binary() -> IO[bytes]:
    return sys.stdout.buffer


def _export_formats() -> list[str]:
    from pipeline.export.formats import FORMATS

    return list(FORMATS)


def _columns_help() -> str:
    from pipeline.store.queries import ARTICLE_COLUMNS

    return f"jsonl/csv: these columns only (default: all: {', '.join(ARTICLE_COLUMNS)})."


@click.command()
@config_options
@click.option(
    "--format",
    "fmt",
    type=LazyChoice(_export_formats),
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
    cls=LazyHelpOption,
    metavar="A,B,...",
    lazy_help=_columns_help,
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
    access: str | None,
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
           standfirst (the lead under the headline) and a blank line if the story has
           one, then the text exactly.
    md     the same tree, .md, with YAML front matter and the title as a heading.
    warc   the stories' raw captures (request-free response records, byte for byte
           as stored) as one .warc.gz; stories without a capture are left out.
    parquet  OUTPUT/YYYY-MM.parquet, one file per month, in the schema of import-warc
           --cluster's shards (docs/cluster.md); needs the `cluster` extra.

    Re-exporting txt/md into the same directory rewrites only files whose content
    changed; file names are made safe from any title (letters, digits, hyphens).
    """
    from pipeline.export.formats import FORMATS, ExportOptions, export_parquet, export_stream
    from pipeline.export.tree import atomic_file, export_tree
    from pipeline.store import Archive, queries

    chosen = FORMATS[fmt]
    cols: tuple[str, ...] = chosen.columns or queries.ARTICLE_COLUMNS
    if columns:
        cols = tuple(c.strip() for c in columns.split(",") if c.strip())
        if chosen.is_tree or chosen.columns:
            raise UsageError("--columns applies to jsonl and csv only")
    filters = queries.Filters(
        sources, since, until, language, query=query, collapse=collapse, access=access
    )
    with Archive.open(resolve_db(config_path, db), readonly=True) as archive:
        rows = queries.export_rows(archive, filters, columns=cols)
        if fmt == "parquet":
            if output is None or str(output) == "-":
                raise UsageError("--format parquet writes a directory: give it with --output DIR")
            files = export_parquet(rows, output)
            click.echo(
                f"exported {sum(files.values())} stories to {output}/ in {len(files)}"
                " Parquet file(s), one per month",
                err=True,
            )
            return
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


@click.command(context_settings={"help_option_names": ["--help"]})  # -h is --host
@config_options
@click.option(
    "-p",
    "--port",
    type=click.IntRange(0, 65535),
    default=8001,
    show_default=True,
    help="Port to listen on (0: any free port).",
)
@click.option(
    "-h",
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
    stops it. As in datasette, -h is --host and -p is --port (help is --help)."""
    from pipeline.serve import ServeOptions
    from pipeline.serve import serve as run_server

    def ready(url: str) -> None:
        click.echo(f"Serving {url} (read-only; Ctrl-C to stop)", err=True)
        if expose:
            click.echo("newsarchive: warning: reachable from other machines (--expose)", err=True)

    path = resolve_db(config_path, db)
    run_server(ServeOptions(path, host, port, expose, allow_sql), ready)
