"""The native module of chunkdelta; use the names re-exported by ``chunkdelta``."""

import os
from typing import Callable, Optional, Sequence, Union, final

from _typeshed import ReadableBuffer

__all__ = [
    "__version__",
    "PatchInfo",
    "Signature",
    "ExecInfo",
    "TreeInfo",
    "TreeEntry",
    "OldFile",
    "InPlaceReport",
    "diff",
    "apply",
    "diff_file",
    "apply_file",
    "verify_file",
    "info",
    "keygen",
    "sign",
    "sign_file",
    "diff_tree",
    "apply_tree",
    "verify_tree",
    "apply_tree_in_place",
    "commit_tree",
    "rollback_tree",
    "recover_tree",
    "tree_info",
    "blake3",
    "index_memory",
]

_StrPath = Union[str, os.PathLike[str]]
# Any return value continues, except False, which cancels.
_Progress = Callable[[int, int], object]
# The password of an encrypted minisign secret key.
_Password = Union[str, bytes]

__version__: str

@final
class PatchInfo:
    """What a patch's header and chunk table say. Hashes are blake3, as lower-case hex."""

    @property
    def format_version(self) -> int: ...
    @property
    def codec(self) -> Optional[str]: ...
    @property
    def old_size(self) -> int: ...
    @property
    def new_size(self) -> int: ...
    @property
    def chunk_count(self) -> int: ...
    @property
    def patch_size(self) -> int: ...
    @property
    def old_hash(self) -> str: ...
    @property
    def new_hash(self) -> str: ...
    @property
    def signing_digest(self) -> str: ...
    @property
    def signatures(self) -> list[Signature]: ...
    @property
    def container(self) -> Optional[str]: ...
    @property
    def members_expanded(self) -> int: ...
    @property
    def members_rebuilt(self) -> int: ...
    @property
    def members_rebuilt_by_tokens(self) -> int: ...
    @property
    def exec(self) -> Optional[ExecInfo]: ...

@final
class Signature:
    """One signature of a patch and the metadata it signs; reading it verifies nothing."""

    @property
    def key_id(self) -> str: ...
    @property
    def created(self) -> int: ...
    @property
    def expires(self) -> Optional[int]: ...
    @property
    def product(self) -> Optional[str]: ...
    @property
    def release(self) -> Optional[int]: ...

@final
class ExecInfo:
    """The executable transform of a version-4 patch: pointer fields coded as corrections."""

    @property
    def arch(self) -> str: ...
    @property
    def extractor_version(self) -> int: ...
    @property
    def old_references(self) -> int: ...
    @property
    def map_pieces(self) -> int: ...
    @property
    def block_len(self) -> int: ...

def diff(
    old: ReadableBuffer,
    new: ReadableBuffer,
    *,
    level: Optional[int] = None,
    threads: Optional[int] = None,
    chunk_size: Optional[int] = None,
    memory: Optional[int] = None,
    codec: Optional[str] = None,
    containers: bool = True,
    exec: bool = True,
    sign_key: Optional[_StrPath] = None,
    key_password: Optional[_Password] = None,
    expires: Optional[int] = None,
    product: Optional[str] = None,
    release: Optional[int] = None,
) -> bytes: ...
def apply(
    old: ReadableBuffer,
    patch: ReadableBuffer,
    *,
    threads: Optional[int] = None,
    trusted_keys: Optional[Sequence[_StrPath]] = None,
    trust_dir: Optional[_StrPath] = None,
    product: Optional[str] = None,
    min_release: Optional[int] = None,
) -> bytes: ...
def diff_file(
    old_path: _StrPath,
    new_path: _StrPath,
    patch_path: _StrPath,
    *,
    level: Optional[int] = None,
    threads: Optional[int] = None,
    chunk_size: Optional[int] = None,
    memory: Optional[int] = None,
    codec: Optional[str] = None,
    containers: bool = True,
    exec: bool = True,
    progress: Optional[_Progress] = None,
    sign_key: Optional[_StrPath] = None,
    key_password: Optional[_Password] = None,
    expires: Optional[int] = None,
    product: Optional[str] = None,
    release: Optional[int] = None,
) -> PatchInfo: ...
def apply_file(
    old_path: _StrPath,
    patch_path: _StrPath,
    out_path: _StrPath,
    *,
    threads: Optional[int] = None,
    durable: bool = True,
    progress: Optional[_Progress] = None,
    trusted_keys: Optional[Sequence[_StrPath]] = None,
    trust_dir: Optional[_StrPath] = None,
    product: Optional[str] = None,
    min_release: Optional[int] = None,
) -> None: ...
def verify_file(
    old_path: _StrPath,
    patch_path: _StrPath,
    *,
    threads: Optional[int] = None,
    progress: Optional[_Progress] = None,
    trusted_keys: Optional[Sequence[_StrPath]] = None,
    trust_dir: Optional[_StrPath] = None,
    product: Optional[str] = None,
    min_release: Optional[int] = None,
) -> None: ...
def info(patch: Union[ReadableBuffer, _StrPath]) -> PatchInfo: ...
def keygen(base: _StrPath, *, overwrite: bool = False) -> str: ...
def sign(
    patch: ReadableBuffer,
    key_path: _StrPath,
    *,
    password: Optional[_Password] = None,
    created: Optional[int] = None,
    expires: Optional[int] = None,
    product: Optional[str] = None,
    release: Optional[int] = None,
) -> bytes: ...
def sign_file(
    patch_path: _StrPath,
    key_path: _StrPath,
    *,
    password: Optional[_Password] = None,
    created: Optional[int] = None,
    expires: Optional[int] = None,
    product: Optional[str] = None,
    release: Optional[int] = None,
) -> list[Signature]: ...

