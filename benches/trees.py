"""Tree patches against what a distributor would otherwise ship, measured in one run.

    benches/.venv/bin/python benches/trees.py [--binary target/release/chunkdelta] [PAIR_DIR...]

For each tree pair (a directory holding old/ and new/; default: every pair of the `tree` set
of shared/corpus, `fetch.sh tree`), it measures:
- chunkdelta's tree patch (`chunkdelta diff OLD/ NEW/`), and its apply into a new directory;
- tar-based peers: both trees as deterministic tars, then bsdiff, HDiffPatch (lzma2, through
  benches/py_peer.py), `zstd --patch-from -19 --long` and xdelta3 -9;
- Sparkle-style per-file patching: bsdiff of each changed same-path file, plus each added or
  renamed file compressed with xz -9e on its own;
- the full download: the new tree as a `.tar.xz` (xz -9e), and, for apply speed, extracting it
  from a `.tar.zst` (zstd -19);
- that the patch is exact: applied to a new directory, and in place to a copy of the old tree,
  the result has the new tree's paths, file bytes, permission bits and symlink targets, and
  `rollback` then restores the old tree's (the run stops otherwise).
Needs what benches/install.py installs (apt bsdiff, xdelta3, zstd; hdiffpatch in benches/.venv).
Writes benches/trees.md. Sizes are bytes. Apply and extract times are the median of 5 rounds,
each round running chunkdelta apply (durable, then --no-fsync) and the extraction back to back,
so that a busy moment of the shared machine hits all three; compare them within a row only.
tar does not fsync, so `--no-fsync` is the like-for-like comparison.
"""

import argparse
import hashlib
import os
import shutil
import stat
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
CORPUS = Path(os.environ.get("CORPUS_DIR", Path.home() / ".cache/chunkdelta-corpus")) / "tree"


