"""`newsarchive serve`: Datasette on the archive, read-only, loopback unless exposed."""

from __future__ import annotations

import hashlib
import json
import signal
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from pipeline.errors import UsageError
from pipeline.serve import check_host, is_loopback, metadata
from pipeline.store import Archive, queries

from .browse_helpers import STORIES, build_archive, cli_env, serving, start_serve, stop_serve


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_archive(tmp_path_factory.mktemp("serve") / "news.db", STORIES)


def get(url: str, **params: str) -> tuple[int, Any]:
    if params:
        url += ("&" if "?" in url else "?") + urllib.parse.urlencode(params)
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        body = exc.read()
        exc.close()
        try:
            return exc.code, json.loads(body)
        except ValueError:
            return exc.code, body.decode("utf-8", "replace")


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_serve_wires_search_facets_and_canned_queries(db: Path, tmp_path: Path) -> None:
    before = digest(db)
    with serving(db, cwd=tmp_path) as served:
        assert served.url.startswith("http://127.0.0.1:") and served.url.endswith("/news")
        # the table's search box: FTS over title and text, FTS5 syntax allowed
        status, found = get(f"{served.url}/articles.json", _search="harbour", _shape="objects")
        assert status == 200
        titles = {r["title"] for r in found["rows"]}
        assert "Council approves £4.2m repairs to storm-battered harbour wall" in titles
        assert len(titles) == 3
        _, phrase = get(f"{served.url}/articles.json", _search='"sea wall"', _shape="objects")
        assert [r["title"] for r in phrase["rows"]] == [STORIES[0].title]
        _, both = get(f"{served.url}/articles.json", _search="harbour ferry", _shape="objects")
        assert [r["title"] for r in both["rows"]] == [STORIES[2].title]
        # whatever a person types is a search, never an SQL error
        for typed in ("council's plan", '"unbalanced', "harbour AND (", "NOT", "*"):
            assert get(f"{served.url}/articles.json", _search=typed)[0] == 200, typed
        # facets on source, language and date published
        _, table = get(f"{served.url}/articles.json", _shape="objects")
        facets = table["facet_results"]
        assert set(facets) == {"source", "language", "published"}
        counts = {r["value"]: r["count"] for r in facets["source"]["results"]}
        assert counts == {"gazette": 8, "kurier": 2}
        # newest first
        dates = [r["published"] for r in table["rows"]]
        assert dates == sorted(dates, reverse=True)
        _, narrowed = get(f"{served.url}/articles.json", language="de", _shape="objects")
        assert [r["language"] for r in narrowed["rows"]] == ["de"]
        # canned queries
        _, ranked = get(f"{served.url}/search.json", q="harbour", source="", _shape="objects")
        assert ranked["rows"][0]["title"] == STORIES[0].title
        assert "[harbour]" in ranked["rows"][0]["snippet"]
        _, kurier = get(f"{served.url}/search.json", q="harbour OR hafenmauer", source="kurier")
        assert len(kurier["rows"]) == 1
        status, empty = get(f"{served.url}/search.json", q="", source="")
        assert status == 200 and empty["rows"] == []
        _, latest = get(f"{served.url}/latest_per_source.json", _shape="objects")
        assert [r["source"] for r in latest["rows"]] == ["gazette"] * 5 + ["kurier"] * 2
        _, months = get(f"{served.url}/articles_per_month.json", _shape="objects")
        assert {(r["month"], r["source"]): r["articles"] for r in months["rows"]} == {
            ("2026-11", "gazette"): 7,
            ("2026-10", "gazette"): 1,
            ("2026-10", "kurier"): 1,
            ("2026-09", "kurier"): 1,
        }
        for name in queries.CANNED_QUERIES:
            status, _ = get(f"{served.url}/{name}.json", q="harbour", source="")
            assert status == 200, name
        # metadata: titles, descriptions, the FTS table wired to articles
        _, meta = get(f"{served.root}/-/metadata.json")
        articles = meta["databases"]["news"]["tables"]["articles"]
        assert articles["fts_table"] == "articles_fts" and articles["title"] == "Articles"
        assert meta["title"] == "newsarchive: news.db"
        # read-only: SQL that writes is refused, the file is untouched
        status, refused = get(served.url + ".json", sql="DELETE FROM articles")
        assert status == 400 and not refused["ok"]
        status, sql = get(served.url + ".json", sql="SELECT count(*) AS n FROM articles")
        assert status == 200 and sql["rows"] == [[10]]
        assert get(f"{served.root}/-/settings.json")[1]["allow_download"] is False
    assert digest(db) == before


def test_ctrl_c_stops_the_server_cleanly(db: Path, tmp_path: Path) -> None:
    served = start_serve(db, cwd=tmp_path)
    assert get(f"{served.url}/articles.json")[0] == 200
    code, stderr = stop_serve(served)
    assert code in (0, 130, -signal.SIGINT)
    assert "Traceback" not in stderr
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(served.url, timeout=5)


def test_serve_refuses_other_interfaces_without_expose(db: Path, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pipeline", "serve", "--db", str(db), "--host", "0.0.0.0"],
        capture_output=True,
        text=True,
        env=cli_env(),
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "refusing to listen on 0.0.0.0" in done.stderr and "--expose" in done.stderr
    assert "Serving" not in done.stderr


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("localhost", True),
        ("::1", True),
        ("[::1]", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.5", False),
        ("example.org", False),
    ],
)
def test_only_loopback_is_served_without_expose(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback
    if loopback:
        check_host(host, expose=False)
    else:
        with pytest.raises(UsageError):
            check_host(host, expose=False)
        check_host(host, expose=True)


def test_an_exposed_server_refuses_arbitrary_sql_by_default(db: Path, tmp_path: Path) -> None:
    with Archive.open(db, readonly=True) as archive:
        tables = queries.table_names(archive)
    assert metadata(db, tables, allow_sql=False)["allow_sql"] is False
    assert "allow_sql" not in metadata(db, tables)
    # --no-sql on loopback: the same settings a --expose'd server gets
    with serving(db, "--no-sql", cwd=tmp_path) as served:
        status, _ = get(served.url + ".json", sql="SELECT 1")
        assert status == 403
        status, ranked = get(f"{served.url}/search.json", q="harbour", source="")
        assert status == 200 and ranked["rows"]


def test_serve_without_an_archive_is_a_one_line_error(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pipeline", "serve", "--db", str(tmp_path / "none.db")],
        capture_output=True,
        text=True,
        env=cli_env(),
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert "no archive here" in done.stderr and done.stderr.count("\n") == 1
    assert not (tmp_path / "none.db").exists()
