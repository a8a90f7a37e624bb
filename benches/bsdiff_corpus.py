"""bsdiff patches of the dev pairs, made by Debian's `bsdiff` and by PyPI's `bsdiff4`, applied
by every interface of chunkdelta, byte for byte.

    cargo build --release -p chunkdelta-cli -p chunkdelta-ffi
    scripts/test-python.sh          # builds the module into .venv (bsdiff4 comes with it)
    .venv/bin/python benches/bsdiff_corpus.py [PAIR_DIR...]

For each pair (default: every pair of the `dev` set of shared/corpus, `fetch.sh dev`) it makes
both patches, then applies each with the CLI (`chunkdelta apply`, the Rust library), the C
library (`chunkdelta_apply_file` through ctypes, from target/release), and the Python module
(`chunkdelta.file_patch` and `chunkdelta.apply_file`), and checks every output against the new
file. It prints one line per apply with its time, next to Debian `bspatch`'s, and exits 1 if
any output differs. Too slow for the test command (bsdiff takes minutes on the large pairs):
the tests use small fixtures made the same way (core/tests/bsdiff/README.md).
"""

import ctypes
import filecmp
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import bsdiff4
import chunkdelta

ROOT = Path(__file__).resolve().parent.parent
CORPUS = Path(os.environ.get("CORPUS_DIR", Path.home() / ".cache/chunkdelta-corpus")) / "dev"


def c_library():
    library = ctypes.CDLL(str(ROOT / "target/release/libchunkdelta_ffi.so"))
    library.chunkdelta_apply_file.argtypes = [ctypes.c_char_p] * 3 + [ctypes.c_void_p]
    library.chunkdelta_last_error.restype = ctypes.c_char_p
    return library


def appliers(library):
    """Each interface as (name, function(old, patch, out))."""
    cli = str(ROOT / "target/release/chunkdelta")

    def c_apply(old, patch, out):
        result = library.chunkdelta_apply_file(str(old).encode(), str(patch).encode(), str(out).encode(), None)
        if result != 0:
            raise RuntimeError(library.chunkdelta_last_error().decode())

    return [
        ("bspatch (Debian)", lambda old, patch, out: subprocess.run(["bspatch", old, out, patch], check=True)),
        ("chunkdelta CLI", lambda old, patch, out: subprocess.run([cli, "apply", "-q", old, patch, "-o", out], check=True)),
        ("C chunkdelta_apply_file", c_apply),
        ("Python file_patch", lambda old, patch, out: chunkdelta.file_patch(str(old), str(out), str(patch))),
        ("Python apply_file", lambda old, patch, out: chunkdelta.apply_file(old, patch, out)),
    ]


def check_pair(pair, work, library):
    old, new = pair / "old", pair / "new"
    patches = {"bsdiff (Debian)": work / "debian.bsdiff", "bsdiff4": work / "py.bsdiff"}
    subprocess.run(["bsdiff", old, new, patches["bsdiff (Debian)"]], check=True)
    bsdiff4.file_diff(str(old), str(new), str(patches["bsdiff4"]))
    failures = 0
    for maker, patch in patches.items():
        for name, apply in appliers(library):
            out = work / "out"
            out.unlink(missing_ok=True)
            started = time.perf_counter()
            apply(old, patch, out)
            seconds = time.perf_counter() - started
            same = filecmp.cmp(out, new, shallow=False)
            failures += not same
            print(f"{pair.name:14} {maker:16} {name:24} {seconds:7.2f} s  {'exact' if same else 'DIFFERS'}", flush=True)
    return failures


def main():
    pairs = [Path(p) for p in sys.argv[1:]] or sorted(p for p in CORPUS.iterdir() if (p / "new").is_file())
    library = c_library()
    failures = 0
    for pair in pairs:
        with tempfile.TemporaryDirectory() as work:
            failures += check_pair(pair, Path(work), library)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
