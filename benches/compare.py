#!/usr/bin/env python3
"""Measures chunkdelta against bsdiff and `zstd --patch-from` on the same pairs, in one run.

    python3 benches/compare.py [--pairs ruff,pydantic-core] [--repeat 3] [--json out.json]

Pairs come from ../shared/corpus/fetch.sh (run `fetch.sh dev` first, or let this script run
it). Peers install from apt when missing. For each pair and tool it reports patch size, diff and
apply wall time (median of --repeat runs) and peak RSS, and checks the applied output byte for
byte. Times are also given as ratios to bsdiff measured in the same run.
"""
import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.environ.get("CORPUS_DIR", os.path.expanduser("~/.cache/chunkdelta-corpus"))
FETCH = os.path.join(ROOT, "..", "shared", "corpus", "fetch.sh")


def run(cmd):
    """Runs cmd; returns (wall seconds, peak RSS in MiB) of that process alone."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    err = proc.stderr.read().decode(errors="replace")
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {err}")
    return wall, usage.ru_maxrss / 1024


def long_window(*paths):
    return max(27, math.ceil(math.log2(max(1, sum(os.path.getsize(p) for p in paths)))) + 1)


def tools(chunkdelta):
    def zstd(level):
        def diff(old, new, patch):
            w = long_window(old, new)
            return ["zstd", "-q", "-f", f"-{level}", "--ultra", f"--long={w}", f"--patch-from={old}", new, "-o", patch]

        def apply(old, patch, out):
            return ["zstd", "-q", "-f", "-d", f"--long={long_window(old, old)}", f"--patch-from={old}", patch, "-o", out]

        return diff, apply

    return {
        "chunkdelta": (
            lambda o, n, p: [chunkdelta, "diff", "-q", o, n, "-o", p],
            lambda o, p, out: [chunkdelta, "apply", "-q", o, p, "-o", out],
        ),
        "bsdiff": (lambda o, n, p: ["bsdiff", o, n, p], lambda o, p, out: ["bspatch", o, out, p]),
        "zstd-19": zstd(19),
    }


def ensure_peers():
    missing = [pkg for cmd, pkg in [("bsdiff", "bsdiff"), ("zstd", "zstd")] if not shutil.which(cmd)]
    if missing:
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", *missing], check=True)


def measure(name, diff_cmd, apply_cmd, old, new, work, repeat):
    patch, out = os.path.join(work, f"{name}.patch"), os.path.join(work, f"{name}.out")
    diffs = [run(diff_cmd(old, new, patch)) for _ in range(repeat)]
    applies = []
    for _ in range(repeat):
        if os.path.exists(out):
            os.remove(out)
        applies.append(run(apply_cmd(old, patch, out)))
    with open(out, "rb") as a, open(new, "rb") as b:
        exact = a.read() == b.read()
    return {
        "patch_bytes": os.path.getsize(patch),
        "diff_s": statistics.median(d[0] for d in diffs),
        "diff_rss_mib": max(d[1] for d in diffs),
        "apply_s": statistics.median(a[0] for a in applies),
        "apply_rss_mib": max(a[1] for a in applies),
        "exact": exact,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pairs", default="pydantic-core,ruff,cmake-tar,synth")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()

    ensure_peers()
    if not os.path.isdir(os.path.join(CORPUS, "dev")):
        subprocess.run([FETCH, "dev"], check=True)
    subprocess.run(["cargo", "build", "--release", "--quiet", "-p", "chunkdelta-cli"], cwd=ROOT, check=True)
    chunkdelta = os.path.join(ROOT, "target", "release", "chunkdelta")

    results = []
    with tempfile.TemporaryDirectory() as work:
        for pair in args.pairs.split(","):
            old, new = (os.path.join(CORPUS, "dev", pair, f) for f in ("old", "new"))
            new_size = os.path.getsize(new)
            for name, (diff_cmd, apply_cmd) in tools(chunkdelta).items():
                r = measure(name, diff_cmd, apply_cmd, old, new, work, args.repeat)
                r.update(pair=pair, tool=name, new_bytes=new_size)
                results.append(r)
                print(f"[compare] {pair} {name}: {r['patch_bytes']} bytes", file=sys.stderr)

    print("| pair | tool | patch | patch/new | diff s (x bsdiff) | diff RSS MiB | apply s (x bsdiff) | apply RSS MiB | exact |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in results:
        base = next(b for b in results if b["pair"] == r["pair"] and b["tool"] == "bsdiff")
        print(
            f"| {r['pair']} | {r['tool']} | {r['patch_bytes']:,} | {100 * r['patch_bytes'] / r['new_bytes']:.2f}% "
            f"| {r['diff_s']:.2f} ({r['diff_s'] / base['diff_s']:.2f}x) | {r['diff_rss_mib']:.0f} "
            f"| {r['apply_s']:.3f} ({r['apply_s'] / base['apply_s']:.2f}x) | {r['apply_rss_mib']:.0f} "
            f"| {'yes' if r['exact'] else 'NO'} |"
        )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
    if not all(r["exact"] for r in results):
        sys.exit("some round trip was not byte-exact")


if __name__ == "__main__":
    main()
