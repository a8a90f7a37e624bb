#!/usr/bin/env python3
"""Measures chunkdelta against its peers on the same release pairs, in one run.

    python3 benches/compare.py [--pairs pydantic-core,ruff,ruff-win] [--tools chunkdelta,bsdiff,...]
                               [--threads 2] [--repeat 3] [--scaling]
                               [--markdown F] [--json F] [--plot F]

(scripts/bench.sh runs it after installing a C compiler and python3-venv.)

Pairs come from ../shared/corpus/fetch.sh dev, or fetch.sh exe for the executables of other
platforms (ruff-aarch64, ruff-win, ruff-mac), run here when a pair is missing. What is missing
is installed: bsdiff, xdelta3, zstd and GNU time with apt; hdiffpatch, bsdiff4 and matplotlib from PyPI
into benches/.venv (benches/requirements.txt), in which the script then re-runs itself; qbsdiff
and bidiff through the crate benches/peers. chunkdelta is built with cargo --release.

For each pair and tool it measures the patch size; diff and apply wall time (median of --repeat
runs) and peak RSS; apply peak anonymous memory (RssAnon, from one more apply, polled); and
checks the output byte for byte. Times and memory are also given as ratios to the peers the
targets name, measured in the same run. Every tool gets --threads threads where it has an
option for them. --scaling adds chunkdelta at 1, 2, 4, ... threads up to the core count, with
bsdiff as the reference. Where the binary has `diff --exec`, a `chunkdelta (exec off)` row diffs
with the executable transform off, so that its gain shows in the same run.
"""

import argparse
import dataclasses
import filecmp
import importlib.metadata
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable

import install
import measure
import report
from install import PEERS_BINARY, PEERS_CRATE, VENV_PYTHON, log

PY_PEER = os.path.join(install.BENCHES, "py_peer.py")
PAIRS = ["pydantic-core", "ruff", "ruff-jump", "cmake-tar", "synth"]
EXE_PAIRS = install.EXE_PAIRS  # accepted by --pairs, not run by default
PYTHON_PEERS = ["hdiffpatch", "bsdiff4"]
XDELTA3_MAX_SOURCE_WINDOW = 1 << 31  # xdelta3 rejects a larger -B
XDELTA3_MIN_SOURCE_WINDOW = 1 << 19
ZSTD_MAX_WINDOW_LOG = 31  # --long's limit on 64-bit builds
# leading bytes -> executable format, for the report's executable goals
EXECUTABLE_MAGIC = {
    b"\x7fELF": "ELF",
    b"MZ": "PE",
    b"\xcf\xfa\xed\xfe": "Mach-O",
    b"\xca\xfe\xba\xbe": "Mach-O (fat)",
}


# --- the tools ------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Pair:
    name: str
    old: str
    new: str


@dataclasses.dataclass(frozen=True)
class Tool:
    """How to run one tool: argv for diff(pair, patch) and apply(pair, patch, out).

    A tool without diff applies the patch of the tool named by patch_of. A tool that runs in
    Python names its module, whose import and interpreter start-up its times include.
    """

    name: str
    diff: Callable[[Pair, str], list] | None
    apply: Callable[[Pair, str, str], list]
    settings: str
    patch_of: str | None = None
    python_module: str | None = None


def chunkdelta_tools(binary, threads, no_fsync, exec_switch=False):
    """chunkdelta with its defaults (xz level 19, 4 MiB chunks), with --codec zstd, a no-fsync apply
    row, and with --exec off where the binary has the switch."""
    t = ["--threads", str(threads)]
    tools = [
        Tool(
            "chunkdelta",
            lambda p, patch: [binary, "diff", "-q", *t, p.old, p.new, "-o", patch],
            lambda p, patch, out: [binary, "apply", "-q", *t, p.old, patch, "-o", out],
            f"defaults (format v3, v4 with the executable transform on executables; LZMA2 or stored per "
            f"stream, level 19, 4 MiB chunks), --threads {threads}; apply verifies and fsyncs",
        )
    ]
    tools.append(
        Tool(
            "chunkdelta (zstd)",
            lambda p, patch: [binary, "diff", "-q", "--codec", "zstd", *t, p.old, p.new, "-o", patch],
            lambda p, patch, out: [binary, "apply", "-q", *t, p.old, patch, "-o", out],
            f"--codec zstd (zstd or stored per stream; format v3, v4 on executables), --threads {threads}",
        )
    )
    if exec_switch:
        tools.append(exec_off_tool(binary, t))
    if no_fsync:
        tools.append(
            Tool(
                "chunkdelta (no fsync)",
                None,
                lambda p, patch, out: [binary, "apply", "-q", "--no-fsync", *t, p.old, patch, "-o", out],
                "apply --no-fsync of the chunkdelta patch: verifies, does not sync",
                patch_of="chunkdelta",
            )
        )
    return tools


