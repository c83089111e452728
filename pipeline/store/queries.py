"""The archive's read side: search, show, export rows, and the SQL of the canned
queries `newsarchive serve` offers in Datasette (statistics: stats.py).

Rows stream with fetchmany, so exporting never loads the archive into memory.
A story's date for filters is `published_utc` (the instant of `published`, which keeps
the publisher's offset), or `fetched_at` where the page gave none. An archive read as it
is (read-only, from before migration 10) has no `published_utc`: its `published` was
held in UTC then, and is used.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pipeline.errors import QueryError, UsageError
from pipeline.store import fts
from pipeline.store.archive import Archive
from pipeline.times import iso

HIGHLIGHT_START = "\x02"  # snippet markers; the CLI turns them into styling
HIGHLIGHT_END = "\x03"
CAPTURE_COLUMNS = ("warc_file", "warc_offset", "warc_length")  # exportable, not by default
ARTICLE_COLUMNS: tuple[str, ...] = (
    "id",
    "url",
    "canonical_url",
    "source",
    "title",
    "author",
    "authors",
    "agencies",
    "published",
    "modified",
    "language",
    "sitename",
    "description",
    "standfirst",  # the lead under the headline, apart from the body `text`
    "tags",
    "image",
    "text",
    "word_count",
    "fetched_at",
    "updated_at",
    "revision",
    "content_hash",
    "near_duplicate_of",
    "access",  # ok or paywalled (docs/access.md)
)
_JSON_COLUMNS = {"authors", "agencies", "tags"}


@dataclass(frozen=True, slots=True)
class Filters:
    sources: tuple[str, ...] = ()
    since: str | None = None  # inclusive lower bound on the story's date
    until: str | None = None  # inclusive upper bound (a whole day when a date)
    language: str | None = None
    query: str | None = None  # FTS5 query over title and text
    collapse: bool = False  # leave out near-duplicates of stories already listed
    access: str | None = None  # only stories with this access label (ok, paywalled)


@dataclass(frozen=True, slots=True)
class Hit:
    id: int
    title: str | None
    source: str
    published: str | None
    url: str
    language: str | None
    author: str | None
    snippet: str  # with HIGHLIGHT_START/END around matches
    rank: int  # 1 for the best match, 2 for the next, ...
    near_duplicate_of: int | None = None
    score: float | None = None  # relevance (bm25, sign flipped: higher is better)


def parse_when(value: str, now: datetime, *, end: bool = False) -> str:
    """A --since/--until value as an ISO bound: 2026-11-01, 2026-11-01T10:00, or
    relative 7d / 24h / 2w. With `end`, a plain date covers the whole day."""
    text = value.strip()
    match = re.fullmatch(r"(\d+)\s*([hdw])", text.lower())
    if match:
        amount = int(match.group(1))
        unit = {"h": "hours", "d": "days", "w": "weeks"}[match.group(2)]
        moment = now - timedelta(**{unit: amount})
        return iso(moment)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(
            f"{value!r} is not a date: use YYYY-MM-DD, an ISO 8601 time, or 7d / 24h / 2w"
        ) from None
    if len(text) == 10:  # a plain date
        if end:
            return (parsed + timedelta(days=1)).strftime("%Y-%m-%d")
        return text
    return iso(parsed)  # a time without a zone is taken as UTC


def _utf8(value: str, what: str) -> str:
    """`value` if it is text SQLite can take. Arguments that were not UTF-8 on the command
    line reach Python as lone surrogates, which sqlite3 cannot encode."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        shown = value.encode("utf-8", "backslashreplace").decode("ascii", "backslashreplace")
        raise QueryError(f"{what} {shown!r} is not valid UTF-8 text") from None
    return value


def _columns(archive: Archive) -> set[str]:
    """The columns `articles` has (an older archive read as it is lacks later ones)."""
    return {row[1] for row in archive.db.execute("PRAGMA table_info(articles)")}


# Columns later migrations added to `articles`, as a story stored before them reads
# where the archive cannot be upgraded (read-only media: see store/opening.py).
_ADDED = {"access": "'ok'", "standfirst": "NULL"}


def _select(present: set[str], columns: tuple[str, ...], prefix: str = "") -> str:
    """SQL: `columns` of `articles`, each one the archive lacks (not in `present`) as
    its old value."""
    return ", ".join(
        f"{prefix}{c}" if c in present or c not in _ADDED else f"{_ADDED[c]} AS {c}"
        for c in columns
    )


