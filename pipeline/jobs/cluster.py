"""`import-warc --cluster`: a backfill spread over a Dask cluster, one writer.

    client (this process)                       Dask workers (many machines)
    holds the archive lock, only SQLite writer  one task per input file:
    snapshot of options ----- plugin -------->    fetch (fsspec) -> ExtractPool -> shard
    loads shards in input order <-- result ---    (counts, CPU seconds, shard name)

The client submits the input files as tasks (a window of them ahead of the one it
is loading), and loads the shards they write in input order, whatever order they
finish in, so the archive is the same whatever the number of workers. The
`import_files` table records each input's state: a rerun skips the loaded files,
loads the shards that exist without extracting again, and submits the rest.

Failures: a task that raises (a download error above all) is retried twice by Dask,
then its file is marked failed; a worker that dies has its task rescheduled by Dask
on another, and after `allowed-failures` deaths the file is marked failed. Workers
must run non-daemonic (their extraction pool starts processes) and the same versions
as the client; both are checked before anything is submitted.

Only this module imports Dask, and only `--cluster` imports this module.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import platform
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import dask
from distributed import Client, KilledWorker, LocalCluster, WorkerPlugin, as_completed, get_worker

from pipeline import __version__
from pipeline.config.loader import Config
from pipeline.errors import ClusterError, NewsarchiveError, ShardError, UsageError
from pipeline.extract.workers import ExtractPool
from pipeline.jobs.offline import configured_sites, extract_options
from pipeline.jobs.shardload import ClusterReport, ShardLoader
from pipeline.jobs.shardtask import Snapshot, TaskResult, extract_file, shard_name
from pipeline.store import Archive
from pipeline.store.imports import import_files, learnt_boilerplate, record_import
from pipeline.times import now

PLUGIN = "newsarchive-extract"
RETRIES = 2  # a failing task (a download error) runs again this many times
ALLOWED_DEATHS = 3  # workers that may die running one task before its file fails
_CHECKED = ("newsarchive", "dask", "distributed", "pyarrow", "cloudpickle", "python")


@dataclass(frozen=True, slots=True)
class Target:
    """Where to run: `local:N` (a LocalCluster of N processes) or a scheduler address."""

    local: int | None
    address: str | None

    @classmethod
    def parse(cls, spec: str) -> Target:
        if spec.startswith("local:") and spec[6:].isdigit() and int(spec[6:]) > 0:
            return cls(int(spec[6:]), None)
        if spec == "local":
            return cls(multiprocessing.cpu_count(), None)
        if "://" in spec and spec.split("://", 1)[1]:
            return cls(None, spec)
        raise UsageError(f"--cluster {spec!r}: use local:N or a scheduler address tcp://HOST:PORT")


class ExtractPlugin(WorkerPlugin):
    """Gives each Dask worker one long-lived extraction pool (per-page limits kept) and
    the run's Snapshot. A plugin is installed again on every worker that joins or
    restarts, so a snapshot sent this way is never lost with a worker (scattered data
    would be, once every worker holding it had died)."""

    def __init__(
        self, snapshot: Snapshot, processes: int, timeout: float, memory_mb: int | None
    ) -> None:
        self.snapshot = snapshot
        self.processes = processes
        self.timeout = timeout
        self.memory_mb = memory_mb
        self.pool: ExtractPool | None = None
        self.failure = "it has no extraction pool"

    def setup(self, worker: Any) -> None:
        pool = ExtractPool(self.processes, timeout=self.timeout, memory_mb=self.memory_mb)
        try:
            pool.start()
        except AssertionError:  # multiprocessing: a daemonic process may have no children
            self.failure = "it runs daemonic: start it with DASK_DISTRIBUTED__WORKER__DAEMON=False"
            return
        except OSError as exc:
            self.failure = f"its extraction processes did not start ({exc})"
            return
        self.pool = pool

    def teardown(self, worker: Any) -> None:
        if self.pool is not None:
            self.pool.close()
            self.pool = None


def facts() -> dict[str, Any]:
    """What a process runs: versions of what must match, and whether it is daemonic."""
    found: dict[str, Any] = {"python": ".".join(platform.python_version_tuple()[:2])}
    for name in _CHECKED[1:-1]:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = None
    found["newsarchive"] = __version__
    found["daemon"] = multiprocessing.current_process().daemon
    return found


def run_task(input: str, plugin_name: str, shards: str) -> TaskResult:
    """The task a worker runs for one input file."""
    worker = get_worker()
    plugin = worker.plugins.get(plugin_name)
    if not isinstance(plugin, ExtractPlugin):
        raise ClusterError(f"worker {worker.address} has no newsarchive plugin")
    if plugin.pool is None:
        raise ClusterError(f"worker {worker.address} cannot extract: {plugin.failure}")
    if plugin.snapshot.version != __version__:
        raise ClusterError(
            f"worker runs newsarchive {__version__}, client {plugin.snapshot.version}"
        )
    scratch = Path(worker.local_directory) / "newsarchive"
    return extract_file(input, plugin.snapshot, Path(shards), plugin.pool, scratch)


def check_workers(client: Client) -> int:
    """The number of workers; ClusterError when one cannot run our tasks."""
    mine = facts()
    try:
        theirs: dict[str, dict[str, Any]] = client.run(facts)
    except (OSError, TimeoutError) as exc:
        raise ClusterError(f"cannot ask the workers what they run: {exc}") from None
    if not theirs:
        raise ClusterError("the cluster has no workers")
    for address, found in sorted(theirs.items()):
        for name in _CHECKED:
            if found.get(name) != mine[name]:
                raise ClusterError(
                    f"version skew: worker {address} has {name} {found.get(name)}, this client"
                    f" {mine[name]}; install the same versions everywhere"
                )
        if found["daemon"]:
            raise ClusterError(
                f"worker {address} runs as a daemonic process, which cannot start the"
                " extraction processes that enforce the per-page limits; start the workers"
                " with DASK_DISTRIBUTED__WORKER__DAEMON=False"
            )
    return len(theirs)


def _connect(target: Target, threads: int = 1) -> tuple[Client, LocalCluster | None]:
    if target.local is not None:
        cluster = LocalCluster(
            n_workers=target.local,
            threads_per_worker=threads,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.CRITICAL,  # failures are reported per file, once
        )
        return Client(cluster), cluster
    try:
        return Client(target.address, timeout="20s"), None
    except (OSError, TimeoutError) as exc:
        raise ClusterError(f"cannot reach the Dask scheduler at {target.address}: {exc}") from None


def snapshot_of(
    config: Config | None, archive: Archive, source: str | None, max_bytes: int
) -> Snapshot:
    """The extraction options of every source the tasks may meet, taken once."""
    names = {s.name for s in config.sources} if config is not None else set()
    names |= set(learnt_boilerplate(archive))
    if source:
        names.add(source)
    return Snapshot(
        given=source,
        sites=configured_sites(config),
        options={name: extract_options(config, archive, name) for name in sorted(names)},
        max_bytes=max_bytes,
        level=config.warc.compression if config is not None else 3,
        token=uuid.uuid4().hex[:12],
    )


def import_cluster(
    inputs: Sequence[str],
    config: Config | None,
    archive: Archive,
    *,
    cluster: str,
    shards: Path,
    source: str | None = None,
    processes: int = 1,
    timeout: float = 30.0,
    memory_mb: int | None = 1024,
    max_bytes: int = 10_000_000,
    window: int | None = None,
) -> ClusterReport:
    """Import `inputs` on the cluster into `archive` (see the module's docstring)."""
    target = Target.parse(cluster)
    report = ClusterReport()
    started = time.monotonic()
    if config is not None:
        archive.near_threshold = config.near_duplicate_threshold
    try:
        shards.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"--shards {shards}: cannot create it ({exc.strerror or exc})") from None
    loader = ShardLoader(archive, shards, report)
    known = import_files(archive, list(inputs))
    # Kept for the whole run: a Nanny reads these again when it restarts a dead worker.
    with dask.config.set(
        {
            "distributed.worker.daemon": False,
            "distributed.scheduler.allowed-failures": ALLOWED_DEATHS - 1,
        }
    ):
        client, local = _connect(target)
        try:
            report.workers = check_workers(client)
            snapshot = snapshot_of(config, archive, source, max_bytes)
            plugin = f"{PLUGIN}-{snapshot.token}"  # one per run: runs may share a cluster
            client.register_plugin(ExtractPlugin(snapshot, processes, timeout, memory_mb), plugin)
            report.startup_seconds = time.monotonic() - started
            try:
                _Run(client, plugin, inputs, known, shards, loader, report, window).run()
            finally:
                with contextlib.suppress(OSError, TimeoutError, ValueError, KeyError):
                    client.unregister_worker_plugin(plugin)  # stops the extraction pools
        finally:
            client.close()
            if local is not None:
                local.close()
    report.files = len(inputs)
    report.seconds = time.monotonic() - started
    return report


