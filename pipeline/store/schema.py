"""The archive's schema and its versioned migrations.

`PRAGMA user_version` holds the number of migrations applied. Opening an archive
applies the missing ones in order. An archive written by a newer newsarchive (a
higher version than this code knows) is refused rather than guessed at.

sqlite-utils' FTS set-up commits on its own (executescript), so a migration cannot
be one transaction. Instead every step is idempotent (IF NOT EXISTS) and
user_version moves only after the last step: a migration interrupted by a kill
runs again, and completes, on the next open.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

import sqlite_utils

from pipeline.errors import StoreError
from pipeline.store.fts import CJK_GLOB

Migration = Callable[[sqlite_utils.Database], None]


def _table(db: sqlite_utils.Database, name: str, columns: dict[str, Any], **kw: Any) -> None:
    db[name].create(columns, if_not_exists=True, **kw)  # type: ignore[union-attr]


def _index(db: sqlite_utils.Database, table: str, columns: str, unique: bool = False) -> None:
    name = f"{table}_{columns.replace(', ', '_')}"
    kind = "UNIQUE INDEX" if unique else "INDEX"
    db.execute(f"CREATE {kind} IF NOT EXISTS {name} ON {table}({columns})")


_FTS_UPDATE_TRIGGER = """
CREATE TRIGGER "articles_au" AFTER UPDATE OF title, text ON "articles" BEGIN
  INSERT INTO "articles_fts" ("articles_fts", rowid, "title", "text")
    VALUES('delete', old.rowid, old."title", old."text");
  INSERT INTO "articles_fts" (rowid, "title", "text")
    VALUES (new.rowid, new."title", new."text");
END"""
# From migration 12 the word index also holds the standfirst (its last column, so that
# column 1 is still the text and bm25's weights for title and text are unchanged).
_FTS_COLUMNS = ["title", "text", "standfirst"]
_FTS_UPDATE_TRIGGER_12 = """
CREATE TRIGGER "articles_au" AFTER UPDATE OF title, text, standfirst ON "articles" BEGIN
  INSERT INTO "articles_fts" ("articles_fts", rowid, "title", "text", "standfirst")
    VALUES('delete', old.rowid, old."title", old."text", old."standfirst");
  INSERT INTO "articles_fts" (rowid, "title", "text", "standfirst")
    VALUES (new.rowid, new."title", new."text", new."standfirst");
