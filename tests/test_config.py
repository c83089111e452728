"""sources.yaml validation: every mistake is one clear message naming file, source, key."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from pipeline.config.loader import load, parse
from pipeline.errors import ConfigError

from .conftest import run_cli

GOOD = {"name": "a", "url": "https://news.example/"}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"sources": [{**GOOD, "exlude": ["/tag/"]}]},
            "source 'a': key 'exlude': unknown key (did you mean 'exclude'?)",
        ),
        (
            {"sources": [GOOD, {**GOOD, "url": "https://b.example/"}]},
            "source 'a': key 'name': duplicate source name",
        ),
        (
            {"sources": [{**GOOD, "include": ["("]}]},
            "source 'a': key 'include': item 1: '(' is not a valid regular expression",
        ),
        (
            {"sources": [{**GOOD, "drop": [".ok", "div["]}]},
            "source 'a': key 'drop': item 2: 'div[' is not a valid CSS selector",
        ),
        (
            {"fetch": {"concurrency": "lots"}, "sources": [GOOD]},
            "key 'fetch.concurrency': must be a whole number, not text 'lots'",
        ),
        ({"sources": [{**GOOD, "delay": True}]}, "key 'delay': must be a number"),
        (
            {"defaults": {"max_articles": 0}, "sources": [GOOD]},
            "key 'defaults.max_articles': must be at least 1, not 0",
        ),
        (
            {"sources": [{**GOOD, "url": "ftp://x.example/"}]},
            "key 'url': must be an absolute http:// or https:// URL",
        ),
        (
            {"sources": [{**GOOD, "name": "Big News"}]},
            "source 'Big News': key 'name': must be lower-case letters, digits and '-'",
        ),
        ({"sources": [{"url": "https://x.example/"}]}, "source '#1': key 'name': is required"),
        (
            {"sources": [{**GOOD, "language": "english"}]},
            "key 'language': must be a two-letter ISO 639-1 code",
        ),
        (
            {"sources": [{**GOOD, "feeds": "https://x.example/feed"}], "extra": 1},
            "key 'extra': unknown key",
        ),
        ({"sources": []}, "key 'sources': no sources"),
        (
            {"near_duplicate_threshold": 2, "sources": [GOOD]},
            "key 'near_duplicate_threshold': must be from 0.3 to 1.0, not 2",
        ),
        ({"sources": "a"}, "key 'sources': must be a list"),
        ([1, 2], "the file must be a mapping"),
        # values the run could not use: they used to pass, or escape as other exceptions
        (
            {"fetch": {"revalidate_hours": 10**400}, "sources": [GOOD]},
            "key 'fetch.revalidate_hours': must be from 0 to 876000, not a 401-digit number",
        ),
        (
            {"sources": [{**GOOD, "refresh_after": 10**400}]},
            "source 'a': key 'refresh_after': must be from 0 to 36500, not a 401-digit number",
        ),
        (
            {"sources": [{**GOOD, "min_text_length": 10**5000}]},
            "key 'min_text_length': must be from 0 to 1000000000, not a 5001-digit number",
        ),
        (
            {"fetch": {"revalidate_hours": math.inf}, "sources": [GOOD]},
            "key 'fetch.revalidate_hours': must be a finite number, not .inf",
        ),
        (
            {"fetch": {"timeout": math.nan}, "sources": [GOOD]},
            "key 'fetch.timeout': must be a finite number, not .nan",
        ),
        (
            {"near_duplicate_threshold": math.nan, "sources": [GOOD]},
            "key 'near_duplicate_threshold': must be a finite number, not .nan",
        ),
        (
            {"sources": [{**GOOD, "refresh_every": 1e300}]},
            "key 'refresh_every': must be from 0 to 876000, not 1e+300",
        ),
        (
            {"sources": [{**GOOD, "include": ["(" * 2000 + ")" * 2000]}]},
            "key 'include': item 1: '(((",
        ),
        (
            {"sources": [{**GOOD, "include": ["(" * 2000 + ")" * 2000]}]},
            "... is nested too deeply to compile",
        ),
        (
            {"sources": [{**GOOD, "exclude": ["a{4294967296}"]}]},
            "key 'exclude': item 1: 'a{4294967296}' is not a valid regular expression "
            "(the repetition number is too large)",
        ),
        (
            {"sources": [{**GOOD, "exclude": ["[[a]"]}]},
            "key 'exclude': item 1: '[[a]' is ambiguous (Possible nested set at position 1)",
        ),
        (
            {"fetch": {"user_agent": "newsarchive/1 (é)"}, "sources": [GOOD]},
            "key 'fetch.user_agent': must be printable ASCII to be sent as an HTTP header, "
            "not 'newsarchive/1 (é)'",
        ),
        (
            {"fetch": {"user_agent": "bot\r\nX-Injected: 1"}, "sources": [GOOD]},
            "key 'fetch.user_agent': must be printable ASCII to be sent as an HTTP header, "
            "not 'bot\\r\\nX-Injected: 1'",
        ),
        (
            {"fetch": {"user_agent": "/1.0"}, "sources": [GOOD]},
            "key 'fetch.user_agent': must begin with a product name such as 'newsarchive/0.1'",
        ),
        (
            {"fetch": {"max_bytes": 10**30}, "sources": [GOOD]},
            "key 'fetch.max_bytes': must be from 1024 to 1000000000, not a 31-digit number",
        ),
        (
            {"fetch": {"max_bytes": 1_000_000_001}, "sources": [GOOD]},
            "key 'fetch.max_bytes': must be from 1024 to 1000000000, not 1000000001",
        ),
        (
            {"archive": "news\x00.db", "sources": [GOOD]},
            "key 'archive': must be a path without NUL characters, not 'news\\x00.db'",
        ),
        (
            {"warc": {"dir": "w\x00"}, "sources": [GOOD]},
            "key 'warc.dir': must be a path without NUL characters",
        ),
        (
            {"sources": [{**GOOD, "url": "https://a.example/\ud800"}]},
            "key 'url': must be Unicode text, but 'https://a.example/\\ud800' holds a lone "
            "surrogate",
        ),
        (
            {"sources": [{**GOOD, "name": "a\nb"}]},
            "source '#1': key 'name': must be lower-case letters, digits and '-', not 'a\\nb'",
        ),
        (
            {"sources": [{**GOOD, "ex\nclude": 1}]},
            "source 'a': key 'ex\\nclude': unknown key",
        ),
    ],
)
def test_invalid_configs_name_file_source_and_key(data: object, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse(data, "conf/sources.yaml")
    assert str(caught.value).startswith("conf/sources.yaml: ")
    assert message in str(caught.value)


def test_defaults_apply_to_every_source_and_sources_override_them() -> None:
    config = parse(
        {
            "defaults": {"delay": 0.5, "max_articles": 7, "exclude": ["/tag/"]},
            "sources": [GOOD, {"name": "b", "url": "https://b.example/", "delay": 2}],
        }
    )
    a, b = config.sources
    assert (a.delay, a.max_articles, b.delay, b.max_articles) == (0.5, 7, 2.0, 7)
    assert not a.accepts("https://news.example/tag/x") and a.accepts("https://news.example/1")
    assert config.fetch.concurrency == 32 and config.fetch.user_agent.startswith("newsarchive/")


def test_include_and_exclude_filters() -> None:
    source = parse(
        {"sources": [{**GOOD, "include": [r"/20\d\d/"], "exclude": ["/live/"]}]}
    ).sources[0]
    assert source.accepts("https://news.example/2026/01/story")
    assert not source.accepts("https://news.example/about")
    assert not source.accepts("https://news.example/2026/01/live/blog")


def test_archive_path_is_relative_to_the_config_file(tmp_path: Path) -> None:
    (tmp_path / "conf").mkdir()
    file = tmp_path / "conf" / "sources.yaml"
    file.write_text("archive: data/x.db\nsources:\n  - name: a\n    url: https://a.example/\n")
    assert load(file).archive == tmp_path / "conf" / "data" / "x.db"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[" * 5000 + "]" * 5000, "not valid YAML: nested too deeply to read"),
        ("{a: " * 3000 + "1" + "}" * 3000, "not valid YAML: nested too deeply to read"),
        (
            'fetch: {user_agent: "\\U00110000"}',
            "not valid YAML at line 1, column 24: found an escape past U+10FFFF",
        ),
        ('archive: "\\U80000000"', "found an escape past U+10FFFF, which is no character"),
        (
            "sources:\n  - {name: a, url: 2024-13-45}\n",
            "not valid YAML at line 2, column 20: cannot read '2024-13-45' as timestamp "
            "(month must be in 1..12)",
        ),
        ("archive: !!int ''\n", "line 1, column 10: cannot read '' as int"),
        ("archive: !!timestamp soon\n", "cannot read 'soon' as timestamp"),
        ("archive: !!bool maybe\n", "cannot read 'maybe' as bool"),
        ("fetch: {retries: " + "9" * 5000 + "}", "as int (Exceeds the limit (4300 digits)"),
    ],
    ids=[
        "deep-list",
        "deep-map",
        "escape",
        "escape-past-int",
        "date",
        "int",
        "stamp",
        "bool",
        "digits",
    ],
)
def test_yaml_the_parser_cannot_read_is_a_config_error(
    tmp_path: Path, text: str, message: str
) -> None:
    file = tmp_path / "sources.yaml"
    file.write_text(text, "utf-8")
    with pytest.raises(ConfigError) as caught:
        load(file)
    assert str(caught.value).startswith(f"{file}: not valid YAML")
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_values_at_the_limits_are_accepted() -> None:
    config = parse(
        {
            "fetch": {
                "max_bytes": 1_000_000_000,
                "revalidate_hours": 876_000,
                "user_agent": "Mozilla/5.0 (compatible; newsarchive/0.1; +https://x.example/)",
            },
            "sources": [{**GOOD, "refresh_after": 36_500, "include": [r"[\[]a"]}],
        }
    )
    assert config.fetch.max_bytes == 1_000_000_000 and config.fetch.revalidate_hours == 876_000.0
    assert config.sources[0].refresh_after == 36_500.0


def test_yaml_syntax_errors_give_line_and_column(tmp_path: Path) -> None:
    file = tmp_path / "sources.yaml"
    file.write_text("sources:\n  - name: a\n    url: [unclosed\n")
    with pytest.raises(ConfigError, match=r"sources.yaml: not valid YAML at line \d+"):
        load(file)


@pytest.mark.parametrize("content", [None, "sources: [\n", "sources:\n  - {name: a, url: 3}\n"])
def test_cli_exits_2_with_one_line_and_writes_nothing(tmp_path: Path, content: str | None):
    if content is not None:
        (tmp_path / "sources.yaml").write_text(content)
    done = run_cli("run", cwd=tmp_path)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("newsarchive: error: sources.yaml")
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "archive").exists()


def test_unknown_source_on_the_command_line_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "sources.yaml").write_text(
        "sources:\n  - name: alpha\n    url: https://a.example/\n"
    )
    done = run_cli("run", "--source", "beta", cwd=tmp_path)
    assert done.returncode == 2
    assert "unknown source 'beta'" in done.stderr and "alpha" in done.stderr
    assert not (tmp_path / "archive" / "news.db").exists()


def test_the_shipped_sources_yaml_is_valid() -> None:
    config = load(Path(__file__).parents[1] / "sources.yaml")
    assert len(config.sources) >= 5
    assert all(s.feeds and s.language for s in config.sources)
    assert config.archive.name == "news.db"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            "sources:\n  - name: a\n    url: https://a.example/\n    url: https://b.example/\n",
            "not valid YAML at line 4, column 5: duplicate key 'url' (first at line 3)",
        ),
        (
            "fetch:\n  timeout: 5\n  timeout: 10\nsources:\n  - name: a\n"
            "    url: https://a.example/\n",
            "line 3, column 3: duplicate key 'timeout' (first at line 2)",
        ),
        (
            "sources: []\nsources:\n  - name: a\n    url: https://a.example/\n",
            "line 2, column 1: duplicate key 'sources' (first at line 1)",
        ),
    ],
)
def test_duplicate_keys_are_refused(tmp_path: Path, content: str, message: str) -> None:
    file = tmp_path / "sources.yaml"
    file.write_text(content)
    with pytest.raises(ConfigError) as caught:
        load(file)
    assert message in str(caught.value)


def test_merge_keys_may_be_overridden_without_being_duplicates(tmp_path: Path) -> None:
    file = tmp_path / "sources.yaml"
    file.write_text(
        "sources:\n  - &a {name: a, url: 'https://a.example/', delay: 2}\n"
        "  - <<: *a\n    name: b\n    delay: 3\n"
    )
    config = load(file)
    assert [(s.name, s.delay) for s in config.sources] == [("a", 2.0), ("b", 3.0)]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            "sources:\n  - name: one\n    url: https://a.example/\n  - name: two\n"
            "    url: https://b.example/\n    delay: -1\n",
            "sources.yaml: line 6: source 'two': key 'delay': must be from 0 to 3600",
        ),
        (
            "fetch:\n  timeout: 5\n  retires: 2\nsources:\n  - {name: a, url: 'https://a.example/'}\n",
            "sources.yaml: line 3: key 'fetch.retires': unknown key (did you mean 'retries'?)",
        ),
        (
            "sources:\n  - name: a\n    url: https://a.example/\n\n  - name: b\n    delay: 1\n",
            "sources.yaml: line 5: source 'b': key 'url': is required",
        ),
        (
            "sources:\n  - name: a\n    url: https://a.example/\n  - name: a\n"
            "    url: https://b.example/\n",
            "sources.yaml: line 4: source 'a': key 'name': duplicate source name",
        ),
        ("archive: 3\nsourcez: []\n", "sources.yaml: line 2: key 'sourcez': unknown key"),
    ],
)
def test_config_errors_name_the_line(tmp_path: Path, content: str, message: str) -> None:
    file = tmp_path / "sources.yaml"
    file.write_text(content)
    with pytest.raises(ConfigError) as caught:
        load(file)
    assert message in str(caught.value)


def test_a_duplicate_key_stops_the_cli_with_one_line(tmp_path: Path) -> None:
    (tmp_path / "sources.yaml").write_text(
        "sources:\n  - name: a\n    url: https://a.example/\n    url: https://b.example/\n"
    )
    done = run_cli("run", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "duplicate key 'url'" in done.stderr
    assert not (tmp_path / "archive").exists()
