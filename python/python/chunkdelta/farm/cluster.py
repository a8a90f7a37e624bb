"""Running patch jobs on a Dask distributed cluster (``pip install chunkdelta[farm]``).

Each patch is one task:

- It declares the memory its diff takes (``PatchJob.memory``) as the worker resource
  ``MEMORY``, so the scheduler runs tasks on a worker only while their sum fits what the
  worker holds. Workers must be started with it: ``dask worker ADDRESS --nthreads 2
  --resources MEMORY=16e9`` (bytes; the memory the worker may spend on diffs).
- It receives paths, not bytes: workers read the artifacts from the shared file system and
  write the patch under the output directory, which must be shared too.
- It is idempotent (``make_patch``), so the scheduler's retry of a task whose worker died,
  or that failed (``retries``), is safe.
- It reports its diff's progress as worker events on a topic this build subscribes to.
"""

from __future__ import annotations

import collections
import os
import time
import uuid
from typing import Any, Callable, Sequence

from chunkdelta.farm.errors import FarmError
from chunkdelta.farm.jobs import DiffSettings, PatchJob, PatchResult, make_patch
from chunkdelta.farm.progress import Progress, collect

RESOURCE = "MEMORY"
_REPORT_EVERY = 0.2


def connect(address: str) -> Any:
    """A ``distributed.Client`` of the scheduler at ``address``; ``FarmError`` if Dask is not
    installed or the scheduler cannot be reached."""
    distributed = _import_distributed()
    try:
        return distributed.Client(address, timeout="30s")
    except (OSError, TimeoutError) as error:
        raise FarmError(f"cannot connect to the Dask scheduler at {address}: {error}") from error


def _import_distributed() -> Any:
    """The ``distributed`` module, or a ``FarmError`` telling how to install it."""
    try:
        import distributed  # type: ignore[import-untyped,unused-ignore]
    except ImportError as error:
        raise FarmError("running on Dask needs dask.distributed: pip install 'chunkdelta[farm]'") from error
    return distributed


class DaskExecutor:
    """Runs jobs as tasks of ``client``, each retried up to ``retries`` times."""

    def __init__(self, client: Any, retries: int, threads: int | None) -> None:
        self._client = client
        self._retries = retries
        self._threads = threads

    def threads(self, pairs: int) -> int:
        """Threads per diff: as given, else a worker host's cores divided among the task slots
        of the workers on that host (the least over hosts)."""
        if self._threads:
            return self._threads
        workers = self._workers()
        slots: collections.Counter[str] = collections.Counter()
        for info in workers.values():
            slots[info["host"]] += info["nthreads"]
        cores = self._client.run(os.cpu_count)
        return max(1, min((cores[address] or 1) // slots[info["host"]] for address, info in workers.items()))

    def check(self, jobs: Sequence[PatchJob]) -> None:
        """Refuses, before submitting anything, jobs that no worker has the memory to run."""
        capacities = [info.get("resources", {}).get(RESOURCE, 0) for info in self._workers().values()]
        largest = max(capacities, default=0)
        if largest == 0:
            raise FarmError(
                f"no Dask worker declares the resource {RESOURCE}: start workers with "
                f"--resources {RESOURCE}=<bytes they may spend on diffs>"
            )
        for job in jobs:
            if job.memory > largest:
                raise FarmError(
                    f"the {job.platform} patch from {job.from_version} needs about {job.memory:,} bytes, "
                    f"more than any worker's {RESOURCE} ({largest:,}); lower options.memory or add a larger worker"
                )

    def run(
        self, jobs: Sequence[PatchJob], out: str, settings: DiffSettings, progress: Progress
    ) -> list[PatchResult]:
        """Submits every job, waits for all, and returns their results as they finished."""
        distributed = _import_distributed()
        topic = f"chunkdelta-farm-{uuid.uuid4().hex}"
        by_patch = {job.patch: job for job in jobs}

        def on_event(event: tuple[float, dict[str, Any]]) -> None:
            message = event[1]
            progress.update(by_patch[message["patch"]], message["done"], message["total"])

        self._client.subscribe_topic(topic, on_event)
        futures = {
            self._client.submit(
                run_task,
                job,
                out,
                settings,
                topic,
                key=f"chunkdelta-farm-{job.patch}",
                resources={RESOURCE: job.memory},
                retries=self._retries,
                pure=False,
            ): job
            for job in jobs
        }
        try:
            return [collect(future, futures[future], progress) for future in distributed.as_completed(futures)]
        except BaseException:
            self._client.cancel(list(futures))
            raise
        finally:
            self._client.unsubscribe_topic(topic)

    def _workers(self) -> dict[str, Any]:
        """The scheduler's description of every worker, by address."""
        workers: dict[str, Any] = self._client.scheduler_info(n_workers=-1)["workers"]
        if not workers:
            raise FarmError("the Dask cluster has no workers")
        return workers


def run_task(job: PatchJob, out: str, settings: DiffSettings, topic: str) -> PatchResult:
    """The Dask task: ``make_patch``, its progress sent as events on ``topic``."""
    worker = _import_distributed().get_worker()
    return make_patch(job, out, settings, _reporter(worker, topic, job))


def _reporter(worker: Any, topic: str, job: PatchJob) -> Callable[[int, int], None]:
    """A diff progress callback that logs an event at most every ``_REPORT_EVERY`` seconds,
    and at the end (callable from any thread)."""
    last = [0.0]

    def report(done: int, total: int) -> None:
        now = time.monotonic()
        if done >= total or now - last[0] >= _REPORT_EVERY:
            last[0] = now
            worker.log_event(topic, {"patch": job.patch, "done": done, "total": total})

    return report
