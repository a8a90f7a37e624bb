"""Writes the artifacts of successive releases of a small product, for plan.toml beside it
and for the farm's tests.

    python examples/farm/generate.py [DIR]    # default: examples/farm; then:
    python -m chunkdelta.farm examples/farm/plan.toml -o /tmp/farm-out

Two platforms per version: ``linux-x86_64`` is one executable-like file (a file patch),
``windows-x86_64`` a directory (a tree patch): an executable, a library, a text file,
plugins that come and go, and a file that is renamed. Each version is the previous one
edited like a real rebuild: code blocks inserted and removed, relocated addresses changed
at a stride, a new block of data appended, text lines edited. Deterministic: the same
versions give the same bytes. Writes ``DIR/artifacts/VERSION/...`` and the signing key pair
``DIR/keys/release.key`` and ``.pub`` (kept if present).
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

VERSIONS = ("1.0.0", "1.1.0", "1.2.0", "1.3.0", "1.4.0", "1.5.0")


def _code(rng: random.Random, size: int) -> bytes:
    """Bytes that compress and repeat like machine code: instruction-like words from a small
    vocabulary, with random operands."""
    vocabulary = [rng.randbytes(4) for _ in range(64)]
    words = (vocabulary[rng.randrange(64)][:2] + rng.randbytes(2) for _ in range(size // 4))
    return b"".join(words)


def _rebuild(rng: random.Random, data: bytes) -> bytes:
    """The next version of ``data``: a few blocks removed and inserted, addresses shifted in
    one region, a little appended."""
    out = bytearray(data)
    for _ in range(3):
        start = rng.randrange(len(out) - 4096)
        del out[start : start + rng.randrange(256, 4096)]
    for _ in range(4):
        at = rng.randrange(len(out))
        out[at:at] = _code(rng, rng.randrange(512, 8192))
    region = rng.randrange(len(out) - 16384)
    for at in range(region, region + 16384, 64):
        out[at : at + 4] = (int.from_bytes(out[at : at + 4], "little") + 0x1000 & 0xFFFFFFFF).to_bytes(4, "little")
    return bytes(out + _code(rng, 2048))


def _text(version: str, lines: int) -> str:
    """A readme-like text of the version."""
    return "".join(f"line {i}: chunkdelta demo {version if i % 7 == 0 else 'release'}\n" for i in range(lines))


def generate(root: Path, versions: tuple[str, ...] = VERSIONS, size: int = 192 << 10) -> None:
    """Writes ``root/artifacts/VERSION/linux/app`` and ``.../windows/app/`` for each version,
    the first of about ``size`` bytes, each later one rebuilt from the one before."""
    rng = random.Random(19)
    app, exe, dll = _code(rng, size), _code(rng, size * 3 // 4), _code(rng, size // 2)
    for index, version in enumerate(versions):
        base = root / "artifacts" / version
        _write(base / "linux" / "app", app)
        tree = base / "windows" / "app"
        _write(tree / "bin" / "app.exe", exe)
        _write(tree / ("lib/core.dll" if index < 3 else "lib/core-2.dll"), dll)
        _write(tree / "share" / "readme.txt", _text(version, 400 + 20 * index).encode())
        for plugin in range(max(0, index - 2), index + 1):
            _write(tree / "plugins" / f"plugin-{plugin}.dat", _code(random.Random(plugin), 8192))
        app, exe, dll = _rebuild(rng, app), _rebuild(rng, exe), _rebuild(rng, dll)


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def keys(root: Path) -> Path:
    """The signing key ``root/keys/release.key``, made (with its .pub) if absent."""
    import chunkdelta

    key = root / "keys" / "release.key"
    if not key.exists():
        key.parent.mkdir(parents=True, exist_ok=True)
        chunkdelta.keygen(root / "keys" / "release")
    return key


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent
    generate(target)
    keys(target)
    print(f"wrote {target / 'artifacts'} ({', '.join(VERSIONS)}) and {target / 'keys'}")
