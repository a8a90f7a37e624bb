"""The report of a compare.py run: ratios to the reference peers, markdown, JSON and a plot.

    python3 benches/report.py RESULTS.json [--markdown F] [--update]

re-renders the markdown of a finished run from its JSON (with this file's tables and goals),
without measuring again; --update also rewrites the JSON's exec_goals.
"""

import argparse
import datetime
import json
import math
import os
import platform
import shlex
import subprocess
import sys

# The issue's targets for chunkdelta: ratio key -> (measured field, reference, limit). The
# reference is a tool measured in the same run, a tuple of tools (the smallest value of any of
# them), or BEST_PEER: the smallest value of any peer.
BEST_PEER = "best peer"
HDIFFPATCH = ("hdiffpatch-lzma2", "hdiffpatch-zstd")
TARGETS = {
    "patch_x_best_peer": ("patch_bytes", BEST_PEER, 1.0),
    "diff_x_bsdiff": ("diff_s", "bsdiff", 0.2),
    "diff_x_hdiffpatch_zstd": ("diff_s", "hdiffpatch-zstd", 1.0),
    "diff_rss_x_hdiffpatch": ("diff_rss_mib", HDIFFPATCH, 1.0),
    "apply_x_zstd_19": ("apply_s", "zstd-19", 1.0),
}
# zstd neither syncs nor verifies: the durable apply (which fsyncs) may take this much longer.
DURABLE_APPLY_LIMIT = 1.3
# The executable transform's goals (issue 14), over the pairs whose files are executables.
EXEC_GEOMEAN_LIMIT = 0.75  # geometric mean of chunkdelta's patch over HDiffPatch (lzma2)'s
EXEC_OFF = "chunkdelta (exec off)"


def start_run(root, args, versions, settings):
    """What the report's header states: command, commit, date, machine, load, settings."""
    return {
        "command": shlex.join(["python3", "benches/compare.py", *sys.argv[1:]]),
        "commit": commit(root),
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "load_at_start": os.getloadavg()[0],
        "threads": args.threads,
        "repeat": args.repeat,
        "versions": versions,
        "settings": settings,
    }


def commit(root):
    def git(*args):
        return subprocess.run(["git", "-C", root, *args], capture_output=True, text=True).stdout.strip()

    dirty = git("status", "--porcelain", "--untracked-files=no")
    return git("rev-parse", "--short", "HEAD") + (" with uncommitted changes" if dirty else "")


def machine():
    with open("/proc/meminfo") as f:
        mem_kib = int(next(line for line in f if line.startswith("MemTotal:")).split()[1])
    with open("/proc/cpuinfo") as f:
        cpu = next(
            (line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), platform.machine()
        )
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gib": round(mem_kib / 2**20, 1),
        "kernel": platform.release(),
    }


def finish(run, rows, scaling, args):
    """Adds the ratios, then writes markdown (also to stdout), JSON and the plot."""
    run["load_at_end"] = os.getloadavg()[0]
    add_ratios(rows)
    goals = exec_goals(run, rows)
    text = markdown(run, rows, scaling, goals)
    print(text)
    with open(args.markdown, "w") as f:
        f.write(text)
    with open(args.json, "w") as f:
        json.dump({"run": run, "results": rows, "scaling": scaling, "exec_goals": goals}, f, indent=2)
        f.write("\n")
    plot(rows, args.plot)


def add_ratios(rows):
    """Gives each row its ratio to each target's reference on the same pair, where both exist."""
    for row in rows:
        peers = [r for r in rows if r["pair"] == row["pair"] and is_peer(r)]
        for key, (field, reference, _) in TARGETS.items():
            named = (reference,) if isinstance(reference, str) else reference
            chosen = [r.get(field) for r in peers if reference == BEST_PEER or r["tool"] in named]
            base = min((v for v in chosen if v is not None), default=None)
            if base and row.get(field) is not None:
                row[key] = row[field] / base


def is_peer(row):
    return not row["tool"].startswith("chunkdelta") and "error" not in row


# --- the executable goals -------------------------------------------------------------------