END"""
_TOKENIZE = "porter unicode61 remove_diacritics 2"


def _v1_initial(db: sqlite_utils.Database) -> None:
    _table(
        db,
        "articles",
        {
            "id": int,
            "url": str,
            "canonical_url": str,
            "source": str,
            "title": str,
            "author": str,
            "authors": str,  # JSON list of people
            "agencies": str,  # JSON list of agencies credited
            "published": str,
            "modified": str,
            "language": str,
            "sitename": str,
            "description": str,
            "tags": str,  # JSON list
            "image": str,
            "text": str,
            "word_count": int,
            "fetched_at": str,
            "content_hash": str,
            "simhash": int,
            "near_duplicate_of": int,
            "revision": int,
            "updated_at": str,  # when the text last changed (a new revision)
            "checked_at": str,  # when the page was last fetched
            "etag": str,
            "last_modified": str,
        },
        pk="id",
        not_null={"url", "canonical_url", "source", "text", "fetched_at", "content_hash"},
        defaults={"revision": 1},
        foreign_keys=[("near_duplicate_of", "articles", "id")],
    )
    _index(db, "articles", "canonical_url", unique=True)
    _index(db, "articles", "content_hash")
    _index(db, "articles", "source, published")
    _index(db, "articles", "published")
    _index(db, "articles", "fetched_at")
    if "articles_fts" not in db.table_names():
        db["articles"].enable_fts(  # type: ignore[union-attr]
            ["title", "text"],
            fts_version="FTS5",
            create_triggers=True,
            tokenize=_TOKENIZE,
        )
    # Re-index only when the indexed columns change, not on bookkeeping updates.
    db.execute('DROP TRIGGER IF EXISTS "articles_au"')
    db.execute(_FTS_UPDATE_TRIGGER)

    # Near-duplicate index: the 4 bands of each article's 64-bit SimHash.
    _table(
        db,
        "simhash_bands",
        {"key": int, "article_id": int},
        foreign_keys=[("article_id", "articles", "id")],
    )
    _index(db, "simhash_bands", "key")
    # Copies of a stored story found at other addresses (same content_hash).
    _table(
        db,
        "duplicates",
        {
            "id": int,
            "url": str,
            "canonical_url": str,
            "source": str,
            "article_id": int,
            "content_hash": str,
            "fetched_at": str,
        },
        pk="id",
        not_null={"url", "canonical_url", "article_id"},
        foreign_keys=[("article_id", "articles", "id")],
    )
    _index(db, "duplicates", "canonical_url", unique=True)
    _index(db, "duplicates", "article_id")
    # Earlier texts of stories that were edited after they were first archived.
    _table(
        db,
        "revisions",
        {
            "id": int,
            "article_id": int,
            "revision": int,
            "fetched_at": str,
            "title": str,
            "text": str,
            "content_hash": str,
        },
        pk="id",
        not_null={"article_id", "revision", "text"},
        foreign_keys=[("article_id", "articles", "id")],
    )
    _index(db, "revisions", "article_id, revision", unique=True)
    # The frontier and the seen-URL memory: every URL ever discovered, with its state
    # (pending, stored, duplicate, skipped, failed, retry).
    _table(
        db,
        "urls",
        {
            "url": str,
            "source": str,
            "state": str,
            "found_on": str,
            "hint_published": str,
            "hint_title": str,
            "discovered_at": str,
            "attempts": int,
            "last_attempt_at": str,
            "next_attempt_at": str,
            "error_kind": str,
            "error": str,
            "article_id": int,
        },
        pk="url",
        not_null={"source", "state", "discovered_at"},
        defaults={"attempts": 0},
    )
    _index(db, "urls", "source, state, next_attempt_at")
    _index(db, "urls", "article_id")
    # Feeds, sitemaps and listing pages: conditional-GET state and health.
    _table(
        db,
        "feeds",
        {
            "url": str,
            "source": str,
            "kind": str,
            "discovered": int,
            "etag": str,
            "last_modified": str,
            "checked_at": str,
            "full_at": str,
            "status": str,
            "error": str,
            "failures": int,
            "entries": int,
        },
        pk="url",
        defaults={"failures": 0, "discovered": 0},
    )
    _table(
        db, "robots", {"origin": str, "body": str, "status": int, "fetched_at": str}, pk="origin"
    )
    _table(
        db,
        "runs",
        {
            "id": int,
            "started_at": str,
            "finished_at": str,
            "pid": int,
            "hostname": str,
            "status": str,
            "exit_code": int,
            "sources": str,
            "requests": int,
            "articles_new": int,
            "duplicates": int,
            "skipped": int,
            "failed": int,
            "revised": int,
        },
        pk="id",
        not_null={"started_at", "status"},
    )
    _table(
        db,
        "run_sources",
        {
            "run_id": int,
            "source": str,
            "discovered": int,
            "new": int,
            "duplicate": int,
            "skipped": int,
            "failed": int,
            "revised": int,
            "unchanged": int,
            "feed_errors": int,
            "error": str,
            "avg_text_length": float,
        },
        pk=("run_id", "source"),
        foreign_keys=[("run_id", "runs", "id")],
    )
    _table(
        db,
        "failures",
        {
            "id": int,
            "run_id": int,
            "source": str,
            "url": str,
            "kind": str,
            "permanent": int,
            "message": str,
            "at": str,
        },
        pk="id",
        foreign_keys=[("run_id", "runs", "id")],
    )
    _index(db, "failures", "source, at")


def _add_columns(db: sqlite_utils.Database, table: str, columns: dict[str, Any]) -> None:
    existing = {c.name for c in db[table].columns}
    for name, kind in columns.items():
        if name not in existing:
            db[table].add_column(name, kind)  # type: ignore[union-attr]


_CAPTURE = {"warc_file": str, "warc_offset": int, "warc_length": int}


def _v2_captures(db: sqlite_utils.Database) -> None:
    """Where each story's raw response is kept (a WARC file and record offset)."""
    for table in ("articles", "duplicates", "revisions"):
        _add_columns(db, table, _CAPTURE)


def _v3_boilerplate(db: sqlite_utils.Database) -> None:
    """Per-source boilerplate lines learnt from the archive (text.line_key keys)."""
    _table(
        db,
        "boilerplate",
        {"source": str, "keys": str, "articles": int, "learnt_at": str},
        pk="source",
    )


def _v4_read_indexes(db: sqlite_utils.Database) -> None:
    """Indexes the read side uses: --language, Datasette's language facet and filter
    (at 100k stories a language count goes from 125 ms to 0.7 ms)."""
    _index(db, "articles", "language")


