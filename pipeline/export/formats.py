"""Export formats: what each writes, in one registry (`FORMATS`) so a new one is one entry.

Two kinds of format:

- stream formats (jsonl, csv, warc) write the rows they are given to one binary stream
  as they come, so an export of any size runs in constant memory;
- tree formats (txt, md) render one file per story (`render_txt`, `render_md`: a small
  metadata header, then the text); tree.py lays the files out under a root directory.

Parquet writes monthly files under a directory (warc/shards.py).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from pipeline.errors import CaptureError, ExportError
from pipeline.models import Capture
from pipeline.store.queries import ARTICLE_COLUMNS, CAPTURE_COLUMNS
from pipeline.text import story_text
from pipeline.warc.capture import record_bytes, warcinfo

Row = dict[str, Any]

# --- stream formats ------------------------------------------------------------------

# Characters JSON leaves raw but that do harm raw: line separators str.splitlines() and
# some JSONL readers split on, C1 controls (U+009B is a terminal's CSI), bidirectional
# overrides and isolates (they disguise text on screen), and lone surrogates (not
# encodable as UTF-8). Escaped as \uXXXX they decode to the very same string.
_JSON_UNSAFE_RE = re.compile("[\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def json_text(value: object, indent: int | None = None) -> str:
    """`value` as JSON that is safe to print and to split into lines, losing nothing."""
    text = json.dumps(value, ensure_ascii=False, indent=indent)
    return _JSON_UNSAFE_RE.sub(lambda m: f"\\u{ord(m.group(0)):04x}", text)


def jsonl_line(row: Row) -> str:
    return json_text(row) + "\n"


def write_jsonl(rows: Iterable[Row], out: IO[bytes], options: ExportOptions) -> int:
    count = 0
    for row in rows:
        out.write(jsonl_line(row).encode("utf-8"))
        count += 1
    return count


# A cell a spreadsheet would read as a formula (OWASP "CSV injection"): it starts with
# one of = + - @ tab CR, possibly after apostrophes (so that the guard is reversible:
# strip one leading apostrophe from a cell matching this to get the value back).
_FORMULA = re.compile(r"'*[=+\-@\t\r]")


def guard_formula(value: str) -> str:
    return "'" + value if _FORMULA.match(value) else value


def unguard_formula(value: str) -> str:
    """The inverse of `guard_formula`."""
    return value[1:] if value.startswith("'") and _FORMULA.match(value[1:]) else value


def _csv_cell(value: Any, guard: bool) -> str | int | float:
    if value is None:
        return ""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float):
        return value
    if isinstance(value, list | dict):
        value = json_text(value)  # the same JSON; bidi controls and LS/PS \u-escaped
    text = str(value)
    return guard_formula(text) if guard else text


def write_csv(rows: Iterable[Row], out: IO[bytes], options: ExportOptions) -> int:
    """RFC 4180 CSV (comma, double quotes, CRLF) in UTF-8 with a byte-order mark, which
    is how Excel recognises UTF-8; list columns as JSON arrays (json_text, as in jsonl)."""
    text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="", write_through=True)
    count = 0
    try:
        writer = csv.writer(text, dialect="excel", quoting=csv.QUOTE_MINIMAL)
        writer.writerow(options.columns)
        for row in rows:
            writer.writerow([_csv_cell(row.get(c), options.formula_guard) for c in options.columns])
            count += 1
        text.flush()
    finally:
        text.detach()
    return count


# --- tree formats: what each file says ---------------------------------------------

_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def _one_line(value: Any) -> str:
    """A header value on one line, control characters (escape sequences) removed."""
    if isinstance(value, list):
        value = ", ".join(str(v) for v in value)
    return " ".join(_CONTROL.sub(" ", str(value)).split())


_HEADER = (
    ("Title", "title"),
    ("Source", "source"),
    ("URL", "url"),
    ("Published", "published"),
    ("Author", "author"),
    ("Language", "language"),
    ("Site", "sitename"),
    ("Tags", "tags"),
    ("Archive-ID", "id"),
    ("Fetched", "fetched_at"),
)


def _story(row: Row) -> str:
    """The story's whole text: its standfirst, a blank line, its body (text.story_text)."""
    return story_text(row.get("standfirst"), str(row.get("text") or ""))


def render_txt(row: Row) -> str:
    """`Key: value` header lines (one line each), a blank line, then the story: its
    standfirst, if it has one, and its text, exactly."""
    lines = [f"{label}: {_one_line(row[key])}" for label, key in _HEADER if row.get(key)]
    return "\n".join(lines) + "\n\n" + _story(row) + "\n"