def _date(present: set[str]) -> str:
    """SQL: a story's date for filters and order (see the module's docstring), given the
    columns `articles` has."""
    published = "published_utc" if "published_utc" in present else "published"
    return f"coalesce(a.{published}, a.fetched_at)"


def _where(filters: Filters, now: datetime, date: str) -> tuple[list[str], list[Any]]:
    for name in ("since", "until", "language", "query"):
        value = getattr(filters, name)
        if value:
            _utf8(value, name)
    for source in filters.sources:
        _utf8(source, "source")
    clauses: list[str] = []
    params: list[Any] = []
    if filters.sources:
        clauses.append(f"a.source IN ({','.join('?' * len(filters.sources))})")
        params.extend(filters.sources)
    if filters.since:
        clauses.append(f"{date} >= ?")
        params.append(parse_when(filters.since, now))
    if filters.until:
        bound = parse_when(filters.until, now, end=True)
        clauses.append(f"{date} < ?" if len(bound) == 10 else f"{date} <= ?")
        params.append(bound)
    if filters.language:
        clauses.append("a.language = ?")
        params.append(filters.language.lower())
    if filters.collapse:
        clauses.append("a.near_duplicate_of IS NULL")
    if filters.access:
        clauses.append("a.access = ?")
        params.append(filters.access)
    return clauses, params


def _fts_error(exc: sqlite3.OperationalError | ValueError, query: str) -> QueryError:
    message = str(exc).removeprefix("fts5: ")
    return QueryError(
        f'bad search query {query!r}: {message} (FTS5 syntax: words, "a phrase", AND, OR, '
        "NOT, prefix*)"
    )


def _parse(archive: Archive, query: str) -> tuple[fts.Parsed, str]:
    """The parsed query and the full-text table it searches."""
    _utf8(query, "search query")
    try:
        parsed = fts.parse(query)
    except ValueError as exc:
        raise _fts_error(exc, query) from None
    if not parsed.cjk:
        return parsed, "articles_fts"
    if fts.has_trigram(archive.db):
        return parsed, "articles_trigram"
    if parsed.syntax:  # an SQLite without the trigram tokenizer: words only
        return parsed, "articles_fts"
    terms = tuple(t for t in query.split() if t)  # every term by a scan
    return fts.Parsed("", False, True, terms), "articles_trigram"


def search(
    archive: Archive, query: str, filters: Filters, limit: int = 20, now: datetime | None = None
) -> list[Hit]:
    """Full-text search over title and text, best matches first (bm25, titles weigh 10x).
    How the query is read: fts.py."""
    now = now or datetime.now(UTC)
    parsed, table = _parse(archive, query)
    present = _columns(archive)
    date = _date(present)
    clauses, params = _where(filters, now, date)
    scan, scan_params = fts.scan(parsed.short, "standfirst" in present)
    clauses, params = scan + clauses, scan_params + params
    where = "".join(f" AND {c}" for c in clauses)
    columns = "a.id, a.title, a.source, a.published, a.url, a.language, a.author"
    if parsed.match:
        sql = (
            f"SELECT {columns}, a.near_duplicate_of,"
            f" snippet({table}, 1, '{HIGHLIGHT_START}', '{HIGHLIGHT_END}', ' … ', 24),"
            f" bm25({table}, 10.0, 1.0) AS rank"
            f" FROM {table} JOIN articles a ON a.id = {table}.rowid"
            f" WHERE {table} MATCH ?{where} ORDER BY rank LIMIT ?"
        )
        params = [parsed.match, *params, limit]
    elif parsed.short:  # only terms too short for the trigram index: newest first
        sql = (
            f"SELECT {columns}, a.near_duplicate_of, a.text, NULL FROM articles a"
            f" WHERE {' AND '.join(clauses)} ORDER BY {date} DESC, a.id DESC LIMIT ?"
        )
        params = [*params, limit]
    else:
        return []  # nothing to look for (an empty query, or punctuation only)
    try:
        rows = archive.db.execute(sql, params).fetchall()
    except sqlite3.OperationalError as exc:
        raise _fts_error(exc, query) from None
    hits = []
    for number, row in enumerate(rows, 1):
        marks = (HIGHLIGHT_START, HIGHLIGHT_END)
        snippet = row[8] if parsed.match else fts.scan_snippet(row[8], parsed.short, *marks)
        score = fts.score(row[9]) if row[9] is not None else None
        hits.append(Hit(*row[:7], snippet, number, row[7], score))  # type: ignore[call-arg]
    return hits


