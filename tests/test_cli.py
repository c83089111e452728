"""The command line as a whole: one group with every command, options declared once
and documented, fast start (no heavy import for --help), datasette's serve options,
output fit for pipes, and stats that show every source."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from pipeline.cli import cli
from pipeline.demo.site import NewsSite
from pipeline.store import Archive

from .browse_helpers import STORIES, Story, build_archive, cli_env, filler
from .conftest import run_cli, write_config

COMMANDS = {
    "run",
    "demo",
    "search",
    "show",
    "stats",
    "export",
    "serve",
    "reextract",
    "import-warc",
    "try",
    "changes",
}
HEAVY = ("trafilatura", "httpx", "datasette", "sqlite_utils", "rich", "pipeline.jobs.run")


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), env={"COLUMNS": "80", "NO_COLOR": "1"})


def python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=cli_env(),
        timeout=60,
        check=False,
    )


# Item 3 of issue 11: the CLI without circles


def test_importing_the_group_gives_every_command() -> None:
    done = python("from pipeline.cli import cli; print(' '.join(sorted(cli.commands)))")
    assert done.returncode == 0, done.stderr
    assert set(done.stdout.split()) == COMMANDS


def _options(name: str) -> dict[str, click.Option]:
    command = cli.commands[name]
    return {o.name: o for o in command.params if isinstance(o, click.Option) and o.name}


def test_shared_options_are_one_declaration() -> None:
    """--workers, -v, --config and --db read the same wherever they appear."""
    ctx = click.Context(cli)

    def help_of(command: str, option: str) -> tuple[str, str] | None:
        return _options(command)[option].get_help_record(ctx)

    assert help_of("run", "workers") == help_of("reextract", "workers")
    assert help_of("run", "workers") == help_of("import-warc", "workers")
    for command in ("demo", "reextract", "import-warc"):
        assert help_of(command, "verbose") == help_of("run", "verbose")
    for command in ("search", "show", "stats", "export", "serve", "reextract", "import-warc"):
        assert help_of(command, "config_path") == help_of("run", "config_path")
        assert help_of(command, "db") == help_of("run", "db")


# Item 8 of issue 14: --help lists every option with help text


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_option_of_every_command_has_help(name: str) -> None:
    command = cli.commands[name]
    ctx = click.Context(command, info_name=name, parent=click.Context(cli))
    for param in command.params:
        if not isinstance(param, click.Option):
            continue  # arguments are named in the usage line and the docstring
        record = param.get_help_record(ctx)  # (computes a lazy help text)
        assert record is not None, f"{name} {param.opts}: hidden"
        # the help text itself, not only click's "[default: ...]" extras
        assert param.help and param.help.strip(), f"{name} {param.opts} has no help text"
    assert command.help and command.help.strip()


def test_run_help_names_every_exit_code() -> None:
    shown = invoke("run", "--help")
    assert shown.exit_code == 0
    text = " ".join(shown.output.split())
    for code in ("0 ", "1 ", "2 ", "3 ", "130 ", "143 "):
        assert f" {code}" in text, code
    assert "SIGINT" in text and "SIGTERM" in text


# Item 9 of issue 14: serve speaks datasette's -h/-p


def test_serve_takes_datasette_short_options() -> None:
    serve = cli.commands["serve"]
    ctx = serve.make_context("serve", ["-h", "0.0.0.0", "-p", "8123", "--expose"])
    assert ctx.params["host"] == "0.0.0.0" and ctx.params["port"] == 8123
    shown = invoke("serve", "--help")
    assert shown.exit_code == 0
    assert "-h, --host" in shown.output and "-p, --port" in shown.output
    assert "--help" in shown.output
    # the other commands keep -h as help
    assert invoke("stats", "-h").output.startswith("Usage: ")


# Item 11 of issue 14: start-up loads nothing heavy (a behaviour, not a timing)


def test_help_and_import_load_no_heavy_library() -> None:
    code = (
        "import sys\n"
        "from pipeline.cli import main\n"
        "sys.argv = ['newsarchive', '--help']\n"
        "try:\n"
        "    main()\n"
        "except SystemExit:\n"
        "    pass\n"
        f"print(' '.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    done = python(code)
    assert done.returncode == 0, done.stderr
    assert "Commands:" in done.stdout
    assert done.stdout.splitlines()[-1] == ""


def test_stats_and_search_load_no_fetcher_extractor_or_datasette(tmp_path: Path) -> None:
    db = build_archive(tmp_path / "news.db", STORIES[:3])
    for args in (["stats", "--db", str(db)], ["search", "harbour", "--db", str(db)]):
        code = (
            "import sys\n"
            "from pipeline.cli import cli\n"
            f"cli.main({args!r}, standalone_mode=False)\n"
            "print('LOADED', *(m for m in ('trafilatura', 'httpx', 'datasette',"
            " 'pipeline.jobs.run', 'pipeline.fetch.fetcher') if m in sys.modules))\n"
        )
        done = python(code)
        assert done.returncode == 0, done.stderr
        assert done.stdout.splitlines()[-1] == "LOADED", args


# Item 7 of issue 14: output for pipes and scripts

LONG_SOURCE = "regional-morning-herald-and-evening-courier-of-the-north"


def _long_archive(tmp_path: Path) -> tuple[Path, Story]:
    story = Story(
        "a-story-with-an-address-long-enough-to-break-any-eighty-column-table-" + "x" * 30,
        "A headline far longer than any column of an eighty-character table could ever hold",
        "Harbour news. " + filler("long"),
        source=LONG_SOURCE,
    )
    return build_archive(tmp_path / "news.db", [*STORIES[:3], story]), story


def test_off_a_terminal_stats_and_search_print_whole_plain_lines(tmp_path: Path) -> None:
    db, story = _long_archive(tmp_path)
    found = invoke("search", "harbour", "--db", str(db))
    assert found.exit_code == 0
    lines = found.output.splitlines()
    assert story.url in [line.strip() for line in lines]  # one line, whole
    assert any(line.endswith(f"{LONG_SOURCE}  {story.title}") for line in lines)
    stats = invoke("stats", "--db", str(db))
    assert stats.exit_code == 0
    assert any(line.startswith(f"{LONG_SOURCE}  ") for line in stats.output.splitlines())
    for output in (found.output, stats.output):
        for mark in ("…" if output is stats.output else "", "│", "┃", "━"):
            if mark:
                assert mark not in output


def test_stats_and_search_speak_sqlite_utils_formats(tmp_path: Path) -> None:
    db, story = _long_archive(tmp_path)
    as_json = json.loads(invoke("stats", "--db", str(db), "--json").output)
    nl = [json.loads(line) for line in invoke("stats", "--db", str(db), "--nl").output.splitlines()]
    assert {r["name"]: r for r in nl} == as_json
    for fmt, dialect in (("--csv", "excel"), ("--tsv", "excel-tab")):
        text = invoke("stats", "--db", str(db), fmt).output
        rows = list(csv.DictReader(io.StringIO(text), dialect=dialect))
        by_name = {r["name"]: r for r in rows}
        assert set(by_name) == set(as_json)
        assert by_name[LONG_SOURCE]["articles"] == "1"
        assert by_name["gazette"]["healthy"] == "true"

    hits = invoke("search", "harbour", "--db", str(db), "--json").output.splitlines()
    assert invoke("search", "harbour", "--db", str(db), "--nl").output.splitlines() == hits
    first = [json.loads(line) for line in hits]
    for fmt, dialect in (("--csv", "excel"), ("--tsv", "excel-tab")):
        text = invoke("search", "harbour", "--db", str(db), fmt).output
        rows = list(csv.DictReader(io.StringIO(text), dialect=dialect))
        assert [int(r["id"]) for r in rows] == [h["id"] for h in first]
        assert [r["url"] for r in rows] == [h["url"] for h in first]
        assert story.url in [r["url"] for r in rows]


def test_csv_cells_from_the_web_are_not_spreadsheet_formulas(tmp_path: Path) -> None:
    evil = Story("evil", '=HYPERLINK("http://x.example","harbour")', "Harbour. " + filler("e"))
    db = build_archive(tmp_path / "news.db", [evil])
    text = invoke("search", "harbour", "--db", str(db), "--csv").output
    (row,) = csv.DictReader(io.StringIO(text))
    assert row["title"] == "'" + evil.title


# Item 6 of issue 14: stats show the broken source


def _failing_runs(archive: Archive, source: str, count: int) -> None:
    start = datetime(2026, 11, 1, tzinfo=UTC)
    for i in range(count):
        at = start + timedelta(hours=i)
        run_id = archive.begin_run(at, 1, "h", [source])
        counts = {"error": "https://dead.example/: connection refused"}
        archive.finish_run(run_id, at + timedelta(minutes=1), "finished", 1, {}, {source: counts})


def test_a_source_that_never_stored_a_story_is_in_stats(tmp_path: Path) -> None:
    db = build_archive(tmp_path / "news.db", STORIES[:2])  # gazette has stories
    with Archive.open(db) as archive:
        _failing_runs(archive, "dead", 3)
    data = json.loads(invoke("stats", "--db", str(db), "--json").output)
    assert data["dead"]["articles"] == 0
    assert data["dead"]["flags"] == ["failing"] and not data["dead"]["healthy"]
    assert "connection refused" in data["dead"]["last_error"]
    assert data["gazette"]["last_error"] is None
    shown = invoke("stats", "--db", str(db)).output
    row = next(line for line in shown.splitlines() if line.startswith("dead "))
    assert row.split()[1] == "0" and row.endswith("failing")
    assert "connection refused" in shown


def test_failing_runs_are_not_an_empty_archive(tmp_path: Path) -> None:
    db = tmp_path / "news.db"
    with Archive.open(db) as archive:
        _failing_runs(archive, "dead", 1)
    shown = invoke("stats", "--db", str(db))
    assert shown.exit_code == 0
    assert "empty" not in shown.output
    assert "its latest run failed: https://dead.example/: connection refused" in shown.output
    fresh = tmp_path / "fresh.db"
    Archive.open(fresh).close()
    assert "The archive is empty" in invoke("stats", "--db", str(fresh)).output


def test_every_configured_source_is_in_stats(tmp_path: Path) -> None:
    (tmp_path / "archive").mkdir()
    db = build_archive(tmp_path / "archive" / "news.db", STORIES[:2])
    config = tmp_path / "sources.yaml"
    config.write_text(
        "archive: archive/news.db\nsources:\n"
        "  - {name: gazette, url: 'https://gazette.example/'}\n"
        "  - {name: newcomer, url: 'https://newcomer.example/'}\n",
        "utf-8",
    )
    data = json.loads(invoke("stats", "--config", str(config), "--json").output)
    assert set(data) == {"gazette", "newcomer"}
    assert data["newcomer"]["articles"] == 0 and data["newcomer"]["last_run"] is None
    shown = invoke("stats", "--config", str(config)).output
    assert any(
        line.split()[0] == "newcomer" and line.endswith("never run")
        for line in shown.splitlines()
        if line
    )
    # a sources.yaml about another archive does not add its sources
    other = json.loads(invoke("stats", "--db", str(db), "--json").output)
    assert set(other) == {"gazette"}


# Item 4 of issue 11: -vv means something


def test_vv_shows_debug_detail_that_v_does_not(workdir: Path, site: NewsSite) -> None:
    config = write_config(workdir, [{"name": "gazette", "url": site.base + "/"}])
    runs = {}
    for flag in ("-v", "-vv"):
        db = workdir / f"archive{flag}.db"
        done = run_cli("run", "--config", str(config), "--db", str(db), flag, cwd=workdir)
        assert done.returncode == 0, done.stderr
        runs[flag] = done.stderr
    # -v: what happens (info), in both
    for flag in ("-v", "-vv"):
        assert re.search(r"INFO .*gazette: discovery read \d+ documents", runs[flag])
    assert " DEBUG " not in runs["-v"]
    debug = [line for line in runs["-vv"].splitlines() if " DEBUG " in line]
    text = "\n".join(debug)
    # per-request timings, from the fetcher's own logger
    assert re.search(
        r"DEBUG pipeline\.fetch\.fetcher: GET http://\S+/ \(page\): HTTP 200, \d+ bytes in \d+ ms",
        text,
    ), text
    # discovery decisions: what was read, what was kept and why
    assert re.search(r"gazette: .* \d+ URLs kept, \d+ left out by the include/exclude", text), text
    # what extraction made of each page
    assert re.search(r"pipeline\.jobs\.page: gazette: http://\S+: article, \d+ characters", text), (
        text
    )
