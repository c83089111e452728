"""The one exception tree of newsarchive.

Deep code raises these typed errors; the run loop records page-level failures and
goes on; the CLI turns what reaches it into a one-line message and an exit code.

    NewsarchiveError
    ├── ConfigError                 sources.yaml unreadable or invalid (exit 2)
    ├── UsageError                  a bad command-line value the CLI framework cannot see (exit 2)
    ├── LockHeldError               another run holds the archive's lock (exit 3)
    ├── StoreError                  the archive cannot be opened, migrated or written
    │   ├── QueryError              a malformed full-text query or filter
    │   └── ArchiveBusyError        another process kept the database locked past the busy timeout
    ├── DiskFullError               no space left where the archive, captures or lock are (.path)
    ├── InputError                  an input file is not what the command takes (not a WARC)
    ├── FetchError                  one URL could not be fetched          (.url, .permanent)
    │   ├── TransientFetchError     worth retrying later
    │   │   ├── FetchTimeout
    │   │   ├── ConnectError        refused, reset, DNS failure
    │   │   │   └── HostNotFound    the host's name does not resolve (.host)
    │   │   ├── TruncatedError      body cut before its gzip/brotli end or Content-Length
    │   │   ├── ServerError         5xx, or 429 (.status, .retry_after)
    │   │   └── ChallengeError      403/429/503 whose body is a bot challenge (kind "bot_challenge")
    │   └── PermanentFetchError     never retried
    │       ├── HTTPStatusError     404, 410 and other 4xx (.status)
    │       ├── NotHTMLError        PDF, images, ... (.content_type)
    │       ├── TooLargeError       body over max_bytes after decompression
    │       ├── RedirectError       loop, more than 10 hops, bad Location
    │       ├── RobotsDisallowed    robots.txt forbids the URL
    │       ├── BlockedURLError     scheme or address refused (SSRF policy)
    │       └── InvalidURLError     an address no request can be made to (bad IDNA host)
    ├── DiscoveryError              one feed or sitemap is unusable       (.url)
    │   └── UnsafeXMLError          entity expansion / external entities refused
    ├── ExtractionError             one page could not be extracted       (.url)
    │   ├── ExtractionTimeout       over the per-page time limit
    │   └── WorkerCrashed           the worker died (memory limit, segfault)
    │       └── WorkerKilled        killed from outside (SIGKILL); not permanent
    ├── WorkerStartError            the extraction worker processes cannot be started
    ├── CaptureError                a WARC file cannot be written or read
    │   └── ShardError              a Parquet shard cannot be written or read
    ├── ExportError                 an export target is unusable
    └── ClusterError                the Dask cluster cannot run the import (version skew,
                                    daemonic workers, unreachable scheduler, unshared --shards)
"""

from __future__ import annotations


class NewsarchiveError(Exception):
    """Base of every error newsarchive raises on purpose."""


class ConfigError(NewsarchiveError):
    """sources.yaml is missing, unreadable or invalid.

    The message names the file and, where known, the line, the source and the key.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        source: str | None = None,
        key: str | None = None,
        line: int | None = None,
    ) -> None:
        self.path = path
        self.source = source
        self.key = key
        self.line = line
        where = []
        if path:
            where.append(path)
        if line:
            where.append(f"line {line}")
        if source:
            where.append(f"source '{source}'")
        if key:
            where.append(f"key '{key}'")
        super().__init__(f"{': '.join(where)}: {message}" if where else message)


class UsageError(NewsarchiveError):
    """A command-line value is unusable (a bad date, an unknown source name)."""


class LockHeldError(NewsarchiveError):
    """Another run holds the archive's lock."""

    def __init__(self, path: str, pid: int | None, started: str | None) -> None:
        self.path = path
        self.pid = pid
        self.started = started
        holder = f"pid {pid}" if pid else "another process"
        since = f", started {started}" if started else ""
        super().__init__(f"{path} is locked by a run in progress ({holder}{since})")


class StoreError(NewsarchiveError):
    """The archive database cannot be opened, migrated or written."""


class QueryError(StoreError):
    """A search query or filter that SQLite cannot use."""


class ArchiveBusyError(StoreError):
    """Another process held the archive database's write lock (SQLite's) for longer
    than the busy timeout."""

    def __init__(self, path: str, waited: float) -> None:
        self.path = path
        self.waited = waited
        super().__init__(
            f"{path}: the archive is locked by another process writing to it (waited {waited:g} s)"
        )


class DiskFullError(NewsarchiveError):
    """No space left on the device (or quota) of `path`."""

    def __init__(self, path: str) -> None:
        self.path = path
        super().__init__(f"{path}: disk full (no space left on device)")


class InputError(NewsarchiveError):
    """An input file is not what the command takes (a file that is not a WARC)."""