def _decode(row: dict[str, Any]) -> dict[str, Any]:
    for name in _JSON_COLUMNS & row.keys():
        row[name] = json.loads(row[name]) if row[name] else []
    return row


def article(archive: Archive, id_or_url: str) -> dict[str, Any] | None:
    """One stored story by id, URL or canonical URL (a duplicate's URL leads to the
    story it copies), with its revisions and duplicates."""
    cols = _select(_columns(archive), ARTICLE_COLUMNS)
    db = archive.db
    row = None
    _utf8(id_or_url, "id or URL")
    if id_or_url.strip().isascii() and id_or_url.strip().isdigit():
        number = int(id_or_url)
        if number < 2**63:  # beyond SQLite's integers: no such story
            row = db.execute(f"SELECT {cols} FROM articles WHERE id = ?", (number,)).fetchone()
    else:
        from pipeline.urls import canonicalize

        keys = [id_or_url.strip(), canonicalize(id_or_url) or id_or_url.strip()]
        row = db.execute(
            f"SELECT {cols} FROM articles WHERE url IN (?, ?) OR canonical_url IN (?, ?)"
            " OR id IN (SELECT article_id FROM urls WHERE url IN (?, ?)"
            "           UNION SELECT article_id FROM duplicates WHERE canonical_url IN (?, ?))",
            keys * 4,
        ).fetchone()
    if row is None:
        return None
    result = _decode(dict(zip(ARTICLE_COLUMNS, row, strict=True)))
    result["revisions"] = [
        {"revision": r[0], "fetched_at": r[1], "title": r[2], "text": r[3]}
        for r in db.execute(
            "SELECT revision, fetched_at, title, text FROM revisions"
            " WHERE article_id = ? ORDER BY revision",
            (result["id"],),
        )
    ]
    result["duplicates"] = [
        {"url": r[0], "source": r[1], "fetched_at": r[2]}
        for r in db.execute(
            "SELECT url, source, fetched_at FROM duplicates WHERE article_id = ? ORDER BY id",
            (result["id"],),
        )
    ]
    return result


def export_rows(
    archive: Archive,
    filters: Filters,
    now: datetime | None = None,
    columns: tuple[str, ...] = ARTICLE_COLUMNS,
    batch: int = 500,
) -> Iterator[dict[str, Any]]:
    """Stories matching `filters` in archive order (by id: the order they were stored),
    streamed `batch` rows at a time: the rowid order needs no sort, so the first row
    comes at once and memory stays flat whatever the archive's size."""
    now = now or datetime.now(UTC)
    unknown = set(columns) - set(ARTICLE_COLUMNS) - set(CAPTURE_COLUMNS) - {"minhash"}
    if unknown:
        raise UsageError(
            f"unknown column(s) {', '.join(sorted(unknown))};"
            f" choose from {', '.join(ARTICLE_COLUMNS)}"
        )
    present = _columns(archive)
    clauses, params = _where(filters, now, _date(present))
    cols = _select(present, columns, "a.")
    if filters.query:
        parsed, table = _parse(archive, filters.query)
        scan, scan_params = fts.scan(parsed.short, "standfirst" in present)
        if parsed.match:
            scan.insert(0, f"a.id IN (SELECT rowid FROM {table} WHERE {table} MATCH ?)")
            scan_params.insert(0, parsed.match)
        elif not parsed.short:
            scan.append("0")  # nothing to look for: no story
        clauses, params = scan + clauses, scan_params + params
    sql = f"SELECT {cols} FROM articles a" + (" WHERE " + " AND ".join(clauses) if clauses else "")
    sql += " ORDER BY a.id"
    try:
        cursor = archive.db.execute(sql, params)
        while True:
            rows = cursor.fetchmany(batch)
            if not rows:
                return
            for row in rows:
                yield _decode(dict(zip(columns, row, strict=True)))
    except sqlite3.OperationalError as exc:
        if filters.query:
            raise _fts_error(exc, filters.query) from None
        raise QueryError(str(exc)) from None


def latest(archive: Archive, limit: int = 20) -> list[dict[str, Any]]:
    cols = ("id", "source", "title", "author", "published", "language", "word_count", "url")
    order = f"{_date(_columns(archive))} DESC, a.id DESC"
    rows = archive.db.execute(
        f"SELECT {', '.join(cols)} FROM articles a ORDER BY {order} LIMIT ?", (limit,)
    ).fetchall()
    return [dict(zip(cols, r, strict=True)) for r in rows]