# YAML double-quoted scalars: characters to escape so that any string loads back
# exactly (line breaks would be folded, non-printables are refused).
_YAML_ESCAPE = re.compile('[\\\\"\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff]')
_YAML_NAMED = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def yaml_quote(value: str) -> str:
    def escape(match: re.Match[str]) -> str:
        char = match.group(0)
        return _YAML_NAMED.get(char) or (
            f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}"
        )

    return '"' + _YAML_ESCAPE.sub(escape, value) + '"'


_FRONT_MATTER = (
    "title",
    "source",
    "url",
    "canonical_url",
    "published",
    "author",
    "language",
    "sitename",
    "description",
    "standfirst",
    "tags",
    "id",
    "fetched_at",
)


def _yaml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(yaml_quote(str(v)) for v in value) + "]"
    return yaml_quote(str(value))


def render_md(row: Row) -> str:
    """YAML front matter (every value quoted, so it loads back exactly), the title as
    a heading, then the story: its standfirst, if it has one, and its text, exactly."""
    front = [f"{k}: {_yaml_value(row[k])}" for k in _FRONT_MATTER if row.get(k) not in (None, "")]
    title = _one_line(row.get("title") or "")
    heading = f"# {title}\n\n" if title else ""
    return "---\n" + "\n".join(front) + "\n---\n\n" + heading + _story(row) + "\n"


def write_warc(rows: Iterable[Row], out: IO[bytes], options: ExportOptions) -> int:
    """The response records of the selected stories, copied byte for byte (each is a
    complete gzip member) after a warcinfo record: a valid .warc.gz. Stories without a
    capture are left out."""
    if options.root is None:
        raise ExportError("warc export needs the archive's directory")
    warcinfo(out, "newsarchive-export.warc.gz")
    count = 0
    for row in rows:
        if not row.get("warc_file"):
            continue
        try:
            data = record_bytes(
                options.root,
                Capture(row["warc_file"], int(row["warc_offset"]), int(row["warc_length"])),
            )
        except CaptureError as exc:
            raise ExportError(f"story {row.get('id')}: {exc}") from None
        out.write(data)
        count += 1
    return count


# See warc/shards.py: the shard schema (version 1) has no access label.
PARQUET_COLUMNS = (*(c for c in ARTICLE_COLUMNS if c != "access"), "minhash", *CAPTURE_COLUMNS)


# --- the registry --------------------------------------------------------------------

StreamWriter = Callable[[Iterable[Row], IO[bytes], "ExportOptions"], int]


@dataclass(frozen=True, slots=True)
class ExportOptions:
    columns: tuple[str, ...]
    formula_guard: bool = True  # csv: neutralise cells a spreadsheet would run
    root: Path | None = None  # warc: the archive's directory (captures are relative to it)


@dataclass(frozen=True, slots=True)
class Format:
    name: str
    help: str
    write: StreamWriter | None = None  # a stream format
    render: Callable[[Row], str] | None = None  # a tree format: one file per story
    suffix: str = ""
    columns: tuple[str, ...] | None = None  # the columns the format needs, if fixed

    @property
    def is_tree(self) -> bool:
        return self.render is not None


FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        Format("jsonl", "one JSON object per line (UTF-8)", write=write_jsonl),
        Format("csv", "CSV for spreadsheets (UTF-8 with BOM)", write=write_csv),
        Format("txt", "one text file per story with a header", render=render_txt, suffix=".txt"),
        Format(
            "md", "one Markdown file per story, YAML front matter", render=render_md, suffix=".md"
        ),
        Format(
            "warc",
            "the stories' raw captures as one WARC file (gzip)",
            write=write_warc,
            columns=("id", "url", "warc_file", "warc_offset", "warc_length"),
        ),
        Format("parquet", "monthly Parquet files under --output DIR", columns=PARQUET_COLUMNS),
    )
}


def export_stream(rows: Iterable[Row], fmt: Format, out: IO[bytes], options: ExportOptions) -> int:
    if fmt.write is None:
        raise ExportError(f"{fmt.name} writes a directory tree, not a stream")
    return fmt.write(rows, out, options)


def export_parquet(rows: Iterable[Row], root: Path) -> dict[str, int]:
    """Stories as monthly Parquet files under `root` (see warc.shards.write_monthly)."""
    try:
        from pipeline.warc.shards import write_monthly
    except ImportError as exc:
        needs = f"--format parquet needs {exc.name}: pip install 'newsarchive[cluster]'"
        raise ExportError(needs) from None
    return write_monthly(rows, root)
