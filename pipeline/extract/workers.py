"""Extraction in worker processes, so every core extracts while the event loop fetches.

One supervising thread per worker process sends it a job (the page's bytes, its
charset, URL and extraction options) and waits for the answer with a deadline. A job
over the time limit gets its worker killed and replaced; a worker that dies (a
memory limit hit, a crash in a C extension) is replaced too; either way only that
page fails (ExtractionTimeout / WorkerCrashed) and the run goes on. Workers start
from a forkserver that has already imported the extraction stack, so replacing one
is cheap, and they ignore SIGINT/SIGTERM: stopping is the parent's decision.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import multiprocessing.connection
import os
import pickle
import queue
import resource
import signal
import threading
import time
from dataclasses import dataclass, replace
from typing import Any

from pipeline.errors import (
    ExtractionError,
    ExtractionTimeout,
    WorkerCrashed,
    WorkerKilled,
    WorkerStartError,
)
from pipeline.models import Article, ExtractOptions

log = logging.getLogger(__name__)
_PRELOAD = ["pipeline.extract.preload", "pipeline.extract.workers"]


@dataclass(frozen=True, slots=True)
class Job:
    url: str
    body: bytes
    encoding: str | None
    options_key: str  # options are sent to each worker once per key
    now: str | None = None  # the fetch time: later publication dates are not believed
    summary: str | None = None  # the story's feed summary, when known (access labels)


@dataclass(frozen=True, slots=True)
class Outcome:
    article: Article | None
    cpu: float  # CPU seconds the worker spent on the page
    reason: str = ""  # why the page is not a story, when `article` is None
    access: str = "ok"  # the page's access label (extract/access.py)


def extract_bytes(
    body: bytes, encoding: str | None, url: str, options: ExtractOptions
) -> tuple[Article | None, str]:
    """Decode and extract: the article, or None and why the page is not a story."""
    article, reason, _access = extract_verdict(body, encoding, url, options)
    return article, reason


def extract_verdict(
    body: bytes,
    encoding: str | None,
    url: str,
    options: ExtractOptions,
    summary: str | None = None,
) -> tuple[Article | None, str, str]:
    """Decode and extract (what a worker does for each page): the article (or None and
    why the page is not a story), and the page's access label."""
    from pipeline.extract.extractor import (
        extract_traced,  # imported by workers (preloaded), not by the parent
    )
    from pipeline.extract.story import page_text

    html, reason = page_text(body, encoding)
    if html is None:
        return None, reason, "ok"
    article, trace = extract_traced(html, url, options, summary)
    return article, trace.skipped, trace.access


def _with_now(options: ExtractOptions, now: str | None) -> ExtractOptions:
    return replace(options, now=now) if now else options


def _limit_memory(megabytes: int | None) -> None:
    if not megabytes:
        return

    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    with open("/proc/self/statm") as statm:  # the worker's size before any page
        base = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    limit = base + megabytes * 1024 * 1024
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _attempt(job: Job, options: dict[str, ExtractOptions]) -> tuple[str, Any, float]:
    """Extract one page, as ("ok", (article | None, reason), cpu), ("error", reason, cpu) or
    ("crash", reason, cpu): what a worker replies, and what inline extraction uses, so
    that a page fails the same way whatever the number of workers."""
    started = time.process_time()
    try:
        verdict = extract_verdict(
            job.body,
            job.encoding,
            job.url,
            _with_now(options[job.options_key], job.now),
            job.summary,
        )
        return "ok", verdict, time.process_time() - started
    except MemoryError:
        return "crash", "memory limit exceeded", time.process_time() - started
    except RecursionError:
        return "error", "markup nested too deeply", time.process_time() - started
    except (ValueError, TypeError, LookupError, AttributeError, UnicodeError) as exc:
        # extract's libraries raise these on malformed input; the page fails alone.
        return "error", f"{type(exc).__name__}: {exc}", time.process_time() - started
    except Exception as exc:  # a fault in the extraction stack: logged, the page fails
        log.exception("extracting %s failed", job.url)
        return "crash", f"{type(exc).__name__}: {exc}", time.process_time() - started


