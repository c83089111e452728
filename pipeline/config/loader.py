"""sources.yaml -> frozen, validated configuration.

Every problem is a ConfigError naming the file, the source and the key; nothing is
half-loaded. The schema lives in the tables below (_TOP, _FETCH, _SOURCE), each key
with its type check and default, so the validator and the documentation agree.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pipeline.config import checks as c
from pipeline.config.checks import Check
from pipeline.config.cookies import Cookie, CookiesFileError, load_cookies
from pipeline.errors import ConfigError
from pipeline.models import ExtractOptions

DEFAULT_CONFIG = "sources.yaml"
DEFAULT_ARCHIVE = "archive/news.db"
DEFAULT_USER_AGENT = "newsarchive/0.1 (+https://example.org/newsarchive)"
_NAME = re.compile(r"[a-z0-9-]+")


@dataclass(frozen=True, slots=True)
class FetchSettings:
    user_agent: str = DEFAULT_USER_AGENT
    concurrency: int = 32
    timeout: float = 30.0
    retries: int = 3
    backoff: float = 1.0  # seconds before the first retry; doubles per retry, with jitter
    max_bytes: int = 10_000_000
    allow_private: bool = False  # fetch loopback/private addresses anywhere
    revalidate_hours: float = 24.0  # feeds/sitemaps: unconditional GET after this age


@dataclass(frozen=True, slots=True)
class WarcSettings:
    dir: Path | None = None  # None: `warc/` beside the archive DB
    max_file_mb: int = 1000  # a WARC file is closed and a new one begun past this size
    compression: int = 3  # gzip level of each record (1 fastest ... 9 smallest)


@dataclass(frozen=True, slots=True)
class Source:
    name: str
    url: str
    feeds: tuple[str, ...] = ()
    sitemaps: tuple[str, ...] = ()
    listings: tuple[str, ...] = ()
    include: tuple[re.Pattern[str], ...] = ()
    exclude: tuple[re.Pattern[str], ...] = ()
    drop: tuple[str, ...] = ()
    language: str | None = None
    delay: float = 1.0
    host_concurrency: int = 2
    max_articles: int = 100
    respect_robots: bool = True
    min_text_length: int = 200
    refresh_after: float = 0.0  # days; >0 re-fetches stored articles younger than this
    refresh_every: float = 1.0  # hours; the least time between two re-visits of a story
    capture: bool = True  # keep WARC captures of article responses
    max_revisits: int = 50  # stored stories re-visited per run, at most
    # The user's own credentials for the site (docs/access.md): extra request headers and
    # the cookies of `cookies_file`, sent only to the source's own hosts, never shown.
    headers: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    cookies_file: Path | None = None
    cookies: tuple[Cookie, ...] = field(default=(), repr=False)

    def accepts(self, url: str) -> bool:
        """include/exclude filters: must match one include (if any), no exclude."""
        if self.include and not any(p.search(url) for p in self.include):
            return False
        return not any(p.search(url) for p in self.exclude)

    def extract_options(self, boilerplate: frozenset[str] = frozenset()) -> ExtractOptions:
        return ExtractOptions(
            drop=self.drop, min_text_length=self.min_text_length, boilerplate=boilerplate
        )


@dataclass(frozen=True, slots=True)
class Config:
    path: Path | None
    archive: Path
    fetch: FetchSettings = field(default_factory=FetchSettings)
    sources: tuple[Source, ...] = ()
    warc: WarcSettings = field(default_factory=WarcSettings)
    near_duplicate_threshold: float = 0.7  # estimated Jaccard similarity of shingles

    def warc_dir(self, archive: Path) -> Path:
        """Where captures go for the archive at `archive` (which --db may override)."""
        return self.warc.dir if self.warc.dir is not None else archive.parent / "warc"

    def source(self, name: str) -> Source | None:
        return next((s for s in self.sources if s.name == name), None)


# --- the schema (the checks are in checks.py) ------------------------------------------

_FETCH: dict[str, Check] = {
    "user_agent": c.user_agent,
    "concurrency": c.whole(1, 1000),
    "timeout": c.number(0.1, 3600),
    "retries": c.whole(0, 20),
    "backoff": c.number(0, 600),
    "max_bytes": c.whole(1024, c.MAX_BYTES),
    "allow_private": c.boolean,
    "revalidate_hours": c.number(0, c.MAX_HOURS),
}

# Keys a source may set, and that `defaults:` may set for every source.
_PER_SOURCE: dict[str, Check] = {
    "delay": c.number(0, 3600),
    "host_concurrency": c.whole(1, 100),
    "max_articles": c.whole(1),
    "respect_robots": c.boolean,
    "min_text_length": c.whole(0, c.MAX_BYTES),
    "refresh_after": c.number(0, c.MAX_DAYS),
    "refresh_every": c.number(0, c.MAX_HOURS),
    "max_revisits": c.whole(0, c.MAX_REVISITS),
    "capture": c.boolean,
    "language": c.language,
    "include": c.list_of(c.regex),
    "exclude": c.list_of(c.regex),
    "drop": c.list_of(c.selector),
}
_SOURCE_ONLY: dict[str, Check] = {
    "name": c.text,
    "url": c.http_url,
    "feeds": c.list_of(c.http_url),
    "sitemaps": c.list_of(c.http_url),
    "listings": c.list_of(c.http_url),
    "headers": c.headers,
    "cookies_file": c.file_path,
}
_WARC: dict[str, Check] = {
    "dir": c.file_path,
    "max_file_mb": c.whole(1),
    "compression": c.whole(1, 9),
}
_TOP = ("archive", "fetch", "defaults", "sources", "warc", "near_duplicate_threshold")


def _unknown(key: object, known: Any) -> str:
    close = difflib.get_close_matches(c.label(key), [str(k) for k in known], n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return f"unknown key{hint}; known keys: {', '.join(sorted(known))}"


def _mapping(
    value: Any, what: str, path: str, source: str | None = None, line: int | None = None
) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(
            f"{what} must be a mapping, not {c.show(value)}", path=path, source=source, line=line
        )
    return value


def _apply(
    table: Mapping[str, Check],
    data: Mapping[str, Any],
    path: str,
    source: str | None,
    prefix: str = "",
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = prefix + c.label(key)
        line = c.line_of(data, key)
        if key not in table:
            raise ConfigError(_unknown(key, table), path=path, source=source, key=name, line=line)
        try:
            out[key] = table[key](value)
        except ValueError as exc:
            raise ConfigError(str(exc), path=path, source=source, key=name, line=line) from None
    return out


def parse(data: Any, path: str = DEFAULT_CONFIG, base_dir: Path | None = None) -> Config:
    """Validate already-loaded YAML data into a Config."""
    top = _mapping(data, "the file", path)
    for key in top:
        if key not in _TOP:
            raise ConfigError(
                _unknown(key, _TOP), path=path, key=c.label(key), line=c.line_of(top, key)
            )
    fetch = FetchSettings(
        **_apply(
            _FETCH,
            _mapping(top.get("fetch"), "fetch", path, None, c.line_of(top, "fetch")),
            path,
            None,
            "fetch.",
        )
    )
    defaults = _apply(
        _PER_SOURCE,
        _mapping(top.get("defaults"), "defaults", path, None, c.line_of(top, "defaults")),
        path,
        None,
        "defaults.",
    )
    raw_sources = top.get("sources")
    if raw_sources is None or raw_sources == []:
        raise ConfigError("no sources: add a 'sources:' list", path=path, key="sources")
    if not isinstance(raw_sources, list):
        raise ConfigError(
            f"must be a list, not {c.show(raw_sources)}",
            path=path,
            key="sources",
            line=c.line_of(top, "sources"),
        )
    sources: list[Source] = []
    seen: set[str] = set()
    for index, raw in enumerate(raw_sources):
        given = raw.get("name") if isinstance(raw, dict) else None
        label = given if isinstance(given, str) and given.strip() else f"#{index + 1}"
        label = label if c.label(label) == label else f"#{index + 1}"  # one printable line
        entry = _mapping(raw, "a source", path, label, c.line_of(top, "sources"))
        table = {**_SOURCE_ONLY, **_PER_SOURCE}
        values = {**defaults, **_apply(table, entry, path, label)}
        for required in ("name", "url"):
            if required not in values:
                raise ConfigError(
                    "is required", path=path, source=label, key=required, line=c.line_of(entry)
                )
        name = values["name"]
        if not _NAME.fullmatch(name):
            raise ConfigError(
                f"must be lower-case letters, digits and '-', not {c.brief(name)}",
                path=path,
                source=label,
                key="name",
                line=c.line_of(entry, "name"),
            )
        if name in seen:
            raise ConfigError(
                "duplicate source name",
                path=path,
                source=name,
                key="name",
                line=c.line_of(entry, "name"),
            )
        seen.add(name)
        if "cookies_file" in values:
            values["cookies_file"], values["cookies"] = _cookies(
                values["cookies_file"], base_dir, path, name, c.line_of(entry, "cookies_file")
            )
        sources.append(Source(**values))
    warc_values = _apply(
        _WARC,
        _mapping(top.get("warc"), "warc", path, None, c.line_of(top, "warc")),
        path,
        None,
        "warc.",
    )
    warc_dir = Path(warc_values["dir"]) if "dir" in warc_values else None
    if warc_dir is not None and base_dir is not None and not warc_dir.is_absolute():
        warc_dir = base_dir / warc_dir
    warc = WarcSettings(
        dir=warc_dir,
        max_file_mb=warc_values.get("max_file_mb", 1000),
        compression=warc_values.get("compression", 3),
    )
    try:
        near = c.number(0.3, 1.0)(top.get("near_duplicate_threshold", 0.7))
    except ValueError as exc:
        raise ConfigError(
            str(exc),
            path=path,
            key="near_duplicate_threshold",
            line=c.line_of(top, "near_duplicate_threshold"),
        ) from None
    archive = top.get("archive", DEFAULT_ARCHIVE)
    try:
        archive_path = Path(c.file_path(archive))
    except ValueError as exc:
        raise ConfigError(
            str(exc), path=path, key="archive", line=c.line_of(top, "archive")
        ) from None
    if base_dir is not None and not archive_path.is_absolute():
        archive_path = base_dir / archive_path
    return Config(
        path=Path(path),
        archive=archive_path,
        fetch=fetch,
        sources=tuple(sources),
        warc=warc,
        near_duplicate_threshold=near,
    )


def _cookies(
    value: str, base_dir: Path | None, path: str, source: str, line: int | None
) -> tuple[Path, tuple[Cookie, ...]]:
    """The cookies file (relative to the config's folder) and its cookies."""
    file = Path(value).expanduser()
    if base_dir is not None and not file.is_absolute():
        file = base_dir / file
    try:
        return file, load_cookies(file)
    except CookiesFileError as exc:
        raise ConfigError(
            str(exc), path=path, source=source, key="cookies_file", line=line
        ) from None


def load(path: str | Path) -> Config:
    """Read and validate sources.yaml."""
    file = Path(path)
    try:
        raw = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("file not found", path=str(file)) from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:  # ValueError: a NUL in the path
        raise ConfigError(f"cannot read: {exc}", path=str(file)) from None
    try:
        data = c.read_yaml(raw)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"not valid YAML{where}: {problem}", path=str(file)) from None
    except RecursionError:
        raise ConfigError("not valid YAML: nested too deeply to read", path=str(file)) from None
    return parse(data, str(file), file.resolve().parent)


def archive_path(config_path: str | Path | None, db: str | Path | None) -> Path:
    """Where the archive is for commands that may run without a sources.yaml:
    --db wins; else the config's `archive` if the config exists; else the default."""
    if db is not None:
        return Path(db)
    if config_path is not None and Path(config_path).exists():
        return load(config_path).archive
    return Path(DEFAULT_ARCHIVE)