def _v5_minhash(db: sqlite_utils.Database) -> None:
    """Near-duplicates by MinHash (a signature per story, LSH band keys indexed). The
    SimHash columns of v1 (articles.simhash, simhash_bands) are no longer written."""
    _add_columns(db, "articles", {"minhash": bytes})
    _table(
        db,
        "minhash_bands",
        {"key": int, "article_id": int},
        foreign_keys=[("article_id", "articles", "id")],
    )
    _index(db, "minhash_bands", "key")


def _v6_run_indexes(db: sqlite_utils.Database) -> None:
    """Indexes that keep a run's cost independent of the archive's size: a source's
    latest stories without sorting them all, its newest fetch, its run history."""
    _index(db, "articles", "source")  # entries are (source, rowid): id order for free
    _index(db, "articles", "source, fetched_at")
    _index(db, "run_sources", "source, run_id")
    _index(db, "runs", "status")
    _index(db, "articles", "url")  # re-visits look stories up by either address
    _index(db, "minhash_bands", "article_id")  # a revision replaces its band keys
    # Candidates are read newest first and at most a few per key (see
    # Archive._near_duplicate), which this index serves without a sort.
    _index(db, "minhash_bands", "key, article_id")
    db.execute("DROP INDEX IF EXISTS minhash_bands_key")
    _add_columns(db, "boilerplate", {"up_to_id": int})


def _v7_import_files(db: sqlite_utils.Database) -> None:
    """`import-warc --cluster` keeps one row per input file, so that a rerun skips the
    files it loaded and loads the shards it has without extracting them again."""
    _table(
        db,
        "import_files",
        {
            "input": str,  # the path or URL as given
            "state": str,  # running, extracted (shard written), loaded, failed
            "shard": str,  # the Parquet shard's path, once written
            "counts": str,  # JSON: the task's and the writer's counts
            "error": str,
            "attempts": int,  # times submitted to the cluster
            "cpu": float,  # extraction CPU seconds of the task
            "updated_at": str,
        },
        pk="input",
        not_null={"state"},
        defaults={"attempts": 0},
    )


def _v8_fetch_urls(db: sqlite_utils.Database) -> None:
    """A discovered URL's address as the site wrote it, when it is not its canonical
    form: what is requested and matched against robots.txt (issue 13)."""
    _add_columns(db, "urls", {"fetch_url": str})


def _cjk(row: str, columns: tuple[str, ...]) -> str:
    """SQL: whether the story `row` (new or old) has CJK text, which the trigram index
    holds (a plain GLOB, so that any SQLite client writing the archive keeps it)."""
    glob = CJK_GLOB.replace("'", "''")
    return "(" + " OR ".join(f"coalesce({row}.{c}, '') GLOB '{glob}'" for c in columns) + ")"


def _v9_trigram(db: sqlite_utils.Database) -> None:
    """A trigram index of the stories with Chinese, Japanese or Korean text, whose
    words the word index cannot find (no spaces between them): any substring of three
    or more characters is found (store/fts.py). Stories without CJK text are left out
    of it, so an archive without any costs nothing. Built for the existing stories
    here; triggers keep it up to date. An SQLite without the trigram tokenizer (before
    3.34) gets no index, and CJK searches scan."""
    _trigram(db, ("title", "text"))


def _trigram(db: sqlite_utils.Database, columns: tuple[str, ...]) -> None:
    """(Re)create the trigram index over `columns` of the stories with CJK text. Each
    step is kept as it ends (no transaction), so the triggers go first: an interrupted
    run never leaves triggers that write to a missing table, and runs again whole."""
    names = ", ".join(columns)
    for name in ("articles_trigram_ai", "articles_trigram_ad", "articles_trigram_au"):
        db.execute(f"DROP TRIGGER IF EXISTS {name}")
    if fts_columns(db, "articles_trigram") not in ([], list(columns)):
        db.execute("DROP TABLE articles_trigram")  # a new column: built again below
    try:
        db.execute(
            f"CREATE VIRTUAL TABLE IF NOT EXISTS articles_trigram USING fts5({names},"
            " content='articles', content_rowid='id', tokenize='trigram')"
        )
    except sqlite3.OperationalError as exc:
        if "tokenize" in str(exc) or "trigram" in str(exc):
            return
        raise
    new_values = ", ".join(f"new.{c}" for c in columns)
    old_values = ", ".join(f"old.{c}" for c in columns)
    add = (
        f"INSERT INTO articles_trigram (rowid, {names})"
        f" SELECT new.id, {new_values} WHERE {_cjk('new', columns)}"
    )
    remove = (
        f"INSERT INTO articles_trigram (articles_trigram, rowid, {names})"
        f" SELECT 'delete', old.id, {old_values} WHERE {_cjk('old', columns)}"
    )
    db.execute(f"CREATE TRIGGER articles_trigram_ai AFTER INSERT ON articles BEGIN {add}; END")
    db.execute(f"CREATE TRIGGER articles_trigram_ad AFTER DELETE ON articles BEGIN {remove}; END")
    db.execute(
        f"CREATE TRIGGER articles_trigram_au AFTER UPDATE OF {names} ON articles BEGIN"
        f" {remove}; {add}; END"
    )
    # (Re)build for the stories already stored: a migration run again starts afresh.
    db.execute("INSERT INTO articles_trigram (articles_trigram) VALUES ('delete-all')")
    db.execute(
        f"INSERT INTO articles_trigram (rowid, {names})"
        f" SELECT a.id, {', '.join(f'a.{c}' for c in columns)}"
        f" FROM articles a WHERE {_cjk('a', columns)}"
    )


