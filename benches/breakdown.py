#!/usr/bin/env python3
"""Where a chunkdelta patch's bytes and seconds go, per dev pair.

    python3 benches/breakdown.py [--binary B] [--pairs ruff,...] [--codec xz] [--markdown F]

For each pair it diffs with the given binary (default: target/release/chunkdelta) and sums,
from `info --json`, the packed bytes of each stream kind and codec, the chunks whose extra
stream uses a dictionary of old, and the chunks whose diff went as one literal item. Seconds
are split in two by a second diff at `--level 1 --codec zstd`, whose time is the index, the
hashes and the scan with almost no compression: the difference to the real diff is
compression. A binary of format version 1 or 2 (an older build) gives its three streams.
Wall times on a shared machine are noisy: compare the split, not the seconds, across runs.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import install  # noqa: E402

PAIRS = ["pydantic-core", "ruff", "ruff-jump", "cmake-tar", "synth"]


def timed_diff(binary, pair_dir, patch, extra_args):
    argv = [binary, "diff", "-q", "--threads", "2", *extra_args]
    start = time.monotonic()
    subprocess.run([*argv, os.path.join(pair_dir, "old"), os.path.join(pair_dir, "new"), "-o", patch], check=True)
    return time.monotonic() - start


def stream_bytes(binary, patch):
    """(kind -> packed bytes, codec -> packed bytes, chunks, dictionary chunks, one-literal chunks)."""
    info = json.loads(subprocess.run([binary, "info", "--json", patch], check=True, capture_output=True).stdout)
    kinds, codecs = defaultdict(int), defaultdict(int)
    dictionaries = literal_diffs = 0
    for chunk in info["chunks"]:
        if "streams" not in chunk:  # format versions 1 and 2
            for kind in ("control", "diff", "extra"):
                kinds[kind] += chunk[f"{kind}_len"]
            continue
        dictionaries += chunk["dictionary"] is not None
        streams = {s["kind"]: s for s in chunk["streams"]}
        ctrl = streams["diff-ctrl"]
        literal_diffs += 0 < ctrl["raw_len"] <= 10 and streams["diff-code"]["raw_len"] > 64
        for s in chunk["streams"]:
            kinds[s["kind"]] += s["packed_len"]
            codecs[s["codec"]] += s["packed_len"]
    return info["patch_size"], kinds, codecs, len(info["chunks"]), dictionaries, literal_diffs


def measure(binary, pair, codec, work):
    pair_dir = os.path.join(install.CORPUS, pair)
    patch = os.path.join(work, f"{pair}.patch")
    total = timed_diff(binary, pair_dir, patch, ["--codec", codec] if codec else [])
    size, kinds, codecs, chunks, dictionaries, literal_diffs = stream_bytes(binary, patch)
    quick = timed_diff(binary, pair_dir, os.path.join(work, "quick.patch"), ["--level", "1"] + (["--codec", "zstd"] if codec else []))
    return {
        "pair": pair,
        "patch": size,
        "kinds": dict(kinds),
        "codecs": dict(codecs),
        "chunks": chunks,
        "dictionaries": dictionaries,
        "literal_diffs": literal_diffs,
        "diff_s": total,
        "index_scan_s": quick,
    }


def markdown(rows):
    lines = [
        "| pair | patch | control | diff (ctrl + code) | extra | codecs (bytes) | chunks: dictionary / one-literal diff | diff s | index+hash+scan s | compress s |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        k = r["kinds"]
        diff = k.get("diff", 0) + k.get("diff-ctrl", 0) + k.get("diff-code", 0)
        codecs = ", ".join(f"{c} {n:,}" for c, n in sorted(r["codecs"].items())) or "one codec"
        lines.append(
            f"| {r['pair']} | {r['patch']:,} | {k.get('control', 0):,} | {diff:,} | {k.get('extra', 0):,} | {codecs} | "
            f"{r['dictionaries']} / {r['literal_diffs']} of {r['chunks']} | {r['diff_s']:.2f} | {r['index_scan_s']:.2f} | "
            f"{max(0.0, r['diff_s'] - r['index_scan_s']):.2f} |"
        )
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", default=os.path.join(install.ROOT, "target", "release", "chunkdelta"))
    ap.add_argument("--pairs", default=",".join(PAIRS))
    ap.add_argument("--codec", default=None, help="passed to diff (default: the binary's default)")
    ap.add_argument("--markdown", default=None, help="also write the table here")
    args = ap.parse_args()
    install.pairs(args.pairs.split(","))
    with tempfile.TemporaryDirectory() as work:
        rows = [measure(args.binary, pair, args.codec, work) for pair in args.pairs.split(",")]
    table = markdown(rows)
    print(table)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(table + "\n")


if __name__ == "__main__":
    main()
