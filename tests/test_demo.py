"""`newsarchive demo`: the bundled site archived end to end, offline."""

from __future__ import annotations

import json
import re
from pathlib import Path

from .conftest import query, run_cli

CLUTTER = [
    "Related posts",
    "Leave a Comment",
    "Sign up for our free",
    "@hallowaywatch",
    "Crowds gathering early",
    "About the author",
    "cookies",
    "Share this",
    "Photo: Gazette archive",
    "Most read",
    "Your email address will not be published",
]


def test_demo_archives_the_sample_site_without_clutter(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    done = run_cli("demo", "--db", str(db), "--port", "0", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "This run: 32 new stories, 1 duplicate" in done.stdout
    assert "newsarchive search" in done.stdout
    # the suggested commands are whole lines, whatever the width: they are copied and pasted
    assert f"  newsarchive search harbour --db {db}" in done.stdout.splitlines()

    rows = query(db, "SELECT title, author, published, language, text FROM articles")
    assert len(rows) == 32
    languages = sorted(r[3] for r in rows)
    assert languages.count("de") == 2 and languages.count("fr") == 1
    data = json.loads((Path(__file__).parents[1] / "pipeline/demo/articles.json").read_text())
    by_title = {r[0]: r for r in rows}
    for item in data["articles"]:
        stored = by_title.get(item["title"]) or by_title.get(item["title"] + " (wire)")
        assert stored is not None, item["title"]
        text = stored[4]
        for paragraph in item["paragraphs"]:
            assert " ".join(paragraph.split()) in " ".join(text.split()), paragraph[:60]
        # Every figure of the story survives.
        for figure in re.findall(r"\d[\d,.:]*\d|\d", " ".join(item["paragraphs"])):
            assert figure in text
        for junk in CLUTTER:
            assert junk not in text, f"{junk!r} kept in {item['title']!r}"
    assert query(db, "SELECT count(*) FROM duplicates") == [(1,)]

    again = run_cli("demo", "--db", str(db), "--port", "0", cwd=tmp_path)
    assert again.returncode == 0
    assert query(db, "SELECT count(*) FROM articles") == [(32,)]
