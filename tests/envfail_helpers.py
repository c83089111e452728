"""Places where the machine misbehaves, made for real where the test may: a small or a
read-only file system (a tmpfs mount when running as root), skipped where it cannot."""

from __future__ import annotations

import os
import stat
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


def _mount(*args: str) -> bool:
    done = subprocess.run(["mount", *args], capture_output=True, text=True, check=False)
    return done.returncode == 0


@contextmanager
def small_filesystem(where: Path, size: str) -> Iterator[Path]:
    """A tmpfs of `size` (e.g. "4m") mounted at `where`; skips the test unless root."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small file system needs root")
    where.mkdir(parents=True, exist_ok=True)
    if not _mount("-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(where)):
        pytest.skip("cannot mount a tmpfs here")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True, check=False)


@contextmanager
def read_only_place(where: Path, fill: Callable[[Path], None]) -> Iterator[Path]:
    """A directory that `fill` fills, then made read-only: a tmpfs remounted read-only
    as root (root ignores permission bits), else the directory and its files chmod'ed."""
    if os.geteuid() == 0:
        with small_filesystem(where, "64m"):
            fill(where)
            if not _mount("-o", "remount,ro", str(where)):
                pytest.skip("cannot remount read-only")
            yield where
        return
    where.mkdir(parents=True, exist_ok=True)
    fill(where)
    for path in where.rglob("*"):
        path.chmod(stat.S_IMODE(path.stat().st_mode) & ~0o222)
    where.chmod(0o555)
    try:
        yield where
    finally:
        where.chmod(0o755)
