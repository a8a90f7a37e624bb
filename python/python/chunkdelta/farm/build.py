"""``build``: every patch of a plan, then the catalogue; and the local executor.

A build lists the plan's jobs (``jobs.plan_jobs``), keeps the patches an earlier run left
in place, runs the others on an executor (threads on this machine, or tasks on Dask:
``cluster.DaskExecutor``), and only once all are in place writes ``catalogue.json``. A
failed build leaves the previous catalogue and every finished patch, so rerunning it
resumes. One build at a time writes an output directory (a lock file, ``.farm.lock``).
"""

from __future__ import annotations

import fcntl
import functools
import os
import shutil
import threading
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Optional, Protocol, Sequence, TextIO, Union

from chunkdelta.farm.catalogue import catalogue, write_catalogue
from chunkdelta.farm.cluster import DaskExecutor, connect
from chunkdelta.farm.errors import FarmError
from chunkdelta.farm.jobs import STAGING, DiffSettings, PatchJob, PatchResult, make_patch, plan_jobs
from chunkdelta.farm.plan import Plan, StrPath, load_plan
from chunkdelta.farm.progress import Progress, collect, summary_table

LOCK = ".farm.lock"


@dataclass(frozen=True)
class BuildReport:
    """What a build made: the catalogue (as written, and its path) and one result per
    entry, in catalogue order."""

    catalogue_path: Path
    catalogue: dict[str, Any]
    results: tuple[PatchResult, ...]

    @property
    def built(self) -> list[PatchJob]:
        """The jobs this run built (the others were in place already)."""
        return [result.job for result in self.results if result.built]

    def summary(self) -> str:
        """The summary table (Markdown)."""
        return summary_table(self.results, self.catalogue["entries"])


class Executor(Protocol):
    """Where jobs run: the local thread pool or a Dask cluster."""

    def threads(self, pairs: int) -> int:
        """Threads each diff gets, for a build of ``pairs`` patches."""

    def check(self, jobs: Sequence[PatchJob]) -> None:
        """Raises ``FarmError`` if some job cannot run here."""

    def run(
        self, jobs: Sequence[PatchJob], out: str, settings: DiffSettings, progress: Progress
    ) -> list[PatchResult]:
        """Makes every job's patch, reporting to ``progress``; results in any order."""


def build(
    plan: Union[Plan, StrPath],
    out: StrPath,
    *,
    client: Any = None,
    scheduler: Optional[str] = None,
    jobs: Optional[int] = None,
    threads: Optional[int] = None,
    memory_limit: Optional[int] = None,
    retries: int = 3,
    progress: Union[bool, TextIO, None] = None,
) -> BuildReport:
    """Builds every patch of ``plan`` (a ``Plan`` or a plan file) into the directory ``out``,
    signed when the plan names a key, and writes ``out/catalogue.json``.

    By default the patches are made on this machine, ``jobs`` at a time (default: one per
    core, fewer when ``memory_limit``, default the machine's memory, cannot hold them), each
    diff on ``threads`` threads (default: the cores divided among the jobs). With ``client``
    (a ``distributed.Client``) or ``scheduler`` (its address), each patch is a task of that
    Dask cluster, retried up to ``retries`` times (see ``chunkdelta.farm.cluster``).

    Patches already in ``out`` for the same inputs and options are kept. ``progress``: True
    reports on stderr, a text stream on that stream, False not at all; the default reports
    when stderr is a terminal. On a terminal it draws bars, elsewhere a line per patch. Raises ``PlanError`` for a bad plan
    and ``FarmError`` when a patch cannot be made; the catalogue is then left as it was.
    """
    plan = plan if isinstance(plan, Plan) else load_plan(plan)
    out = Path(out).resolve()
    own_client = client is None and scheduler is not None
    if own_client:
        client = connect(scheduler)  # type: ignore[arg-type]
    try:
        executor: Executor = (
            DaskExecutor(client, retries, threads) if client is not None else LocalExecutor(jobs, threads, memory_limit)
        )
        return _build(plan, out, executor, progress)
    finally:
        if own_client:
            client.close()