def exec_off_tool(binary, t):
    """chunkdelta's defaults with the executable transform off (format v3 even on executables)."""
    return Tool(
        "chunkdelta (exec off)",
        lambda p, patch: [binary, "diff", "-q", "--exec", "off", *t, p.old, p.new, "-o", patch],
        lambda p, patch, out: [binary, "apply", "-q", *t, p.old, patch, "-o", out],
        f"defaults with diff --exec off: no pointer masking or corrections, --threads {t[1]}",
    )


def supports(binary, command, flag):
    """Whether `chunkdelta COMMAND --help` lists the flag."""
    usage = subprocess.run([binary, command, "--help"], capture_output=True, text=True).stdout
    return flag in usage


def zstd_window_log(pair):
    """--long covering old and new together, as --patch-from needs, at least zstd's 2^27."""
    total = os.path.getsize(pair.old) + os.path.getsize(pair.new)
    return min(ZSTD_MAX_WINDOW_LOG, max(27, math.ceil(math.log2(total)) + 1))


def xdelta3_source_window(pair):
    """-B covering the whole old file, within xdelta3's limits."""
    return min(XDELTA3_MAX_SOURCE_WINDOW, max(XDELTA3_MIN_SOURCE_WINDOW, os.path.getsize(pair.old)))


def zstd_tool(level, threads):
    def diff(p, patch):
        window = f"--long={zstd_window_log(p)}"
        return [
            "zstd",
            "-q",
            "-f",
            "--ultra",
            f"-{level}",
            f"-T{threads}",
            window,
            f"--patch-from={p.old}",
            p.new,
            "-o",
            patch,
        ]

    def apply(p, patch, out):
        return [
            "zstd",
            "-q",
            "-f",
            "-d",
            f"--long={zstd_window_log(p)}",
            f"--patch-from={p.old}",
            patch,
            "-o",
            out,
        ]

    settings = (
        f"-{level} -T{threads} --long=max(27, ceil(log2(old+new))+1) (at most {ZSTD_MAX_WINDOW_LOG}); "
        "decompression is single-threaded"
    )
    return Tool(f"zstd-{level}", diff, apply, settings)


def xdelta3_tool():
    def diff(p, patch):
        return [
            "xdelta3",
            "-e",
            "-9",
            "-f",
            "-q",
            "-B",
            str(xdelta3_source_window(p)),
            "-s",
            p.old,
            p.new,
            patch,
        ]

    def apply(p, patch, out):
        return ["xdelta3", "-d", "-f", "-q", "-B", str(xdelta3_source_window(p)), "-s", p.old, patch, out]

    settings = (
        "-9, -B = size of old (xdelta3's cap: 2 GiB), default secondary compression (lzma); single-threaded"
    )
    return Tool("xdelta3", diff, apply, settings)


def python_tool(name, module, diff_args, settings):
    """A PyPI peer run by benches/py_peer.py in the venv, one process per diff or apply."""
    return Tool(
        name,
        lambda p, patch: [VENV_PYTHON, PY_PEER, name, "diff", p.old, p.new, patch, *diff_args],
        lambda p, patch, out: [VENV_PYTHON, PY_PEER, module, "apply", p.old, patch, out],
        settings,
        python_module=module,
    )


def rust_tool(name, threads, settings):
    """A crate from benches/peers, run by its chunkdelta-peers binary."""
    return Tool(
        name,
        lambda p, patch: [PEERS_BINARY, name, "diff", p.old, p.new, patch, str(threads)],
        lambda p, patch, out: [PEERS_BINARY, name, "apply", p.old, patch, out],
        settings,
    )


def bsdiff_tool():
    return Tool(
        "bsdiff",
        lambda p, patch: ["bsdiff", p.old, p.new, patch],
        lambda p, patch, out: ["bspatch", p.old, out, patch],
        "Debian's bsdiff 4.3 (bzip2); single-threaded",
    )


def hdiffpatch_tool(codec, threads):
    level, windows = {"lzma2": (9, "12..30"), "zstd": (22, "10..27")}[codec]
    settings = (
        f"{codec} level {level}, window covering new (2^{windows}), {threads} compressor threads, "
        "big_cache_match, no validation; the binding's match search and its apply are single-threaded"
    )
    return python_tool(f"hdiffpatch-{codec}", "hdiffpatch", [str(threads)], settings)


