#!/usr/bin/env python3
"""Peak anonymous memory (heap, RssAnon) of `chunkdelta apply`, apart from the mapped files.

    python3 benches/apply_memory.py OLD PATCH [--threads N]

Polls /proc/PID/status every millisecond while apply runs and prints the peak RssAnon and the
peak total RSS (which also counts the mapped old file and page cache of the output).
"""
import argparse
import os
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def status_kib(pid, field):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except FileNotFoundError:
        return 0
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("old")
    ap.add_argument("patch")
    ap.add_argument("--threads", default="0")
    args = ap.parse_args()
    binary = os.path.join(ROOT, "target", "release", "chunkdelta")
    with tempfile.TemporaryDirectory() as work:
        out = os.path.join(work, "out")
        cmd = [binary, "apply", "-q", "--threads", args.threads, args.old, args.patch, "-o", out]
        proc = subprocess.Popen(cmd)
        peak_anon = peak_rss = 0
        while proc.poll() is None:
            peak_anon = max(peak_anon, status_kib(proc.pid, "RssAnon"))
            peak_rss = max(peak_rss, status_kib(proc.pid, "VmHWM"))
            time.sleep(0.001)
        if proc.returncode != 0:
            raise SystemExit(f"apply failed with {proc.returncode}")
    print(f"peak RssAnon {peak_anon / 1024:.1f} MiB, peak RSS {peak_rss / 1024:.1f} MiB, "
          f"old {os.path.getsize(args.old) / 2**20:.1f} MiB, threads {args.threads}")


if __name__ == "__main__":
    main()
