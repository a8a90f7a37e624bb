#!/usr/bin/env python3
"""Huge inputs: diff and apply a generated N GiB pair, in full-index and bounded-memory modes.

    python3 benches/huge.py DIR [--size GIB] [--memory SIZE ...] [--level N] [--threads N]
    python3 benches/huge.py DIR --sparse-check

Generates (unless already there) DIR/old and DIR/new: N GiB (default 8) of blocks that are
random, text-like (low entropy) or repeats of earlier blocks, and a new release with inserts,
deletes, changed bytes and blocks moved from elsewhere, at unaligned offsets. Nothing is
committed; the pair takes 2N GiB of disk.

Then runs `chunkdelta diff` in full mode (the default budget, and only when the full index fits
in the available memory: 4 bytes per byte of old, 8 from 2 GiB on) and in bounded mode (each
`--memory`), and `chunkdelta apply` on each patch. For every run it prints wall time, CPU time,
peak RSS (wait4's ru_maxrss, which counts the mapped inputs) and peak RssAnon (polled from
/proc/PID/status: heap alone), and the patch size; each output is compared with new by hash.

`--sparse-check` instead checks 64-bit offsets cheaply: a sparse 5 GiB old with data above
4 GiB, a new that moves that data and adds more, a bounded diff and an apply that must give
new back byte for byte.

Uses the release binary in $CARGO_TARGET_DIR or target/ (`cargo build --release -p
chunkdelta-cli`), or --bin.
"""

import argparse
import hashlib
import json
import os
import random
import subprocess
import sys
import time

from measure import status_kib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GIB = 1 << 30
MIB = 1 << 20
# Text-like bytes: random bytes mapped onto 16 letters compress to about half.
TEXT = bytes.maketrans(bytes(range(256)), bytes(b"etaoinshrdlu cmf"[i % 16] for i in range(256)))
POLL_SECONDS = 0.02


def default_binary():
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    return os.path.join(target, "release", "chunkdelta")


def old_blocks(rng, size):
    """Yields blocks of old totalling `size` bytes: random, text-like or an edited repeat."""
    recent = []
    done = 0
    while done < size:
        length = min(rng.randint(64 << 10, 1 << 20), size - done)
        kind = rng.random()
        if kind < 0.25 and recent:
            block = bytearray(rng.choice(recent)[:length])
            for _ in range(8):
                block[rng.randrange(len(block))] ^= 0xFF
            block = bytes(block)
        elif kind < 0.55:
            block = os.urandom(length).translate(TEXT)
        elif kind < 0.6:
            block = bytes(length)
        else:
            block = os.urandom(length)
        if len(recent) == 64:
            recent.pop(rng.randrange(64))
        recent.append(block)
        done += len(block)
        yield block


def write_old(path, size, seed):
    rng = random.Random(seed)
    with open(path + ".tmp", "wb") as out:
        for block in old_blocks(rng, size):
            out.write(block)
    os.replace(path + ".tmp", path)


def edit_window(rng, window, old, old_size):
    """`window` of old with a few edits: insert, delete, change bytes, or a block moved in."""
    window = bytearray(window)
    for _ in range(rng.randint(1, 6)):
        at = rng.randrange(len(window) + 1)
        kind = rng.randrange(4)
        if kind == 0:
            window[at:at] = os.urandom(rng.randint(1, 4096))
        elif kind == 1:
            del window[at:at + rng.randint(1, 4096)]
        elif kind == 2:
            for i in range(at, min(at + rng.randint(1, 64), len(window))):
                window[i] ^= rng.randrange(1, 256)
        else:
            length = rng.randint(4 << 10, 256 << 10)
            start = rng.randrange(max(1, old_size - length))
            old.seek(start)
            window[at:at] = old.read(length)
    return window


def write_new(old_path, path, seed):
    """Writes new from old in 4 MiB windows with edits; returns its sha1."""
    rng = random.Random(seed)
    digest = hashlib.sha1()
    old_size = os.path.getsize(old_path)
    with open(old_path, "rb") as old, open(old_path, "rb") as source, open(path + ".tmp", "wb") as out:
        while True:
            window = old.read(4 * MIB)
            if not window:
                break
            block = edit_window(rng, window, source, old_size)
            digest.update(block)
            out.write(block)
    os.replace(path + ".tmp", path)
    return digest.hexdigest()


def sha1_file(path):
    digest = hashlib.sha1()
    with open(path, "rb") as f:
        while chunk := f.read(16 * MIB):
            digest.update(chunk)
    return digest.hexdigest()


def measure(command):
    """Runs `command`; returns wall and CPU seconds, peak RSS and peak RssAnon in bytes."""
    started = time.monotonic()
    proc = subprocess.Popen(command)
    peak_anon = 0
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        peak_anon = max(peak_anon, status_kib(proc.pid, "RssAnon"))
        time.sleep(POLL_SECONDS)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed with {proc.returncode}")
    return {
        "wall_s": round(time.monotonic() - started, 1),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
        "peak_rss": usage.ru_maxrss * 1024,
        "peak_rss_anon": peak_anon * 1024,
    }


