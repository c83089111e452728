"""Shared fixtures: a local news site on 127.0.0.1, config files, the real CLI."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from pipeline.demo.pages import SiteArticle
from pipeline.demo.site import NewsSite
from pipeline.extract.workers import ExtractPool
from tests.synth import synthetic_articles

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def articles() -> list[SiteArticle]:
    return synthetic_articles(12, seed=3)


@pytest.fixture
def site(articles: list[SiteArticle]) -> Iterator[NewsSite]:
    with NewsSite(articles, "Test Gazette") as served:
        yield served


@pytest.fixture(scope="session")
def extract_pool() -> Iterator[ExtractPool]:
    """Two extraction workers for the tests that need a working pool, not a fresh one.
    (The forkserver they come from is started once per test process anyway; tests that
    use it are best in the xdist group "extract_workers", so that one process starts it.)"""
    with ExtractPool(2) as pool:
        yield pool


def write_config(
    directory: Path,
    sources: list[dict[str, Any]],
    *,
    fetch: dict[str, Any] | None = None,
    defaults: dict[str, Any] | None = None,
    archive: str = "archive/news.db",
) -> Path:
    """A sources.yaml in `directory`; fast, test-friendly fetch settings by default."""
    data: dict[str, Any] = {
        "archive": archive,
        "fetch": {"timeout": 5, "retries": 1, "backoff": 0.01, **(fetch or {})},
        "defaults": {"delay": 0, "host_concurrency": 2, **(defaults or {})},
        "sources": sources,
    }
    path = directory / "sources.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "utf-8")
    return path


def run_cli(
    *args: str, cwd: Path, timeout: float = 180, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The real command, in its own process, as cron would run it."""
    full_env = {**os.environ, "PYTHONPATH": str(REPO), "NO_COLOR": "1", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "pipeline", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def query(db: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql, params).fetchall()


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "archive").mkdir()
    return tmp_path