def peer_tools(threads):
    return [
        bsdiff_tool(),
        python_tool("bsdiff4", "bsdiff4", [], "file_diff / file_patch; single-threaded"),
        rust_tool(
            "qbsdiff",
            threads,
            f"defaults: parallel search in 512 KiB chunks on {threads} threads, bzip2 level 6, "
            "small match 12; apply single-threaded",
        ),
        rust_tool(
            "bidiff",
            threads,
            f"{threads} sort partitions (one per thread), 1 MiB scan chunks, zstd level 21 on {threads} "
            "workers (its README's settings); apply single-threaded",
        ),
        hdiffpatch_tool("lzma2", threads),
        hdiffpatch_tool("zstd", threads),
        zstd_tool(19, threads),
        zstd_tool(22, threads),
        xdelta3_tool(),
    ]


def tool_versions(chunkdelta):
    """The version of every tool measured, for the report."""

    def first_line(cmd):
        out = subprocess.run(cmd, capture_output=True, text=True)
        return (out.stdout or out.stderr).strip().splitlines()[0]

    def dpkg(pkg):
        return (
            first_line(["dpkg-query", "-W", "-f", "${Version}", pkg]) if shutil.which("dpkg-query") else "?"
        )

    with open(os.path.join(PEERS_CRATE, "Cargo.lock")) as f:
        crates = dict(re.findall(r'name = "([^"]+)"\nversion = "([^"]+)"', f.read()))
    return {
        "chunkdelta": first_line([chunkdelta, "--version"]).split()[-1],
        "bsdiff": dpkg("bsdiff"),
        "xdelta3": dpkg("xdelta3"),
        "zstd": dpkg("zstd"),
        **{pkg: importlib.metadata.version(pkg) for pkg in PYTHON_PEERS},
        "qbsdiff": crates["qbsdiff"],
        "bidiff": crates["bidiff"],
    }


def executable_format(pair):
    """ELF, PE or Mach-O when both files of the pair start like one, else None."""
    kinds = set()
    for path in (pair.old, pair.new):
        with open(path, "rb") as f:
            head = f.read(4)
        kinds.add(next((kind for magic, kind in EXECUTABLE_MAGIC.items() if head.startswith(magic)), None))
    return kinds.pop() if len(kinds) == 1 else None


# --- measuring ------------------------------------------------------------------------------


def warm_page_cache(pair):
    """Reads both files once, so that no tool pays for the first read from disk."""
    for path in (pair.old, pair.new):
        with open(path, "rb") as f:
            while f.read(1 << 24):
                pass


def measure_tool(tool, pair, work, repeat):
    """One row: patch size, diff and apply medians and peaks, apply heap, exactness."""
    patch = os.path.join(work, f"{pair.name}.{tool.patch_of or tool.name}.patch".replace(" ", "_"))
    out = os.path.join(work, f"{pair.name}.out")
    row = {"pair": pair.name, "tool": tool.name, "new_bytes": os.path.getsize(pair.new)}
    if tool.diff:
        diff = measure.summarize([measure.run(tool.diff(pair, patch)) for _ in range(repeat)])
        row.update(diff_s=diff.seconds, diff_rss_mib=diff.rss_mib)
    row["patch_bytes"] = os.path.getsize(patch)
    applied = measure.summarize([apply_once(tool, pair, patch, out, False) for _ in range(repeat)])
    heap = apply_once(tool, pair, patch, out, True)
    row.update(apply_s=applied.seconds, apply_rss_mib=applied.rss_mib, apply_anon_mib=heap.anon_mib)
    row["exact"] = filecmp.cmp(out, pair.new, shallow=False)
    os.remove(out)
    return row


def apply_once(tool, pair, patch, out, poll_anon):
    if os.path.exists(out):
        os.remove(out)
    return measure.run(tool.apply(pair, patch, out), poll_anon=poll_anon)


def try_measure(tool, pair, work, repeat):
    """measure_tool's row, or a row with the error of a tool that failed."""
    try:
        row = measure_tool(tool, pair, work, repeat)
        log(f"{pair.name} {tool.name}: {row['patch_bytes']:,} bytes, exact {row['exact']}")
    except (RuntimeError, OSError) as e:
        row = {"pair": pair.name, "tool": tool.name, "error": str(e)}
        log(f"{pair.name} {tool.name} FAILED: {e}")
    return row


def measure_pair(tools, pair, work, repeat):
    warm_page_cache(pair)
    return [try_measure(tool, pair, work, repeat) for tool in tools]


def python_startup(tools, repeat):
    """Time and peak RSS of py_peer.py importing each Python peer used and exiting."""
    startup = {}
    for module in sorted({t.python_module for t in tools if t.python_module}):
        sample = measure.summarize(
            [measure.run([VENV_PYTHON, PY_PEER, module, "startup"]) for _ in range(repeat)]
        )
        startup[module] = {"seconds": sample.seconds, "rss_mib": sample.rss_mib}
    return startup