def exec_goals(run, rows):
    """Per executable pair, chunkdelta's ratios that issue 14's goals name; their geometric means
    and whether each goal is met. None when no pair of the run is an executable."""
    pairs = [p for p, kind in run.get("executables", {}).items() if kind]
    per_pair = [g for g in (pair_goals(p, run["executables"][p], rows) for p in pairs) if g]
    if not per_pair:
        return None
    exe_set = [g for g in per_pair if g["pair"] in run.get("exe_set_pairs", [])]
    summary = {
        "pairs": per_pair,
        "geomean_x_hdiffpatch_lzma2": geomean(g["patch_x_hdiffpatch_lzma2"] for g in per_pair),
        "geomean_exec_off_x_hdiffpatch_lzma2": geomean(
            g.get("exec_off_x_hdiffpatch_lzma2") for g in per_pair
        ),
        "geomean_x_exec_off": geomean(g.get("patch_x_exec_off") for g in per_pair),
        "exe_set_geomean_x_hdiffpatch_lzma2": geomean(g["patch_x_hdiffpatch_lzma2"] for g in exe_set),
    }
    limit = EXEC_GEOMEAN_LIMIT
    met = {
        "smaller than the best peer on every pair": all_at_most(per_pair, "patch_x_best_peer", 1.0),
        f"geometric mean × HDiffPatch (lzma2) ≤ {limit} over the {len(per_pair)} executable pairs": at_most(
            summary["geomean_x_hdiffpatch_lzma2"], limit
        ),
    }
    if exe_set:
        names = ", ".join(g["pair"] for g in exe_set)
        met[f"geometric mean × HDiffPatch (lzma2) ≤ {limit} over the exe set ({names})"] = at_most(
            summary["exe_set_geomean_x_hdiffpatch_lzma2"], limit
        )
    met["apply ≤ 1.0× zstd -d --patch-from (zstd -19) on every pair"] = all_at_most(
        per_pair, "apply_x_zstd_19", 1.0
    )
    for peer in ("lzma2", "zstd"):
        met[f"diff ≤ 1.0× HDiffPatch ({peer}) on every pair"] = all_at_most(
            per_pair, f"diff_x_hdiffpatch_{peer}", 1.0
        )
    summary["met"] = met
    return summary


def pair_goals(pair, kind, rows):
    """One executable pair's ratios, or None when chunkdelta's row failed or is missing."""
    on_pair = {r["tool"]: r for r in rows if r["pair"] == pair and "error" not in r}
    chunkdelta = on_pair.get("chunkdelta")
    if not chunkdelta:
        return None
    peers = [r for r in on_pair.values() if is_peer(r)]
    best = min(peers, key=lambda r: r["patch_bytes"], default=None)
    goals = {"pair": pair, "format": kind, "patch_bytes": chunkdelta["patch_bytes"]}
    for key in ("patch_x_best_peer", "apply_x_zstd_19", "diff_x_hdiffpatch_zstd"):
        if key in chunkdelta:
            goals[key] = chunkdelta[key]
    if best:
        goals.update(best_peer=best["tool"], best_peer_bytes=best["patch_bytes"])
    off, lzma2 = on_pair.get(EXEC_OFF), on_pair.get("hdiffpatch-lzma2")
    if off:
        goals["exec_off_bytes"] = off["patch_bytes"]
        goals["patch_x_exec_off"] = chunkdelta["patch_bytes"] / off["patch_bytes"]
    if lzma2:
        goals["patch_x_hdiffpatch_lzma2"] = chunkdelta["patch_bytes"] / lzma2["patch_bytes"]
        goals["diff_x_hdiffpatch_lzma2"] = chunkdelta["diff_s"] / lzma2["diff_s"]
        if off:
            goals["exec_off_x_hdiffpatch_lzma2"] = off["patch_bytes"] / lzma2["patch_bytes"]
    return goals


def geomean(values):
    values = list(values)
    if not values or any(v is None for v in values):
        return None
    return math.exp(sum(math.log(v) for v in values) / len(values))


def at_most(value, limit):
    return None if value is None else value <= limit


def all_at_most(per_pair, key, limit):
    """True when every pair's ratio is within the limit; None when a pair lacks it."""
    values = [g.get(key) for g in per_pair]
    return None if any(v is None for v in values) else all(v <= limit for v in values)


# --- markdown -------------------------------------------------------------------------------

