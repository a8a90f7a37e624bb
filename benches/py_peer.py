"""Diffs or applies one pair with a Python peer, as its own process, for benches/compare.py.

    py_peer.py hdiffpatch-lzma2 diff OLD NEW PATCH THREADS
    py_peer.py hdiffpatch-zstd diff OLD NEW PATCH THREADS
    py_peer.py hdiffpatch apply OLD PATCH OUT
    py_peer.py bsdiff4 diff OLD NEW PATCH
    py_peer.py bsdiff4 apply OLD PATCH OUT
    py_peer.py hdiffpatch|bsdiff4 startup        imports the module and exits

Runs in the venv that compare.py installs (benches/.venv). Its time and peak memory include the
interpreter's start-up and the import, which `startup` measures on its own.
"""

import math
import os
import sys
from pathlib import Path


def window_log(path, low, high):
    """log2 of a compressor window that covers the whole file, within the codec's [low, high]."""
    return min(high, max(low, math.ceil(math.log2(max(2, os.path.getsize(path))))))


def hdiffpatch_config(codec, new, threads):
    """HDiffPatch's strongest setting per codec: top level, a window covering NEW."""
    import hdiffpatch

    if codec == "lzma2":
        return hdiffpatch.Lzma2Config(level=9, window=window_log(new, 12, 30), threads=threads)
    return hdiffpatch.ZStdConfig(level=22, window=window_log(new, 10, 27), threads=threads)


def hdiffpatch_diff(codec, old, new, patch, threads):
    """In-memory diff (the binding takes bytes); no built-in round-trip check."""
    import hdiffpatch

    config = hdiffpatch_config(codec, new, int(threads))
    data = hdiffpatch.diff(
        Path(old).read_bytes(), Path(new).read_bytes(), config, validate=False, big_cache_match=True
    )
    Path(patch).write_bytes(data)


def hdiffpatch_apply(old, patch, out):
    import hdiffpatch

    Path(out).write_bytes(hdiffpatch.apply(Path(old).read_bytes(), Path(patch).read_bytes()))


def bsdiff4_diff(old, new, patch):
    import bsdiff4

    bsdiff4.file_diff(old, new, patch)


def bsdiff4_apply(old, patch, out):
    import bsdiff4

    bsdiff4.file_patch(old, out, patch)


def startup(module):
    __import__(module)


def main(argv):
    match argv:
        case ["hdiffpatch-lzma2" | "hdiffpatch-zstd" as tool, "diff", old, new, patch, threads]:
            hdiffpatch_diff(tool.split("-")[1], old, new, patch, threads)
        case ["hdiffpatch", "apply", old, patch, out]:
            hdiffpatch_apply(old, patch, out)
        case ["bsdiff4", "diff", old, new, patch]:
            bsdiff4_diff(old, new, patch)
        case ["bsdiff4", "apply", old, patch, out]:
            bsdiff4_apply(old, patch, out)
        case ["hdiffpatch" | "bsdiff4" as module, "startup"]:
            startup(module)
        case _:
            sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
