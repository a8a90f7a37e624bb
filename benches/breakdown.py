#!/usr/bin/env python3
"""Where a chunkdelta patch's bytes and seconds go, per dev or exe pair.

    python3 benches/breakdown.py [--binary B] [--pairs ruff,ruff-win,...] [--codec xz]
                                 [--exec on,off] [--markdown F]

For each pair it diffs with the given binary (default: target/release/chunkdelta) and sums,
from `info --json`, the packed bytes of each stream kind and codec, the chunks whose extra
stream uses a dictionary of old, and the chunks whose diff went as one literal item. Seconds
are split in two by a second diff at `--level 1 --codec zstd`, whose time is the index, the
hashes and the scan with almost no compression: the difference to the real diff is
compression. A binary of format version 1 or 2 (an older build) gives its three streams.
Wall times on a shared machine are noisy: compare the split, not the seconds, across runs.

--exec on,off diffs each pair once per value of `diff --exec` and adds, per row, the corrections
streams (pointer fields coded as corrections to their predictions), the exec block (the address
map of a version-4 patch) and the rest of the patch (header, chunk table, hashes).
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


def patch_info(binary, patch):
    return json.loads(subprocess.run([binary, "info", "--json", patch], check=True, capture_output=True).stdout)


def stream_bytes(info):
    """(kind -> packed bytes, codec -> packed bytes, chunks, dictionary chunks, one-literal chunks)."""
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


def measure(binary, pair, codec, exec_switch, work):
    """One row; exec_switch is "on", "off" or None (the binary's default, no --exec)."""
    pair_dir = install.pair_dir(pair)
    patch = os.path.join(work, f"{pair}.patch")
    exec_args = ["--exec", exec_switch] if exec_switch else []
    total = timed_diff(binary, pair_dir, patch, (["--codec", codec] if codec else []) + exec_args)
    info = patch_info(binary, patch)
    size, kinds, codecs, chunks, dictionaries, literal_diffs = stream_bytes(info)
    quick_args = ["--level", "1"] + (["--codec", "zstd"] if codec else []) + exec_args
    quick = timed_diff(binary, pair_dir, os.path.join(work, "quick.patch"), quick_args)
    exec_block = (info.get("exec") or {}).get("block_len", 0)
    return {
        "pair": pair,
        "exec": exec_switch,
        "format_version": info.get("format_version"),
        "exec_block": exec_block,
        "rest": size - exec_block - sum(kinds.values()),
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
    """The table; with the exec columns when any row was diffed with an --exec value."""
    with_exec = any(r["exec"] for r in rows)
    exec_head = "| exec | format |" if with_exec else "|"
    exec_cols = " corrections | exec block | rest |" if with_exec else ""
    lines = [
        f"| pair {exec_head} patch | control | diff (ctrl + code) | extra |{exec_cols} codecs (bytes) | "
        "chunks: dictionary / one-literal diff | diff s | index+hash+scan s | compress s |",
        "|---|" + "---|" * (9 + (5 if with_exec else 0)),
    ]
    for r in rows:
        k = r["kinds"]
        diff = k.get("diff", 0) + k.get("diff-ctrl", 0) + k.get("diff-code", 0)
        codecs = ", ".join(f"{c} {n:,}" for c, n in sorted(r["codecs"].items())) or "one codec"
        exec_cells = f" {r['exec']} | v{r['format_version']} |" if with_exec else ""
        exec_bytes = f" {k.get('corrections', 0):,} | {r['exec_block']:,} | {r['rest']:,} |" if with_exec else ""
        lines.append(
            f"| {r['pair']} |{exec_cells} {r['patch']:,} | {k.get('control', 0):,} | {diff:,} | "
            f"{k.get('extra', 0):,} |{exec_bytes} {codecs} | "
            f"{r['dictionaries']} / {r['literal_diffs']} of {r['chunks']} | {r['diff_s']:.2f} | "
            f"{r['index_scan_s']:.2f} | {max(0.0, r['diff_s'] - r['index_scan_s']):.2f} |"
        )
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", default=os.path.join(install.ROOT, "target", "release", "chunkdelta"))
    ap.add_argument("--pairs", default=",".join(PAIRS))
    ap.add_argument("--codec", default=None, help="passed to diff (default: the binary's default)")
    ap.add_argument(
        "--exec",
        default=None,
        help="comma-separated values of diff --exec to diff each pair with, e.g. on,off (default: none given)",
    )
    ap.add_argument("--markdown", default=None, help="also write the table here")
    args = ap.parse_args()
    pairs = args.pairs.split(",")
    switches = args.exec.split(",") if args.exec else [None]
    install.pairs(pairs)
    with tempfile.TemporaryDirectory() as work:
        rows = [measure(args.binary, pair, args.codec, switch, work) for pair in pairs for switch in switches]
    table = markdown(rows)
    print(table)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(table + "\n")


if __name__ == "__main__":
    main()