COLUMNS = (
    "pair | tool | patch bytes | patch/new | × best peer | diff s | × bsdiff | × HDiffPatch (zstd) "
    "| diff RSS MiB | × HDiffPatch | apply s | × zstd -19 | apply RSS MiB | apply heap MiB | exact"
)


def markdown(run, rows, scaling, goals=None):
    lines = [
        "# Peer comparison",
        "",
        header(run),
        "",
        "Targets for chunkdelta (✓ met, ✗ not): patch ≤ 1.0× the best peer's; diff ≤ 0.2× bsdiff and "
        "≤ 1.0× HDiffPatch (zstd); diff RSS ≤ 1.0× HDiffPatch's (the smaller of its two runs); apply "
        f"≤ 1.0× `zstd -19` (`zstd -d --patch-from`) without fsync and ≤ {DURABLE_APPLY_LIMIT}× with it.",
        "",
        f"| {COLUMNS} |",
        "|" + "---|" * len(COLUMNS.split("|")),
        *(table_row(row) for row in rows),
        "",
        best_peers(rows),
        "",
        *notes(run),
    ]
    if goals:
        lines += ["", *goals_section(goals)]
    if scaling:
        lines += ["", *scaling_table(scaling)]
    return "\n".join(lines) + "\n"


def goals_section(goals):
    """The executable goals: one row per executable pair, the geometric means, each goal's verdict."""

    def x(value):
        return "—" if value is None else f"{value:.3f}×"

    lines = [
        "## Executable pairs: the transform's goals",
        "",
        "chunkdelta's default patch (executable transform on) against the same run's peers, on the pairs "
        "whose files are executables. **on/off**: its patch over the `--exec off` patch.",
        "",
        "| pair | format | chunkdelta bytes | exec off bytes | on/off | best peer | × best peer "
        "| × HDiffPatch (lzma2) | apply × zstd -19 | diff × HDiffPatch (lzma2) | diff × HDiffPatch (zstd) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for g in goals["pairs"]:
        off = g.get("exec_off_bytes")
        best = f"{g['best_peer']} ({g['best_peer_bytes']:,})" if "best_peer" in g else "—"
        lines.append(
            f"| {g['pair']} | {g['format']} | {g['patch_bytes']:,} | {'—' if off is None else f'{off:,}'} "
            f"| {x(g.get('patch_x_exec_off'))} | {best} | {x(g.get('patch_x_best_peer'))} "
            f"| {x(g.get('patch_x_hdiffpatch_lzma2'))} | {x(g.get('apply_x_zstd_19'))} "
            f"| {x(g.get('diff_x_hdiffpatch_lzma2'))} | {x(g.get('diff_x_hdiffpatch_zstd'))} |"
        )
    lines += [
        "",
        "Geometric mean of chunkdelta / HDiffPatch (lzma2) patch size over these "
        f"{len(goals['pairs'])} pairs: "
        f"**{x(goals['geomean_x_hdiffpatch_lzma2'])}** (goal ≤ {EXEC_GEOMEAN_LIMIT}); over the exe set alone "
        f"{x(goals['exe_set_geomean_x_hdiffpatch_lzma2'])}; with `--exec off` "
        f"{x(goals['geomean_exec_off_x_hdiffpatch_lzma2'])}. Geometric mean of on/off: "
        f"{x(goals['geomean_x_exec_off'])}.",
        "",
        *(f"- {goal}: {verdict(met)}" for goal, met in goals["met"].items()),
    ]
    return lines


def verdict(met):
    return "not measured" if met is None else "**met** ✓" if met else "**not met** ✗"


def header(run):
    m = run["machine"]
    return (
        f"`{run['command']}` at commit {run['commit']}, {run['date']}, on {m['cpu']}, {m['cores']} cores, "
        f"{m['ram_gib']} GiB RAM, Linux {m['kernel']}; load average {run['load_at_start']:.1f} at the start "
        f"and {run['load_at_end']:.1f} at the end. Every tool gets {run['threads']} threads where it takes a "
        f"thread count. Times are medians of {run['repeat']} run(s); RSS is the largest peak of those runs."
    )


def table_row(row):
    if "error" in row:
        message = row["error"].replace("|", "/").replace("\n", " ")[:160]
        return f"| {row['pair']} | {row['tool']} | failed: {message} |" + " |" * 12
    diffs = row.get("diff_s") is not None
    cells = [
        row["pair"],
        row["tool"],
        f"{row['patch_bytes']:,}",
        f"{100 * row['patch_bytes'] / row['new_bytes']:.2f}%",
        target_cell(row, "patch_x_best_peer"),
        f"{row['diff_s']:.2f}" if diffs else "—",
        target_cell(row, "diff_x_bsdiff"),
        target_cell(row, "diff_x_hdiffpatch_zstd"),
        f"{row['diff_rss_mib']:.0f}" if diffs else "—",
        target_cell(row, "diff_rss_x_hdiffpatch"),
        f"{row['apply_s']:.3f}",
        target_cell(row, "apply_x_zstd_19"),
        f"{row['apply_rss_mib']:.0f}",
        mib(row["apply_anon_mib"]),
        "yes" if row["exact"] else "**NO**",
    ]
    return "| " + " | ".join(cells) + " |"


def mib(value):
    return "—" if value is None else f"{value:.1f}"


def target_cell(row, key):
    """The ratio, with ✓ or ✗ against the target's limit on chunkdelta's rows."""
    if key not in row:
        return "—"
    text = f"{row[key]:.2f}×"
    if row["tool"].startswith("chunkdelta"):
        text += " ✓" if row[key] <= target_limit(row, key) else " ✗"
    return text


def target_limit(row, key):
    durable = key == "apply_x_zstd_19" and "no fsync" not in row["tool"]
    return DURABLE_APPLY_LIMIT if durable else TARGETS[key][2]


def best_peers(rows):
    best = []
    for pair in dict.fromkeys(r["pair"] for r in rows):
        peers = [r for r in rows if r["pair"] == pair and is_peer(r)]
        if peers:
            top = min(peers, key=lambda r: r["patch_bytes"])
            best.append(f"{pair}: {top['tool']} ({top['patch_bytes']:,} bytes)")
    return "Best peer by patch size: " + "; ".join(best) + "."


def notes(run):
    lines = [
        "Notes:",
        "",
        "- **patch/new**: patch size as a share of the new file. **× best peer**: patch size over the "
        "smallest patch any peer made of the same pair.",
        "- **diff s / apply s**: wall time of the tool's own process (median). Ratios divide by the named "
        "peer's median on the same pair in the same run.",
        "- **RSS**: peak resident set of the process (ru_maxrss, through GNU time), which counts mapped "
        "input files and page cache of the output it wrote. **apply heap**: peak `RssAnon` (anonymous "
        "memory: heap and stacks, not the mapped files), polled every 1 ms from `/proc/PID/status` in one "
        "more apply.",
        "- **exact**: the applied output equals the new file byte for byte.",
        "- chunkdelta's apply checks the old file's hash first, verifies every chunk and the result, "
        "writes to a temporary file, fsyncs and renames. The peers write their output without syncing; "
        "of them only zstd (frame checksum) and xdelta3 (window checksums) check what they decode.",
    ]
    if "chunkdelta (no fsync)" not in run["settings"]:
        lines.append(
            "- No `chunkdelta (no fsync)` row: this build's `chunkdelta apply` has no `--no-fsync`, "
            "or `--tools` left it out."
        )
    for module, start in run.get("python_startup", {}).items():
        lines.append(
            f"- {module} runs in a Python process (`benches/py_peer.py`): its times and RSS include the "
            f"interpreter's start-up and the import, {start['seconds']:.3f} s and {start['rss_mib']:.0f} MiB "
            "on their own."
        )
    lines += ["", "Tools and settings:", ""]
    versions = run["versions"]
    for tool, settings in run["settings"].items():
        version = versions[max((k for k in versions if tool.startswith(k)), key=len)]
        lines.append(f"- **{tool}** {version}: {settings}")
    return lines


def ratio(numerator, denominator, field):
    """numerator[field] / denominator[field] as "0.42×", or "—" when either row is missing."""
    if numerator is None or denominator is None:
        return "—"
    return f"{numerator[field] / denominator[field]:.2f}×"


def scaling_table(scaling):
    lines = [
        "## Scaling with threads",
        "",
        "chunkdelta at each thread count, bsdiff (single-threaded) as the reference in the same run.",
        "",
        "| pair | tool | threads | diff s | × bsdiff | × 1 thread "
        "| apply s | × bspatch | × 1 thread | apply heap MiB |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in scaling:
        if "error" in row:
            lines.append(f"| {row['pair']} | {row['tool']} | {row['threads']} | failed |" + " |" * 6)
            continue
        pair = [r for r in scaling if r["pair"] == row["pair"] and "error" not in r]
        bsdiff = next((r for r in pair if r["tool"] == "bsdiff"), None)
        single = next((r for r in pair if r["tool"] == "chunkdelta" and r["threads"] == 1), None)
        speedup = single if row["tool"] == "chunkdelta" else None
        lines.append(
            f"| {row['pair']} | {row['tool']} | {row['threads']} | {row['diff_s']:.2f} "
            f"| {ratio(row, bsdiff, 'diff_s')} | {ratio(speedup, row, 'diff_s')} "
            f"| {row['apply_s']:.3f} | {ratio(row, bsdiff, 'apply_s')} "
            f"| {ratio(speedup, row, 'apply_s')} | {mib(row['apply_anon_mib'])} |"
        )
    lines.append("")
    lines.append(
        "**× 1 thread** is the speed-up: chunkdelta's time on one thread over its time on this many."
    )
    return lines


# --- plot -----------------------------------------------------------------------------------


def plot(rows, path):
    """Patch size (% of new) against diff time, both log, one panel per pair, one point per tool."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rc("axes.formatter", min_exponent=3)  # log-axis ticks as 0.5, 2, 30, not 5×10⁻¹

    rows = [r for r in rows if "error" not in r and r.get("diff_s") is not None]
    if not rows:
        return
    pairs = list(dict.fromkeys(r["pair"] for r in rows))
    tools = list(dict.fromkeys(r["tool"] for r in rows))
    columns = min(2, len(pairs))
    lines = (len(pairs) + columns - 1) // columns
    fig, axes = plt.subplots(lines, columns, figsize=(6.5 * columns + 2.5, 4.8 * lines), squeeze=False)
    colors = plt.get_cmap("tab10").colors
    markers = "o*sD^vP<>Xhp"
    legend = {}
    for ax, pair in zip(axes.flat, pairs, strict=False):
        for i, tool in enumerate(tools):
            row = next((r for r in rows if r["pair"] == pair and r["tool"] == tool), None)
            if row:
                chunkdelta = tool.startswith("chunkdelta")
                legend[tool] = ax.scatter(
                    row["diff_s"],
                    100 * row["patch_bytes"] / row["new_bytes"],
                    color=colors[i % len(colors)],
                    marker=markers[i % len(markers)],
                    s=180 if chunkdelta else 70,
                    edgecolors="black" if chunkdelta else "none",
                    zorder=3,
                )
        ax.set(
            xscale="log",
            yscale="log",
            title=pair,
            xlabel="diff wall time, s (log)",
            ylabel="patch, % of new (log)",
        )
        ax.grid(True, which="both", alpha=0.3)
    for ax in list(axes.flat)[len(pairs) :]:
        ax.set_visible(False)
    fig.legend(list(legend.values()), list(legend), loc="center right", frameon=False)
    fig.suptitle("Patch size against diff time (lower left is better)")
    fig.tight_layout(rect=(0, 0, 1 - 2.3 / fig.get_figwidth(), 1))
    fig.savefig(path, dpi=130)
    plt.close(fig)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("json", help="the --json file of a compare.py run")
    ap.add_argument("--markdown", help="write the markdown here (default: stdout only)")
    ap.add_argument("--update", action="store_true", help="write the recomputed exec_goals into the JSON")
    args = ap.parse_args()
    with open(args.json) as f:
        saved = json.load(f)
    rows = saved["results"]
    add_ratios(rows)
    saved["exec_goals"] = exec_goals(saved["run"], rows)
    text = markdown(saved["run"], rows, saved["scaling"], saved["exec_goals"])
    print(text)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(text)
    if args.update:
        with open(args.json, "w") as f:
            json.dump(saved, f, indent=2)
            f.write("\n")


if __name__ == "__main__":
    main()
