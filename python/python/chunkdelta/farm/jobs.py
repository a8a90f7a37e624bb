"""The patches a plan needs, and the task that makes one.

A ``PatchJob`` is everything one patch needs, as plain picklable values: the artifact paths
(workers read them from the shared file system; no bytes travel through a scheduler), their
hashes, the memory the diff takes, and the patch's path in the output directory. That path
holds a key derived from the hashes of both artifacts and every option that changes the
patch's bytes, so an existing file there is the finished patch and a rerun skips it.

``make_patch`` runs one job wherever it is sent: it diffs into the output's staging
directory, then renames the finished, fsynced patch into place. A task killed at any point
leaves at most a file in staging, never a partial patch; running it again is safe.
"""

from __future__ import annotations

import heapq
import json
import os
import stat
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Optional, Protocol

import chunkdelta
from chunkdelta.farm.files import publish
from chunkdelta.farm.plan import Plan

# Where tasks write before renaming into place; removed after each successful build.
STAGING = ".staging"

# Memory a diff takes besides its index, per thread: compressor contexts and chunk buffers.
# From README "Bounded-memory diff": ruff at level 19 on 2 threads peaks at 286 MiB, of which
# ~94 MiB is its index and ~46 MiB its two mapped files, ~73 MiB per thread remain; 64 MiB
# rounds that for smaller chunks and files.
PER_THREAD_MEMORY = 64 << 20

Progress = Callable[[int, int], object]


class _Diff(Protocol):
    """What ``chunkdelta.diff_file`` and ``chunkdelta.diff_tree`` have in common."""

    def __call__(
        self,
        old: str,
        new: str,
        patch: Path,
        /,
        *,
        threads: Optional[int],
        codec: Optional[str],
        level: Optional[int],
        memory: Optional[int],
        progress: Optional[Progress],
        sign_key: Optional[str],
        product: Optional[str],
        release: Optional[int],
    ) -> object: ...


@dataclass(frozen=True)
class DiffSettings:
    """The diff keywords shared by every patch of a build."""

    product: str
    release: Optional[int]
    codec: Optional[str]
    level: Optional[int]
    memory: Optional[int]
    sign_key: Optional[str]

    @classmethod
    def from_plan(cls, plan: Plan) -> DiffSettings:
        """The settings the plan's options and release give."""
        options = plan.options
        key = str(options.sign_key) if options.sign_key is not None else None
        return cls(plan.product, plan.number, options.codec, options.level, options.memory, key)

    def fingerprint(self) -> dict[str, object]:
        """What of these settings changes a patch's bytes, with the library version (a new
        engine writes different patches) and the signing key's hash instead of its path."""
        fields: dict[str, object] = asdict(self)
        if self.sign_key is not None:
            fields["sign_key"] = chunkdelta.blake3(self.sign_key)
        fields["chunkdelta"] = chunkdelta.__version__
        return fields


@dataclass(frozen=True)
class Artifact:
    """An artifact's identity: blake3 of the file (or ``tree_digest`` of the directory), its
    size in bytes (for a directory, of its regular files), and the largest files' sizes."""

    path: str
    tree: bool
    blake3: str
    size: int
    largest: tuple[int, ...]


@dataclass(frozen=True)
class PatchJob:
    """One patch to make: from ``old`` to ``new`` for ``platform``, into ``patch`` (relative
    to the output directory), taking about ``memory`` bytes with ``threads`` threads."""

    platform: str
    from_version: str
    old: Artifact
    new: Artifact
    patch: str
    memory: int
    threads: int


@dataclass(frozen=True)
class PatchResult:
    """A finished patch: its size, and whether this build made it (``False``: an earlier
    build did, and this one kept it)."""

    job: PatchJob
    patch_size: int
    built: bool
    seconds: float


def identify(path: Path) -> Artifact:
    """Hashes the artifact at ``path``."""
    if not path.is_dir():
        size = path.stat().st_size
        return Artifact(str(path), False, chunkdelta.blake3(path), size, (size,))
    digest, sizes = _tree_listing(path)
    return Artifact(str(path), True, digest, sum(sizes), tuple(heapq.nlargest(64, sizes)))


def tree_digest(path: Path) -> str:
    """blake3 of the directory's listing: for each entry below it, in byte order of its
    relative '/'-separated path, ``d|f|l``, NUL, the path, NUL, then for a directory its
    permission bits in octal, for a file its bits, NUL, size and blake3, for a symlink its
    target, each entry ending in a newline. Equal trees (content, names, modes, links)
    have equal digests; the catalogue's ``old_blake3`` and ``new_blake3`` of tree patches."""
    return _tree_listing(path)[0]


