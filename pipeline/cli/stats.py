"""`newsarchive stats`: the archive as a whole, and every configured source's health,
including the sources that never stored a story."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from pipeline.cli.options import config_options, format_options, guarded, resolve_db
from pipeline.cli.output import clean_line
from pipeline.cli.tables import is_terminal, plain_table, write_records

if TYPE_CHECKING:
    from pipeline.config.loader import Config
    from pipeline.store.health import SourceHealth
    from pipeline.store.stats import SourceStats

HEADS = ("source", "stories", "24h", "7d", "last new", "dup", "pend", "retry", "fail", "skip")
LEFT = ("source", "last new", "health")
EMPTY = "The archive is empty: run `newsarchive run` first."


def _record(s: SourceStats, h: SourceHealth | None, warc_dir: Path) -> dict[str, Any]:
    return {
        **asdict(s),
        "warc_dir": str(warc_dir),
        "healthy": h.healthy if h else True,
        "flags": h.flags if h else [],
        "reasons": h.reasons if h else [],
        "last_run": h.last_run if h else None,
        "last_error": h.last_error if h else None,
    }


def _state(s: SourceStats, h: SourceHealth | None) -> str:
    if h and h.flags:
        return ", ".join(h.flags)
    if h and h.last_run is None and not s.articles:
        return "never run"
    return "ok"


@click.command()
@config_options
@format_options(
    'One object keyed by source: its counts, "months" (YYYY-MM: stories) and its health '
    '("healthy", "flags", "reasons", "last_run", "last_error").'
)
@guarded
def stats(config_path: Path, db: Path | None, fmt: str | None) -> None:
    """The archive as a whole: stories per source (new in the last 24 h and 7 days,
    duplicates, the URL frontier, source health) and per month.

    Every source of the config appears, also one that never stored a story, with its
    health flags and the error of its latest run. --nl, --csv and --tsv give one record
    per source; piped without them, the tables are plain, never-truncated lines."""
    from pipeline.store import Archive
    from pipeline.store import stats as store_stats
    from pipeline.store.health import health

    now = datetime.now(UTC)
    with Archive.open(resolve_db(config_path, db), readonly=True) as archive:
        config = _config(config_path)
        per_source = store_stats.stats(archive, now)
        for name in _configured(config, archive.path):
            per_source.setdefault(name, store_stats.SourceStats(name))
        per_source = dict(sorted(per_source.items()))
        checked = health(archive, list(per_source), now)
        runs = store_stats.recent_runs(archive, 1)
        warc_dir = config.warc_dir(archive.path) if config else archive.path.parent / "warc"
    records = {name: _record(s, checked.get(name), warc_dir) for name, s in per_source.items()}
    if fmt == "json":
        from pipeline.export.formats import json_text

        click.echo(json_text(records, indent=2))
        return
    if fmt is not None:
        write_records(records.values(), fmt)
        return
    if not runs and not any(s.articles for s in per_source.values()):
        click.echo(EMPTY)
        return
    rows = []
    for s in per_source.values():
        counts = (s.articles, s.new_24h or 0, s.new_7d or 0)
        rest = (s.duplicates, s.pending, s.retrying, s.failed, s.skipped)
        last = (s.last_new or "-").replace("T", " ")[:16]
        rows.append([s.name, *counts, last, *rest, _state(s, checked.get(s.name))])
    total = [sum(int(r[i]) for r in rows) for i in (*range(1, 4), *range(5, 10))]
    total_row = ["all", *total[:3], "", *total[3:], ""] if len(rows) > 1 else None
    notes = []
    for name, h in checked.items():
        for reason in h.reasons:
            notes.append((name, reason))
        if h.last_error and not h.flags:
            notes.append((name, f"its latest run failed: {h.last_error}"))
    by_month = store_stats.months(per_source)
    warc_on_disk = (
        sum(f.stat().st_size for f in warc_dir.glob("*.warc*")) if warc_dir.is_dir() else 0
    )
    text_bytes = sum(s.text_bytes for s in per_source.values())
    capture_bytes = sum(s.capture_bytes for s in per_source.values())
    footer = [
        f"Stored: {_size(text_bytes)} of text (revisions included), "
        f"{_size(capture_bytes)} of compressed captures"
        + (f"; {_size(warc_on_disk)} of WARC files in {warc_dir}" if warc_on_disk else "")
    ]
    if runs:
        r = runs[0]
        footer.append(
            f"Last run: #{r['id']} started {r['started_at']}, {r['status']}"
            f" (exit {r['exit_code'] if r['exit_code'] is not None else '-'}):"
            f" {r['articles_new'] or 0} new, {r['failed'] or 0} failed."
        )
    if is_terminal():
        _rich(rows, total_row, notes, by_month, footer)
        return
    right = [h for h in HEADS if h not in LEFT]
    lines = ["Stories per source"]
    lines += plain_table((*HEADS, "health"), [*rows, total_row] if total_row else rows, right)
    lines += [f"{clean_line(name)}: {clean_line(note)}" for name, note in notes]
    if by_month:
        lines += ["", "Stories per month (by date published)"]
        lines += plain_table(("month", "stories"), by_month.items(), ["stories"])
    for line in [*lines, "", *footer]:
        click.echo(line)


def _rich(
    rows: list[list[Any]],
    total_row: list[Any] | None,
    notes: list[tuple[str, str]],
    by_month: dict[str, int],
    footer: list[str],
) -> None:
    from rich.table import Table
    from rich.text import Text

    from pipeline.cli.output import stdout

    out = stdout()
    table = Table(title="Stories per source", title_justify="left")
    for column in (*HEADS, "health"):
        table.add_column(column, justify="left" if column in LEFT else "right")
    for row in rows:
        state = row[-1]
        style = "red" if state not in ("ok", "never run") else ""
        table.add_row(Text(clean_line(row[0])), *map(str, row[1:-1]), Text(state, style=style))
    if total_row:
        table.add_section()
        table.add_row(*map(str, total_row))
    out.print(table)
    for name, note in notes:
        out.print(Text.assemble((f"{clean_line(name)}: ", "red"), clean_line(note)))
    if by_month:
        months = Table(title="Stories per month (by date published)", title_justify="left")
        months.add_column("month")
        months.add_column("stories", justify="right")
        months.add_column("")
        most = max(by_month.values())
        for month, count in by_month.items():
            months.add_row(Text(clean_line(month) or "?"), str(count), _bar(count, most))
        out.print(months)
    for line in footer:
        out.print(line)


def _bar(count: int, most: int, width: int = 20) -> str:
    return "█" * max(1, round(width * count / most)) if count and most else ""


def _size(count: int) -> str:
    value = float(count)
    for unit in ("bytes", "KB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} TB"


def _configured(config: Config | None, archive: Path) -> list[str]:
    """The config's sources, when the config is about this archive: given with
    --config, or naming this archive as its `archive` (not a sources.yaml that merely
    sits in the current directory while --db points elsewhere)."""
    if config is None:
        return []
    explicit = click.get_current_context().get_parameter_source("config_path")
    if explicit is click.core.ParameterSource.DEFAULT and not _same(config.archive, archive):
        return []
    return [s.name for s in config.sources]


def _same(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


def _config(config_path: Path) -> Config | None:
    """The config when there is one: it names the sources and the WARC directory."""
    if not config_path.exists():
        return None
    from pipeline.config.loader import load

    return load(config_path)
