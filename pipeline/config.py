"""sources.yaml -> frozen, validated configuration.

Every problem is a ConfigError naming the file, the source and the key; nothing is
half-loaded. The schema lives in the tables below (_TOP, _FETCH, _SOURCE), each key
with its type check and default, so the validator and the documentation agree.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from selectolax.lexbor import LexborHTMLParser, SelectolaxError

from .errors import ConfigError
from .models import ExtractOptions
from .urls import canonicalize

DEFAULT_CONFIG = "sources.yaml"
DEFAULT_ARCHIVE = "archive/news.db"
DEFAULT_USER_AGENT = "newsarchive/0.1 (+https://example.org/newsarchive)"
_NAME = re.compile(r"^[a-z0-9-]+$")
_LANG = re.compile(r"^[a-z]{2}$")


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


# --- the schema ---------------------------------------------------------------------

Check = Callable[[Any], Any]  # returns the converted value or raises ValueError(message)


def _int(low: int, high: int | None = None) -> Check:
    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"must be a whole number, not {_show(value)}")
        if value < low or (high is not None and value > high):
            span = f"from {low} to {high}" if high is not None else f"at least {low}"
            raise ValueError(f"must be {span}, not {value}")
        return value

    return check


def _number(low: float, high: float | None = None) -> Check:
    def check(value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"must be a number, not {_show(value)}")
        if value < low or (high is not None and value > high):
            span = f"from {low} to {high}" if high is not None else f"at least {low}"
            raise ValueError(f"must be {span}, not {value}")
        return float(value)

    return check


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"must be true or false, not {_show(value)}")
    return value


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"must be a non-empty string, not {_show(value)}")
    return value.strip()


def _http_url(value: Any) -> str:
    text = _text(value)
    if canonicalize(text) is None or "://" not in text:
        raise ValueError(f"must be an absolute http:// or https:// URL, not {text!r}")
    return text  # kept as written: a feed may need every query parameter


def _language(value: Any) -> str:
    text = _text(value).lower()
    if not _LANG.match(text):
        raise ValueError(f"must be a two-letter ISO 639-1 code such as 'en', not {value!r}")
    return text


def _regex(value: Any) -> re.Pattern[str]:
    text = _text(value)
    try:
        return re.compile(text)
    except re.error as exc:
        raise ValueError(f"{text!r} is not a valid regular expression ({exc})") from None


_PROBE = LexborHTMLParser("<html><body><p>probe</p></body></html>")


def _selector(value: Any) -> str:
    text = _text(value)
    try:
        _PROBE.css(text)
    except SelectolaxError:
        raise ValueError(f"{text!r} is not a valid CSS selector") from None
    return text


def _list_of(item: Check) -> Check:
    def check(value: Any) -> tuple[Any, ...]:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            raise ValueError(f"must be a list, not {_show(value)}")
        out = []
        for index, element in enumerate(value):
            try:
                out.append(item(element))
            except ValueError as exc:
                raise ValueError(f"item {index + 1}: {exc}") from None
        return tuple(out)

    return check


def _show(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    kind = {str: "text", list: "a list", dict: "a mapping", bool: "true/false"}.get(
        type(value), type(value).__name__
    )
    return f"{kind} {value!r}" if not isinstance(value, dict | list) else kind


_FETCH: dict[str, Check] = {
    "user_agent": _text,
    "concurrency": _int(1, 1000),
    "timeout": _number(0.1, 3600),
    "retries": _int(0, 20),
    "backoff": _number(0, 600),
    "max_bytes": _int(1024),
    "allow_private": _bool,
    "revalidate_hours": _number(0),
}

# Keys a source may set, and that `defaults:` may set for every source.
_PER_SOURCE: dict[str, Check] = {
    "delay": _number(0, 3600),
    "host_concurrency": _int(1, 100),
    "max_articles": _int(1),
    "respect_robots": _bool,
    "min_text_length": _int(0),
    "refresh_after": _number(0),
    "refresh_every": _number(0),
    "capture": _bool,
    "language": _language,
    "include": _list_of(_regex),
    "exclude": _list_of(_regex),
    "drop": _list_of(_selector),
}
_SOURCE_ONLY: dict[str, Check] = {
    "name": _text,
    "url": _http_url,
    "feeds": _list_of(_http_url),
    "sitemaps": _list_of(_http_url),
    "listings": _list_of(_http_url),
}
_WARC: dict[str, Check] = {
    "dir": _text,
    "max_file_mb": _int(1),
    "compression": _int(1, 9),
}
_TOP = ("archive", "fetch", "defaults", "sources", "warc", "near_duplicate_threshold")


def _unknown(key: object, known: Any) -> str:
    close = difflib.get_close_matches(str(key), [str(k) for k in known], n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return f"unknown key{hint}; known keys: {', '.join(sorted(known))}"


def _mapping(value: Any, what: str, path: str, source: str | None = None) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"{what} must be a mapping, not {_show(value)}", path=path, source=source)
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
        if key not in table:
            raise ConfigError(_unknown(key, table), path=path, source=source, key=prefix + str(key))
        try:
            out[key] = table[key](value)
        except ValueError as exc:
            raise ConfigError(str(exc), path=path, source=source, key=prefix + str(key)) from None
    return out


def parse(data: Any, path: str = DEFAULT_CONFIG, base_dir: Path | None = None) -> Config:
    """Validate already-loaded YAML data into a Config."""
    top = _mapping(data, "the file", path)
    for key in top:
        if key not in _TOP:
            raise ConfigError(_unknown(key, _TOP), path=path, key=str(key))
    fetch = FetchSettings(
        **_apply(_FETCH, _mapping(top.get("fetch"), "fetch", path), path, None, "fetch.")
    )
    defaults = _apply(
        _PER_SOURCE, _mapping(top.get("defaults"), "defaults", path), path, None, "defaults."
    )
    raw_sources = top.get("sources")
    if raw_sources is None or raw_sources == []:
        raise ConfigError("no sources: add a 'sources:' list", path=path, key="sources")
    if not isinstance(raw_sources, list):
        raise ConfigError(f"must be a list, not {_show(raw_sources)}", path=path, key="sources")
    sources: list[Source] = []
    seen: set[str] = set()
    for index, raw in enumerate(raw_sources):
        label = (
            raw.get("name")
            if isinstance(raw, dict) and isinstance(raw.get("name"), str)
            else f"#{index + 1}"
        )
        entry = _mapping(raw, "a source", path, label)
        table = {**_SOURCE_ONLY, **_PER_SOURCE}
        values = {**defaults, **_apply(table, entry, path, label)}
        for required in ("name", "url"):
            if required not in values:
                raise ConfigError("is required", path=path, source=label, key=required)
        name = values["name"]
        if not _NAME.match(name):
            raise ConfigError(
                f"must be lower-case letters, digits and '-', not {name!r}",
                path=path,
                source=label,
                key="name",
            )
        if name in seen:
            raise ConfigError("duplicate source name", path=path, source=name, key="name")
        seen.add(name)
        sources.append(Source(**values))
    warc_values = _apply(_WARC, _mapping(top.get("warc"), "warc", path), path, None, "warc.")
    warc_dir = Path(warc_values["dir"]) if "dir" in warc_values else None
    if warc_dir is not None and base_dir is not None and not warc_dir.is_absolute():
        warc_dir = base_dir / warc_dir
    warc = WarcSettings(
        dir=warc_dir,
        max_file_mb=warc_values.get("max_file_mb", 1000),
        compression=warc_values.get("compression", 3),
    )
    try:
        near = _number(0.3, 1.0)(top.get("near_duplicate_threshold", 0.7))
    except ValueError as exc:
        raise ConfigError(str(exc), path=path, key="near_duplicate_threshold") from None
    archive = top.get("archive", DEFAULT_ARCHIVE)
    try:
        archive_path = Path(_text(archive))
    except ValueError as exc:
        raise ConfigError(str(exc), path=path, key="archive") from None
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


def load(path: str | Path) -> Config:
    """Read and validate sources.yaml."""
    file = Path(path)
    try:
        raw = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("file not found", path=str(file)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read: {exc}", path=str(file)) from None
    try:
        data = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"not valid YAML{where}: {problem}", path=str(file)) from None
    return parse(data, str(file), file.resolve().parent)


def archive_path(config_path: str | Path | None, db: str | Path | None) -> Path:
    """Where the archive is for commands that may run without a sources.yaml:
    --db wins; else the config's `archive` if the config exists; else the default."""
    if db is not None:
        return Path(db)
    if config_path is not None and Path(config_path).exists():
        return load(config_path).archive
    return Path(DEFAULT_ARCHIVE)
