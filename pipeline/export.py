"""Export formats: the archive's stories as JSONL, CSV, or a tree of text/Markdown files.

Two kinds of format, in one registry (`FORMATS`) so a new one is one entry:

- stream formats (jsonl, csv) write the rows they are given to one binary stream as
  they come, so an export of any size runs in constant memory;
- tree formats (txt, md) write one file per story, SOURCE/YYYY/MM/slug.EXT under a
  root directory, with a small metadata header.

Every path in a tree comes from `safe_name`: letters, digits and hyphens only, so a
title such as "../../etc/passwd", an absolute path, a Windows device name (CON, NUL…),
a 10,000-character title or a Unicode look-alike of "/" or "." can never lead a file
outside the root. Re-exporting into the same root is idempotent: a file is rewritten
only when its content changed; a manifest (.newsarchive-FORMAT.json) remembers which
story owns which file, so a story keeps its file name across exports and a retitled
story's old file is removed. Two stories with the same slug in the same month: the
one stored first (lower id) gets slug.EXT, the other slug-ID.EXT.
"""

from __future__ import annotations

import csv
import glob
import io
import json
import os
import re
import tempfile
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

from pipeline.errors import CaptureError, ExportError
from pipeline.models import Capture
from pipeline.store.queries import ARTICLE_COLUMNS, CAPTURE_COLUMNS
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
        value = json.dumps(value, ensure_ascii=False)
    text = str(value)
    return guard_formula(text) if guard else text


def write_csv(rows: Iterable[Row], out: IO[bytes], options: ExportOptions) -> int:
    """RFC 4180 CSV (comma, double quotes, CRLF) in UTF-8 with a byte-order mark, which
    is how Excel recognises UTF-8; list columns as JSON arrays."""
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


# --- tree formats --------------------------------------------------------------------

_RESERVED = {
    "con",
    "prn",
    "aux",
    "nul",
    "conin",
    "conout",
    "clock",
    *(f"com{i}" for i in range(10)),
    *(f"lpt{i}" for i in range(10)),
}
MAX_SLUG_CHARS = 80
MAX_SLUG_BYTES = 160  # file systems allow 255 bytes per name; room for -ID.ext


def safe_name(text: str | None, fallback: str) -> str:
    """A file-name component from untrusted text: NFKC-normalised, lower-case letters,
    digits and combining marks of any script, every other run of characters (slashes,
    dots, spaces, controls, bidi and zero-width characters…) one hyphen; at most
    MAX_SLUG_CHARS characters and MAX_SLUG_BYTES bytes; never empty, never a device
    name Windows reserves."""
    value = unicodedata.normalize("NFKC", text or "").lower()
    out: list[str] = []
    for char in value:
        kind = unicodedata.category(char)
        keep = kind[0] in "LN" or (kind in ("Mn", "Mc") and out and out[-1] != "-")
        out.append(char if keep else "-")
    slug = re.sub(r"-{2,}", "-", "".join(out)).strip("-")
    slug = slug[:MAX_SLUG_CHARS]
    while len(slug.encode("utf-8")) > MAX_SLUG_BYTES:
        slug = slug[:-1]
    slug = slug.strip("-")
    if not slug:
        return fallback
    if slug in _RESERVED:
        return f"{slug}-item"
    return slug


def _url_slug(url: str | None) -> str | None:
    if not url:
        return None
    parts = [p for p in urlsplit(url).path.split("/") if p]
    return re.sub(r"\.[a-z0-9]{1,5}$", "", parts[-1], flags=re.I) if parts else None


def article_dir(row: Row) -> str:
    """SOURCE/YYYY/MM of a story (its publication, else fetch date), or SOURCE/undated."""
    source = safe_name(row.get("source"), "unknown-source")
    date = str(row.get("published") or row.get("fetched_at") or "")
    match = re.match(r"(\d{4})-(\d{2})", date)
    if match and 1 <= int(match.group(2)) <= 12:
        return f"{source}/{match.group(1)}/{match.group(2)}"
    return f"{source}/undated"


