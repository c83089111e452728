"""Exported files are files like any other: the umask decides who may read them, and a
killed export leaves nothing behind for good."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipeline.cli import browse, cli  # noqa: F401  (registers the commands)

from .browse_helpers import STORIES, build_archive


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_archive(tmp_path_factory.mktemp("files") / "news.db", STORIES[:4])


@pytest.fixture
def umask() -> Iterator[None]:
    before = os.umask(0o022)
    yield
    os.umask(before)


def export(db: Path, *args: str) -> None:
    done = CliRunner().invoke(cli, ["export", "--db", str(db), *args])
    assert done.exit_code == 0, done.output


def modes(root: Path) -> dict[str, int]:
    return {
        str(p.relative_to(root)): stat.S_IMODE(p.stat().st_mode)
        for p in root.rglob("*")
        if p.is_file()
    }


@pytest.mark.parametrize(("mask", "mode"), [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_every_export_honours_the_umask(
    db: Path, tmp_path: Path, umask: None, mask: int, mode: int
) -> None:
    os.umask(mask)
    for fmt in ("jsonl", "csv", "warc"):
        export(db, "--format", fmt, "--output", str(tmp_path / f"out.{fmt}"))
        assert stat.S_IMODE((tmp_path / f"out.{fmt}").stat().st_mode) == mode, fmt
    for fmt in ("txt", "md"):
        export(db, "--format", fmt, "--output", str(tmp_path / fmt))
        found = modes(tmp_path / fmt)
        assert f".newsarchive-{fmt}.json" in found  # the manifest too
        assert len(found) == 5 and set(found.values()) == {mode}, found


def test_a_killed_exports_temporary_files_are_removed_by_the_next(db: Path, tmp_path: Path) -> None:
    root = tmp_path / "txt"
    export(db, "--format", "txt", "--output", str(root))
    story = next(p for p in root.rglob("*.txt"))
    # What a kill -9 in the middle of writing a file and the manifest leaves:
    left = [
        story.parent / f".{story.name}.k2x9_a0q.tmp",
        root / ".newsarchive-txt.json.abcd1234.tmp",
        root / "gazette" / ".new-story.txt.zzzzzzzz.tmp",
    ]
    for path in left:
        path.write_text("half a file")
    kept = [root / ".notes.tmp", root / "gazette" / "draft.tmp"]  # not ours
    for path in kept:
        path.write_text("mine")
    export(db, "--format", "txt", "--output", str(root))
    assert not [p for p in left if p.exists()]
    assert all(p.exists() for p in kept)

    out = tmp_path / "all.jsonl"
    stale = tmp_path / ".all.jsonl.q1w2e3r4.tmp"
    stale.write_text("half")
    export(db, "--output", str(out))
    assert not stale.exists() and out.exists()
