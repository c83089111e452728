"""A gate in front of some pages of a NewsSite: a page is exactly as slow as the test
needs, with no sleep. The site holds each request for a gated path until the test
opens the gate, or lets them through in groups, so a run is paused at a known point
instead of being slowed down by a latency and caught "about" mid-run. A held request
counts as in flight on the site, as a slow answer would."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from types import TracebackType

from pipeline.demo.site import NewsSite, Request, Response

HOLD_LIMIT = 60.0  # seconds: a held request is answered anyway after this (never hangs)


class Gate:
    """Hold the requests for `paths` of `site`.

    - `free`: that many requests pass at once; the later ones wait until `open()`.
    - `batch`: each request waits until `batch` wait together, and that group goes
      through (the last, smaller group once every path has been asked for).

    Leaving the `with` block opens the gate for good."""

    def __init__(
        self, site: NewsSite, paths: Iterable[str], *, free: int = 0, batch: int | None = None
    ) -> None:
        self.site = site
        self.free = free
        self.batch = batch
        self.held = 0  # requests waiting right now
        self.arrived = 0  # requests for gated paths so far
        self._paths = set(paths)
        self._open = False
        self._waiting = 0  # in the group being formed (batch)
        self._group = 0
        self._changed = threading.Condition()
        for path in self._paths:
            site.routes[path] = self._route

    def __enter__(self) -> Gate:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.open()

    def open(self) -> None:
        """Let the waiting requests through, and every later one at once."""
        with self._changed:
            self._open = True
            self._changed.notify_all()

    def wait_held(self, count: int, timeout: float = HOLD_LIMIT) -> None:
        """Block until `count` requests wait at the gate at the same time."""
        with self._changed:
            if not self._changed.wait_for(lambda: self.held >= count, timeout):
                raise AssertionError(f"{self.held} requests wait at the gate, not {count}")

    def _route(self, request: Request) -> Response:
        with self._changed:
            self.arrived += 1
            if self.free > 0:
                self.free -= 1
            elif not self._open:
                self.held += 1
                self._waiting += 1
                group = self._group
                if self.batch is not None and (
                    self._waiting >= self.batch or self.arrived >= len(self._paths)
                ):
                    self._group += 1  # this group goes through
                    self._waiting = 0
                self._changed.notify_all()
                self._changed.wait_for(lambda: self._open or self._group != group, HOLD_LIMIT)
                self.held -= 1
                if self._group == group and self._waiting:  # let through by HOLD_LIMIT
                    self._waiting -= 1
        return self.site.page(request)
