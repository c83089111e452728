"""Terminal output: consoles, sanitising text that came from the web, logging."""

from __future__ import annotations

import logging
import re
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # rich is imported where a terminal needs it: `--help` and pipes go without
    from rich.console import Console
    from rich.text import Text

# C0/C1 control characters (ANSI escape sequences start with ESC, \x1b) except tab/newline.
_CONTROL = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_BIDI = re.compile(r"[\u202a-\u202e\u2066-\u2069]")  # bidirectional overrides


def clean(text: object) -> str:
    """Text from a web page made safe to print: escape sequences, control characters
    and bidirectional overrides removed (they could rewrite or disguise the screen)."""
    if text is None:
        return ""
    return _BIDI.sub("", _CONTROL.sub("", str(text)))


def clean_line(text: object) -> str:
    return " ".join(clean(text).split())


def snippet_text(snippet: str) -> Text:
    """A search snippet with its matches in bold."""
    from rich.text import Text

    from pipeline.store.queries import HIGHLIGHT_END, HIGHLIGHT_START

    out = Text()
    snippet = " ".join(
        _CONTROL.sub(
            lambda m: m.group(0) if m.group(0) in (HIGHLIGHT_START, HIGHLIGHT_END) else "", snippet
        ).split()
    )
    parts = re.split(f"({HIGHLIGHT_START}|{HIGHLIGHT_END})", _BIDI.sub("", snippet))
    bold = False
    for part in parts:
        if part == HIGHLIGHT_START:
            bold = True
        elif part == HIGHLIGHT_END:
            bold = False
        else:
            out.append(part, style="bold yellow" if bold else None)
    return out


def plain_snippet(snippet: str) -> str:
    from pipeline.store.queries import HIGHLIGHT_END, HIGHLIGHT_START

    return clean_line(snippet.replace(HIGHLIGHT_START, "").replace(HIGHLIGHT_END, ""))


def stdout() -> Console:
    from rich.console import Console

    return Console(highlight=False, soft_wrap=False)


def stderr() -> Console:
    from rich.console import Console

    return Console(stderr=True, highlight=False)


class _Sanitise(logging.Filter):
    """Log messages often quote URLs and errors from the web: clean them too."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = clean(record.getMessage())
        record.args = None
        return True


def setup_logging(verbose: int, quiet: bool = False) -> None:
    """Logs go to stderr: warnings by default, -v info, -vv debug, --quiet errors only.

    Every module logs to its own logger (`logging.getLogger(__name__)`), all under
    "pipeline"; at -vv each line names its module (pipeline.fetch.fetcher: ...)."""
    level = (
        logging.ERROR if quiet else (logging.WARNING, logging.INFO, logging.DEBUG)[min(verbose, 2)]
    )
    message = "%(name)s: %(message)s" if level == logging.DEBUG else "%(message)s"
    root = logging.getLogger("pipeline")
    root.handlers.clear()
    root.setLevel(level)
    root.propagate = False
    handler: logging.Handler
    if sys.stderr.isatty():
        from rich.logging import RichHandler

        handler = RichHandler(console=stderr(), show_path=False, markup=False)
        handler.setFormatter(logging.Formatter(message))
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(
            logging.Formatter(
                f"%(asctime)s newsarchive %(levelname)s {message}", "%Y-%m-%dT%H:%M:%S"
            )
        )
    handler.setLevel(level)
    handler.addFilter(_Sanitise())
    root.addHandler(handler)
