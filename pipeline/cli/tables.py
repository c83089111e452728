"""Rows for people and for programs: plain aligned lines when stdout is not a terminal
(pipes, cron mail: never truncated, never wrapped), and the machine formats that
sqlite-utils users know (--nl, --csv, --tsv; --json is each command's own)."""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pipeline.cli.output import clean_line


def is_terminal() -> bool:
    return sys.stdout.isatty()


def plain_table(
    headers: Sequence[str], rows: Iterable[Sequence[object]], right: Iterable[str] = ()
) -> list[str]:
    """Columns padded to their widest cell, two spaces apart: every cell whole."""
    aligned = set(right)
    cells = [list(headers)] + [[clean_line(v) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = []
    for row in cells:
        parts = [
            cell.rjust(width) if head in aligned else cell.ljust(width)
            for head, cell, width in zip(headers, row, widths, strict=True)
        ]
        lines.append("  ".join(parts).rstrip())
    return lines


def _cell(value: Any) -> str:
    from pipeline.export.formats import guard_formula, json_text

    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple | dict):
        value = json_text(value)
    # Titles and snippets come from the web: a cell starting with = + - @ is not run
    # as a formula by a spreadsheet (as `export --format csv` does it).
    return guard_formula(str(value)) if isinstance(value, str) else str(value)


def write_records(
    records: Iterable[Mapping[str, Any]], fmt: str, columns: Sequence[str] | None = None
) -> None:
    """`records` on stdout as newline-delimited JSON ("nl"), "csv" or "tsv"."""
    from pipeline.export.formats import json_text

    out = sys.stdout
    if fmt == "nl":
        for record in records:
            out.write(json_text(dict(record)) + "\n")
        return
    rows = list(records)
    heads = list(columns) if columns is not None else (list(rows[0]) if rows else [])
    writer = csv.writer(out, dialect="excel-tab" if fmt == "tsv" else "excel", lineterminator="\n")
    writer.writerow(heads)
    for record in rows:
        writer.writerow([_cell(record.get(head)) for head in heads])