def run(command):
    started = time.perf_counter()
    subprocess.run([str(c) for c in command], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def deterministic_tar(root, out):
    """Sorted names, mtime 0, uid/gid 0: the same tree gives the same tar."""
    with tarfile.open(out, "w", format=tarfile.GNU_FORMAT) as tar:
        for path in sorted(root.rglob("*")):
            info = tar.gettarinfo(path, arcname=str(path.relative_to(root)))
            info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
            if info.isfile():
                with open(path, "rb") as data:
                    tar.addfile(info, data)
            else:
                tar.addfile(info)


def files(root):
    return {str(p.relative_to(root)): p for p in root.rglob("*") if p.is_file() and not p.is_symlink()}


def sparkle_style(old, new, work):
    """bsdiff per changed same-path file, xz -9e per file without an old one; unchanged files free."""
    old_files, total = files(old), 0
    for name, path in files(new).items():
        data = path.read_bytes()
        if name in old_files:
            if old_files[name].read_bytes() == data:
                continue
            patch = work / "sparkle.patch"
            run(["bsdiff", old_files[name], path, patch])
            total += patch.stat().st_size
        else:
            total += len(subprocess.run(["xz", "-9e", "-T1", "-c", path], check=True, capture_output=True).stdout)
    return total


def measure(pair, binary, work):
    old, new = pair / "old", pair / "new"
    row = {"pair": pair.name}
    patch, out = work / "tree.patch", work / "out"
    row["chunkdelta diff s"] = run([binary, "diff", "-q", old, new, "-o", patch])
    row["chunkdelta"] = patch.stat().st_size
    check_exact(binary, old, new, patch, work)
    old_tar, new_tar = work / "old.tar", work / "new.tar"
    deterministic_tar(old, old_tar)
    deterministic_tar(new, new_tar)
    peers = {
        "bsdiff (tar)": lambda p: ["bsdiff", old_tar, new_tar, p],
        "hdiffpatch-lzma2 (tar)": lambda p: [sys.executable, HERE / "py_peer.py", "hdiffpatch-lzma2", "diff", old_tar, new_tar, p, "2"],
        "zstd --patch-from -19 (tar)": lambda p: ["zstd", "-q", "-f", "-19", "--long=27", f"--patch-from={old_tar}", new_tar, "-o", p],
        "xdelta3 -9 (tar)": lambda p: ["xdelta3", "-e", "-f", "-9", "-B", str(old_tar.stat().st_size), "-s", old_tar, new_tar, p],
    }
    for name, command in peers.items():
        peer_patch = work / "peer.patch"
        run(command(peer_patch))
        row[name] = peer_patch.stat().st_size
    row["sparkle-style"] = sparkle_style(old, new, work)
    full = subprocess.run(["xz", "-9e", "-T1", "-c", new_tar], check=True, capture_output=True).stdout
    row["full .tar.xz"] = len(full)
    zst = work / "new.tar.zst"
    run(["zstd", "-q", "-f", "-19", new_tar, "-o", zst])
    row.update(apply_times(binary, old, patch, zst, work))
    return row


def snapshot(root):
    """Every path under `root` with its kind, permission bits and content (file bytes' blake2b,
    symlink target): what a tree patch must reproduce."""
    state = {}
    for path in sorted(root.rglob("*")):
        info = path.lstat()
        if path.is_symlink():
            content = os.readlink(path)
        elif path.is_file():
            content = hashlib.blake2b(path.read_bytes()).hexdigest()
        else:
            content = "dir"
        state[str(path.relative_to(root))] = (stat.S_IFMT(info.st_mode), stat.S_IMODE(info.st_mode), content)
    return state


def check_exact(binary, old, new, patch, work):
    """Applies `patch` to a new directory and in place (to a copy of `old`), checks both against
    `new`, rolls the in-place one back and checks it against `old`."""
    expected, out, copy = snapshot(new), work / "exact", work / "in-place"
    run([binary, "apply", "-q", "--no-fsync", old, patch, "-o", out])
    shutil.copytree(old, copy, symlinks=True)
    run([binary, "apply", "-q", "--no-fsync", copy, patch, "--in-place"])
    for name, tree, want in (("apply -o", out, expected), ("apply --in-place", copy, expected)):
        if snapshot(tree) != want:
            sys.exit(f"{name} did not make the new tree of {new}")
    run([binary, "rollback", "-q", copy])
    if snapshot(copy) != snapshot(old):
        sys.exit(f"rollback did not restore the old tree of {old}")
    subprocess.run(["rm", "-rf", out, copy], check=True)
    subprocess.run(["rm", "-rf", work / ".in-place.cdtr"], check=True)


def apply_times(binary, old, patch, zst, work, rounds=5):
    """Median seconds of each way to make the new tree, over `rounds` interleaved rounds."""
    ways = {
        "chunkdelta apply s": lambda out: [binary, "apply", "-q", old, patch, "-o", out],
        "chunkdelta apply --no-fsync s": lambda out: [binary, "apply", "-q", "--no-fsync", old, patch, "-o", out],
        "extract .tar.zst s": lambda out: ["tar", "-I", "zstd", "-xf", zst, "-C", out],
    }
    times = {name: [] for name in ways}
    for _ in range(rounds):
        for name, command in ways.items():
            out = work / "out"
            if name.startswith("extract"):
                out.mkdir()
            times[name].append(run(command(out)))
            subprocess.run(["rm", "-rf", out], check=True)
    return {name: sorted(values)[len(values) // 2] for name, values in times.items()}


def report(rows):
    sizes = ["chunkdelta", "bsdiff (tar)", "hdiffpatch-lzma2 (tar)", "zstd --patch-from -19 (tar)",
             "xdelta3 -9 (tar)", "sparkle-style", "full .tar.xz"]
    lines = ["# Tree patches against the alternatives", "",
             "`benches/.venv/bin/python benches/trees.py` (one run; bytes, and × chunkdelta's size;",
             "times: medians of 5 interleaved rounds).", "",
             "| pair | " + " | ".join(sizes)
             + " | chunkdelta diff | chunkdelta apply | chunkdelta apply --no-fsync | extract .tar.zst |",
             "|---|" + "---|" * (len(sizes) + 4)]
    for row in rows:
        cells = [f"{row[s]:,}" + ("" if s == "chunkdelta" else f" ({row[s] / row['chunkdelta']:.2f}×)") for s in sizes]
        keys = ["chunkdelta diff s", "chunkdelta apply s", "chunkdelta apply --no-fsync s", "extract .tar.zst s"]
        times = [f"{row[k]:.2f} s" for k in keys]
        lines.append(f"| {row['pair']} | " + " | ".join(cells + times) + " |")
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", default=HERE.parent / "target/release/chunkdelta", type=Path)
    parser.add_argument("pairs", nargs="*", type=Path)
    args = parser.parse_args()
    pairs = args.pairs or sorted(p for p in CORPUS.iterdir() if (p / "new").is_dir())
    rows = []
    for pair in pairs:
        with tempfile.TemporaryDirectory() as work:
            rows.append(measure(pair, args.binary, Path(work)))
            print(rows[-1], flush=True)
    text = report(rows)
    (HERE / "trees.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
