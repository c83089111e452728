"""The value checks of sources.yaml's schema, and the YAML reader loader.load uses.

A check takes a value as YAML gave it and returns it converted, or raises ValueError
with the rest of one message line ("must be ..., not ..."); loader.py adds the file,
the source and the key. A value passes only if the run can use it: finite numbers in
ranges that timedelta and zlib take, text that is valid Unicode, a User-Agent that is
a valid HTTP header, a path the OS can open. Values quoted back are cut short, so an
error stays one line whatever the file holds.
"""

from __future__ import annotations

import math
import os
import re
import warnings
from collections.abc import Callable
from typing import Any

import yaml
from selectolax.lexbor import LexborHTMLParser, SelectolaxError

from pipeline.urls import canonicalize

Check = Callable[[Any], Any]  # returns the converted value or raises ValueError(message)

# fetch.max_bytes at most: a body this size is held in memory, decoded to text and sent
# to an extraction worker; SQLite stores no longer text (SQLITE_MAX_LENGTH), and
# decode.py's limit + 1 still fits the C size zlib and brotli take, even on 32 bits.
MAX_BYTES = 1_000_000_000
MAX_HOURS = 876_000  # 100 years: "now" minus this stays a date Python can hold
MAX_DAYS = 36_500
MAX_REVISITS = 100_000  # stored stories re-visited per source and run
_QUOTE = 60  # characters of a value quoted back in a message
_LANG = re.compile(r"[a-z]{2}", re.ASCII)
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]")  # RFC 9110 tchar: a product name


