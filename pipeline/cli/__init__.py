"""The command line: the only part of newsarchive that imports click and rich and
knows about the terminal. Errors become one-line messages and exit codes here."""

from pipeline.cli.app import cli, main

__all__ = ["cli", "main"]
