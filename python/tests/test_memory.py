"""The ``memory`` budget of diff: a sampled index under a small budget, and its bounds."""

from __future__ import annotations

import pytest

import chunkdelta
from conftest import Pair, edited, old_file

MIB = 1 << 20


@pytest.fixture(scope="module")
def large_pair() -> tuple[bytes, bytes]:
    """8 MiB: its full index (32 MiB) does not fit the 16 MiB minimum budget."""
    old = old_file(11, 8 * MIB)
    return old, edited(old, 12, 50)


def test_small_budget_round_trips(large_pair: tuple[bytes, bytes]) -> None:
    old, new = large_pair
    patch = chunkdelta.diff(old, new, level=3, memory=16 * MIB)
    assert chunkdelta.apply(old, patch) == new
    assert len(patch) < len(new) // 20


def test_file_diff_takes_a_budget(pair: Pair) -> None:
    info = chunkdelta.diff_file(pair.old_path, pair.new_path, pair.patch_path, level=3, memory=16 * MIB)
    assert info.patch_size == pair.patch_path.stat().st_size
    chunkdelta.verify_file(pair.old_path, pair.patch_path)


def test_ample_budget_makes_the_default_patch(large_pair: tuple[bytes, bytes]) -> None:
    old, new = large_pair
    default = chunkdelta.diff(old, new, level=3)
    assert chunkdelta.diff(old, new, level=3, memory=1 << 40) == default


@pytest.mark.parametrize("memory", [0, 16 * MIB - 1, -1])
def test_budgets_below_the_minimum_are_value_errors(memory: int) -> None:
    with pytest.raises(ValueError, match="memory"):
        chunkdelta.diff(b"old", b"new", memory=memory)
