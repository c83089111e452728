"""The archive's write side: open/migrate, page results (dedup, revisions, near
duplicates), learnt boilerplate and re-extraction. `Archive` also has the frontier
(frontier.py) and the feed, robots and run records (records.py), over one connection
(connection.py). Every write is a short transaction; a batch of page results is
one transaction, so a kill loses at most the batch in flight and never leaves a
half-written story.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import sqlite_utils

from pipeline.models import Article, Candidate, Capture, PageResult, story_columns
from pipeline.store import opening
from pipeline.store.frontier import Frontier
from pipeline.store.records import Records
from pipeline.store.schema import migrate
from pipeline.text import lsh_keys, similarity
from pipeline.times import iso as _iso
from pipeline.times import parse as _parse
from pipeline.times import to_utc

NEAR_DUPLICATE = 0.7  # estimated Jaccard similarity from which a story is a near-duplicate
NEAR_CANDIDATES = 8  # near-duplicate candidates verified per story, most shared bands first
PER_BAND = 64  # stories read per band value, newest first
RETRY_BASE = timedelta(minutes=30)  # a transient failure waits this, doubling per attempt
RETRY_CAP = timedelta(days=7)
MAX_ATTEMPTS = 8  # transient failures after which a URL is given up


@dataclass(frozen=True, slots=True)
class Saved:
    """What saving one PageResult did."""

    outcome: str  # new, duplicate, revised, unchanged, skipped, failed, retry
    article_id: int | None = None


_CAPTURE_COLUMNS = ("warc_file", "warc_offset", "warc_length")


def _capture(capture: Capture | None) -> list[Any]:
    return [capture.file, capture.offset, capture.length] if capture else [None, None, None]


def _story_fields(art: Article) -> dict[str, Any]:
    """The columns that come from extraction (models.story_columns), lists as JSON."""
    return {
        **story_columns(art),
        "authors": _json_list(art.authors),
        "agencies": _json_list(art.agencies),
        "tags": _json_list(art.tags),
        "published_utc": to_utc(art.published),
        "access": art.access,
    }


# The columns of _story_fields that are metadata (the rest follow the text's hash).
_METADATA = (
    "title",
    "author",
    "authors",
    "agencies",
    "published",
    "modified",
    "language",
    "sitename",
    "description",
    "standfirst",
    "tags",
    "image",
)


def _json_list(values: Sequence[str]) -> str | None:
    return json.dumps(list(values), ensure_ascii=False) if values else None


class Archive(Frontier, Records):
    """One open archive database."""

    def __init__(self, db: sqlite_utils.Database, path: Path, *, immutable: bool = False) -> None:
        super().__init__(db, path, immutable=immutable)
        self.near_threshold = NEAR_DUPLICATE  # see config's near_duplicate_threshold

    # --- opening --------------------------------------------------------------------

    @classmethod
    def open(
        cls, path: str | Path, *, readonly: bool = False, busy_timeout: float | None = None
    ) -> Archive:
        """Open (creating and migrating unless `readonly`) the archive at `path`. A
        write waits up to `busy_timeout` seconds (default: opening.BUSY_TIMEOUT) for
        another process's write to end. A read-only open also works where SQLite
        cannot create its side files (a read-only mount, a snapshot)."""
        file = Path(path)
        if readonly:
            db, immutable = opening.open_readonly(file, cls._upgrade)
            return cls(db, file, immutable=immutable)
        try:
            try:
                file.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise opening.os_error(
                    file.parent, exc, "cannot create the archive's folder"
                ) from None
            db = sqlite_utils.Database(
                sqlite3.connect(file, timeout=opening.busy_seconds(busy_timeout))
            )
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA foreign_keys=ON")
            migrate(db)
        except sqlite3.DatabaseError as exc:
            raise opening.store_error(file, exc, "cannot open the archive") from None
        return cls(db, file)

    @classmethod
    def _upgrade(cls, file: Path) -> None:
        cls.open(file).close()

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def boilerplate(self, source: str) -> tuple[frozenset[str], int]:
        """The source's learnt boilerplate keys, and the id of the newest story they were
        learnt from (0: never learnt)."""
        row = self.execute(
            "SELECT keys, coalesce(up_to_id, 0) FROM boilerplate WHERE source = ?", (source,)
        ).fetchone()
        return (frozenset(json.loads(row[0])), int(row[1])) if row else (frozenset(), 0)

    def save_boilerplate(
        self, source: str, keys: frozenset[str], up_to_id: int, at: datetime
    ) -> None:
        with self._writing():
            self.db.conn.execute(
                "INSERT OR REPLACE INTO boilerplate (source, keys, articles, learnt_at,"
                " up_to_id) VALUES (?, ?, NULL, ?, ?)",
                (source, json.dumps(sorted(keys)), _iso(at), up_to_id),
            )

    def stories_after(self, source: str, after_id: int, at_most: int) -> int:
        """How many stories of `source` have an id above `after_id`, counting at most
        `at_most` (cheap however large the source)."""
        return int(
            self.execute(
                "SELECT count(*) FROM (SELECT 1 FROM articles WHERE source = ? AND id > ? LIMIT ?)",
                (source, after_id, at_most),
            ).fetchone()[0]
        )

    def recent_texts(self, source: str, limit: int) -> tuple[list[str], int]:
        """The texts of the source's latest stories, and the newest one's id."""
        rows = self.execute(
            "SELECT id, text FROM articles WHERE source = ? ORDER BY id DESC LIMIT ?",
            (source, limit),
        ).fetchall()
        return [r[1] for r in rows], (int(rows[0][0]) if rows else 0)

    def next_article_id(self) -> int:
        """The id the next stored story will get (stories below it existed before)."""
        return int(self.execute("SELECT coalesce(max(id), 0) + 1 FROM articles").fetchone()[0])

    # --- page results ---------------------------------------------------------------

    def save(self, results: Sequence[PageResult], run_id: int | None) -> list[Saved]:
        """Record a batch of page results in one transaction."""
        if not results:
            return []
        with self._writing("cannot save results"):
            return [self._save_one(r, run_id) for r in results]

    def _save_one(self, result: PageResult, run_id: int | None) -> Saved:
        cand = result.candidate
        if result.status == "article" and result.article is not None:
            art = self._own_identity(result.article)
            saved = self._save_article(result, art)
            state = "duplicate" if saved.outcome == "duplicate" else "stored"
            for url in {cand.url, result.final_url, art.canonical_url}:
                if url:
                    self._mark(url, cand, state, result.checked_at, saved.article_id)
            return saved
        if result.status == "not_modified":
            self.db.conn.execute(
                "UPDATE articles SET checked_at = ? WHERE canonical_url = ? OR url = ?",
                (result.checked_at, cand.url, cand.url),
            )
            return Saved("unchanged")
        if result.status == "skipped":
            self._mark(cand.url, cand, "skipped", result.checked_at, None, "skipped", result.reason)
            return Saved("skipped")
        return self._save_failure(result, run_id)

    def _mark(
        self,
        url: str,
        cand: Candidate,
        state: str,
        at: str,
        article_id: int | None,
        kind: str | None = None,
        error: str | None = None,
    ) -> None:
        self.db.conn.execute(
            "INSERT INTO urls (url, source, state, found_on, discovered_at, attempts,"
            " last_attempt_at, article_id, error_kind, error)"
            " VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?, ?)"
            " ON CONFLICT(url) DO UPDATE SET state = excluded.state,"
            " attempts = urls.attempts + 1, last_attempt_at = excluded.last_attempt_at,"
            " article_id = excluded.article_id, error_kind = excluded.error_kind,"
            " error = excluded.error, next_attempt_at = NULL",
            (url, cand.source, state, cand.found_on, at, at, article_id, kind, error),
        )

    def _save_failure(self, result: PageResult, run_id: int | None) -> Saved:
        cand = result.candidate
        row = self.db.conn.execute(
            "SELECT attempts FROM urls WHERE url = ?", (cand.url,)
        ).fetchone()
        attempts = (row[0] if row else 0) + 1
        if result.permanent or attempts >= MAX_ATTEMPTS:
            state, next_at = "failed", None
        else:
            wait = min(RETRY_CAP, RETRY_BASE * 2 ** (attempts - 1))
            if result.retry_after:
                wait = max(wait, timedelta(seconds=result.retry_after))
            state, next_at = "retry", _iso(_parse(result.checked_at) + wait)
        self._mark(cand.url, cand, state, result.checked_at, None, result.error_kind, result.reason)
        self.db.conn.execute(
            "UPDATE urls SET next_attempt_at = ? WHERE url = ?", (next_at, cand.url)
        )
        self.db.conn.execute(
            "INSERT INTO failures (run_id, source, url, kind, permanent, message, at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                run_id,
                cand.source,
                cand.url,
                result.error_kind,
                int(state == "failed"),
                result.reason,
                result.checked_at,
            ),
        )
        return Saved(state)

    def _own_identity(self, art: Article) -> Article:
        """`art`, or `art` under its own address when its canonical is not believable: a
        different text under a canonical that another fetched address already holds is
        another story (a site that puts one canonical on many pages), never a revision.
        Revisions come only from fetching the same address again."""
        if art.canonical_url == art.url:
            return art
        row = self.db.conn.execute(
            "SELECT url, content_hash FROM articles WHERE canonical_url = ?", (art.canonical_url,)
        ).fetchone()
        if row is not None and row[0] != art.url and row[1] != art.content_hash:
            return replace(art, canonical_url=art.url)
        return art

    def _save_article(self, result: PageResult, art: Article) -> Saved:
        conn = self.db.conn
        row = conn.execute(
            "SELECT id, content_hash FROM articles WHERE canonical_url = ?", (art.canonical_url,)
        ).fetchone()
        if row is not None:  # the same story again (a re-visit or another address of it)
            article_id, old_hash = row
            conn.execute(
                "UPDATE articles SET checked_at = ?, etag = ?, last_modified = ? WHERE id = ?",
                (result.checked_at, result.etag, result.last_modified, article_id),
            )
            if old_hash == art.content_hash:
                return Saved("unchanged", article_id)
            self._revise(article_id, art, result.checked_at, result.capture)
            return Saved("revised", article_id)
        same = conn.execute(
            "SELECT id FROM articles WHERE content_hash = ? ORDER BY id LIMIT 1",
            (art.content_hash,),
        ).fetchone()
        if same is not None:
            conn.execute(
                "INSERT OR IGNORE INTO duplicates (url, canonical_url, source, article_id,"
                " content_hash, fetched_at, warc_file, warc_offset, warc_length)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    art.url,
                    art.canonical_url,
                    result.candidate.source,
                    same[0],
                    art.content_hash,
                    result.checked_at,
                    *_capture(result.capture),
                ),
            )
            return Saved("duplicate", same[0])
        values = {
            "url": art.url,
            "canonical_url": art.canonical_url,
            "source": result.candidate.source,
            "fetched_at": result.checked_at,
            "checked_at": result.checked_at,
            "etag": result.etag,
            "last_modified": result.last_modified,
            "revision": 1,
            "near_duplicate_of": self._near_duplicate(art.minhash),
            **dict(zip(_CAPTURE_COLUMNS, _capture(result.capture), strict=True)),
            **_story_fields(art),
        }
        cursor = conn.execute(
            f"INSERT INTO articles ({', '.join(values)}) VALUES ({', '.join('?' * len(values))})",
            list(values.values()),
        )
        article_id = int(cursor.lastrowid or 0)
        self._index_signature(article_id, art.minhash, new=True)
        return Saved("new", article_id)

    def _revise(self, article_id: int, art: Article, at: str, capture: Capture | None) -> None:
        """Keep the current text as a revision, then put `art` in its place. Metadata the
        new version lacks is kept from the old one; the capture moves with the text."""
        conn = self.db.conn
        conn.execute(
            "INSERT INTO revisions (article_id, revision, fetched_at, title, standfirst, text,"
            " content_hash, warc_file, warc_offset, warc_length)"
            " SELECT id, revision, coalesce(updated_at, fetched_at), title, standfirst, text,"
            " content_hash, warc_file, warc_offset, warc_length FROM articles WHERE id = ?",
            (article_id,),
        )
        fields = _story_fields(art)
        # The text's parts (its hash covers the standfirst too) are replaced, never kept.
        keep = {"standfirst", "text", "content_hash", "word_count", "minhash", "access"}
        sets = [f"{k} = ?" if k in keep else f"{k} = coalesce(?, {k})" for k in fields]
        params: list[Any] = list(fields.values())
        if capture is not None:
            sets += [f"{k} = ?" for k in _CAPTURE_COLUMNS]
            params += _capture(capture)
        conn.execute(
            f"UPDATE articles SET {', '.join(sets)}, revision = revision + 1, updated_at = ?"
            " WHERE id = ?",
            [*params, at, article_id],
        )
        self._index_signature(article_id, art.minhash, new=False)

    def reextracted(self, article_id: int, art: Article, at: str) -> str:
        """Store a re-extraction of a stored story: 'revised' when its text changed
        (the previous text becomes a revision), 'updated' when only metadata changed,
        else 'unchanged'."""
        with self._writing():
            row = self.db.conn.execute(
                f"SELECT content_hash, minhash, {', '.join(_METADATA)} FROM articles WHERE id = ?",
                (article_id,),
            ).fetchone()
            if row is None:
                return "missing"
            if row[0] != art.content_hash:
                self._revise(article_id, art, at, None)
                return "revised"
            if row[1] is None and art.minhash:  # stored before signatures existed
                self.db.conn.execute(
                    "UPDATE articles SET minhash = ? WHERE id = ?", (art.minhash, article_id)
                )
                self._index_signature(article_id, art.minhash, new=False)
            fields = _story_fields(art)
            # What the update below writes: a value the new extraction lacks is kept.
            if all(
                fields[k] is None or fields[k] == old
                for k, old in zip(_METADATA, row[2:], strict=True)
            ):
                return "unchanged"
            sets = [f"{k} = coalesce(?, {k})" for k in fields]
            self.db.conn.execute(
                f"UPDATE articles SET {', '.join(sets)} WHERE id = ?",
                [*fields.values(), article_id],
            )
            return "updated"

    def captures(
        self, sources: Sequence[str] = (), since: str | None = None, chunk: int = 500
    ) -> Iterator[tuple[int, str, str, Capture]]:
        """(id, source, url, capture) of stored stories that have a capture, by id. Pages
        by id, so the caller may update the stories it is given while iterating."""
        clauses = ["warc_file IS NOT NULL", "id > ?"]
        params: list[Any] = []
        if sources:
            clauses.append(f"source IN ({','.join('?' * len(sources))})")
            params.extend(sources)
        if since:
            clauses.append("coalesce(published_utc, fetched_at) >= ?")
            params.append(since)
        last = 0
        while True:
            rows = self.execute(
                "SELECT id, source, url, warc_file, warc_offset, warc_length FROM articles"
                f" WHERE {' AND '.join(clauses)} ORDER BY id LIMIT ?",
                [last, *params, chunk],
            ).fetchall()
            if not rows:
                return
            for row in rows:
                yield int(row[0]), row[1], row[2], Capture(row[3], int(row[4]), int(row[5]))
            last = int(rows[-1][0])

    def _near_duplicate(self, signature: bytes) -> int | None:
        """The first stored story whose text this one nearly copies (estimated Jaccard
        similarity of their shingles at least `near_threshold`), found through the LSH
        band index: a lookup costs the same however large the archive."""
        keys = lsh_keys(signature)
        if not keys:
            return None
        # The candidates sharing the most bands first (a true near-duplicate shares ~4 of
        # 16, a chance collision 1), and only the best few: templated pages that share
        # many shingles cannot make the check grow with the archive.
        # A band value that many stories share (a template block) is read only for its
        # PER_BAND most recent stories, so no lookup reads more than 16 x PER_BAND rows.
        per_key = " UNION ALL ".join(
            "SELECT * FROM (SELECT article_id FROM minhash_bands WHERE key = ?"
            f" ORDER BY article_id DESC LIMIT {PER_BAND})"
            for _ in keys
        )
        rows = self.db.conn.execute(
            "SELECT a.id, a.minhash, a.near_duplicate_of FROM ("
            f" SELECT article_id, count(*) AS shared FROM ({per_key})"
            " GROUP BY article_id ORDER BY shared DESC, article_id LIMIT ?"
            ") c JOIN articles a ON a.id = c.article_id",
            [*keys, NEAR_CANDIDATES],
        ).fetchall()
        matches = [
            int(root or article_id)
            for article_id, other, root in rows
            if other and similarity(signature, other) >= self.near_threshold
        ]
        return min(matches) if matches else None

    def _index_signature(self, article_id: int, signature: bytes, *, new: bool) -> None:
        if not new:
            self.db.conn.execute("DELETE FROM minhash_bands WHERE article_id = ?", (article_id,))
        self.db.conn.executemany(
            "INSERT INTO minhash_bands (key, article_id) VALUES (?, ?)",
            [(key, article_id) for key in lsh_keys(signature)],
        )
