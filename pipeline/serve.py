"""`newsarchive serve`: Datasette on the archive, read-only, on loopback by default.

The archive is opened the way Datasette opens a "mutable" file, with SQLite's
`mode=ro`: nothing can write to it, and stories a cron run adds while the server runs
show up (`--immutable` would promise SQLite that the file never changes, which is
untrue while runs append to it and would hide what sits in the WAL). On read-only
media, where SQLite cannot make the WAL's side files, it is opened immutable, as
Archive.open does. Datasette only runs SELECT statements, within a time limit.

Listening on anything but a loopback address needs `expose=True`; an exposed server
also refuses arbitrary SQL unless `allow_sql` (the tables, facets, search and canned
queries stay). Nothing here touches the network beyond binding the socket.
"""

from __future__ import annotations

import copy
import importlib
import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.errors import StoreError, UsageError
from pipeline.store import Archive, changes, queries

TABLES: dict[str, dict[str, Any]] = {
    "articles": {
        "title": "Articles",
        "description": (
            "One row per distinct story. The search box finds stories with all the words "
            'typed, or "a phrase", in the title or text; for OR, NOT, prefix* and ranking '
            'by relevance, use the query "Search, best matches first". Columns are '
            "described in docs/schema.md."
        ),
        "fts_table": "articles_fts",
        "fts_pk": "id",
        "facets": ["source", "language", {"date": "published"}],
        "sort_desc": "published",
        "label_column": "title",
    },
    "duplicates": {
        "title": "Duplicate copies",
        "description": "Copies of a stored story found at other addresses (same text).",
        "facets": ["source"],
        "sort_desc": "fetched_at",
    },
    "revisions": {
        "title": "Earlier revisions",
        "description": "Earlier texts of stories that were edited after archiving.",
    },
    "urls": {
        "title": "URLs seen",
        "description": (
            "Every URL discovery found and what became of it (pending, stored, duplicate, "
            "skipped, retry, failed)."
        ),
        "facets": ["source", "state"],
        "sort_desc": "discovered_at",
    },
    "failures": {
        "title": "Fetch failures",
        "description": "Every failed fetch, with its run.",
        "facets": ["source", "kind", "permanent"],
        "sort_desc": "at",
    },
    "feeds": {
        "title": "Feeds and sitemaps",
        "description": "Each feed, sitemap and listing page: validators and health.",
        "facets": ["source", "kind", "status"],
    },
    "runs": {
        "title": "Runs",
        "description": "One row per run of `newsarchive run`.",
        "facets": ["status"],
        "sort_desc": "id",
    },
    "run_sources": {
        "title": "Runs per source",
        "description": "What each run found per source.",
        "facets": ["source"],
        "sort_desc": "run_id",
    },
    "robots": {"hidden": True},
    "simhash_bands": {"hidden": True},
    "minhash_bands": {"hidden": True},
}

SETTINGS: dict[str, Any] = {
    "sql_time_limit_ms": 3000,
    "facet_time_limit_ms": 1000,
    "suggest_facets": False,  # costly on a large archive
    "default_page_size": 50,
    "max_returned_rows": 1000,
    "allow_download": False,
    "truncate_cells_html": 300,
}


def database_name(db: Path) -> str:
    """The name Datasette gives the database (its URL path): the file's stem."""
    return db.stem


def metadata(db: Path, tables: list[str], *, allow_sql: bool = True) -> dict[str, Any]:
    """Datasette metadata for the archive at `db` whose tables are `tables`."""
    present = set(tables)
    table_meta = {name: copy.deepcopy(meta) for name, meta in TABLES.items() if name in present}
    if "articles_fts" not in present and "articles" in table_meta:
        for key in ("fts_table", "fts_pk"):
            table_meta["articles"].pop(key, None)
    data: dict[str, Any] = {
        "title": f"newsarchive: {db.name}",
        "description": (
            "News stories archived by newsarchive: search them, facet by source, "
            "language and date, or run the canned queries below. Read-only."
        ),
        "databases": {
            database_name(db): {
                "title": f"Archive {db.name}",
                "description": "Stories, their duplicates and revisions, and crawl state.",
                "tables": table_meta,
                "queries": (
                    {**queries.CANNED_QUERIES, **changes.CANNED_QUERIES}
                    if "articles_fts" in present
                    else {}
                ),
            }
        },
    }
    if not allow_sql:
        data["allow_sql"] = False
    return data


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_host(host: str, expose: bool) -> None:
    if not is_loopback(host) and not expose:
        raise UsageError(
            f"refusing to listen on {host}: that makes the archive reachable from other "
            "machines; add --expose if that is what you want"
        )


@dataclass(frozen=True, slots=True)
class ServeOptions:
    db: Path
    host: str = "127.0.0.1"
    port: int = 8001
    expose: bool = False
    allow_sql: bool | None = None  # None: yes on loopback, no when exposed


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host.strip("[]"), port))
        sock.listen(128)  # connections wait in the backlog until the server accepts
    except OSError as exc:
        sock.close()
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    return sock


def serve(options: ServeOptions, ready: Callable[[str], None]) -> None:
    """Serve until interrupted; `ready(url)` is called once the socket listens."""
    check_host(options.host, options.expose)
    db = options.db
    with Archive.open(db, readonly=True) as archive:  # checks it exists, its version
        tables = queries.table_names(archive)
        immutable = archive.immutable  # on read-only media: see store/opening.py
    allow_sql = options.allow_sql if options.allow_sql is not None else not options.expose

    import uvicorn
    from datasette.app import Datasette  # first: it registers Datasette's own plugins

    # Datasette prints every error it answers (a rejected SQL statement, a 404) as a
    # rich traceback with its locals, ~300 lines on stdout, though the client gets the
    # error either way. (Imported only now: imported before datasette.app, the module
    # would register as a plugin before its hook exists, and no error gets an answer.)
    setattr(importlib.import_module("datasette.handle_exception"), "rich", None)  # noqa: B010
    try:
        ds = Datasette(
            [] if immutable else [str(db)],
            immutables=[str(db)] if immutable else [],
            metadata=metadata(db, tables, allow_sql=allow_sql),
            settings=SETTINGS,
            cors=False,
        )
    except (OSError, ValueError) as exc:
        raise StoreError(f"{db}: Datasette cannot open it ({exc})") from None
    sock = bind(options.host, options.port)
    port = sock.getsockname()[1]
    shown = f"[{options.host}]" if ":" in options.host else options.host
    config = uvicorn.Config(
        ds.app(), log_level="warning", lifespan="on", access_log=False, workers=1
    )
    server = uvicorn.Server(config)
    ready(f"http://{shown}:{port}/{database_name(db)}")
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
