"""Progress on stderr and the summary table; no dependencies.

On a terminal, a bar for the whole build and one per running patch, redrawn in place at most
ten times a second. Elsewhere (logs, CI), one line per finished patch. Safe to call from any
thread: the local executor's diff threads and Dask's event-stream handler both report here.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Optional, Protocol, Sequence, TextIO

from chunkdelta.farm.errors import FarmError
from chunkdelta.farm.jobs import PatchJob, PatchResult

_WIDTH = 24
_REDRAW = 0.1


def _bar(done: float, total: float) -> str:
    """``[#####.....]  42%``."""
    fraction = min(1.0, done / total) if total > 0 else 0.0
    filled = int(fraction * _WIDTH)
    return f"[{'#' * filled}{'.' * (_WIDTH - filled)}] {fraction * 100:3.0f}%"


def label(job: PatchJob) -> str:
    """How a patch is named in progress lines and errors."""
    return f"{job.platform} {job.from_version}"


class _Done(Protocol):
    """A finished future, of ``concurrent.futures`` or of Dask."""

    def result(self) -> PatchResult: ...


def collect(future: _Done, job: PatchJob, progress: Progress) -> PatchResult:
    """The result of the finished future of ``job``, reported to ``progress``; its failure
    as a ``FarmError`` naming the patch, with the cause chained."""
    try:
        result = future.result()
    except Exception as error:
        raise FarmError(f"the {label(job)} patch failed: {error}") from error
    progress.finished(result)
    return result


class Progress:
    """Reports a build of ``total`` patches to ``stream``; ``enabled=False`` reports nothing."""

    def __init__(self, total: int, stream: Optional[TextIO] = None, enabled: bool = True) -> None:
        self._stream = stream if stream is not None else sys.stderr
        self._enabled = enabled
        self._live = enabled and self._stream.isatty()
        self._total = total
        self._finished = 0
        self._running: dict[str, tuple[int, int]] = {}
        self._done: set[str] = set()
        self._drawn_lines = 0
        self._last_draw = 0.0
        self._lock = threading.Lock()

    def update(self, job: PatchJob, done: int, total: int) -> None:
        """The job has done ``done`` of ``total`` units (its diff's progress callback)."""
        with self._lock:
            if label(job) not in self._done:  # Dask's last events may come after the result
                self._running[label(job)] = (done, total)
                self._draw(force=False)

    def finished(self, result: PatchResult) -> None:
        """The job's patch is in place (built, or found from an earlier run)."""
        with self._lock:
            self._finished += 1
            self._done.add(label(result.job))
            self._running.pop(label(result.job), None)
            if self._live:
                self._draw(force=True)
            elif self._enabled:
                how = f"built in {result.seconds:.1f} s" if result.built else "up to date"
                print(
                    f"[{self._finished}/{self._total}] {label(result.job)}: {result.job.patch}, "
                    f"{result.patch_size:,} bytes, {how}",
                    file=self._stream,
                    flush=True,
                )

    def close(self) -> None:
        """Leaves the last drawing on screen."""
        with self._lock:
            if self._live:
                self._draw(force=True)

    def _draw(self, force: bool) -> None:
        """Redraws the bars in place (terminal only), at most every ``_REDRAW`` seconds."""
        now = time.monotonic()
        if not self._live or (not force and now - self._last_draw < _REDRAW):
            return
        self._last_draw = now
        partial = sum(done / total for done, total in self._running.values() if total > 0)
        lines = [f"patches {_bar(self._finished + partial, self._total)} {self._finished}/{self._total}"]
        lines += [f"  {name:<32} {_bar(done, total)}" for name, (done, total) in sorted(self._running.items())]
        up = f"\x1b[{self._drawn_lines}F" if self._drawn_lines else ""
        self._stream.write(up + "\x1b[J" + "\n".join(lines) + "\n")
        self._stream.flush()
        self._drawn_lines = len(lines)


def summary_table(results: Sequence[PatchResult], entries: Sequence[dict[str, object]]) -> str:
    """A Markdown table of the build: one row per patch, with its size against the full
    artifact, whether clients get the full artifact instead, and whether this run built it."""
    rows = [
        "| platform | from | patch bytes | of full | serve | this run | seconds |",
        "|---|---|---:|---:|---|---|---:|",
    ]
    for result, entry in zip(results, entries):
        new_size = result.job.new.size
        ratio = f"{result.patch_size / new_size:.1%}" if new_size else "-"
        serve = "full" if entry["serve_full"] else "patch"
        run = "built" if result.built else "kept"
        rows.append(
            f"| {result.job.platform} | {result.job.from_version} | {result.patch_size:,} | {ratio} "
            f"| {serve} | {run} | {result.seconds:.2f} |"
        )
    built = sum(result.built for result in results)
    rows.append(f"\n{len(results)} patches, {built} built, {len(results) - built} kept from earlier runs")
    return "\n".join(rows)
