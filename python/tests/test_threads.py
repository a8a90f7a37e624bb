"""The GIL is released during heavy work, and the module works in a forked child."""

from __future__ import annotations

import os
import random
import threading
import time
from pathlib import Path

import chunkdelta
from conftest import edited, old_file


def test_two_diffs_in_two_threads_overlap_in_time(tmp_path: Path) -> None:
    rng = random.Random(9)
    old = tmp_path / "old"
    old.write_bytes(rng.randbytes(1 << 20))
    news = []
    for i in range(2):
        news.append(tmp_path / f"new{i}")
        news[i].write_bytes(rng.randbytes(4 << 20))
    # Times of each diff's progress reports: from its first (the index is built) to its last.
    reports: list[list[float]] = [[], []]
    barrier = threading.Barrier(2)

    def run(i: int) -> None:
        barrier.wait()
        chunkdelta.diff_file(
            old, news[i], tmp_path / f"p{i}", threads=1, chunk_size=1 << 16,
            progress=lambda d, t: reports[i].append(time.monotonic()),
        )

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    (a_start, a_end), (b_start, b_end) = ((r[0], r[-1]) for r in reports)
    assert max(a_start, b_start) < min(a_end, b_end), "the two diffs did not work at the same time"
    # Each worked through more than one report while the other was working too.
    overlap = (max(a_start, b_start), min(a_end, b_end))
    for times in reports:
        assert sum(overlap[0] <= t <= overlap[1] for t in times) > 1


class Ticker:
    """A Python thread counting while it gets the GIL, as ``with Ticker() as ticker:``;
    ``ticker.ticks`` is how many times it ran."""

    def __init__(self) -> None:
        self.ticks = 0
        self.running, self.stop = threading.Event(), threading.Event()
        self.thread = threading.Thread(target=self.count)

    def count(self) -> None:
        self.running.set()
        while not self.stop.is_set():
            self.ticks += 1
            time.sleep(0.001)

    def __enter__(self) -> Ticker:
        self.thread.start()
        self.running.wait()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()


def test_other_python_threads_run_during_a_diff() -> None:
    rng = random.Random(4)
    old, new = rng.randbytes(1 << 20), rng.randbytes(4 << 20)
    with Ticker() as ticker:
        before = ticker.ticks
        chunkdelta.diff(old, new, threads=1, chunk_size=1 << 16)
        during = ticker.ticks - before
    assert during > 50, f"the counting thread ran only {during} times during the diff"


def test_other_python_threads_run_during_a_tree_diff_and_verify(tmp_path: Path) -> None:
    rng = random.Random(7)
    old, new = tmp_path / "old", tmp_path / "new"
    old.mkdir()
    new.mkdir()
    (old / "f").write_bytes(rng.randbytes(1 << 20))
    # Hex digits: new content that the old file does not match but LZMA2 compresses, so that
    # verify spends tens of milliseconds decoding (random bytes are stored raw, and their
    # verify can end within one tick).
    (new / "f").write_bytes(rng.randbytes(2 << 20).hex().encode())
    with Ticker() as ticker:
        before = ticker.ticks
        chunkdelta.diff_tree(old, new, tmp_path / "p", threads=1, chunk_size=1 << 16)
        during_diff = ticker.ticks - before
        before = ticker.ticks
        chunkdelta.verify_tree(old, tmp_path / "p", threads=1)
        during_verify = ticker.ticks - before
    assert during_diff > 50, f"the counting thread ran only {during_diff} times during the diff"
    assert during_verify > 0, "the counting thread never ran during the verify"


def wait_for_child(pid: int, timeout: float) -> int:
    """The child's exit status, or -1 after killing it when it runs past ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.05)
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    return -1


def test_forked_child_can_diff_and_apply() -> None:
    # Large enough for the suffix-array builder to use its OpenMP threads, in parent and child.
    old = old_file(21, 1 << 20)
    new = edited(old, 22, 50)
    # Default threads, as most callers use them: a regression to rayon's global pool would
    # leave the child without workers.
    patch = chunkdelta.diff(old, new, chunk_size=1 << 16)
    assert chunkdelta.apply(old, patch) == new
    pid = os.fork()
    if pid == 0:  # the child: never return into pytest
        code = 1
        try:
            again = chunkdelta.diff(old, new, chunk_size=1 << 16)
            code = 0 if again == patch and chunkdelta.apply(old, again) == new else 2
        finally:
            os._exit(code)
    assert wait_for_child(pid, timeout=60) == 0, "the child failed (-1: it hung)"
    # The parent still works after the fork.
    assert chunkdelta.apply(old, patch) == new
