"""The `newsarchive` command group: every command is added here, in one place, so that
`from pipeline.cli import cli` is the whole CLI (no registration by import side effect).

The command modules import only click and the CLI's own small modules at the top;
each command imports what it needs when it runs, so `newsarchive --help` starts fast."""

from __future__ import annotations

import click

from pipeline import __version__
from pipeline.cli import browse, changes, runs, stats, try_cmd, warcs


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="newsarchive")
def cli() -> None:
    """Archive news sites: discover, fetch and extract stories into a deduplicated,
    searchable SQLite archive.

    Start with `newsarchive demo`, then `newsarchive run` with your sources.yaml.
    """


for command in (
    runs.run,
    runs.demo,
    browse.search,
    browse.show,
    stats.stats,
    browse.export,
    browse.serve,
    warcs.reextract_command,
    warcs.import_warc_command,
    try_cmd.try_command,
    changes.changes_command,
):
    cli.add_command(command)


def main() -> None:
    cli(prog_name="newsarchive")
