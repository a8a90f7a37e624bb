"""Progress callbacks, cancellation, a callback that raises, and Ctrl-C."""

from __future__ import annotations

import os
import random
import signal
import threading
import time
from pathlib import Path

import pytest

import chunkdelta
from conftest import Pair


def test_diff_file_progress_reaches_total(pair: Pair) -> None:
    calls: list[tuple[int, int]] = []
    chunkdelta.diff_file(
        pair.old_path, pair.new_path, pair.folder / "p", chunk_size=4096, progress=lambda d, t: calls.append((d, t))
    )
    total = len(pair.old) + len(pair.new)
    assert calls and all(t == total for _, t in calls)
    done = [d for d, _ in calls]
    assert done == sorted(done) and done[-1] == total


@pytest.mark.parametrize("function", ["apply_file", "verify_file"])
def test_apply_progress_reaches_total(function: str, pair: Pair) -> None:
    calls: list[tuple[int, int]] = []
    extra = [pair.folder / "out"] if function == "apply_file" else []
    getattr(chunkdelta, function)(pair.old_path, pair.patch_path, *extra, progress=lambda d, t: calls.append((d, t)))
    assert len(calls) == chunkdelta.info(pair.patch).chunk_count
    assert calls[-1] == (len(pair.new), len(pair.new))


def test_returning_false_cancels_and_other_values_continue(pair: Pair) -> None:
    seen: list[int] = []

    def stop_at_third(done: int, total: int) -> object:
        seen.append(done)
        return False if len(seen) == 3 else (0 if len(seen) == 1 else None)

    with pytest.raises(chunkdelta.CancelledError):
        chunkdelta.apply_file(pair.old_path, pair.patch_path, pair.folder / "out", threads=1, progress=stop_at_third)
    assert len(seen) == 3, "0 and None continue, False stops at once with one thread"
    assert not (pair.folder / "out").exists()


class Boom(Exception):
    pass


@pytest.mark.parametrize("function", ["diff_file", "apply_file", "verify_file"])
def test_raising_callback_cancels_and_reraises_that_exception(function: str, pair: Pair) -> None:
    raised = Boom("from the callback")
    calls = 0

    def callback(done: int, total: int) -> None:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise raised

    args = {
        "diff_file": (pair.old_path, pair.new_path, pair.folder / "made.patch"),
        "apply_file": (pair.old_path, pair.patch_path, pair.folder / "out"),
        "verify_file": (pair.old_path, pair.patch_path),
    }[function]
    with pytest.raises(Boom) as caught:
        getattr(chunkdelta, function)(*args, threads=1, progress=callback)
    assert caught.value is raised
    assert calls == 2
    assert sorted(os.listdir(pair.folder)) == ["app.patch", "new.bin", "old.bin"]


SLOW_SIZES = {"scan": (1 << 20, 64 << 20), "sort": (48 << 20, 1 << 10)}


def slow_pair(folder: Path, slow: str) -> tuple[Path, Path]:
    """A pair whose diff takes seconds on one thread, in the scan or in the suffix sort.

    For the scan, random new data matches nothing and the scan still searches at every byte
    (about 15 s for 64 MiB). For the sort, libsais sorts 48 MiB of random old data in one call
    that cannot be interrupted (about 4 s): with a callback it runs on a thread of its own."""
    rng = random.Random(5)
    old, new = folder / "slow.old", folder / "slow.new"
    old_size, new_size = SLOW_SIZES[slow]
    old.write_bytes(rng.randbytes(old_size))
    new.write_bytes(rng.randbytes(new_size))
    return old, new


def interrupt_after(seconds: float) -> threading.Timer:
    """Sends SIGINT to this process after ``seconds``, as Ctrl-C does.

    Python's KeyboardInterrupt handler is installed first: a process started in the background
    by a non-interactive shell (as CI may start the tests) inherits SIGINT ignored, and Python
    then installs no handler of its own."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    timer = threading.Timer(seconds, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    return timer


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(), reason="signals need main")
@pytest.mark.parametrize("with_callback", [True, False], ids=["callback", "no-callback"])
@pytest.mark.parametrize("slow", list(SLOW_SIZES))
def test_ctrl_c_interrupts_a_long_diff_promptly(with_callback: bool, slow: str, tmp_path: Path) -> None:
    old, new = slow_pair(tmp_path, slow)
    patch = tmp_path / "slow.patch"
    calls: list[int] = []
    progress = (lambda d, t: calls.append(d)) if with_callback else None
    started = time.monotonic()
    timer = interrupt_after(0.5)
    try:
        with pytest.raises(KeyboardInterrupt):
            chunkdelta.diff_file(old, new, patch, threads=1, chunk_size=1 << 16, progress=progress)
    finally:
        timer.cancel()
    elapsed = time.monotonic() - started
    assert elapsed < 0.5 + 1.5, f"took {elapsed:.1f} s to honour Ctrl-C"
    assert not patch.exists(), "the diff stopped before writing its patch"
    if with_callback:
        assert calls and calls[-1] < sum(SLOW_SIZES[slow])
    if with_callback and slow == "sort":
        old_size = SLOW_SIZES[slow][0]
        assert any(0 < done < old_size for done in calls), "the count moves while old is sorted"
    assert sorted(os.listdir(tmp_path)) == ["slow.new", "slow.old"]
