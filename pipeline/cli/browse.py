"""Reading the archive: `search`, `show`, `stats`."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from rich.console import Group
from rich.table import Table
from rich.text import Text

from ..store import Archive, queries
from .app import cli, config_options, guarded, resolve_db
from .output import clean, clean_line, plain_snippet, snippet_text, stdout


def _filters(
    sources: tuple[str, ...],
    since: str | None,
    until: str | None,
    language: str | None,
    query: str | None = None,
    collapse: bool = False,
) -> queries.Filters:
    return queries.Filters(
        sources=sources, since=since, until=until, language=language, query=query, collapse=collapse
    )


def filter_options(fn: Any) -> Any:
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
        ]
    ):
        fn = option(fn)
    return fn


@cli.command()
@click.argument("query")
@config_options
@filter_options
@click.option("--limit", type=click.IntRange(1, 10000), default=20, show_default=True)
@click.option("--collapse", is_flag=True, help="Hide near-duplicates of stories listed.")
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
    limit: int,
    collapse: bool,
    as_json: bool,
) -> None:
    """Full-text search (FTS5 syntax: words, "a phrase", AND, OR, NOT, prefix*),
    best matches first."""
    with Archive.open(resolve_db(config_path, db), readonly=True) as archive:
        hits = queries.search(
            archive, query, _filters(sources, since, until, language, collapse=collapse), limit
        )
    if as_json:
        for hit in hits:
            data = asdict(hit)
            data["snippet"] = plain_snippet(hit.snippet)
            data["rank"] = round(hit.rank, 4)
            click.echo(json.dumps(data, ensure_ascii=False))
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
        table.add_row(str(hit.id), (hit.published or "")[:10], hit.source, Group(title, body))
    out.print(table)


def _escape(text: str) -> str:
    return text.replace("[", r"\[")


@cli.command()
@click.argument("id_or_url")
@config_options
@click.option("--json", "as_json", is_flag=True, help="The article as JSON.")
@guarded
def show(id_or_url: str, config_path: Path, db: Path | None, as_json: bool) -> None:
    """One article: its metadata and text (by id, URL or canonical URL)."""
    with Archive.open(resolve_db(config_path, db), readonly=True) as archive:
        row = queries.article(archive, id_or_url)
    if row is None:
        click.echo(f"newsarchive: error: no article {id_or_url!r} in the archive", err=True)
        sys.exit(1)
    if as_json:
        click.echo(json.dumps(row, ensure_ascii=False, indent=2))
        return
    out = stdout()
    out.print(f"[bold]{_escape(clean_line(row['title']) or '(untitled)')}[/bold]")
    for label, key in (
        ("source", "source"),
        ("url", "url"),
        ("author", "author"),
        ("published", "published"),
        ("language", "language"),
        ("site", "sitename"),
        ("fetched", "fetched_at"),
        ("tags", "tags"),
    ):
        value = row[key]
        if value:
            value = ", ".join(value) if isinstance(value, list) else value
            out.print(f"[dim]{label:>9}:[/dim] {_escape(clean_line(value))}")
    extra = []
    if row["revision"] and row["revision"] > 1:
        extra.append(f"revision {row['revision']} ({len(row['revisions'])} earlier)")
    if row["duplicates"]:
        extra.append(f"{len(row['duplicates'])} duplicate copies")
    if row["near_duplicate_of"]:
        extra.append(f"near-duplicate of #{row['near_duplicate_of']}")
    if extra:
        out.print(f"[dim]{'notes':>9}:[/dim] " + "; ".join(extra))
    out.print()
    out.print(_escape(clean(row["text"])), soft_wrap=True)


@cli.command()
@config_options
@click.option("--json", "as_json", is_flag=True, help="JSON for scripts.")
@guarded
def stats(config_path: Path, db: Path | None, as_json: bool) -> None:
    """Counts per source: stories, new in the last 24 h / 7 days, frontier, by month."""
    with Archive.open(resolve_db(config_path, db), readonly=True) as archive:
        per_source = queries.stats(archive, datetime.now(UTC))
    if as_json:
        click.echo(
            json.dumps(
                {name: asdict(s) for name, s in per_source.items()}, ensure_ascii=False, indent=2
            )
        )
        return
    out = stdout()
    table = Table(title="Archive")
    for column in (
        "source",
        "articles",
        "24 h",
        "7 days",
        "last new",
        "duplicates",
        "pending",
        "retrying",
        "failed",
        "skipped",
    ):
        table.add_column(column, justify="left" if column in ("source", "last new") else "right")
    for s in per_source.values():
        table.add_row(
            s.name,
            str(s.articles),
            str(s.new_24h or 0),
            str(s.new_7d or 0),
            s.last_new or "-",
            str(s.duplicates),
            str(s.pending),
            str(s.retrying),
            str(s.failed),
            str(s.skipped),
        )
    out.print(table)