class _Run:
    """Submits tasks a window ahead of the input being loaded; loads in input order."""

    def __init__(
        self,
        client: Client,
        plugin: str,
        inputs: Sequence[str],
        known: dict[str, Any],
        shards: Path,
        loader: ShardLoader,
        report: ClusterReport,
        window: int | None,
    ) -> None:
        self.client = client
        self.plugin = plugin
        self.inputs = list(inputs)
        self.known = known
        self.shards = shards
        self.loader = loader
        self.report = report
        self.window = window or max(8, 4 * report.workers)
        self.archive = loader.archive
        self.done: dict[int, TaskResult | str | None] = {}  # the reorder buffer
        self.index: dict[Any, int] = {}  # future key -> input position
        self.futures = as_completed()

    def _plan(self, i: int) -> bool:
        """Settle input `i` without the cluster if a previous run did; True if it must run."""
        input = self.inputs[i]
        row = self.known.get(input)
        if row is not None and row.state == "loaded":
            self.report.loaded_before += 1
            self.done[i] = None
            return False
        name = f"{shard_name(input)}.parquet"
        if (self.shards / name).is_file():  # complete: shards appear by rename
            self.report.resumed += 1
            counts = row.counts if row is not None else {}
            self.done[i] = TaskResult(input, name, {k: int(v) for k, v in counts.items()})
            return False
        return True

    def _submit(self, i: int) -> None:
        input = self.inputs[i]
        future = self.client.submit(
            run_task,
            input,
            self.plugin,
            str(self.shards),
            key=f"newsarchive-{shard_name(input)}-{uuid.uuid4().hex[:8]}",
            retries=RETRIES,
            priority=-i,
            pure=False,
        )
        self.index[future.key] = i
        self.futures.add(future)
        self.report.submitted += 1
        record_import(self.archive, input, "running", now(), attempt=True)

    def _collect(self) -> None:
        """Wait for one task to finish and put its result in the reorder buffer."""
        future = next(self.futures)
        i = self.index.pop(future.key)
        input = self.inputs[i]
        if future.status == "finished":
            result: TaskResult = future.result()
            record_import(
                self.archive,
                input,
                "extracted",
                now(),
                shard=result.shard,
                counts=result.counts,
                cpu=result.cpu_extract,
            )
            self.report.cpu_extract += result.cpu_extract
            self.report.cpu_tasks += result.cpu_task
            self.report.errors.extend(result.errors)
            self.done[i] = result
            return
        error = future.exception() if future.status == "error" else None
        if isinstance(error, KilledWorker):
            message = f"{input}: the workers running it died {ALLOWED_DEATHS} times"
        elif error is not None:
            message = f"{input}: {type(error).__name__}: {error}"
        else:  # cancelled or lost: the scheduler went away or restarted
            message = f"{input}: the task was {future.status} by the scheduler"
        record_import(self.archive, input, "failed", now(), error=message)
        self.done[i] = message

    def _settle(self, i: int) -> None:
        """Load input `i`'s shard (or count its failure)."""
        outcome = self.done.pop(i)
        input = self.inputs[i]
        if outcome is None:
            return
        if isinstance(outcome, str):
            self.report.failed_files += 1
            self.report.errors.append(outcome)
            return
        path = self.shards / outcome.shard
        if not path.is_file():
            raise ClusterError(
                f"shard {path} of {input} is not here: --shards must be a directory that"
                " the client and every worker share"
            )
        for key in ("records", "responses", "damaged"):
            setattr(self.report, key, getattr(self.report, key) + outcome.counts.get(key, 0))
        self.report.skipped += outcome.counts.get("skipped", 0)
        try:
            loaded = self.loader.load(outcome.shard)
        except ShardError as exc:
            # A shard that cannot be read is removed, so that a rerun extracts again.
            path.unlink(missing_ok=True)
            record_import(self.archive, input, "failed", now(), error=str(exc))
            self.report.failed_files += 1
            self.report.errors.append(str(exc))
            return
        record_import(self.archive, input, "loaded", now(), counts={**outcome.counts, **loaded})

    def run(self) -> None:
        total = len(self.inputs)
        submitted = cursor = 0
        try:
            while cursor < total:
                while submitted < total and submitted - cursor < self.window:
                    if self._plan(submitted):
                        self._submit(submitted)
                    submitted += 1
                if cursor in self.done:
                    self._settle(cursor)
                    cursor += 1
                    continue
                self._collect()
        except (NewsarchiveError, KeyboardInterrupt):
            self.client.cancel(list(self.futures.futures))
            raise