@final
class OldFile:
    """One file of the old tree that a tree patch reads; apply checks its size and hash first.

    ``hash`` is its blake3 (tree format 1) or the first 4 bytes of it (format 2, whose old
    digest covers every old file's whole hash)."""

    @property
    def path(self) -> str: ...
    @property
    def size(self) -> int: ...
    @property
    def hash(self) -> str: ...

@final
class TreeEntry:
    """One entry of the new tree and how apply makes it; fields that do not apply are None."""

    @property
    def path(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def mode(self) -> int: ...
    @property
    def size(self) -> Optional[int]: ...
    @property
    def hash(self) -> Optional[str]: ...
    @property
    def op(self) -> Optional[str]: ...
    @property
    def old(self) -> Optional[str]: ...
    @property
    def blob_len(self) -> Optional[int]: ...
    @property
    def target(self) -> Optional[str]: ...
    @property
    def mtime_ns(self) -> Optional[int]: ...

@final
class TreeInfo:
    """What a tree patch says about itself. Hashes are blake3, as lower-case hex."""

    @property
    def format_version(self) -> int: ...
    @property
    def entries(self) -> list[TreeEntry]: ...
    @property
    def old_files(self) -> list[OldFile]: ...
    @property
    def solid_len(self) -> Optional[int]: ...
    @property
    def solid_bases(self) -> list[str]: ...
    @property
    def removed(self) -> list[str]: ...
    @property
    def patch_size(self) -> int: ...
    @property
    def manifest_hash(self) -> str: ...
    @property
    def signing_digest(self) -> str: ...
    @property
    def signatures(self) -> list[Signature]: ...

@final
class InPlaceReport:
    """What apply_tree_in_place did: the patch's info, the carried paths, whether it resumed."""

    @property
    def info(self) -> TreeInfo: ...
    @property
    def carried(self) -> list[str]: ...
    @property
    def resumed(self) -> bool: ...

def diff_tree(
    old_dir: _StrPath,
    new_dir: _StrPath,
    patch_path: _StrPath,
    *,
    level: Optional[int] = None,
    threads: Optional[int] = None,
    chunk_size: Optional[int] = None,
    memory: Optional[int] = None,
    codec: Optional[str] = None,
    hard_links: bool = False,
    mtimes: bool = False,
    progress: Optional[_Progress] = None,
    sign_key: Optional[_StrPath] = None,
    key_password: Optional[_Password] = None,
    expires: Optional[int] = None,
    product: Optional[str] = None,
    release: Optional[int] = None,
) -> TreeInfo: ...
def apply_tree(
    old_dir: _StrPath,
    patch_path: _StrPath,
    out_dir: _StrPath,
    *,
    threads: Optional[int] = None,
    durable: bool = True,
    progress: Optional[_Progress] = None,
    trusted_keys: Optional[Sequence[_StrPath]] = None,
    trust_dir: Optional[_StrPath] = None,
    product: Optional[str] = None,
    min_release: Optional[int] = None,
) -> TreeInfo: ...
def verify_tree(
    old_dir: _StrPath,
    patch_path: _StrPath,
    *,
    threads: Optional[int] = None,
    progress: Optional[_Progress] = None,
    trusted_keys: Optional[Sequence[_StrPath]] = None,
    trust_dir: Optional[_StrPath] = None,
    product: Optional[str] = None,
    min_release: Optional[int] = None,
) -> TreeInfo: ...
def apply_tree_in_place(
    dir: _StrPath,
    patch_path: _StrPath,
    *,
    threads: Optional[int] = None,
    durable: bool = True,
    progress: Optional[_Progress] = None,
    trusted_keys: Optional[Sequence[_StrPath]] = None,
    trust_dir: Optional[_StrPath] = None,
    product: Optional[str] = None,
    min_release: Optional[int] = None,
) -> InPlaceReport: ...
def commit_tree(dir: _StrPath) -> None: ...
def rollback_tree(dir: _StrPath) -> None: ...
def recover_tree(dir: _StrPath) -> str: ...
def tree_info(patch: Union[ReadableBuffer, _StrPath]) -> TreeInfo: ...
def blake3(data: Union[ReadableBuffer, _StrPath]) -> str: ...
def index_memory(old_size: int, *, memory: Optional[int] = None) -> int: ...
