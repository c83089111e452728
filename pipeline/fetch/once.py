"""Discovery documents fetched once per run on a host that several sources share.

Twenty sources on one site (one per section) would otherwise each fetch its home page,
its guessed /sitemap.xml and every child sitemap: the first source to ask fetches, the
others get the same answer (or the same error). The fetcher owns one SharedDocuments
per run, so nothing outlives the run.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from pipeline.errors import FetchError
from pipeline.models import Fetched

Validators = tuple[str | None, str | None]  # (ETag, Last-Modified) a request was sent with


@dataclass(slots=True)
class _Kept:
    answer: asyncio.Future[Fetched]
    validators: Validators


@dataclass(slots=True)
class SharedDocuments:
    """Answers to discovery requests, kept for the run, on hosts of 2+ sources only
    (a host of one source needs no memory, and keeps none)."""

    sources_on: dict[str, int] = field(default_factory=dict)  # host name -> sources
    _kept: dict[tuple[str, str, bool], _Kept] = field(default_factory=dict)

    def add_source(self, hosts: Iterable[str]) -> None:
        """One more source, configured on these host names."""
        for name in hosts:
            self.sources_on[name] = self.sources_on.get(name, 0) + 1

    async def get(
        self,
        url: str,
        kind: str,
        validators: Validators,
        opted_in: bool,
        fetch: Callable[[], Awaitable[Fetched]],
    ) -> Fetched:
        """`fetch()`'s answer for `url`, fetched once: later callers get the same answer
        or FetchError. A 304 goes only to callers that sent the same validators; another
        caller fetches in full itself (its state may not hold what the 304 confirms).
        A source that opted the URL's origin in (netguard) shares with no other."""
        if self.sources_on.get((urlsplit(url).hostname or "").lower(), 0) < 2:
            return await fetch()
        key = (url, kind, opted_in)
        kept = self._kept.get(key)
        if kept is not None:
            answer = await asyncio.shield(kept.answer)  # raises the FetchError kept
            if not answer.not_modified or kept.validators == validators:
                return answer
        future: asyncio.Future[Fetched] = asyncio.get_running_loop().create_future()
        self._kept[key] = _Kept(future, validators)
        try:
            answer = await fetch()
        except FetchError as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: the callers waiting for it get it raised
            raise
        except BaseException:
            future.cancel()
            del self._kept[key]
            raise
        future.set_result(answer)
        return answer
