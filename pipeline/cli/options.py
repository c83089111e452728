"""What the commands share: their options (declared once here, so help texts cannot
drift apart), the error-to-exit-code mapping, and the archive path resolution.

Kept light: importing this module (as `newsarchive --help` does) loads click and
nothing of the pipeline's heavy dependencies."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

import click

from pipeline.errors import (
    ArchiveBusyError,
    ConfigError,
    InputError,
    LockHeldError,
    NewsarchiveError,
    QueryError,
    UsageError,
)

F = TypeVar("F", bound=Callable[..., Any])

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_LOCKED = 0, 1, 2, 3
EXIT_INTERRUPTED, EXIT_TERMINATED = 130, 143  # SIGINT, SIGTERM: 128 + the signal
DEFAULT_CONFIG = "sources.yaml"  # pipeline.config.loader.DEFAULT_CONFIG (not imported: slow)


def fail(message: str, code: int) -> None:
    click.echo(f"newsarchive: error: {message}", err=True)
    sys.exit(code)


def guarded(fn: F) -> F:
    """Turn the package's errors into one-line messages and DESIGN.md's exit codes."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (ConfigError, UsageError, QueryError, InputError) as exc:
            fail(str(exc), EXIT_USAGE)
        except (LockHeldError, ArchiveBusyError) as exc:
            fail(str(exc), EXIT_LOCKED)
        except NewsarchiveError as exc:
            fail(str(exc), EXIT_FAILED)
        except KeyboardInterrupt:
            click.echo("newsarchive: interrupted", err=True)
            sys.exit(EXIT_INTERRUPTED)
        except BrokenPipeError:  # `newsarchive export | head`
            sys.stderr.close()
            sys.exit(0)
        return None

    return wrapper  # type: ignore[return-value]


def _apply(fn: F, *decorators: Callable[[F], F]) -> F:
    for decorator in reversed(decorators):
        fn = decorator(fn)
    return fn


def db_option(
    default: Path | None = None,
    help: str = "The archive database (default: the config's `archive`, else archive/news.db).",
) -> Callable[[F], F]:
    return click.option(
        "--db",
        "db",
        type=click.Path(dir_okay=False, path_type=Path),
        default=default,
        show_default=default is not None,
        metavar="PATH",
        help=help,
    )


def config_options(fn: F) -> F:
    """--config and --db, taken by every command that reads or writes the archive."""
    return _apply(
        fn,
        click.option(
            "--config",
            "config_path",
            type=click.Path(dir_okay=False, path_type=Path),
            default=Path(DEFAULT_CONFIG),
            show_default=True,
            metavar="PATH",
            help="The sources file: the sources, and where their archive is.",
        ),
        db_option(),
    )


def workers_option(fn: F) -> F:
    return click.option(
        "--workers",
        type=click.IntRange(min=0),
        metavar="N",
        help="Extraction worker processes (default: one per core; 0: extract in this process).",
    )(fn)


def verbose_option(fn: F) -> F:
    return click.option(
        "-v",
        "--verbose",
        count=True,
        help="More logging on stderr: -v what happens (info), -vv why (debug detail).",
    )(fn)


def source_option(help: str = "Only this source (repeatable).") -> Callable[[F], F]:
    return click.option("--source", "sources", multiple=True, metavar="NAME", help=help)


def format_options(json_help: str) -> Callable[[F], F]:
    """--json, --nl, --csv, --tsv (as sqlite-utils spells them) into one `fmt` value;
    None when none is given: a table on a terminal, plain lines elsewhere."""

    def decorate(fn: F) -> F:
        return _apply(
            fn,
            click.option("--json", "fmt", flag_value="json", default=None, help=json_help),
            click.option(
                "--nl", "fmt", flag_value="nl", help="Newline-delimited JSON: one object a line."
            ),
            click.option("--csv", "fmt", flag_value="csv", help="CSV, with a header row."),
            click.option(
                "--tsv", "fmt", flag_value="tsv", help="Tab-separated, with a header row."
            ),
        )

    return decorate


def resolve_db(config_path: Path, db: Path | None) -> Path:
    if db is not None:  # --db wins: no need to load the config module (courlan, yaml)
        return db
    from pipeline.config.loader import archive_path

    return archive_path(config_path, db)


class LazyChoice(click.Choice):  # type: ignore[type-arg]
    """A choice whose values come from a module loaded only when they are needed
    (parsing this option, or its command's --help), not when the CLI starts."""

    def __init__(self, load: Callable[[], Iterable[str]]) -> None:
        self._load = load
        super().__init__([])

    @property  # type: ignore[override]
    def choices(self) -> list[str]:
        return list(self._load())

    @choices.setter
    def choices(self, value: object) -> None:
        pass


class LazyHelpOption(click.Option):
    """An option whose help text is computed when help is shown (it names values that
    live in a slow module)."""

    def __init__(self, *args: Any, lazy_help: Callable[[], str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._lazy_help = lazy_help

    def get_help_record(self, ctx: click.Context) -> tuple[str, str] | None:
        self.help = self._lazy_help()
        return super().get_help_record(ctx)