def _tree_listing(root: Path) -> tuple[str, list[int]]:
    """``tree_digest`` of ``root`` and the sizes of its regular files."""
    lines, sizes = [], []
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, root).replace(os.sep, "/").encode("utf-8", "surrogateescape")
            info = os.lstat(full)
            mode = f"{stat.S_IMODE(info.st_mode):o}".encode()
            if stat.S_ISLNK(info.st_mode):
                line = b"l\0" + rel + b"\0" + os.fsencode(os.readlink(full))
            elif stat.S_ISDIR(info.st_mode):
                line = b"d\0" + rel + b"\0" + mode
            else:
                line = b"f\0" + rel + b"\0" + mode + f"\0{info.st_size}\0{chunkdelta.blake3(full)}".encode()
                sizes.append(info.st_size)
            lines.append((rel, line + b"\n"))
    return chunkdelta.blake3(b"".join(line for _, line in sorted(lines))), sizes


def plan_jobs(plan: Plan, settings: DiffSettings, threads: int) -> list[PatchJob]:
    """Every patch of the plan, in plan order (old releases, then platforms by name), for
    diffs on ``threads`` threads; hashes each artifact once."""
    news = {platform: identify(path) for platform, path in plan.release.artifacts.items()}
    fingerprint = settings.fingerprint()
    jobs = []
    for old_release in plan.olds:
        for platform, path in sorted(old_release.artifacts.items()):
            old, new = identify(path), news[platform]
            key = _job_key(old, new, fingerprint)
            suffix = "tpatch" if new.tree else "patch"
            name = f"{platform}/{old_release.version}-to-{plan.release.version}.{key[:20]}.{suffix}"
            memory = estimate_memory(old, new, threads, settings.memory)
            jobs.append(PatchJob(platform, old_release.version, old, new, name, memory, threads))
    return jobs


def _job_key(old: Artifact, new: Artifact, fingerprint: dict[str, object]) -> str:
    """blake3 of the inputs' hashes and the settings: equal keys make equal patches."""
    material = {"old": old.blake3, "new": new.blake3, "tree": new.tree, **fingerprint}
    return chunkdelta.blake3(json.dumps(material, sort_keys=True).encode())


def estimate_memory(old: Artifact, new: Artifact, threads: int, budget: Optional[int]) -> int:
    """Bytes a diff of ``old`` to ``new`` on ``threads`` threads takes at most, about: the
    index of old under the memory ``budget`` (``chunkdelta.index_memory``; for a tree, of its
    ``threads`` largest files, which are diffed in parallel), both artifacts (mapped; a tree
    patch is also built in memory, up to the new tree's size) and ``PER_THREAD_MEMORY``."""
    indexes = sum(chunkdelta.index_memory(size, memory=budget) for size in old.largest[:threads])
    in_memory = new.size if new.tree else 0
    return indexes + old.size + new.size + in_memory + threads * PER_THREAD_MEMORY


def make_patch(job: PatchJob, out: str, settings: DiffSettings, progress: Optional[Progress] = None) -> PatchResult:
    """Makes the job's patch under the output directory ``out`` unless it exists, signed
    when ``settings.sign_key`` is set. Idempotent; never leaves a partial patch in place."""
    dest = Path(out, job.patch)
    if dest.exists():
        # The build skips patches that existed when it started: this is a retry of a task
        # whose first attempt renamed its patch into place, then died before reporting.
        return PatchResult(job, dest.stat().st_size, built=True, seconds=0.0)
    staging = Path(out, STAGING)
    staging.mkdir(exist_ok=True)
    temp = staging / f"{uuid.uuid4().hex}.{dest.name}"
    started = time.perf_counter()
    diff: _Diff = chunkdelta.diff_tree if job.new.tree else chunkdelta.diff_file
    try:
        diff(
            job.old.path,
            job.new.path,
            temp,
            threads=job.threads,
            codec=settings.codec,
            level=settings.level,
            memory=settings.memory,
            progress=progress,
            sign_key=settings.sign_key,
            product=settings.product if settings.sign_key else None,
            release=settings.release if settings.sign_key else None,
        )
        size = temp.stat().st_size
        publish(temp, dest)
    finally:
        temp.unlink(missing_ok=True)
    return PatchResult(job, size, built=True, seconds=time.perf_counter() - started)