def scaling_threads():
    """1, 2, 4, 8, 16 up to the core count, and the core count itself."""
    cores = os.cpu_count() or 1
    counts = [n for n in (1, 2, 4, 8, 16) if n <= cores]
    return counts if cores in counts or cores > 16 else counts + [cores]


def measure_scaling(binary, pairs, rows, work, repeat):
    """chunkdelta diff and apply at each thread count, next to bsdiff in the same run."""
    scaling = []
    for pair in pairs:
        done = [r for r in rows if r["pair"] == pair.name and r["tool"] == "bsdiff" and "error" not in r]
        bsdiff = done[0] if done else try_measure(bsdiff_tool(), pair, work, repeat)
        scaling.append(dict(bsdiff, threads=1))
        for threads in scaling_threads():
            row = try_measure(chunkdelta_tools(binary, threads, False)[0], pair, work, repeat)
            scaling.append(dict(row, threads=threads))
    return scaling


# --- main -----------------------------------------------------------------------------------


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--pairs",
        default=",".join(PAIRS),
        help=f"comma-separated, from: {', '.join(PAIRS + EXE_PAIRS)} (default: {', '.join(PAIRS)})",
    )
    ap.add_argument(
        "--tools",
        help="comma-separated names as in the table (default: all): chunkdelta, 'chunkdelta (zstd)', "
        "'chunkdelta (exec off)', 'chunkdelta (no fsync)', bsdiff, bsdiff4, qbsdiff, bidiff, "
        "hdiffpatch-lzma2, hdiffpatch-zstd, zstd-19, zstd-22, xdelta3",
    )
    ap.add_argument(
        "--threads", type=int, default=2, help="threads for every tool that takes a count (default 2)"
    )
    ap.add_argument(
        "--repeat", type=int, default=3, help="runs per measurement; times are medians (default 3)"
    )
    ap.add_argument("--scaling", action="store_true", help="also measure chunkdelta at 1, 2, 4, ... threads")
    ap.add_argument("--markdown", default=os.path.join(install.BENCHES, "results.md"))
    ap.add_argument("--json", default=os.path.join(install.BENCHES, "results.json"))
    ap.add_argument("--plot", default=os.path.join(install.BENCHES, "results.png"))
    args = ap.parse_args()
    args.pairs = args.pairs.split(",")
    unknown = set(args.pairs) - set(PAIRS + EXE_PAIRS)
    if unknown or args.threads < 1 or args.repeat < 1:
        ap.error(
            f"unknown pairs {sorted(unknown)}" if unknown else "--threads and --repeat must be at least 1"
        )
    return args


def select_tools(tools, names):
    if not names:
        return tools
    wanted = names.split(",")
    unknown = set(wanted) - {t.name for t in tools}
    if unknown:
        sys.exit(f"unknown tools {sorted(unknown)}; known: {', '.join(t.name for t in tools)}")
    return [t for t in tools if t.name in wanted]


def main():
    args = parse_args()
    install.apt_peers()
    install.venv()
    if not install.in_venv():
        os.execv(VENV_PYTHON, [VENV_PYTHON, os.path.abspath(__file__), *sys.argv[1:]])
    chunkdelta = install.build_chunkdelta()
    install.build_peers()
    install.pairs(args.pairs)

    no_fsync = supports(chunkdelta, "apply", "--no-fsync")
    exec_switch = supports(chunkdelta, "diff", "--exec")
    tools = chunkdelta_tools(chunkdelta, args.threads, no_fsync, exec_switch) + peer_tools(args.threads)
    tools = select_tools(tools, args.tools)
    pairs = [
        Pair(name, os.path.join(install.pair_dir(name), "old"), os.path.join(install.pair_dir(name), "new"))
        for name in args.pairs
    ]
    run = report.start_run(install.ROOT, args, tool_versions(chunkdelta), {t.name: t.settings for t in tools})
    run["executables"] = {pair.name: executable_format(pair) for pair in pairs}
    run["exe_set_pairs"] = [name for name in args.pairs if name in EXE_PAIRS]
    with tempfile.TemporaryDirectory() as work:
        rows = [row for pair in pairs for row in measure_pair(tools, pair, work, args.repeat)]
        scaling = measure_scaling(chunkdelta, pairs, rows, work, args.repeat) if args.scaling else []
    run["python_startup"] = python_startup(tools, args.repeat)
    report.finish(run, rows, scaling, args)
    if not all(row.get("exact") for row in rows + scaling):
        sys.exit("some tool failed or was not byte-exact")


if __name__ == "__main__":
    main()
