"""Parquet shards of stories: what `import-warc --cluster` tasks send back to the
writer, and what `export --format parquet` writes. One schema for both (see
docs/cluster.md): columns an import task cannot know (the archive's id, revision,
near-duplicate) are null in its shards; columns of the import (status, reason,
input, record_offset) say `exported` and null in an export.

A shard is written under a temporary name in its directory and renamed when complete,
so a shard file that exists is whole. Rows are written in row groups as they come,
so a shard of any size is written in bounded memory. Needs pyarrow (the `cluster`
extra); nothing on the embedded path imports this module.
"""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline import __version__
from pipeline.errors import ExportError, ShardError
from pipeline.models import Article, story_columns

SCHEMA_VERSION = "1"
_TEXT = pa.string()
_LIST = pa.list_(pa.string())
SCHEMA = pa.schema(
    [
        ("id", pa.int64()),  # export: the archive's id; import: null
        ("url", _TEXT),  # the address the page was fetched from
        ("canonical_url", _TEXT),
        ("source", _TEXT),
        ("title", _TEXT),
        ("author", _TEXT),  # the people credited, "A; B" (agencies when no person)
        ("authors", _LIST),
        ("agencies", _LIST),
        ("published", _TEXT),  # ISO 8601
        ("modified", _TEXT),
        ("language", _TEXT),
        ("sitename", _TEXT),
        ("description", _TEXT),
        ("standfirst", _TEXT),  # the lead under the headline (absent from older shards)
        ("tags", _LIST),
        ("image", _TEXT),
        ("text", _TEXT),  # paragraphs separated by a blank line
        ("word_count", pa.int64()),
        ("content_hash", _TEXT),
        ("minhash", pa.binary()),  # the MinHash signature (see pipeline.text)
        ("fetched_at", _TEXT),  # ISO 8601 UTC (import: the record's WARC-Date)
        ("updated_at", _TEXT),
        ("revision", pa.int64()),
        ("near_duplicate_of", pa.int64()),
        ("warc_file", _TEXT),  # the capture (import: relative to the shard's directory)
        ("warc_offset", pa.int64()),
        ("warc_length", pa.int64()),
        ("status", _TEXT),  # import: article, skipped, failed; export: exported
        ("reason", _TEXT),  # why skipped or failed
        ("input", _TEXT),  # import: the input file the record came from
        ("record_offset", pa.int64()),  # import: the record's offset in it
    ]
)
COLUMNS: tuple[str, ...] = tuple(SCHEMA.names)
ROW_GROUP = 2000  # rows per row group


def story_row(art: Article) -> dict[str, Any]:
    """The columns that come from extraction, as the archive stores them
    (models.story_columns: `modified` in UTC)."""
    return {"url": art.url, "canonical_url": art.canonical_url, **story_columns(art)}


def article_of(row: dict[str, Any]) -> Article:
    """The Article a shard row holds (status `article`)."""
    return Article(
        url=row["url"],
        canonical_url=row["canonical_url"],
        text=row["text"],
        content_hash=row["content_hash"],
        title=row["title"],
        authors=tuple(row["authors"] or ()),
        agencies=tuple(row["agencies"] or ()),
        published=row["published"],
        modified=row["modified"],
        language=row["language"],
        sitename=row["sitename"],
        description=row["description"],
        standfirst=row.get("standfirst"),
        tags=tuple(row["tags"] or ()),
        image=row["image"],
        minhash=row["minhash"] or b"",
    )


class ShardWriter:
    """Rows to `path`, appearing there only when `close` finishes it."""

    def __init__(self, path: Path, kind: str, row_group: int = ROW_GROUP) -> None:
        self.path = path
        self.rows = 0
        self._row_group = row_group
        self._pending: list[dict[str, Any]] = []
        self._tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
        metadata = {
            "newsarchive.schema": SCHEMA_VERSION,
            "newsarchive.version": __version__,
            "newsarchive.kind": kind,
        }
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._writer = pq.ParquetWriter(
                str(self._tmp), SCHEMA.with_metadata(metadata), compression="zstd"
            )
        except (OSError, pa.ArrowException) as exc:
            raise ShardError(f"cannot write {path}: {exc}") from None

    def add(self, row: dict[str, Any]) -> None:
        self._pending.append(row)
        if len(self._pending) >= self._row_group:
            self._flush()

    def _flush(self) -> None:
        if not self._pending:
            return
        rows, self._pending = self._pending, []
        try:
            self._writer.write_table(pa.Table.from_pylist(rows, schema=SCHEMA))
        except (OSError, pa.ArrowException) as exc:
            self.abort()
            raise ShardError(f"cannot write {self.path}: {exc}") from None
        self.rows += len(rows)

    def close(self) -> Path:
        """Finish the file and give it its name."""
        self._flush()
        try:
            self._writer.close()
            self._tmp.replace(self.path)
        except (OSError, pa.ArrowException) as exc:
            self.abort()
            raise ShardError(f"cannot write {self.path}: {exc}") from None
        return self.path

    def abort(self) -> None:
        with contextlib.suppress(OSError, pa.ArrowException):
            self._writer.close()
        self._tmp.unlink(missing_ok=True)

    def __enter__(self) -> ShardWriter:
        return self

    def __exit__(self, kind: object, *exc: object) -> None:
        if kind is None:
            self.close()
        else:
            self.abort()


def read_shard(path: Path, batch: int = 500) -> Iterator[dict[str, Any]]:
    """The rows of a shard, in order, `batch` rows in memory at a time."""
    try:
        shard = pq.ParquetFile(str(path))
        kept = [c for c in COLUMNS if c in shard.schema_arrow.names]
        for part in shard.iter_batches(batch_size=batch, columns=kept):
            yield from part.to_pylist()
    except FileNotFoundError:
        raise ShardError(f"shard {path} is missing") from None
    except (OSError, pa.ArrowException) as exc:
        raise ShardError(f"shard {path} is unreadable ({exc})") from None


_MONTH_FILE = re.compile(r"(\d{4}-\d{2}|undated)\.parquet")


def write_monthly(rows: Iterable[dict[str, Any]], root: Path) -> dict[str, int]:
    """Stories (export rows) as Parquet under `root`, one file per month of the story's
    date (YYYY-MM.parquet, undated.parquet), in this module's schema. Each file appears
    complete or not at all; month files of an earlier export that this one has no
    stories for are removed. Returns the number of stories per file."""
    if root.exists() and not root.is_dir():
        raise ExportError(f"{root} exists and is not a directory")
    writers: dict[str, ShardWriter] = {}
    try:
        for row in rows:
            month = str(row.get("published") or row.get("fetched_at") or "")[:7]
            name = f"{month}.parquet" if re.fullmatch(r"\d{4}-\d{2}", month) else "undated.parquet"
            writer = writers.get(name)
            if writer is None:
                writer = writers[name] = ShardWriter(root / name, "export", row_group=500)
            writer.add({**row, "status": "exported"})
        for writer in writers.values():
            writer.close()
    except BaseException:
        for writer in writers.values():
            writer.abort()
        raise
    for old in root.iterdir() if root.is_dir() else ():
        if _MONTH_FILE.fullmatch(old.name) and old.name not in writers and old.is_file():
            old.unlink()
    return {name: writer.rows for name, writer in sorted(writers.items())}