def available_memory():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    return 0


def full_index_bytes(old_size):
    return old_size * (8 if old_size >= 2**31 - 1 else 4)


def run_pair(args, old, new, new_sha1, modes):
    results = []
    for label, memory in modes:
        patch = os.path.join(args.dir, f"patch.{label}")
        out = os.path.join(args.dir, f"out.{label}")
        diff = [args.bin, "diff", "-q", old, new, "-o", patch, "--level", str(args.level),
                "--threads", str(args.threads)]
        if memory:
            diff += ["--memory", memory]
        row = {"mode": label, "memory": memory or "default", "old_size": os.path.getsize(old)}
        row["diff"] = measure(diff)
        row["patch_size"] = os.path.getsize(patch)
        row["apply"] = measure([args.bin, "apply", "-q", old, patch, "-o", out, "--threads", str(args.threads)])
        row["byte_exact"] = sha1_file(out) == new_sha1
        os.unlink(out)
        print(json.dumps(row), flush=True)
        results.append(row)
    return results


def table(results):
    lines = ["| mode | diff wall | diff CPU | diff peak RSS | diff peak RssAnon | patch | apply wall | "
             "apply peak RssAnon | exact |", "|---" * 9 + "|"]
    for r in results:
        d, a = r["diff"], r["apply"]
        lines.append(f"| {r['mode']} | {d['wall_s']} s | {d['cpu_s']} s | {d['peak_rss'] / GIB:.2f} GiB | "
                     f"{d['peak_rss_anon'] / GIB:.2f} GiB | {r['patch_size'] / MIB:.1f} MiB | {a['wall_s']} s | "
                     f"{a['peak_rss_anon'] / MIB:.0f} MiB | {r['byte_exact']} |")
    return "\n".join(lines)


def huge(args):
    size = int(args.size * GIB)
    old, new = os.path.join(args.dir, "old"), os.path.join(args.dir, "new")
    if not (os.path.exists(old) and os.path.getsize(old) == size and os.path.exists(new + ".sha1")):
        started = time.monotonic()
        write_old(old, size, args.seed)
        with open(new + ".sha1", "w") as f:
            f.write(write_new(old, new, args.seed + 1))
        print(f"generated {args.size} GiB pair in {time.monotonic() - started:.0f} s", file=sys.stderr)
    with open(new + ".sha1") as f:
        new_sha1 = f.read().strip()
    modes = []
    fits = full_index_bytes(size) < 0.8 * available_memory()
    if fits and not args.skip_full:
        modes.append(("full", str(1 << 40)))
    elif not fits:
        print(f"full mode skipped: its index needs {full_index_bytes(size) / GIB:.0f} GiB", file=sys.stderr)
    modes += [(f"bounded-{memory}", memory) for memory in args.memory]
    results = run_pair(args, old, new, new_sha1, modes)
    print(table(results))


def sparse_check(args):
    """64-bit offsets: data above 4 GiB in a sparse old must be found and copied by apply."""
    size = 5 * GIB
    old, new = os.path.join(args.dir, "sparse-old"), os.path.join(args.dir, "sparse-new")
    rng = random.Random(args.seed)
    payload = [os.urandom(rng.randint(1, 4) * MIB) for _ in range(4)]
    with open(old, "wb") as f:
        f.truncate(size)
        for i, block in enumerate(payload):
            f.seek(4 * GIB + i * 200 * MIB + 12345)
            f.write(block)
    with open(new, "wb") as f:
        f.truncate(size + 3)
        for i, block in enumerate(reversed(payload)):
            f.seek(4 * GIB + i * 150 * MIB + 777)
            f.write(block)
        f.seek(size - 5 * MIB)
        f.write(payload[0][:1000] + os.urandom(1000))
    new_sha1 = sha1_file(new)
    results = run_pair(args, old, new, new_sha1, [("sparse-bounded", args.memory[0])])
    print(table(results))
    for path in (old, new):
        os.unlink(path)
    if not all(r["byte_exact"] for r in results) or results[0]["patch_size"] > 4 * MIB:
        raise SystemExit("64-bit offsets: the patch did not round-trip or did not find the moved data")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dir", help="where the pair, patches and outputs go")
    parser.add_argument("--size", type=float, default=8, help="GiB of old (default 8)")
    parser.add_argument("--memory", nargs="+", default=["4GiB"], help="budgets for bounded mode (default 4GiB)")
    parser.add_argument("--level", type=int, default=19, help="zstd level (default 19, the CLI's)")
    parser.add_argument("--threads", type=int, default=0, help="worker threads (default: all cores)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--bin", default=default_binary(), help="the chunkdelta binary")
    parser.add_argument("--skip-full", action="store_true", help="run the bounded mode only")
    parser.add_argument("--sparse-check", action="store_true", help="check 64-bit offsets on a sparse pair")
    args = parser.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    sparse_check(args) if args.sparse_check else huge(args)


if __name__ == "__main__":
    main()