def table_names(archive: Archive) -> list[str]:
    """The archive's tables (views and FTS shadow tables included)."""
    return [
        r[0]
        for r in archive.db.execute(
            "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') ORDER BY name"
        )
    ]


# --- canned queries for `newsarchive serve` (Datasette) ------------------------------
# Named parameters (:q, :source) become form fields in Datasette. Empty values mean
# "any" where that makes sense.

CANNED_QUERIES: dict[str, dict[str, str]] = {
    "search": {
        "title": "Search, best matches first",
        "description": (
            "Full-text search over titles and texts, ranked by relevance (bm25, titles "
            'weigh 10x), with a snippet. FTS5 syntax: words, "a phrase", AND, OR, NOT, '
            "prefix*, title:word. Leave source empty for all sources."
        ),
        "sql": (
            "SELECT a.id, a.title, a.source, a.published, a.language,\n"
            "  snippet(articles_fts, 1, '[', ']', ' … ', 24) AS snippet, a.url\n"
            "FROM articles_fts JOIN articles a ON a.id = articles_fts.rowid\n"
            "WHERE articles_fts MATCH coalesce(nullif(trim(:q), ''), '\"\"')\n"
            "  AND (:source = '' OR a.source = :source)\n"
            "ORDER BY bm25(articles_fts, 10.0, 1.0)\n"
            "LIMIT 100"
        ),
    },
    "latest_per_source": {
        "title": "Latest stories per source",
        "description": "The five newest stories of every source (by publication date).",
        "sql": (
            "SELECT source, id, published, title, url FROM (\n"
            "  SELECT source, id, coalesce(published, fetched_at) AS published, title, url,\n"
            "    row_number() OVER (PARTITION BY source\n"
            "      ORDER BY coalesce(published, fetched_at) DESC, id DESC) AS n\n"
            "  FROM articles)\n"
            "WHERE n <= 5\n"
            "ORDER BY source, published DESC"
        ),
    },
    "articles_per_month": {
        "title": "Stories per source and month",
        "description": "How many stories each source has per month of publication.",
        "sql": (
            "SELECT substr(coalesce(published, fetched_at), 1, 7) AS month, source,\n"
            "  count(*) AS articles, sum(word_count) AS words\n"
            "FROM articles GROUP BY month, source ORDER BY month DESC, source"
        ),
    },
    "sources": {
        "title": "Sources at a glance",
        "description": (
            "Per source: stories, duplicates found, first and latest story, and how many "
            "URLs wait, are retried or failed."
        ),
        "sql": (
            "SELECT s.source, s.articles, s.first_story, s.latest_story,\n"
            "  (SELECT count(*) FROM duplicates d WHERE d.source = s.source) AS duplicates,\n"
            "  (SELECT count(*) FROM urls u WHERE u.source = s.source\n"
            "     AND u.state = 'pending') AS pending,\n"
            "  (SELECT count(*) FROM urls u WHERE u.source = s.source\n"
            "     AND u.state = 'retry') AS retrying,\n"
            "  (SELECT count(*) FROM urls u WHERE u.source = s.source\n"
            "     AND u.state = 'failed') AS failed\n"
            "FROM (SELECT source, count(*) AS articles,\n"
            "        min(coalesce(published, fetched_at)) AS first_story,\n"
            "        max(coalesce(published, fetched_at)) AS latest_story\n"
            "      FROM articles GROUP BY source) s\n"
            "ORDER BY s.source"
        ),
    },
    "recent_runs": {
        "title": "Recent runs",
        "description": "The last 50 runs: when, how they ended, what they found.",
        "sql": (
            "SELECT id, started_at, finished_at, status, exit_code, requests,\n"
            "  articles_new, duplicates, revised, skipped, failed\n"
            "FROM runs ORDER BY id DESC LIMIT 50"
        ),
    },
    "recent_failures": {
        "title": "Recent fetch failures",
        "description": "The last 200 failed fetches, newest first; filter by source if given.",
        "sql": (
            "SELECT at, source, kind, permanent, message, url FROM failures\n"
            "WHERE (:source = '' OR source = :source)\n"
            "ORDER BY id DESC LIMIT 200"
        ),
    },
}
