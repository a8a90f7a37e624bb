"""chunkdelta: chunked, parallel, verified binary delta patches.

Bytes in memory::

    patch = chunkdelta.diff(old, new)
    assert chunkdelta.apply(old, patch) == new

Files (str or os.PathLike; outputs appear only once complete)::

    info = chunkdelta.diff_file("app-1.0", "app-1.1", "app.patch")
    chunkdelta.apply_file("app-1.0", "app.patch", "app-1.1.new")

Signed patches (Ed25519, minisign key files)::

    key_id = chunkdelta.keygen("release")       # release.key (secret) and release.pub
    signed = chunkdelta.sign(patch, "release.key", product="app", release=12)
    chunkdelta.apply(old, signed, trusted_keys=["release.pub"], product="app", min_release=11)

Release trees (whole directories; in place with an atomic swap, commit and rollback)::

    chunkdelta.diff_tree("app-1.0/", "app-1.1/", "app.tpatch")
    chunkdelta.apply_tree("app-1.0/", "app.tpatch", "app-1.1.new/")
    report = chunkdelta.apply_tree_in_place("/opt/app", "app.tpatch", trust_dir="/etc/app/keys")
    chunkdelta.commit_tree("/opt/app")              # or rollback_tree; recover_tree after a crash

Release farms (every patch of a release, locally or on Dask; see ``chunkdelta.farm``)::

    python -m chunkdelta.farm plan.toml -o out/     # out/catalogue.json and the patches

``diff``, ``patch``, ``file_diff``, ``file_patch`` and ``file_patch_inplace`` take the
arguments of their bsdiff4 namesakes, so ``import chunkdelta as bsdiff4`` works for them.
``diff`` writes chunkdelta patches; ``apply``, ``patch``, ``apply_file``, ``file_patch`` and
``verify_file`` also apply BSDIFF40 patches (bsdiff4, bsdiff 4.x) and ENDSLEY/BSDIFF43 ones,
told by their magic. Those carry no hashes: a wrong old file goes unnoticed.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Union

from chunkdelta._chunkdelta import (
    ExecInfo,
    InPlaceReport,
    OldFile,
    PatchInfo,
    Signature,
    TreeEntry,
    TreeInfo,
    __version__,
    apply,
    apply_file,
    apply_tree,
    apply_tree_in_place,
    blake3,
    commit_tree,
    diff,
    diff_file,
    diff_tree,
    index_memory,
    info,
    keygen,
    recover_tree,
    rollback_tree,
    sign,
    sign_file,
    tree_info,
    verify_file,
    verify_tree,
)

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

__all__ = [
    "CancelledError",
    "CorruptPatchError",
    "Error",
    "ExecInfo",
    "InPlaceReport",
    "LimitExceededError",
    "OldFile",
    "PatchInfo",
    "RebuildMismatchError",
    "Signature",
    "SourceMismatchError",
    "TreeEntry",
    "TreeInfo",
    "UnsupportedVersionError",
    "UntrustedPatchError",
    "__version__",
    "apply",
    "apply_file",
    "apply_tree",
    "apply_tree_in_place",
    "blake3",
    "commit_tree",
    "diff",
    "diff_file",
    "diff_tree",
    "file_diff",
    "file_patch",
    "file_patch_inplace",
    "index_memory",
    "info",
    "keygen",
    "patch",
    "recover_tree",
    "rollback_tree",
    "sign",
    "sign_file",
    "tree_info",
    "verify_file",
    "verify_tree",
]

StrPath = Union[str, "os.PathLike[str]"]


# The native module raises these by name (python/src/errors.rs). File-system problems raise
# the standard OSError subclasses, bad argument values ValueError, wrong types TypeError.


class Error(Exception):
    """Base class of chunkdelta's own errors."""


class CorruptPatchError(Error, ValueError):
    """The patch is not a well-formed chunkdelta patch: bad magic, truncated, inconsistent
    sizes, bad compressed data, or a hash that does not match."""


class UnsupportedVersionError(CorruptPatchError):
    """The patch is written in a format version this library does not read."""


class SourceMismatchError(Error):
    """The old file or data given is not the one the patch was made for."""


class LimitExceededError(Error):
    """A size in the patch or the input exceeds a limit of the format or of this library."""


class CancelledError(Error):
    """The progress callback returned False; nothing was written."""


class UntrustedPatchError(Error):
    """Trusted keys were given (trusted_keys or trust_dir) and the patch does not meet them:
    unsigned, signed by no trusted key, expired, for another product, or below the minimum
    release. Nothing was decoded or written; the message names the rule each signature
    failed."""


class RebuildMismatchError(Error):
    """A container patch's members do not deflate on this machine to the bytes the patch
    records, or an executable patch's analysis of the old file (its pointer fields) differs
    from the one diff made: the patch cannot rebuild the file here, so fetch the full new
    file instead. Nothing was written."""


def file_diff(src_path: StrPath, dst_path: StrPath, patch_path: StrPath) -> None:
    """Writes to ``patch_path`` a patch from ``src_path`` to ``dst_path`` (bsdiff4 order)."""
    diff_file(src_path, dst_path, patch_path)


def file_patch(src_path: StrPath, dst_path: StrPath, patch_path: StrPath) -> None:
    """Applies ``patch_path`` to ``src_path``, writing ``dst_path`` (bsdiff4 order)."""
    apply_file(src_path, patch_path, dst_path)


def file_patch_inplace(path: StrPath, patch_path: StrPath) -> None:
    """Applies ``patch_path`` to ``path``, replacing it atomically once the result is verified."""
    apply_file(path, patch_path, path)


def patch(src_bytes: ReadableBuffer, patch_bytes: ReadableBuffer) -> bytes:
    """Applies ``patch_bytes`` to ``src_bytes`` and returns the new bytes; same as ``apply``."""
    return apply(src_bytes, patch_bytes)
