#!/usr/bin/env python3
"""Peak anonymous memory (heap, RssAnon) of `chunkdelta apply`, apart from the mapped files.

    python3 benches/apply_memory.py OLD PATCH [--threads N]

Builds chunkdelta if needed, then polls /proc/PID/status every millisecond while apply runs
and prints the peak RssAnon and the peak total RSS (which also counts the mapped old file and
page cache of the output). compare.py reports the same figure for every tool.
"""

import argparse
import os
import tempfile

import install
import measure


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("old")
    ap.add_argument("patch")
    ap.add_argument("--threads", default="0")
    args = ap.parse_args()
    binary = install.build_chunkdelta()
    with tempfile.TemporaryDirectory() as work:
        cmd = [
            binary,
            "apply",
            "-q",
            "--threads",
            args.threads,
            args.old,
            args.patch,
            "-o",
            os.path.join(work, "out"),
        ]
        sample = measure.run(cmd, poll_anon=True)
    print(
        f"peak RssAnon {sample.anon_mib:.1f} MiB, peak RSS {sample.rss_mib:.1f} MiB, "
        f"old {os.path.getsize(args.old) / 2**20:.1f} MiB, threads {args.threads}"
    )


if __name__ == "__main__":
    main()