def _build(plan: Plan, out: Path, executor: Executor, show: Union[bool, TextIO, None]) -> BuildReport:
    """``build`` once the executor is chosen."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise FarmError(f"cannot create the output directory {out}: {error.strerror or error}") from error
    with _locked(out):
        settings = DiffSettings.from_plan(plan)
        pairs = sum(len(old.artifacts) for old in plan.olds)
        jobs = plan_jobs(plan, settings, executor.threads(pairs))
        kept = {job.patch: _kept(out, job) for job in jobs if (out / job.patch).exists()}
        todo = [job for job in jobs if job.patch not in kept]
        executor.check(todo)
        progress = _progress(len(jobs), show)
        for result in kept.values():
            progress.finished(result)
        made = {result.job.patch: result for result in executor.run(todo, str(out), settings, progress)}
        progress.close()
        results = tuple(kept.get(job.patch) or made[job.patch] for job in jobs)
        content = catalogue(plan, results)
        path = write_catalogue(out, content)
        shutil.rmtree(out / STAGING, ignore_errors=True)
    return BuildReport(path, content, results)


def _progress(total: int, show: Union[bool, TextIO, None]) -> Progress:
    """The progress reporter ``build``'s ``progress`` argument asks for."""
    if show is None or isinstance(show, bool):
        return Progress(total, enabled=os.isatty(2) if show is None else show)
    return Progress(total, stream=show)


def _kept(out: Path, job: PatchJob) -> PatchResult:
    """The result of a patch an earlier run made."""
    return PatchResult(job, (out / job.patch).stat().st_size, built=False, seconds=0.0)


@contextmanager
def _locked(out: Path) -> Iterator[None]:
    """Holds the output directory's lock, or raises ``FarmError`` if another build does."""
    with open(out / LOCK, "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as error:
            raise FarmError(f"another build is writing {out} (it holds {out / LOCK})") from error
        yield


class LocalExecutor:
    """Runs jobs on a thread pool of this process (the diffs release the GIL), starting a job
    only while the running jobs' memory estimates, with its own, fit ``memory_limit``."""

    def __init__(self, jobs: Optional[int], threads: Optional[int], memory_limit: Optional[int]) -> None:
        self._cores = os.cpu_count() or 1
        self._jobs = jobs
        self._threads = threads
        self._memory_limit = memory_limit or os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        self._stop = threading.Event()

    def threads(self, pairs: int) -> int:
        """As given, else the cores divided among the jobs that run at once."""
        return self._threads or max(1, self._cores // self._concurrency(pairs))

    def _concurrency(self, pairs: int) -> int:
        """How many jobs run at once at most."""
        return max(1, self._jobs or min(pairs, self._cores))

    def check(self, jobs: Sequence[PatchJob]) -> None:
        """Every job can run: one too large for ``memory_limit`` runs alone."""

    def run(
        self, jobs: Sequence[PatchJob], out: str, settings: DiffSettings, progress: Progress
    ) -> list[PatchResult]:
        """Runs the jobs in order; on a failure, cancels the running diffs and raises."""
        pending = deque(jobs)
        running: dict[Future[PatchResult], PatchJob] = {}
        results: list[PatchResult] = []
        in_use = 0
        concurrency = self._concurrency(len(jobs))
        with ThreadPoolExecutor(concurrency, thread_name_prefix="chunkdelta-farm") as pool:
            try:
                while pending or running:
                    while pending and len(running) < concurrency and self._fits(in_use, pending[0], running):
                        job = pending.popleft()
                        report = functools.partial(self._report, progress, job)
                        running[pool.submit(make_patch, job, out, settings, report)] = job
                        in_use += job.memory
                    done, _ = wait(running, return_when=FIRST_COMPLETED)
                    for future in done:
                        job = running.pop(future)
                        in_use -= job.memory
                        results.append(collect(future, job, progress))
            except BaseException:
                self._stop.set()
                raise
        return results

    def _fits(self, in_use: int, job: PatchJob, running: dict[Future[PatchResult], PatchJob]) -> bool:
        """Whether ``job`` may start now: alone always, else within the memory limit."""
        return not running or in_use + job.memory <= self._memory_limit

    def _report(self, progress: Progress, job: PatchJob, done: int, total: int) -> bool:
        """The diffs' progress callback: reports, and returns False (cancel) once stopping."""
        progress.update(job, done, total)
        return not self._stop.is_set()