def brief(value: Any) -> str:
    """repr(value), cut short; a huge int by its size (its digits may not be printable)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _number_text(value)
    return _cut(repr(value))


def _cut(text: str, limit: int = _QUOTE) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def label(key: Any) -> str:
    """A key as named in a message: as written when that is one short printable line,
    else escaped like a Python string (without its quotes) and cut short."""
    if not isinstance(key, str):
        return brief(key)
    if key.isprintable() and 0 < len(key) <= _QUOTE:
        return key
    return _cut(repr(key)[1:-1]) if key else '""'


def show(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, dict | list):
        return "a mapping" if isinstance(value, dict) else "a list"
    kind = {str: "text", bool: "true/false"}.get(type(value), type(value).__name__)
    return f"{kind} {brief(value)}"


def _number_text(value: float) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        return ".nan" if math.isnan(value) else ".inf" if value > 0 else "-.inf"
    if isinstance(value, int) and abs(value) >= 10**18:
        return f"a {int(math.log10(abs(value))) + 1}-digit number"
    return repr(value)


def _within(value: float, low: float, high: float | None) -> None:
    if value < low or (high is not None and value > high):
        span = f"from {low} to {high}" if high is not None else f"at least {low}"
        raise ValueError(f"must be {span}, not {_number_text(value)}")


def whole(low: int, high: int | None = None) -> Check:
    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"must be a whole number, not {show(value)}")
        _within(value, low, high)
        return value

    return check


def number(low: float, high: float) -> Check:
    """A finite number from low to high (a bound, so float() cannot overflow)."""

    def check(value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"must be a number, not {show(value)}")
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"must be a finite number, not {_number_text(value)}")
        _within(value, low, high)
        return float(value)

    return check


def boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"must be true or false, not {show(value)}")
    return value


def text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"must be a non-empty string, not {show(value)}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(
            f"must be Unicode text, but {brief(value)} holds a lone surrogate "
            "(an escape such as \\ud800, which is no character)"
        ) from None
    return value.strip()


def http_url(value: Any) -> str:
    url = text(value)
    if canonicalize(url) is None or "://" not in url:  # canonicalize never raises
        raise ValueError(f"must be an absolute http:// or https:// URL, not {brief(url)}")
    return url  # kept as written: a feed may need every query parameter


def language(value: Any) -> str:
    code = text(value).lower()
    if not _LANG.fullmatch(code):
        raise ValueError(f"must be a two-letter ISO 639-1 code such as 'en', not {brief(value)}")
    return code


def user_agent(value: Any) -> str:
    """Sent as the User-Agent header: printable ASCII, beginning with a product name
    (robots.txt groups are matched against that name)."""
    agent = text(value)
    if not all(" " <= char <= "~" for char in agent):
        raise ValueError(
            f"must be printable ASCII to be sent as an HTTP header, not {brief(agent)}"
        )
    if not _TOKEN.match(agent):
        raise ValueError(
            f"must begin with a product name such as 'newsarchive/0.1', not {brief(agent)}"
        )
    return agent


def file_path(value: Any) -> str:
    path = text(value)
    try:
        os.fsencode(path)
    except UnicodeEncodeError:
        raise ValueError(f"is not a file name this system can use: {brief(path)}") from None
    if "\x00" in path:
        raise ValueError(f"must be a path without NUL characters, not {brief(path)}")
    return path


_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # RFC 9110 token
# Headers the fetcher sets itself: a source may not replace them.
_OWN_HEADERS = frozenset(
    {
        "host",
        "content-length",
        "transfer-encoding",
        "connection",
        "if-none-match",
        "if-modified-since",
        "accept-encoding",
        "te",
        "upgrade",
        "keep-alive",
    }
)


def headers(value: Any) -> tuple[tuple[str, str], ...]:
    """Extra request headers: a mapping of header names (HTTP tokens) to values
    (printable text on one line: no CR, LF or NUL, which would split the request)."""
    if not isinstance(value, dict):
        raise ValueError(f"must be a mapping of header names to values, not {show(value)}")
    out: list[tuple[str, str]] = []
    for name, raw in value.items():
        if not isinstance(name, str) or not _HEADER_NAME.fullmatch(name):
            raise ValueError(f"header name {brief(name)} is not a valid HTTP header name")
        if name.lower() in _OWN_HEADERS:
            raise ValueError(f"header {name} is set by newsarchive itself")
        if isinstance(raw, bool) or not isinstance(raw, str | int | float):
            raise ValueError(f"header {name} must have a text value, not {show(raw)}")
        text_value = str(raw)
        if any(char in text_value for char in "\r\n\x00"):
            # the value is a credential, maybe: never quoted in a message
            raise ValueError(f"header {name}'s value holds a line break or NUL")
        try:
            text_value.encode("latin-1")
        except UnicodeEncodeError:
            raise ValueError(f"header {name}'s value must be Latin-1 text") from None
        out.append((name, text_value.strip()))
    return tuple(out)


def regex(value: Any) -> re.Pattern[str]:
    pattern = text(value)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            return re.compile(pattern)
        except re.error as exc:
            problem = f"is not a valid regular expression ({_cut(str(exc), 2 * _QUOTE)})"
        except RecursionError:
            problem = "is nested too deeply to compile"
        except OverflowError as exc:  # a{4294967296}
            problem = f"is not a valid regular expression ({exc})"
        except (FutureWarning, DeprecationWarning) as exc:  # "[[": a later Python reads it anew
            problem = f"is ambiguous ({exc}): escape the character at that position"
    raise ValueError(f"{brief(pattern)} {problem}")


_PROBE = LexborHTMLParser("<html><body><p>probe</p></body></html>")


def selector(value: Any) -> str:
    css = text(value)
    try:
        _PROBE.css(css)
    except SelectolaxError:
        raise ValueError(f"{brief(css)} is not a valid CSS selector") from None
    return css


def list_of(item: Check) -> Check:
    def check(value: Any) -> tuple[Any, ...]:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            raise ValueError(f"must be a list, not {show(value)}")
        out = []
        for index, element in enumerate(value):
            try:
                out.append(item(element))
            except ValueError as exc:
                raise ValueError(f"item {index + 1}: {exc}") from None
        return tuple(out)

    return check


# --- reading the YAML -----------------------------------------------------------------------


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader, but a scalar it cannot convert (an int of 5000 digits, the
    date 2024-13-45, `!!int ""`, a \\U escape past U+10FFFF) is a YAMLError with its
    line and column, not a ValueError (or IndexError, ...) from deep inside PyYAML."""

    def construct_object(self, node: Any, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except (ValueError, OverflowError) as exc:  # "month must be in 1..12" and the like
            reason = f" ({_cut(str(exc).split(';')[0], 2 * _QUOTE)})"
        except (IndexError, KeyError, AttributeError, TypeError):  # no message worth showing
            reason = ""
        kind = str(node.tag).rsplit(":", 1)[-1]
        what = brief(node.value) if isinstance(node, yaml.ScalarNode) else "this"
        raise yaml.constructor.ConstructorError(
            None, None, f"cannot read {what} as {kind}{reason}", node.start_mark
        )

    def scan_flow_scalar_non_spaces(self, double: Any, start_mark: Any) -> Any:
        try:
            return super().scan_flow_scalar_non_spaces(double, start_mark)
        except (ValueError, OverflowError):  # chr() of a \U escape
            raise yaml.scanner.ScannerError(
                "while scanning a quoted scalar",
                start_mark,
                "found an escape past U+10FFFF, which is no character",
                self.get_mark(),
            ) from None


class Lined(dict[Any, Any]):
    """A YAML mapping that knows where it is: `line` of its first key, `lines` of each
    key (1-based), so config errors can name the line."""

    line: int | None = None
    lines: dict[Any, int]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lines = {}


def line_of(mapping: Any, key: Any = None) -> int | None:
    """The line of `key` in a mapping read from YAML (of the mapping itself when no
    key is given or the key is not there); None for data not read from a file."""
    if not isinstance(mapping, Lined):
        return None
    return mapping.lines.get(key, mapping.line) if key is not None else mapping.line


_MERGE = "tag:yaml.org,2002:merge"


def _construct_map(loader: _Loader, node: yaml.MappingNode) -> Any:
    """A mapping as a Lined dict; a key given twice is an error at its second place
    (YAML requires unique keys; PyYAML would keep the last value silently)."""
    data = Lined()
    yield data
    first: dict[Any, int] = {}
    for key_node, _ in node.value:
        if key_node.tag == _MERGE or not isinstance(key_node, yaml.ScalarNode):
            continue
        key = loader.construct_object(key_node)
        if key in first:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"duplicate key '{label(key)}' (first at line {first[key]})",
                key_node.start_mark,
            )
        first[key] = key_node.start_mark.line + 1
    data.update(loader.construct_mapping(node))
    data.line = node.start_mark.line + 1
    data.lines = first


_Loader.add_constructor("tag:yaml.org,2002:map", _construct_map)


def read_yaml(raw: str) -> Any:
    """yaml.safe_load, raising only yaml.YAMLError or RecursionError (nesting)."""
    return yaml.load(raw, Loader=_Loader)
