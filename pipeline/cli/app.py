"""The `newsarchive` command group and the error-to-exit-code mapping."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from pipeline import __version__
from pipeline.config.loader import DEFAULT_CONFIG, archive_path
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
            sys.exit(130)
        except BrokenPipeError:  # `newsarchive export | head`
            sys.stderr.close()
            sys.exit(0)
        return None

    return wrapper  # type: ignore[return-value]


def config_options(fn: F) -> F:
    """--config and --db, taken by every command that reads or writes the archive."""
    fn = click.option(
        "--db",
        "db",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="The archive database (default: the config's `archive`, else archive/news.db).",
    )(fn)
    fn = click.option(
        "--config",
        "config_path",
        type=click.Path(dir_okay=False, path_type=Path),
        default=DEFAULT_CONFIG,
        show_default=True,
        help="The sources file.",
    )(fn)
    return fn


def resolve_db(config_path: Path, db: Path | None) -> Path:
    return archive_path(config_path, db)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="newsarchive")
def cli() -> None:
    """Archive news sites: discover, fetch and extract stories into a deduplicated,
    searchable SQLite archive.

    Start with `newsarchive demo`, then `newsarchive run` with your sources.yaml.
    """


def main() -> None:
    from pipeline.cli import browse, runs, warcs  # noqa: F401  (registers the commands)

    cli(prog_name="newsarchive")