class FetchError(NewsarchiveError):
    """One URL could not be fetched."""

    permanent = False

    def __init__(self, url: str, message: str) -> None:
        self.url = url
        self.reason = message
        super().__init__(f"{url}: {message}")

    @property
    def kind(self) -> str:
        """A short stable name for reports and the failures table."""
        return type(self).__name__


class TransientFetchError(FetchError):
    """A failure worth retrying on a later attempt or run."""


class FetchTimeout(TransientFetchError):
    pass


class ConnectError(TransientFetchError):
    pass


class HostNotFound(ConnectError):
    """The host's name does not resolve; a run asks DNS once per host, and every
    later fetch from that host in the run fails with this at once."""

    def __init__(self, url: str, host: str, detail: str = "") -> None:
        self.host = host
        self.detail = detail
        super().__init__(url, f"cannot resolve {host}" + (f" ({detail})" if detail else ""))

    def at(self, url: str) -> HostNotFound:
        """The same failure, for another URL of the host."""
        return HostNotFound(url, self.host, self.detail)


class TruncatedError(TransientFetchError):
    """The body ended before its compressed stream or its Content-Length did."""


class ServerError(TransientFetchError):
    """A 5xx or 429 answer."""

    def __init__(self, url: str, status: int, retry_after: float | None = None) -> None:
        self.status = status
        self.retry_after = retry_after
        super().__init__(url, f"HTTP {status}")


class ChallengeError(TransientFetchError):
    """A 403, 429 or 503 answer whose body is a bot challenge (Cloudflare, Akamai, AWS
    WAF, DataDome, ...): the site did not let us read the page. Not retried within the
    run; the URL is tried again on a later run, with back-off."""

    def __init__(
        self, url: str, status: int, message: str, retry_after: float | None = None
    ) -> None:
        self.status = status
        self.retry_after = retry_after
        super().__init__(url, message)

    @property
    def kind(self) -> str:
        return "bot_challenge"  # the access label (extract/access.py)


class PermanentFetchError(FetchError):
    """A failure that retrying will not cure."""

    permanent = True


class HTTPStatusError(PermanentFetchError):
    def __init__(self, url: str, status: int) -> None:
        self.status = status
        super().__init__(url, f"HTTP {status}")


class NotHTMLError(PermanentFetchError):
    def __init__(self, url: str, content_type: str) -> None:
        self.content_type = content_type
        super().__init__(url, f"not HTML ({content_type or 'no content type'})")


class TooLargeError(PermanentFetchError):
    def __init__(self, url: str, limit: int) -> None:
        self.limit = limit
        super().__init__(url, f"larger than max_bytes ({limit} bytes)")


class RedirectError(PermanentFetchError):
    pass


class RobotsDisallowed(PermanentFetchError):
    def __init__(self, url: str) -> None:
        super().__init__(url, "forbidden by robots.txt")


class BlockedURLError(PermanentFetchError):
    """Refused by the fetch policy: a scheme other than http(s), or an address
    (loopback, private, link-local, multicast, unspecified) the user did not opt in to."""


class InvalidURLError(PermanentFetchError):
    """An address that parses but cannot be requested: a host that is not valid IDNA
    ("xn--", "xn--ls8h.la") or too long for DNS (a label over 63 letters)."""


class DiscoveryError(NewsarchiveError):
    """A feed, sitemap or listing page is unusable; other discovery goes on."""

    def __init__(self, url: str, message: str) -> None:
        self.url = url
        self.reason = message
        super().__init__(f"{url}: {message}")


class UnsafeXMLError(DiscoveryError):
    """XML that declares entities or external references; refused unparsed."""


class ExtractionError(NewsarchiveError):
    """One page could not be extracted."""

    permanent = True  # the page itself is at fault: trying it again gives the same

    def __init__(self, url: str, message: str) -> None:
        self.url = url
        self.reason = message
        super().__init__(f"{url}: {message}")


class ExtractionTimeout(ExtractionError):
    pass


class WorkerCrashed(ExtractionError):
    pass


class WorkerStartError(NewsarchiveError):
    """The extraction worker processes cannot be started (no fork, no file descriptors):
    no page of the run can be extracted. The message names the cause."""


class WorkerKilled(WorkerCrashed):
    """The worker was killed from outside while extracting (SIGKILL: the kernel's OOM
    killer, an operator): not the page's fault, so it is tried again later."""

    permanent = False


class CaptureError(NewsarchiveError):
    """A WARC capture cannot be written or read."""


class ExportError(NewsarchiveError):
    """An export target cannot be written."""


class ShardError(CaptureError):
    """A Parquet shard of `import-warc --cluster` cannot be written or read."""


class ClusterError(NewsarchiveError):
    """The Dask cluster cannot run the import; the message says why and what to do."""
