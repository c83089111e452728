"""One run at a time per archive: an exclusive lock on `<archive>.lock`.

The lock is an OS file lock (flock), so the kernel releases it the moment its holder
dies, however it dies; the file keeps the holder's pid and start time, so a second
run can say who holds the lock, and a run that finds a dead holder's record knows
it is taking over a stale lock. Needs a local file system (flock over NFS is not
reliable).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import socket
from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import DiskFullError, LockHeldError, NewsarchiveError, StoreError


@dataclass(frozen=True, slots=True)
class Holder:
    pid: int | None
    started: str | None
    hostname: str | None


def _read(fd: int) -> Holder:
    os.lseek(fd, 0, os.SEEK_SET)
    raw = os.read(fd, 4096)
    try:
        data = json.loads(raw or b"{}")
    except ValueError:
        data = {}
    if not isinstance(data, dict):
        data = {}
    pid = data.get("pid")
    return Holder(pid if isinstance(pid, int) else None, data.get("started"), data.get("hostname"))


def _error(path: Path, exc: OSError, doing: str) -> NewsarchiveError:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return DiskFullError(str(path))
    return StoreError(f"{path}: {doing} ({exc.strerror or exc})")


class RunLock:
    """`with RunLock(db_path, started):` holds the archive's run lock."""

    def __init__(self, archive: Path, started: str) -> None:
        self.path = archive.with_name(archive.name + ".lock")
        self.started = started
        self.stale: Holder | None = None  # set when a dead run's lock was taken over
        self._fd: int | None = None

    def acquire(self) -> RunLock:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise _error(self.path.parent, exc, "cannot create the archive's folder") from None
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise _error(self.path, exc, "cannot create the lock file") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read(fd)
            os.close(fd)
            raise LockHeldError(
                str(self.path.with_suffix("")), holder.pid, holder.started
            ) from None
        previous = _read(fd)
        if previous.pid is not None:
            self.stale = previous  # its holder died without releasing it
        record = {"pid": os.getpid(), "started": self.started, "hostname": socket.gethostname()}
        try:
            os.ftruncate(fd, 0)
            os.lseek(fd, 0, os.SEEK_SET)
            os.write(fd, json.dumps(record).encode())
            os.fsync(fd)
        except OSError as exc:  # a full disk: the run could not write anything either
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
            raise _error(self.path, exc, "cannot write the lock file") from None
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            os.ftruncate(self._fd, 0)  # an empty record: released cleanly
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
        self._fd = None

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