def _answer(job: Job, kind: str, value: Any, cpu: float) -> Outcome | ExtractionError:
    """A reply of `_attempt` as the pool hands it over: an Outcome or a typed error."""
    if kind == "ok":
        article, reason, access = value
        return Outcome(article, cpu, reason, access)
    if kind == "crash":
        return WorkerCrashed(job.url, value)
    return ExtractionError(job.url, value)


def _worker_main(conn: multiprocessing.connection.Connection, memory_mb: int | None) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    with contextlib.suppress(OSError, ValueError, ImportError):
        _limit_memory(memory_mb)
    options: dict[str, ExtractOptions] = {}
    while True:
        try:
            message = conn.recv_bytes()
        except (EOFError, OSError):
            return  # the parent is gone
        kind, payload = pickle.loads(message)
        if kind == "stop":
            return
        if kind == "options":
            key, value = payload
            options[key] = value
            continue
        job: Job = payload
        reply = _attempt(job, options)
        try:
            conn.send_bytes(pickle.dumps(reply, protocol=pickle.HIGHEST_PROTOCOL))
        except (OSError, ValueError):
            return
        if reply[0] == "crash":
            return  # a worker that ran out of memory is not trusted again


class _Slot:
    """One worker process and the thread that supervises it."""

    def __init__(self, pool: ExtractPool, number: int) -> None:
        self.pool = pool
        self.number = number
        self.process: Any = None
        self.conn: multiprocessing.connection.Connection | None = None
        self.known_options: set[str] = set()
        self.thread = threading.Thread(target=self._loop, name=f"extract-{number}", daemon=True)

    def start(self) -> None:
        parent, child = self.pool.context.Pipe(duplex=True)
        process = self.pool.context.Process(
            target=_worker_main,
            args=(child, self.pool.memory_mb),
            daemon=True,
            name=f"newsarchive-extract-{self.number}",
        )
        try:
            process.start()
        except BaseException:
            parent.close()
            raise
        finally:
            child.close()
        self.process, self.conn = process, parent
        self.known_options = set()

    def kill(self) -> None:
        with contextlib.suppress(OSError, ValueError):  # already gone, or closed
            if self.process is not None and self.process.is_alive():
                self.process.kill()
            if self.process is not None:
                self.process.join(5)
            if self.conn is not None:
                self.conn.close()
        self.process = None
        self.conn = None

    def replace_worker(self) -> None:
        """Kill the worker (a new one starts with the next job) and count it."""
        self.kill()
        self.pool.note_replaced()

    def _send(self, kind: str, payload: Any) -> None:
        assert self.conn is not None
        self.conn.send_bytes(pickle.dumps((kind, payload), protocol=pickle.HIGHEST_PROTOCOL))

    def _loop(self) -> None:
        while True:
            item = self.pool.jobs.get()
            if item is None:
                with contextlib.suppress(OSError, ValueError, AssertionError):
                    self._send("stop", None)
                if self.process is not None:
                    self.process.join(2)
                self.kill()
                return
            job, future = item
            result: Outcome | ExtractionError
            try:
                result = self._run(job)
            except Exception as exc:  # a fault of this supervisor, not of the page
                log.exception("extraction supervisor %d failed on %s", self.number, job.url)
                result = WorkerCrashed(
                    job.url, f"extraction supervisor failed ({type(exc).__name__}: {exc})"
                )
                self.replace_worker()  # its state is unknown: the next job gets a new one
            self.pool.deliver(future, result)

    def _run(self, job: Job) -> Outcome | ExtractionError:
        if self.process is None:
            self.start()
        try:
            if job.options_key not in self.known_options:
                self._send("options", (job.options_key, self.pool.options[job.options_key]))
                self.known_options.add(job.options_key)
            self._send("job", job)
            assert self.conn is not None
            if not self.conn.poll(self.pool.timeout):
                self.replace_worker()
                return ExtractionTimeout(job.url, f"extraction took over {self.pool.timeout:g} s")
            kind, value, cpu = pickle.loads(self.conn.recv_bytes())
        except (EOFError, OSError, BrokenPipeError):
            process = self.process
            if process is not None:
                process.join(5)  # its own exit code, before kill() could make it SIGKILL
            code = process.exitcode if process is not None else None
            self.replace_worker()
            if code == -signal.SIGKILL:  # not ours: we kill only on timeouts, above
                return WorkerKilled(job.url, "extraction worker was killed from outside")
            return WorkerCrashed(job.url, f"extraction worker died (exit code {code})")
        self.pool.add_cpu(cpu)
        if kind == "crash":
            self.replace_worker()
        return _answer(job, kind, value, cpu)


