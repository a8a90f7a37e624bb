"""``python -m chunkdelta.farm PLAN -o OUT [--scheduler ADDRESS]``: builds a release's
patches and catalogue (see ``chunkdelta.farm.build``), then prints the summary table.

Exits 0 on success, 1 when a patch cannot be made or the cluster cannot run it, 2 for a bad
plan or bad arguments, 130 on Ctrl-C; errors are one line on stderr, without a traceback.
"""

from __future__ import annotations

import argparse
import sys
from typing import Optional, Sequence

from chunkdelta.farm.build import build
from chunkdelta.farm.errors import FarmError, PlanError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m chunkdelta.farm",
        description="Build every patch of a release plan (TOML) and its catalogue.json.",
    )
    parser.add_argument("plan", help="the plan file (TOML)")
    parser.add_argument("-o", "--out", required=True, help="output directory: patches and catalogue.json")
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run each patch as a task on this Dask scheduler (workers need --resources MEMORY=<bytes>)",
    )
    parser.add_argument("--jobs", type=int, help="local: patches made at once (default: one per core)")
    parser.add_argument("--threads", type=int, help="threads per diff (default: cores divided among the jobs)")
    parser.add_argument("--retries", type=int, default=3, help="Dask: retries of a failed task (default 3)")
    parser.add_argument("--quiet", action="store_true", help="no progress, no summary")
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Runs the command line; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        report = build(
            args.plan,
            args.out,
            scheduler=args.scheduler,
            jobs=args.jobs,
            threads=args.threads,
            retries=args.retries,
            progress=False if args.quiet else None,
        )
    except PlanError as error:
        print(f"chunkdelta.farm: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("chunkdelta.farm: interrupted; finished patches are kept for the next run", file=sys.stderr)
        return 130
    except FarmError as error:
        cause = f" ({error.__cause__})" if error.__cause__ and str(error.__cause__) not in str(error) else ""
        print(f"chunkdelta.farm: {error}{cause}", file=sys.stderr)
        return 1
    if not args.quiet:
        print(report.summary(), file=sys.stderr)
        print(f"catalogue: {report.catalogue_path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