def article_slug(row: Row) -> str:
    slug = safe_name(row.get("title"), "")
    return slug or safe_name(_url_slug(row.get("url")), f"article-{row.get('id')}")


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


def render_txt(row: Row) -> str:
    """`Key: value` header lines (one line each), a blank line, then the text exactly."""
    lines = [f"{label}: {_one_line(row[key])}" for label, key in _HEADER if row.get(key)]
    return "\n".join(lines) + "\n\n" + str(row.get("text") or "") + "\n"


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
    a heading, then the text exactly."""
    front = [f"{k}: {_yaml_value(row[k])}" for k in _FRONT_MATTER if row.get(k) not in (None, "")]
    title = _one_line(row.get("title") or "")
    heading = f"# {title}\n\n" if title else ""
    return "---\n" + "\n".join(front) + "\n---\n\n" + heading + str(row.get("text") or "") + "\n"


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


# --- writing -------------------------------------------------------------------------


# The names atomic_file's temporary files have (tempfile.mkstemp: 8 random characters).
_LEFTOVER = re.compile(r"\..+\.[a-z0-9_]{8}\.tmp")


def _new_file_mode() -> int:
    """The mode open() gives a new file: 0666 less the umask (mkstemp makes 0600)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def _remove_leftover(path: Path) -> bool:
    """Remove `path` if it is a temporary file a killed export left behind."""
    if not _LEFTOVER.fullmatch(path.name) or path.is_symlink() or not path.is_file():
        return False
    path.unlink(missing_ok=True)
    return True


@contextmanager
def atomic_file(path: Path, *, tidy: bool = True) -> Iterator[IO[bytes]]:
    """A file that appears at `path` complete, or not at all, with the mode the umask
    gives. With `tidy`, temporary files of `path` that a killed export left are
    removed first."""
    if path.is_dir():
        raise ExportError(f"{path} is a directory; give a file name")
    directory = path.parent
    try:
        directory.mkdir(parents=True, exist_ok=True)
        if tidy:
            for old in directory.glob(f".{glob.escape(path.name)}.*.tmp"):
                _remove_leftover(old)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
        os.fchmod(fd, _new_file_mode())
    except OSError as exc:
        raise ExportError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as out:
            yield out
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def export_stream(rows: Iterable[Row], fmt: Format, out: IO[bytes], options: ExportOptions) -> int:
    if fmt.write is None:
        raise ExportError(f"{fmt.name} writes a directory tree, not a stream")
    return fmt.write(rows, out, options)


@dataclass
class TreeReport:
    articles: int = 0
    written: int = 0
    unchanged: int = 0
    removed: int = 0


