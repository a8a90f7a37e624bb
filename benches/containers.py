#!/usr/bin/env python3
"""Container-aware patches (issue 17) against peers on the raw containers and against
chunkdelta on the uncompressed content, and apply time and memory against unzip.

    benches/.venv/bin/python benches/containers.py [--peers bsdiff,hdiffpatch,zstd,xdelta3]
        [--pairs cmake,ruff,pydantic-core,setuptools-sdist] [--out benches/containers.md]

Pairs: the dev wheels in ~/.cache/chunkdelta-corpus/_wheels/ (cmake 4.4.3->4.4.4, stock
zlib; ruff 0.17.5->0.17.6 and pydantic_core 2.50.3->2.50.4, maturin) and a setuptools
75.1.0->75.2.0 sdist pair (`pip download --no-binary :all: --no-deps setuptools==75.1.0`,
likewise 75.2.0) in $CONTAINER_SDISTS (default /tmp/cdct-corpus). Needs a release build of
the CLI (`cargo build -p chunkdelta-cli --release`), apt's bsdiff, xdelta3, zstd and unzip,
and hdiffpatch in benches/.venv (benches/install.py).

The limit is chunkdelta (containers off) on the uncompressed content: every member's bytes
concatenated in archive order (zip), or the decompressed tar (gzip). Times are wall-clock on
whatever machine runs it; peak memory is /usr/bin/time's maximum resident set.
"""

import argparse
import gzip
import os
import subprocess
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLI = ROOT / "target" / "release" / "chunkdelta"
PY_PEER = ROOT / "benches" / "py_peer.py"
WHEELS = Path.home() / ".cache" / "chunkdelta-corpus" / "_wheels"
SDISTS = Path(os.environ.get("CONTAINER_SDISTS", "/tmp/cdct-corpus"))

PAIRS = {
    "cmake": (WHEELS / "cmake-4.4.3-py3-none-manylinux2014_x86_64.manylinux_2_17_x86_64.whl",
              WHEELS / "cmake-4.4.4-py3-none-manylinux2014_x86_64.manylinux_2_17_x86_64.whl"),
    "ruff": (WHEELS / "ruff-0.17.5-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
             WHEELS / "ruff-0.17.6-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"),
    "pydantic-core": (WHEELS / "pydantic_core-2.50.3-cp311-cp311-manylinux2014_x86_64.manylinux_2_17_x86_64.whl",
                      WHEELS / "pydantic_core-2.50.4-cp311-cp311-manylinux2014_x86_64.manylinux_2_17_x86_64.whl"),
    "setuptools-sdist": (SDISTS / "setuptools-75.1.0.tar.gz", SDISTS / "setuptools-75.2.0.tar.gz"),
}


def timed(command):
    """Runs `command`; returns (seconds, peak RSS in KiB)."""
    started = time.perf_counter()
    done = subprocess.run(["/usr/bin/time", "-f", "%M", *map(str, command)], capture_output=True, text=True)
    took = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{command}: {done.stderr[-2000:]}")
    return took, int(done.stderr.strip().splitlines()[-1])


def uncompressed(container, out):
    """The container's content, uncompressed, written to `out`."""
    if zipfile.is_zipfile(container):
        with zipfile.ZipFile(container) as archive, open(out, "wb") as sink:
            for info in sorted(archive.infolist(), key=lambda i: i.header_offset):
                sink.write(archive.read(info))
    else:
        out.write_bytes(gzip.decompress(container.read_bytes()))


def peer_diff(peer, old, new, patch):
    commands = {
        "bsdiff": ["bsdiff", old, new, patch],
        "hdiffpatch": [os.environ.get("BENCH_PYTHON", ROOT / "benches" / ".venv" / "bin" / "python"), PY_PEER, "hdiffpatch-lzma2", "diff", old, new, patch, "2"],
        "zstd": ["zstd", "-q", "-f", "-19", "--long=30", f"--patch-from={old}", new, "-o", patch],
        # -D: no external decompression (xdelta3 would otherwise gunzip a .tar.gz itself).
        "xdelta3": ["xdelta3", "-e", "-f", "-9", "-D", "-S", "lzma", "-B", str(max(os.path.getsize(old), 1 << 20)), "-s", old, new, patch],
    }
    timed(commands[peer])
    return os.path.getsize(patch)


def measure(name, old, new, peers, work):
    row = {"pair": name, "new": os.path.getsize(new)}
    patch = work / f"{name}.cdlt"
    row["diff_s"], _ = timed([CLI, "diff", "-q", old, new, "-o", patch])
    row["container"] = os.path.getsize(patch)
    info = subprocess.run([CLI, "info", patch], capture_output=True, text=True, check=True).stdout
    rebuilt = next((l for l in info.splitlines() if l.startswith("rebuilt")), None)
    # "rebuilt  N new members (Z by zlib, T by tokens), ..." -> "N (T tokens)"
    row["rebuilt"] = f"{rebuilt.split()[1]} ({rebuilt.split()[7]} tokens)" if rebuilt else "0 (plain patch)"
    out = work / f"{name}.out"
    row["apply_s"], row["apply_kib"] = timed([CLI, "apply", "-q", old, patch, "-o", out])
    row["exact"] = out.read_bytes() == new.read_bytes()
    target = work / f"{name}.unpacked"
    target.mkdir()
    unpack = ["unzip", "-qq", "-o", new, "-d", target] if zipfile.is_zipfile(new) else ["tar", "-xzf", new, "-C", target]
    row["unpack_s"], _ = timed(unpack)
    old_raw, new_raw = work / f"{name}.old.raw", work / f"{name}.new.raw"
    uncompressed(old, old_raw)
    uncompressed(new, new_raw)
    limit = work / f"{name}.limit.cdlt"
    timed([CLI, "diff", "-q", "--containers", "off", old_raw, new_raw, "-o", limit])
    row["limit"] = os.path.getsize(limit)
    row["peers"] = {peer: peer_diff(peer, old, new, work / f"{name}.{peer}") for peer in peers}
    return row


def table(rows):
    peers = sorted({p for r in rows for p in r["peers"]})
    head = ["pair", "new", "chunkdelta container", "members rebuilt", "limit (uncompressed)", "container / limit",
            *peers, "best peer / container", "apply s", "unzip s", "apply / unzip", "apply peak MiB", "byte-exact"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        best = min(r["peers"].values()) if r["peers"] else None
        cells = [r["pair"], f"{r['new']:,}", f"{r['container']:,}", r["rebuilt"], f"{r['limit']:,}",
                 f"{r['container'] / r['limit']:.2f}x", *[f"{r['peers'].get(p, 0):,}" for p in peers],
                 f"{best / r['container']:.1f}x" if best else "-", f"{r['apply_s']:.2f}", f"{r['unpack_s']:.2f}",
                 f"{r['apply_s'] / r['unpack_s']:.1f}x", f"{r['apply_kib'] / 1024:.0f}", "yes" if r["exact"] else "NO"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peers", default="bsdiff,hdiffpatch,zstd,xdelta3")
    parser.add_argument("--pairs", default=",".join(PAIRS))
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    peers = [p for p in args.peers.split(",") if p]
    with tempfile.TemporaryDirectory(prefix="containers-bench-") as work:
        rows = []
        for name in args.pairs.split(","):
            old, new = PAIRS[name]
            rows.append(measure(name, old, new, peers, Path(work)))
            print(table(rows[-1:]), flush=True)
    text = table(rows)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
