"""Shared test data: the golden vectors of core/tests/vectors and release-like generated pairs."""

from __future__ import annotations

import json
import random
import struct
from pathlib import Path

import pytest

VECTORS = Path(__file__).resolve().parents[2] / "core" / "tests" / "vectors"

WORDS = [b"fn ", b"let ", b"return ", b"self.", b"value", b" = ", b"(x)", b";\n", b"    ", b"if "]


def old_file(seed: int, size: int) -> bytes:
    """Deterministic data mixing code-like text, random bytes and structured integers."""
    rng = random.Random(seed)
    parts: list[bytes] = []
    total = 0
    while total < size:
        length = rng.randint(1, 8192)
        kind = rng.randrange(3)
        if kind == 0:
            part = b"".join(rng.choice(WORDS) for _ in range(length // 4 + 1))[:length]
        elif kind == 1:
            part = rng.randbytes(length)
        else:
            part = b"".join(struct.pack("<I", 8 * i) for i in range(length // 4 + 1))[:length]
        parts.append(part)
        total += len(part)
    return b"".join(parts)[:size]


def edited(old: bytes, seed: int, edits: int) -> bytes:
    """``old`` with inserts, deletes and overwrites at random places, like a new release."""
    rng = random.Random(seed)
    new = bytearray(old)
    for _ in range(edits):
        at = rng.randrange(len(new) + 1)
        kind = rng.randrange(3)
        if kind == 0:
            new[at:at] = rng.randbytes(rng.randint(1, 200))
        elif kind == 1:
            del new[at : at + rng.randint(1, 200)]
        else:
            new[at : at + 8] = rng.randbytes(8)
    return bytes(new)


def vectors() -> list[dict]:
    """The entries of core/tests/vectors/vectors.json."""
    return json.loads((VECTORS / "vectors.json").read_text())["vectors"]


def vector_bytes(vector: dict, which: str) -> bytes:
    """The old, new or patch bytes of a golden vector."""
    return (VECTORS / vector[which]).read_bytes()


class Pair:
    """An old/new pair with its patch, in memory and as files in a temporary folder."""

    def __init__(self, folder: Path, old: bytes, new: bytes, patch: bytes) -> None:
        self.folder, self.old, self.new, self.patch = folder, old, new, patch
        self.old_path = folder / "old.bin"
        self.new_path = folder / "new.bin"
        self.patch_path = folder / "app.patch"
        self.old_path.write_bytes(old)
        self.new_path.write_bytes(new)
        self.patch_path.write_bytes(patch)


@pytest.fixture(scope="session")
def small_pair_data() -> tuple[bytes, bytes, bytes]:
    """A 200 KB pair cut into 4 KiB chunks (about 50), and its patch."""
    import chunkdelta

    old = old_file(11, 200_000)
    new = edited(old, 12, 30)
    return old, new, chunkdelta.diff(old, new, level=3, chunk_size=4096)


@pytest.fixture
def pair(tmp_path: Path, small_pair_data: tuple[bytes, bytes, bytes]) -> Pair:
    """``small_pair_data`` written to files in a fresh folder."""
    return Pair(tmp_path, *small_pair_data)
