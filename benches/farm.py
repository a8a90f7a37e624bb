"""Release farm throughput and overhead: one plan built locally and on Dask LocalClusters of
1 and 2 workers, against calling diff_file directly for the same pairs, in the same run.

    .venv/bin/python benches/farm.py [--repeat N] [--markdown benches/farm.md]

Needs the package and dask[distributed] in the interpreter (scripts/test-python.sh sets up
.venv so) and the dev corpus (../shared/corpus/fetch.sh dev). Two plans:

- corpus: ruff 0.17.6 for two "platforms", its executable (from 0.17.5 and from 0.16.0, the
  dev pairs ruff and ruff-jump) and its wheel (from the same versions, _wheels/): four real
  patches of seconds each, zstd level 19;
- small: examples/farm's generated release (4 old versions x 2 platforms, a file and a tree,
  signed): eight patches of milliseconds, where the farm's fixed cost per task shows.

Every run starts from an empty output directory. "direct" is a loop calling diff_file (or
diff_tree) once per pair on all cores, with the plan's options; the farm's times include
hashing the artifacts and writing the catalogue. Cluster start-up is not counted. Each
figure is the median of rounds in which every configuration runs once, in turn.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import chunkdelta
import chunkdelta.farm
import distributed

ROOT = Path(__file__).resolve().parents[1]
CORPUS = Path(os.environ.get("CORPUS_DIR", Path.home() / ".cache" / "chunkdelta-corpus"))
WHEEL = "ruff-{}-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"


def corpus_plan(work: Path) -> Path:
    """The corpus plan, over the dev pairs ruff and ruff-jump and their wheels."""
    dev, wheels = CORPUS / "dev", CORPUS / "_wheels"
    for needed in (dev / "ruff" / "new", dev / "ruff-jump" / "old", wheels / WHEEL.format("0.16.0")):
        if not needed.exists():
            sys.exit(f"missing {needed}: run ../shared/corpus/fetch.sh dev")

    def artifacts(binary: Path, version: str) -> str:
        return f'{{ linux-x86_64 = "{binary}", wheel = "{wheels / WHEEL.format(version)}" }}'

    text = f"""product = "ruff"
[release]
version = "0.17.6"
artifacts = {artifacts(dev / "ruff" / "new", "0.17.6")}
[[from]]
version = "0.17.5"
artifacts = {artifacts(dev / "ruff" / "old", "0.17.5")}
[[from]]
version = "0.16.0"
artifacts = {artifacts(dev / "ruff-jump" / "old", "0.16.0")}
[options]
codec = "zstd"
level = 19
"""
    path = work / "corpus.toml"
    path.write_text(text)
    return path


def small_plan(work: Path) -> Path:
    """examples/farm's plan over freshly generated artifacts."""
    spec = importlib.util.spec_from_file_location("farm_generate", ROOT / "examples" / "farm" / "generate.py")
    assert spec is not None and spec.loader is not None
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    generator.generate(work)
    generator.keys(work)
    shutil.copy(ROOT / "examples" / "farm" / "plan.toml", work / "small.toml")
    return work / "small.toml"


def direct(plan: chunkdelta.farm.Plan, out: Path) -> None:
    """Every pair of the plan through diff_file or diff_tree, one after another."""
    options = plan.options
    signing: dict[str, Any] = {}
    if options.sign_key is not None:
        signing = {"sign_key": options.sign_key, "product": plan.product, "release": plan.number}
    for old_release in plan.olds:
        for name, old in old_release.artifacts.items():
            new = plan.release.artifacts[name]
            diff = chunkdelta.diff_tree if new.is_dir() else chunkdelta.diff_file
            diff(old, new, out / f"{name}-{old_release.version}", codec=options.codec, level=options.level,
                 memory=options.memory, **signing)