def fts_columns(db: sqlite_utils.Database, table: str) -> list[str]:
    """The columns of the full-text table `table` ([] when there is none)."""
    if db.execute("SELECT 1 FROM sqlite_master WHERE name = ?", [table]).fetchone() is None:
        return []
    return [row[1] for row in db.execute(f"PRAGMA table_info({table})").fetchall()]


def _v10_published_utc(db: sqlite_utils.Database) -> None:
    """`published` keeps the publisher's own UTC offset (the local day people cite);
    `published_utc` is the same instant in UTC, for filters and sorting. Stories stored
    before this held `published` in UTC already: it is copied."""
    _add_columns(db, "articles", {"published_utc": str})
    db.execute("UPDATE articles SET published_utc = published WHERE published_utc IS NULL")
    _index(db, "articles", "published_utc")


def _v11_access(db: sqlite_utils.Database) -> None:
    """Access labels (issue 16): `articles.access` says whether the story was all there
    ('ok') or cut by a paywall ('paywalled'); stories stored before it are 'ok'. A
    discovered URL keeps its feed summary (`urls.hint_summary`), which a story much
    shorter than its own summary is judged against."""
    if "access" not in {c.name for c in db["articles"].columns}:
        db.execute("ALTER TABLE articles ADD COLUMN access TEXT NOT NULL DEFAULT 'ok'")
    _add_columns(db, "urls", {"hint_summary": str})
    _index(db, "articles", "access")


def _v12_standfirst(db: sqlite_utils.Database) -> None:
    """The standfirst, the lead under the headline (extract/standfirst.py), kept apart
    from the body `text`. Both full-text indexes gain it as a column, and are rebuilt
    for the stories already stored (which have none yet: `reextract` finds theirs). A
    revision keeps its standfirst too. Each step is kept as it ends (sqlite-utils commits
    the index's set-up), so the migration starts from nothing every time: killed at any
    point, it runs again whole on the next open."""
    _add_columns(db, "articles", {"standfirst": str})
    _add_columns(db, "revisions", {"standfirst": str})
    for name in ("articles_ai", "articles_ad", "articles_au"):
        db.execute(f'DROP TRIGGER IF EXISTS "{name}"')
    db.execute("DROP TABLE IF EXISTS articles_fts")
    db["articles"].enable_fts(  # type: ignore[union-attr]
        _FTS_COLUMNS, fts_version="FTS5", create_triggers=True, tokenize=_TOKENIZE
    )
    db.execute('DROP TRIGGER IF EXISTS "articles_au"')  # re-index only on text changes
    db.execute(_FTS_UPDATE_TRIGGER_12)
    _trigram(db, ("title", "text", "standfirst"))


MIGRATIONS: tuple[Migration, ...] = (
    _v1_initial,
    _v2_captures,
    _v3_boilerplate,
    _v4_read_indexes,
    _v5_minhash,
    _v6_run_indexes,
    _v7_import_files,
    _v8_fetch_urls,
    _v9_trigram,
    _v10_published_utc,
    _v11_access,
    _v12_standfirst,
)
SCHEMA_VERSION = len(MIGRATIONS)


def migrate(db: sqlite_utils.Database) -> int:
    """Bring the archive up to SCHEMA_VERSION; return the version it had."""
    version = int(db.execute("PRAGMA user_version").fetchone()[0])
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"this archive has schema version {version}, newer than this newsarchive "
            f"understands ({SCHEMA_VERSION}); upgrade newsarchive"
        )
    for number in range(version, SCHEMA_VERSION):
        MIGRATIONS[number](db)
        db.conn.commit()
        db.execute(f"PRAGMA user_version = {number + 1}")
        db.conn.commit()
    return version