class ExtractPool:
    """A fixed number of extraction worker processes (0: extract in this process)."""

    def __init__(
        self, processes: int | None = None, *, timeout: float = 30.0, memory_mb: int | None = 1024
    ) -> None:
        self.processes = (os.cpu_count() or 1) if processes is None else processes
        self.timeout = timeout
        self.memory_mb = memory_mb
        self.options: dict[str, ExtractOptions] = {}
        self.jobs: queue.SimpleQueue[tuple[Job, asyncio.Future[Outcome]] | None] = (
            queue.SimpleQueue()
        )
        self.cpu = 0.0  # CPU seconds spent extracting, all workers together
        self.replaced = 0  # workers replaced after a timeout or crash
        self._lock = threading.Lock()  # the supervisors update cpu and replaced
        self.context = multiprocessing.get_context("forkserver")
        self._slots: list[_Slot] = []
        self._starting = asyncio.Lock()

    def __enter__(self) -> ExtractPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        """Start the worker processes and their supervisors; WorkerStartError when one
        cannot start (those already started are stopped again)."""
        if self.processes <= 0 or self._slots:
            return
        self.context.set_forkserver_preload(_PRELOAD)
        for number in range(self.processes):
            slot = _Slot(self, number)
            try:
                slot.start()
                slot.thread.start()
            except Exception as exc:  # OSError (no fork, no fds), the forkserver's errors
                slot.kill()
                self.close()
                raise WorkerStartError(
                    f"extraction worker {number} could not be started: {type(exc).__name__}: {exc}"
                ) from exc
            self._slots.append(slot)

    def close(self) -> None:
        for _ in self._slots:
            self.jobs.put(None)
        for slot in self._slots:
            slot.thread.join(10)
        self._slots = []

    def add_cpu(self, seconds: float) -> None:
        with self._lock:
            self.cpu += seconds

    def note_replaced(self) -> None:
        with self._lock:
            self.replaced += 1

    def register(self, key: str, options: ExtractOptions) -> None:
        """Options are sent to each worker once; jobs name them by key."""
        self.options[key] = options

    def deliver(self, future: asyncio.Future[Outcome], result: Outcome | Exception) -> None:
        def settle() -> None:
            if future.cancelled():
                return
            if isinstance(result, Exception):
                future.set_exception(result)
            else:
                future.set_result(result)

        with contextlib.suppress(RuntimeError):  # the loop is closed: no one awaits it
            future.get_loop().call_soon_threadsafe(settle)

    async def extract(self, job: Job) -> Outcome:
        """Extract one page in a worker; raises ExtractionError subclasses."""
        if self.processes <= 0:
            kind, value, cpu = _attempt(job, self.options)
            self.add_cpu(cpu)
            answer = _answer(job, kind, value, cpu)
            if isinstance(answer, ExtractionError):
                raise answer
            return answer
        if not self._slots:  # lazily: a run with nothing new never starts the workers
            async with self._starting:
                if not self._slots:  # starting processes blocks: not on the event loop
                    await asyncio.get_running_loop().run_in_executor(None, self.start)
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self.jobs.put((job, future))
        return await future
