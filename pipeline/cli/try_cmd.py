"""`newsarchive try URL`: what the archive would keep of one page, and why. Writes
nothing (see jobs/preview.py)."""

from __future__ import annotations

import sys
from collections import defaultdict
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from rich.console import Console

    from pipeline.config.loader import Config
    from pipeline.jobs import preview

from pipeline.cli.options import EXIT_FAILED, config_options, fail, guarded, resolve_db
from pipeline.cli.output import clean, clean_line, stdout
from pipeline.errors import FetchError, UsageError
from pipeline.extract.explain import BOILERPLATE, DROP, LINES, PRECLEAN

_STEPS = (
    (DROP, "Removed by the source's drop selectors"),
    (PRECLEAN, "Removed by pre-cleaning (before text extraction)"),
    (LINES, "Removed by the line rules (after text extraction)"),
    (BOILERPLATE, "Removed as the source's learnt boilerplate"),
)
_SHOWN = 240  # characters of each removed text shown (--json has all of it)


def _short(text: str) -> str:
    text = clean_line(text)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 1] + "…"


def _json(result: preview.Preview) -> dict[str, Any]:
    article = None
    if result.article is not None:
        article = {k: v for k, v in asdict(result.article).items() if k != "minhash"}
    why = result.explanation
    return {
        "url": result.url,
        "source": result.source,
        "from": result.origin,
        "article": article,
        "verdict": why.verdict or None,
        "access": why.access,
        "access_reason": why.access_reason or None,
        "metadata": [asdict(o) for o in why.metadata],
        "removed": [asdict(r) for r in why.removed],
        "boilerplate_lines": result.boilerplate_lines,
        "written": False,
    }


def _render(out: Console, result: preview.Preview) -> None:
    from rich.table import Table
    from rich.text import Text

    from pipeline.extract.explain import DROP

    why = result.explanation
    article = result.article
    out.print(Text(clean_line(article.title if article else "") or "(untitled)", style="bold"))
    out.print(
        Text(
            f"{clean_line(result.url)}  ({clean_line(result.origin)};"
            f" source: {clean_line(result.source or 'none, default settings')})",
            style="dim",
        ),
        soft_wrap=True,
    )
    access = f"Access: {why.access}" + (f" ({why.access_reason})" if why.access_reason else "")
    out.print(Text(access, style="bold" if why.access != "ok" else ""), soft_wrap=True)
    if article is None:
        verdict = why.verdict or "not an article"
        out.print(Text(f"Not kept: {verdict}", style="bold red"), soft_wrap=True)
    terminal = out.is_terminal
    out.print()
    out.print(Text("Metadata, and where it came from", style="bold underline"))
    if terminal:
        table = Table(show_header=True, box=None, pad_edge=False)
        for column in ("field", "value", "from"):
            table.add_column(column, overflow="fold")
        for o in why.metadata:
            table.add_row(o.field, Text(_short(o.value)), Text(o.origin, style="cyan"))
        out.print(table)
    else:
        for o in why.metadata:
            out.print(
                Text.assemble(f"  {o.field}: {_short(o.value)}  ", (f"(from {o.origin})", "cyan")),
                soft_wrap=True,
            )
    if not why.metadata:
        out.print("  (none found)")
    by_step: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for removed in why.removed:
        by_step[removed.step].append((removed.rule, removed.text))
    for step, heading in _STEPS:
        items = by_step.get(step, [])
        if not items and step != DROP:
            continue
        out.print()
        out.print(Text(f"{heading} ({len(items)})", style="bold underline"))
        if not items:
            out.print("  (nothing)")
        for rule, text in items:
            out.print(
                Text.assemble(("  - ", "dim"), (f"{rule}: ", "yellow"), _short(text)),
                soft_wrap=True,
            )
    if article is not None:
        out.print()
        out.print(Text(f"Text kept ({len(article.text)} characters)", style="bold underline"))
        out.print(Text(clean(article.text)), soft_wrap=True)
    out.print()
    out.print(Text("Nothing was written to the archive.", style="dim"))


def _config(config_path: Path) -> Config | None:
    from pipeline.config.loader import load

    return load(config_path) if config_path.exists() else None


@click.command("try")
@click.argument("url", required=False)
@config_options
@click.option(
    "--source", "source_name", metavar="NAME", help="Extract with this source's settings."
)
@click.option(
    "--html",
    "html_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Read the page from this saved file (URL is still its address).",
)
@click.option(
    "--id",
    "article_id",
    type=click.IntRange(min=1),
    metavar="N",
    help="Use story N's stored capture, offline (no URL needed).",
)
@click.option("--json", "as_json", is_flag=True, help="The whole explanation as JSON.")
@guarded
def try_command(
    url: str | None,
    config_path: Path,
    db: Path | None,
    source_name: str | None,
    html_file: Path | None,
    article_id: int | None,
    as_json: bool,
) -> None:
    """What the archive would keep of one page, and why: the metadata and where each
    value came from, the text, and what each rule removed (each `drop` selector with
    the text it took, pre-cleaning, line rules, learnt boilerplate lines).

    The page is fetched politely (robots.txt, the address policy), or read from a
    saved file with --html, or from a stored story's capture with --id. Nothing is
    written to the archive."""
    from pipeline.export.formats import json_text
    from pipeline.jobs import preview
    from pipeline.store import Archive

    if html_file is not None and article_id is not None:
        raise UsageError("give --html or --id, not both")
    config = _config(config_path)
    path = resolve_db(config_path, db)
    if article_id is not None:
        with Archive.open(path, readonly=True) as archive:
            result = preview.from_capture(config, archive, article_id, source_name)
    elif url is None:
        raise UsageError("give the page's URL (with --html FILE: the address it was saved from)")
    else:
        source = preview.pick_source(config, source_name, url)
        keys = frozenset[str]()
        if source is not None and path.exists():
            with Archive.open(path, readonly=True) as archive:
                keys = preview.learnt(archive, source)
        if html_file is not None:
            result = preview.from_file(source, url, html_file, keys)
        else:
            try:
                result = preview.from_network(config, source, url, keys)
            except FetchError as exc:
                fail(f"cannot fetch {clean_line(exc.url)}: {clean_line(exc.reason)}", EXIT_FAILED)
                return
    if as_json:
        click.echo(json_text(_json(result), indent=2))
    else:
        _render(stdout(), result)
    if result.article is None:
        sys.exit(1)
