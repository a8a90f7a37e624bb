"""The release farm (chunkdelta.farm): plans, local and Dask builds, signing, the catalogue
and its schema, a worker killed mid-build, incremental reruns.

The artifacts are those of examples/farm (its generate.py): five old versions and the new
one, a file per version on one platform and a directory on the other.
"""

from __future__ import annotations

import filecmp
import importlib.util
import io
import json
import os
import re
import shutil
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import jsonschema
import pytest

import chunkdelta
import chunkdelta.farm
from chunkdelta.farm import FarmError, PlanError
from chunkdelta.farm.__main__ import main

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "farm"
NEW = "1.5.0"
OLDS = ("1.4.0", "1.3.0", "1.2.0", "1.1.0")
PLATFORMS = {"linux-x86_64": "linux/app", "windows-x86_64": "windows/app"}


def _load_generator() -> Any:
    spec = importlib.util.spec_from_file_location("farm_generate", EXAMPLE / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory with artifacts/VERSION/... for 1.0.0 to 1.5.0 and keys/release.key."""
    root = tmp_path_factory.mktemp("release")
    generator = _load_generator()
    generator.generate(root)
    generator.keys(root)
    return root


def write_plan(root: Path, olds: tuple[str, ...] = OLDS, name: str = "plan.toml", **options: object) -> Path:
    """A plan from ``olds`` to 1.5.0 over both platforms, signed, with ``options``."""
    def artifacts(version: str) -> str:
        pairs = ", ".join(f'{platform} = "artifacts/{version}/{path}"' for platform, path in PLATFORMS.items())
        return "{ " + pairs + " }"

    lines = ['product = "demo"', "[release]", f'version = "{NEW}"', "number = 15", f"artifacts = {artifacts(NEW)}"]
    for version in olds:
        lines += ["[[from]]", f'version = "{version}"', f"artifacts = {artifacts(version)}"]
    settings = {"sign_key": "keys/release.key", "codec": "zstd", "memory": "64MiB", **options}
    lines += ["[options]"] + [f"{key} = {json.dumps(value)}" for key, value in settings.items()]
    path = root / name
    path.write_text("\n".join(lines) + "\n")
    return path


def check_outputs(out: Path, release: Path, olds: tuple[str, ...], work: Path) -> dict[str, Any]:
    """The catalogue is valid against its schema and lists one entry per old version and
    platform; every patch applies byte-exactly under the signing key and nothing else is in
    ``out``. Returns the catalogue."""
    content = json.loads((out / chunkdelta.farm.CATALOGUE).read_text())
    jsonschema.validate(content, chunkdelta.farm.load_schema())
    assert (content["product"], content["version"], content["release_number"]) == ("demo", NEW, 15)
    pairs = [(entry["from_version"], entry["platform"]) for entry in content["entries"]]
    assert pairs == [(version, platform) for version in olds for platform in sorted(PLATFORMS)]
    work.mkdir(parents=True, exist_ok=True)
    trust = {"trusted_keys": [release / "keys" / "release.pub"], "product": "demo", "min_release": 15}
    for entry in content["entries"]:
        old = release / "artifacts" / entry["from_version"] / PLATFORMS[entry["platform"]]
        new = release / "artifacts" / NEW / PLATFORMS[entry["platform"]]
        patch = out / entry["patch"]
        assert patch.stat().st_size == entry["patch_size"]
        assert entry["serve_full"] == (entry["patch_size"] > 0.5 * entry["new_size"])
        result = work / f"{entry['platform']}-{entry['from_version']}"
        if entry["kind"] == "tree":
            chunkdelta.apply_tree(old, patch, result, **trust)
            assert _same_tree(result, new)
            assert entry["old_blake3"] == chunkdelta.farm.tree_digest(old)
        else:
            chunkdelta.apply_file(old, patch, result, **trust)
            assert result.read_bytes() == new.read_bytes()
            assert (entry["old_blake3"], entry["new_size"]) == (chunkdelta.blake3(old), new.stat().st_size)
    listed = {entry["patch"] for entry in content["entries"]}
    present = {str(path.relative_to(out)) for path in out.rglob("*") if path.is_file()}
    assert present - listed == {chunkdelta.farm.CATALOGUE, ".farm.lock"}
    assert not (out / ".staging").exists()
    return content


def _same_tree(a: Path, b: Path) -> bool:
    """Whether two directories hold the same names and file contents."""
    comparison = filecmp.dircmp(a, b)
    _, mismatch, errors = filecmp.cmpfiles(a, b, comparison.common_files, shallow=False)
    if comparison.left_only or comparison.right_only or mismatch or errors:
        return False
    return all(_same_tree(a / name, b / name) for name in comparison.common_dirs)


def test_local_build_signs_applies_and_reruns_incrementally(release: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    report = chunkdelta.farm.build(write_plan(release), out, progress=False)
    assert len(report.built) == 8
    content = check_outputs(out, release, OLDS, tmp_path)
    assert any(entry["kind"] == "tree" for entry in content["entries"])

    untrusted = chunkdelta.keygen(tmp_path / "other")
    entry = content["entries"][0]
    old = release / "artifacts" / entry["from_version"] / PLATFORMS[entry["platform"]]
    with pytest.raises(chunkdelta.UntrustedPatchError):
        chunkdelta.verify_file(old, out / entry["patch"], trusted_keys=[tmp_path / "other.pub"])
    assert untrusted

    again = chunkdelta.farm.build(write_plan(release), out, progress=False)
    assert again.built == [] and again.catalogue == content


def test_options_key_the_outputs(release: Path, tmp_path: Path) -> None:
    """Changing an option that changes the patches builds them again, under new names."""
    out = tmp_path / "out"
    first = chunkdelta.farm.build(write_plan(release, OLDS[:1]), out, progress=False)
    second = chunkdelta.farm.build(write_plan(release, OLDS[:1], level=3), out, progress=False)
    assert len(second.built) == 2
    assert {e["patch"] for e in first.catalogue["entries"]}.isdisjoint(e["patch"] for e in second.catalogue["entries"])


def test_serve_full_follows_max_patch_ratio(release: Path, tmp_path: Path) -> None:
    report = chunkdelta.farm.build(write_plan(release, OLDS[:1], max_patch_ratio=0.001), tmp_path, progress=False)
    assert all(entry["serve_full"] for entry in report.catalogue["entries"])


def test_cli_builds_and_prints_the_summary(release: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(write_plan(release, OLDS[:2])), "-o", str(tmp_path / "out")]) == 0
    err = capsys.readouterr().err
    assert "| linux-x86_64 | 1.4.0 |" in err and "4 patches, 4 built" in err
    check_outputs(tmp_path / "out", release, OLDS[:2], tmp_path)


def test_a_leftover_of_a_killed_task_is_removed(release: Path, tmp_path: Path) -> None:
    """What a task killed mid-write leaves in staging never reaches the catalogue or stays."""
    staging = tmp_path / "out" / ".staging"
    staging.mkdir(parents=True)
    (staging / "0123.1.4.0-to-1.5.0.patch").write_bytes(b"CDPATCH partial")
    chunkdelta.farm.build(write_plan(release, OLDS[:1]), tmp_path / "out", progress=False)
    check_outputs(tmp_path / "out", release, OLDS[:1], tmp_path)


# A plan's problems: (text of a valid plan, what it becomes, the message's telling part).
BAD_PLANS = [
    ('product = "demo"', "", "missing 'product'"),
    ('product = "demo"', "product = 7", "'product' must be a string"),
    ("artifacts/1.4.0/linux/app", "artifacts/1.4.0/linux/gone", "does not exist"),
    ("windows-x86_64 = \"artifacts/1.4.0", "macos-arm64 = \"artifacts/1.4.0", "release does not have"),
    ("artifacts/1.4.0/windows/app", "artifacts/1.4.0/linux/app", "is a file but"),
    ('version = "1.3.0"', 'version = "1.4.0"', "appears twice"),
    ('version = "1.3.0"', f'version = "{NEW}"', "the release's own version"),
    ('codec = "zstd"', 'codec = "gzip"', "'codec' must be one of"),
    ('memory = "64MiB"', 'memory = "lots"', "'memory' must be bytes"),
    ('memory = "64MiB"', 'level = "high"', "'level' must be an integer"),
    ('memory = "64MiB"', "max_patch_ratio = 2", "'max_patch_ratio' must be"),
    ('memory = "64MiB"', "memroy = 1", "unknown 'memroy'"),
    ("keys/release.key", "keys/none.key", "signing key"),
    ('version = "1.3.0"', 'version = "../1.3.0"', "'version' must be"),
    ('memory = "64MiB"', "level = 99", "compression level 99 is outside"),
    ('memory = "64MiB"', 'memory = "1MiB"', "below the minimum"),
    ("keys/release.key", "keys/release.pub", "signing key|minisign|secret key"),
    ("number = 15", "number = -1", "'number' must be 0 or more"),
    ("[[from]]", "from = 3\n[[from]]", "unknown 'from'"),
    ("[options]", "[[release]]\n[options]", "not valid TOML"),
]


@pytest.mark.parametrize("old, new, message", BAD_PLANS)
def test_bad_plans_raise_plan_error(
    release: Path, tmp_path: Path, old: str, new: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = write_plan(release, OLDS[:2], name=f"{tmp_path.name}.toml")
    text = plan.read_text()
    assert old in text
    plan.write_text(text.replace(old, new, 1))
    with pytest.raises(PlanError, match=message) as raised:
        chunkdelta.farm.build(plan, tmp_path / "out", progress=False)
    assert isinstance(raised.value, chunkdelta.Error)
    assert not (tmp_path / "out").exists()
    assert main([str(plan), "-o", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_missing_plan_file(tmp_path: Path) -> None:
    with pytest.raises(PlanError, match="cannot read the plan"):
        chunkdelta.farm.load_plan(tmp_path / "none.toml")


def test_tree_digest_tells_trees_apart(release: Path, tmp_path: Path) -> None:
    tree = release / "artifacts" / NEW / "windows" / "app"
    copy = tmp_path / "copy"
    shutil.copytree(tree, copy)
    assert chunkdelta.farm.tree_digest(copy) == chunkdelta.farm.tree_digest(tree)
    (copy / "share" / "readme.txt").chmod(0o600)
    changed_mode = chunkdelta.farm.tree_digest(copy)
    assert changed_mode != chunkdelta.farm.tree_digest(tree)
    (copy / "share" / "readme.txt").write_bytes(b"other")
    assert chunkdelta.farm.tree_digest(copy) not in (changed_mode, chunkdelta.farm.tree_digest(tree))


def test_blake3_and_index_memory_match_the_core(tmp_path: Path) -> None:
    old, new = b"old release " * 5000, b"new release " * 5000
    info = chunkdelta.info(chunkdelta.diff(old, new))
    (tmp_path / "old").write_bytes(old)
    assert chunkdelta.blake3(old) == chunkdelta.blake3(tmp_path / "old") == info.old_hash
    assert chunkdelta.blake3(bytearray(new)) == info.new_hash
    full = chunkdelta.index_memory(64 << 20)
    sampled = chunkdelta.index_memory(64 << 20, memory=64 << 20)
    assert full >= 4 * (64 << 20) > 64 << 20 >= sampled > 0
    with pytest.raises(ValueError, match="below the minimum"):
        chunkdelta.index_memory(1 << 20, memory=1 << 20)
    with pytest.raises(FileNotFoundError):
        chunkdelta.blake3(tmp_path / "none")


class Terminal(io.StringIO):
    """A stream that says it is a terminal, so progress draws its bars into it."""

    def isatty(self) -> bool:
        return True


def test_progress_on_a_terminal_draws_bars(release: Path, tmp_path: Path) -> None:
    stream = Terminal()
    chunkdelta.farm.build(write_plan(release, OLDS[:2]), tmp_path, progress=stream, jobs=1)
    drawn = stream.getvalue()
    assert "patches [########################] 100% 4/4" in drawn
    assert re.search(r"^  (linux|windows)-x86_64 1\.4\.0 +\[[#.]+\] +\d+%$", drawn, re.MULTILINE)


# Dask: a real LocalCluster of two worker processes.


def kill_once(marker: str, staging: str) -> Any:
    """A worker plugin that kills the first worker to start its second task, while that task
    runs: as soon as a patch is being written in staging, else as the task finishes, before
    the worker reports it. One kill per ``marker`` file."""
    distributed = pytest.importorskip("distributed")

    def kill() -> None:
        try:
            os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            return
        os._exit(1)

    def kill_while_writing() -> None:
        while not os.path.exists(marker):
            if os.path.isdir(staging) and os.listdir(staging):
                kill()
            time.sleep(0.0002)

    class KillOnce(distributed.WorkerPlugin):  # type: ignore[misc]
        def __init__(self) -> None:
            self.started: list[str] = []

        def transition(self, key: Any, start: str, finish: str, **kwargs: Any) -> None:
            if not str(key).startswith("chunkdelta-farm-") or os.path.exists(marker):
                return
            if finish == "executing":
                self.started.append(str(key))
                if len(self.started) == 2:
                    threading.Thread(target=kill_while_writing, daemon=True).start()
            elif start == "executing" and self.started[1:2] == [str(key)]:
                kill()

    return KillOnce()


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, resources={"MEMORY": 2e9}, dashboard_address=":0"
    )
    with distributed.Client(cluster) as dask_client:
        yield dask_client
    cluster.close()


def test_dask_build_survives_a_worker_death_and_reruns_incrementally(
    release: Path, tmp_path: Path, client: Any
) -> None:
    out = tmp_path / "out"
    marker = tmp_path / "killed"
    client.register_plugin(kill_once(str(marker), str(out / ".staging")), name="kill-once")
    workers_before = set(client.scheduler_info(n_workers=-1)["workers"])
    stream = Terminal()
    report = chunkdelta.farm.build(write_plan(release), out, client=client, progress=stream)
    client.unregister_worker_plugin("kill-once")
    assert marker.exists(), "no worker was killed"
    assert set(client.scheduler_info(n_workers=-1)["workers"]) != workers_before
    assert len(report.built) == 8
    assert "patches [########################] 100% 8/8" in stream.getvalue()
    check_outputs(out, release, OLDS, tmp_path / "first")

    longer = OLDS + ("1.0.0",)
    rerun = chunkdelta.farm.build(write_plan(release, longer), out, client=client, progress=False)
    assert sorted((job.from_version, job.platform) for job in rerun.built) == [
        ("1.0.0", platform) for platform in sorted(PLATFORMS)
    ]
    check_outputs(out, release, longer, tmp_path / "second")


def test_dask_refuses_a_patch_larger_than_every_worker(release: Path, tmp_path: Path, client: Any) -> None:
    with pytest.raises(FarmError, match="more than any worker's MEMORY"):
        chunkdelta.farm.build(write_plan(release, OLDS[:1]), tmp_path, client=client, threads=64, progress=False)
    assert not (tmp_path / chunkdelta.farm.CATALOGUE).exists()


def test_cli_runs_on_a_scheduler_address(release: Path, tmp_path: Path, client: Any) -> None:
    address = client.scheduler.address
    out = tmp_path / "out"
    assert main([str(write_plan(release, OLDS[:1])), "-o", str(out), "--scheduler", address, "--quiet"]) == 0
    check_outputs(out, release, OLDS[:1], tmp_path / "work")


def test_dask_workers_without_the_memory_resource_are_refused(release: Path, tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=1, processes=False, dashboard_address=":0") as cluster:
        with distributed.Client(cluster) as plain:
            with pytest.raises(FarmError, match="--resources MEMORY="):
                chunkdelta.farm.build(write_plan(release, OLDS[:1]), tmp_path, client=plain, progress=False)
