"""chunkdelta against bsdiff4 and hdiffpatch, from Python, on the corpus pairs, in one run.

    pip install ./python bsdiff4==1.3.2 hdiffpatch==2.6.0
    ../shared/corpus/fetch.sh dev          # builds ~/.cache/chunkdelta-corpus/dev/PAIR/{old,new}
    python python/bench_peers.py --pairs pydantic-core ruff --repeat 3

Each measurement runs in a forked child, so that its peak RSS (from wait4) is its own: the
figure includes the interpreter the child inherits, reported as the baseline of a child that
does nothing. Times are wall-clock medians, with the ratio to bsdiff4 measured in the same run.
Every tool works file to file: chunkdelta and bsdiff4 take paths; hdiffpatch takes bytes, so
its times include reading the inputs and writing its output. hdiffpatch compresses with zstd
level 19, chunkdelta's default level, and skips its built-in check (``validate=False``).
"""

from __future__ import annotations

import argparse
import dataclasses
import filecmp
import importlib.metadata
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

import bsdiff4
import hdiffpatch

import chunkdelta

DEFAULT_CORPUS = Path.home() / ".cache" / "chunkdelta-corpus" / "dev"
PAIRS = ["pydantic-core", "ruff", "cmake-tar", "synth"]


def hdiffpatch_diff(old: str, new: str, patch: str) -> None:
    config = hdiffpatch.ZStdConfig(level=19)
    data = hdiffpatch.diff(Path(old).read_bytes(), Path(new).read_bytes(), config, validate=False)
    Path(patch).write_bytes(data)


def hdiffpatch_apply(old: str, out: str, patch: str) -> None:
    Path(out).write_bytes(hdiffpatch.apply(Path(old).read_bytes(), Path(patch).read_bytes()))


# name -> (diff(old, new, patch), apply(old, out, patch)), all in bsdiff4's argument order.
TOOLS: dict[str, tuple[Callable[[str, str, str], None], Callable[[str, str, str], None]]] = {
    "chunkdelta": (chunkdelta.file_diff, chunkdelta.file_patch),
    "bsdiff4": (bsdiff4.file_diff, bsdiff4.file_patch),
    "hdiffpatch": (hdiffpatch_diff, hdiffpatch_apply),
}


def in_child(work: Callable[[], None]) -> tuple[float, float]:
    """Runs ``work`` in a forked child; returns its wall seconds and peak RSS in MiB."""
    started = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            work()
            code = 0
        finally:
            os._exit(code)
    _, status, usage = os.wait4(pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{work} failed in its child")
    return seconds, usage.ru_maxrss / 1024


@dataclasses.dataclass
class Row:
    """One tool on one pair: medians of the runs, the largest peak RSS, and exactness."""

    pair: str
    tool: str
    new_size: int
    patch: int
    diff_s: float
    diff_rss_mib: float
    apply_s: float
    apply_rss_mib: float
    exact: bool


def measure(pair: str, tool: str, old: Path, new: Path, folder: Path, repeat: int) -> Row:
    """Diffs and applies ``repeat`` times each, in fresh children."""
    diff, apply = TOOLS[tool]
    patch, out = folder / f"{tool}.patch", folder / f"{tool}.out"
    diffs = [in_child(lambda: diff(str(old), str(new), str(patch))) for _ in range(repeat)]
    applies = [in_child(lambda: apply(str(old), str(out), str(patch))) for _ in range(repeat)]
    row = Row(
        pair=pair,
        tool=tool,
        new_size=new.stat().st_size,
        patch=patch.stat().st_size,
        diff_s=statistics.median(s for s, _ in diffs),
        diff_rss_mib=max(m for _, m in diffs),
        apply_s=statistics.median(s for s, _ in applies),
        apply_rss_mib=max(m for _, m in applies),
        exact=filecmp.cmp(out, new, shallow=False),
    )
    patch.unlink()
    out.unlink()
    return row


def table(rows: list[Row]) -> str:
    """A Markdown table, with ratios to bsdiff4 on the same pair."""
    lines = [
        "| pair | tool | patch | patch/new | diff s (x bsdiff4) | diff RSS MiB | apply s (x bsdiff4) "
        "| apply RSS MiB | exact |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    base = {r.pair: r for r in rows if r.tool == "bsdiff4"}
    for r in rows:
        b = base[r.pair]
        lines.append(
            f"| {r.pair} | {r.tool} | {r.patch:,} | {100 * r.patch / r.new_size:.2f}% "
            f"| {r.diff_s:.2f} ({r.diff_s / b.diff_s:.2f}x) | {r.diff_rss_mib:.0f} "
            f"| {r.apply_s:.3f} ({r.apply_s / b.apply_s:.2f}x) | {r.apply_rss_mib:.0f} "
            f"| {'yes' if r.exact else 'NO'} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="folder of PAIR/{old,new}")
    parser.add_argument("--pairs", nargs="+", default=PAIRS, help="pairs to run, in order")
    parser.add_argument("--tools", nargs="+", default=list(TOOLS), choices=list(TOOLS))
    parser.add_argument("--repeat", type=int, default=1, help="runs per measurement (median)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    if "bsdiff4" not in args.tools:
        parser.error("bsdiff4 is the baseline of the ratios: keep it in --tools")

    baseline = in_child(lambda: None)[1]
    versions = ", ".join(f"{name} {importlib.metadata.version(name)}" for name in TOOLS)
    print(f"{versions}; Python {sys.version.split()[0]}; {os.cpu_count()} cores; "
          f"an idle child's RSS is {baseline:.0f} MiB", flush=True)
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as scratch:
        for pair in args.pairs:
            old, new = args.corpus / pair / "old", args.corpus / pair / "new"
            for tool in args.tools:
                rows.append(measure(pair, tool, old, new, Path(scratch), args.repeat))
                print(json.dumps(dataclasses.asdict(rows[-1])), flush=True)
    print(table(rows))
    if args.json:
        document = {"idle_child_rss_mib": baseline, "rows": [dataclasses.asdict(r) for r in rows]}
        args.json.write_text(json.dumps(document, indent=2) + "\n")
    return 0 if all(r.exact for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
