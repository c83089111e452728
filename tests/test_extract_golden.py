"""Golden files: each tests/fixtures/extract/<name>.html page (hand-written for these
tests) has a <name>.json with the URL and fetch time to extract it with, the
sentences and figures the text must keep, the clutter it must not keep, and the
expected result (`null`: the page is not an article).

After an intended change of behaviour, review the differences, then rewrite the
expected results with:  NEWSARCHIVE_UPDATE_GOLDEN=1 python -m pytest tests/test_extract_golden.py
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from pipeline.extract.extractor import extract
from pipeline.models import Article, ExtractOptions

FIXTURES = Path(__file__).parent / "fixtures" / "extract"
CASES = sorted(FIXTURES.glob("*.json"))
FIELDS = ("title", "authors", "agencies", "published", "language", "sitename", "canonical_url")


def _observed(article: Article | None) -> dict[str, Any] | None:
    if article is None:
        return None
    observed: dict[str, Any] = {name: getattr(article, name) for name in FIELDS}
    observed["authors"] = list(article.authors)
    observed["agencies"] = list(article.agencies)
    observed["text"] = article.text
    return observed


def _run(case: Path) -> tuple[dict[str, Any], Article | None]:
    spec = json.loads(case.read_text("utf-8"))
    html = case.with_suffix(".html").read_text("utf-8")
    return spec, extract(html, spec["url"], ExtractOptions(now=spec["now"]))


def test_there_are_golden_files() -> None:
    assert len(CASES) >= 5


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_golden(case: Path) -> None:
    spec, article = _run(case)
    observed = _observed(article)
    if os.environ.get("NEWSARCHIVE_UPDATE_GOLDEN"):
        spec["expected"] = observed
        case.write_text(json.dumps(spec, indent=2, ensure_ascii=False) + "\n", "utf-8")
    expected = spec["expected"]
    if expected is None:
        assert article is None
        return
    assert article is not None
    for sentence in spec["contains"]:
        assert sentence in article.text, f"story text lost: {sentence!r}"
    for clutter in spec["absent"]:
        assert clutter not in article.text, f"clutter kept: {clutter!r}"
    assert observed is not None
    for name in FIELDS:
        assert observed[name] == expected[name], name
    assert observed["text"] == expected["text"]


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_golden_is_stable(case: Path) -> None:
    """Extraction is a pure function: the same page gives the same article twice."""
    _spec, first = _run(case)
    _spec, second = _run(case)
    assert first == second


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_golden_paragraphs(case: Path) -> None:
    """Blocks are separated by exactly one blank line, with no empty blocks."""
    _spec, article = _run(case)
    if article is None:
        return
    blocks = article.text.split("\n\n")
    assert all(block.strip() == block and block for block in blocks)
    assert "\n\n\n" not in article.text