class _Tree:
    """One export root: the manifest, path assignment, safe writes."""

    def __init__(self, root: Path, fmt: Format) -> None:
        if root.exists() and not root.is_dir():
            raise ExportError(f"{root} exists and is not a directory")
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ExportError(f"cannot create {root}: {exc.strerror or exc}") from None
        self.root = root
        self.real = root.resolve()
        self.fmt = fmt
        self.manifest_path = root / f".newsarchive-{fmt.name}.json"
        self.paths: dict[int, str] = self._load_manifest()
        self.owner: dict[str, int] = {p: i for i, p in self.paths.items()}
        self.made: set[Path] = set()  # directories checked and made in this export
        self.tidy()

    def tidy(self) -> int:
        """Remove the temporary files a killed export left in the tree."""
        removed = 0
        for directory, _dirs, files in os.walk(self.root):  # links are not followed
            removed += sum(_remove_leftover(Path(directory, name)) for name in files)
        return removed

    def _load_manifest(self) -> dict[int, str]:
        try:
            data = json.loads(self.manifest_path.read_text("utf-8"))
            entries = data["articles"]
            return {int(k): str(v) for k, v in entries.items() if self._inside(str(v))}
        except FileNotFoundError:
            return {}
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return {}  # unreadable: start afresh; files are compared by content anyway

    def _inside(self, relative: str) -> bool:
        """Whether a manifest path is one this exporter could have made (no escape)."""
        parts = relative.split("/")
        return all(re.fullmatch(r"[^/\\.\x00][^/\\\x00]*", p) for p in parts) and len(parts) <= 5

    def save_manifest(self) -> None:
        data = {
            "format": self.fmt.name,
            "version": 1,
            "articles": {str(k): v for k, v in sorted(self.paths.items())},
        }
        with atomic_file(self.manifest_path) as out:
            out.write(json.dumps(data, ensure_ascii=False, indent=0).encode("utf-8"))

    def place(self, row: Row) -> str:
        article_id = int(row["id"])
        base = f"{article_dir(row)}/{article_slug(row)}"
        candidate = base + self.fmt.suffix
        number = 0
        while self.owner.get(candidate, article_id) != article_id:
            number += 1
            tail = f"-{article_id}" if number == 1 else f"-{article_id}-{number}"
            candidate = base + tail + self.fmt.suffix
        return candidate

    def _target(self, relative: str) -> Path:
        """The file's path, its directories made one by one under the root: a symbolic
        link (or a file) on the way is refused before anything is created through it."""
        directory = self.root
        for part in relative.split("/")[:-1]:
            directory = directory / part
            if directory in self.made:
                continue
            if directory.is_symlink() or (directory.exists() and not directory.is_dir()):
                raise ExportError(f"{directory} is in the way (a symbolic link or a file)")
            try:
                directory.mkdir(exist_ok=True)
            except OSError as exc:
                raise ExportError(f"cannot create {directory}: {exc.strerror or exc}") from None
            self.made.add(directory)
        return self.root / relative

    def remove(self, relative: str) -> bool:
        target = self.root / relative
        if target.is_symlink() or not target.is_file():
            return False
        if not target.parent.resolve().is_relative_to(self.real):  # a link on the way
            return False
        target.unlink()
        return True

    def write(self, row: Row, report: TreeReport) -> None:
        if self.fmt.render is None:
            raise ExportError(f"{self.fmt.name} is not a tree format")
        article_id = int(row["id"])
        relative = self.place(row)
        old = self.paths.get(article_id)
        if old is not None and old != relative:
            self.owner.pop(old, None)
            if self.remove(old):
                report.removed += 1
        self.paths[article_id] = relative
        self.owner[relative] = article_id
        data = self.fmt.render(row).encode("utf-8")
        target = self._target(relative)
        report.articles += 1
        if not target.is_symlink() and target.is_file():
            try:
                if target.stat().st_size == len(data) and target.read_bytes() == data:
                    report.unchanged += 1
                    return
            except OSError:
                pass
        try:
            with atomic_file(target, tidy=False) as out:
                out.write(data)
        except OSError as exc:
            raise ExportError(f"cannot write {target}: {exc.strerror or exc}") from None
        report.written += 1


def export_tree(rows: Iterable[Row], fmt: Format, root: Path) -> TreeReport:
    """Write one file per story under `root` (see the module's docstring). The rows
    should come in id order, which makes the names independent of export history."""
    if fmt.render is None:
        raise ExportError(f"{fmt.name} is a stream format, not a directory tree")
    tree = _Tree(root, fmt)
    report = TreeReport()
    try:
        for row in rows:
            tree.write(row, report)
    finally:
        tree.save_manifest()
    return report


def export_parquet(rows: Iterable[Row], root: Path) -> dict[str, int]:
    """Stories as monthly Parquet files under `root` (see warc.shards.write_monthly)."""
    try:
        from pipeline.warc.shards import write_monthly
    except ImportError as exc:
        needs = f"--format parquet needs {exc.name}: pip install 'newsarchive[cluster]'"
        raise ExportError(needs) from None
    return write_monthly(rows, root)