def once(run: Callable[[Path], object], work: Path) -> float:
    """Wall time of ``run(an empty directory)``."""
    out = Path(tempfile.mkdtemp(dir=work))
    started = time.perf_counter()
    run(out)
    seconds = time.perf_counter() - started
    shutil.rmtree(out)
    return seconds


def measure(plan_path: Path, work: Path, repeat: int) -> list[tuple[str, float]]:
    """(configuration, median seconds) for the direct loop and each farm configuration, the
    configurations interleaved in each of ``repeat`` rounds so that a change of the machine's
    load falls on all of them alike."""
    plan = chunkdelta.farm.load_plan(plan_path)
    cores = os.cpu_count() or 1
    memory = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    with contextlib.ExitStack() as stack:
        clients = {}
        for workers in (1, 2):
            cluster = stack.enter_context(distributed.LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0",
                resources={"MEMORY": memory // workers},
            ))
            clients[workers] = stack.enter_context(distributed.Client(cluster))
        runs: dict[str, Callable[[Path], object]] = {
            "direct diff_file loop, all cores per diff": lambda out: direct(plan, out),
            f"farm local, 1 job x {cores} threads": lambda out: chunkdelta.farm.build(plan, out, jobs=1, progress=False),
            f"farm local, default ({min(cores, len(plan.olds) * 2)} jobs)":
                lambda out: chunkdelta.farm.build(plan, out, progress=False),
            "farm Dask LocalCluster, 1 worker x 1 task slot":
                lambda out: chunkdelta.farm.build(plan, out, client=clients[1], progress=False),
            "farm Dask LocalCluster, 2 workers x 1 task slot":
                lambda out: chunkdelta.farm.build(plan, out, client=clients[2], progress=False),
        }
        times: dict[str, list[float]] = {label: [] for label in runs}
        for _ in range(repeat):
            for label, run in runs.items():
                times[label].append(once(run, work))
    return [(label, statistics.median(seconds)) for label, seconds in times.items()]


def table(name: str, patches: int, rows: list[tuple[str, float]]) -> str:
    """Markdown rows of one plan's measurements, against the direct loop."""
    base = rows[0][1]
    lines = [f"### {name}: {patches} patches", "",
             "| run | wall s | patches/min | x direct | extra per patch |", "|---|---:|---:|---:|---:|"]
    for label, seconds in rows:
        extra = (seconds - base) / patches * 1000
        lines.append(f"| {label} | {seconds:.2f} | {patches / seconds * 60:,.1f} | {seconds / base:.2f} | {extra:+.0f} ms |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="rounds of the corpus plan (median)")
    parser.add_argument("--small-repeat", type=int, default=7, help="rounds of the small plan (median)")
    parser.add_argument("--markdown", type=Path, help="also write the report here")
    args = parser.parse_args()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        small = small_plan(work / "small")
        sections = [
            table("corpus (ruff 0.17.6 from 0.17.5 and 0.16.0: executable and wheel)", 4,
                  measure(corpus_plan(work), work, args.repeat)),
            table("small (examples/farm: 4 old versions x 2 platforms, signed)", 8,
                  measure(small, work, args.small_repeat)),
        ]
    command = " ".join(["benches/farm.py"] + sys.argv[1:])
    header = (
        f"# Release farm: throughput and overhead\n\n`.venv/bin/python {command}`; chunkdelta "
        f"{chunkdelta.__version__}, dask {distributed.__version__}, Python {platform.python_version()}, "
        f"{os.cpu_count()} cores, load average {load_before[0]:.2f} at the start and "
        f"{os.getloadavg()[0]:.2f} at the end (the machine is shared). Medians of {args.repeat} rounds "
        f"(corpus) and {args.small_repeat} (small), each running every configuration once in turn. "
        "\"x direct\" is the wall time over the direct loop's; \"extra per patch\" the difference "
        "spread over the patches."
    )
    report = "\n\n".join([header] + sections) + "\n"
    print(report)
    if args.markdown:
        args.markdown.write_text(report)


if __name__ == "__main__":
    main()
