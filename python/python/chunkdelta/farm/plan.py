"""Reading and checking a release plan (TOML).

A plan names a product, the new release and the old releases to patch from, each with one
artifact (a file, or a directory for tree patches) per platform, and the diff options::

    product = "demo"

    [release]
    version = "1.2.0"
    number = 12                       # optional: the signatures' release number
    artifacts = { linux-x86_64 = "1.2.0/linux/app", windows-x86_64 = "1.2.0/win/app.exe" }

    [[from]]
    version = "1.1.0"
    artifacts = { linux-x86_64 = "1.1.0/linux/app", windows-x86_64 = "1.1.0/win/app.exe" }

    [options]                         # all optional
    sign_key = "keys/release.key"     # unencrypted minisign secret key; else patches are unsigned
    codec = "zstd"                    # "zstd", "xz" (the default) or "auto"
    level = 19
    memory = "2GiB"                   # index budget per patch: bytes, or a "KiB"/"MiB"/"GiB" size
    max_patch_ratio = 0.5             # serve the full artifact when patch > ratio x artifact

Paths are relative to the plan file's directory. Every problem is a ``PlanError`` naming the
plan and the key.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Optional, Union

import chunkdelta
from chunkdelta.farm.errors import PlanError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.9 and 3.10 only
    import tomli as tomllib

StrPath = Union[str, "os.PathLike[str]"]

# Versions and platforms become file names in the output directory.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*")
_SIZE = re.compile(r"\s*(\d+)\s*(B|KiB|MiB|GiB|TiB)?\s*")
_UNITS = {None: 1, "B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40}
_CODECS = ("zstd", "xz", "auto")

DEFAULT_MAX_PATCH_RATIO = 0.5


@dataclass(frozen=True)
class Release:
    """One version of the product: its artifact path per platform (absolute, existing)."""

    version: str
    artifacts: Mapping[str, Path]


@dataclass(frozen=True)
class Options:
    """How every patch of the plan is made; ``None`` leaves the library's default."""

    sign_key: Optional[Path] = None
    codec: Optional[str] = None
    level: Optional[int] = None
    memory: Optional[int] = None
    max_patch_ratio: float = DEFAULT_MAX_PATCH_RATIO


@dataclass(frozen=True)
class Plan:
    """A checked plan: every old platform is a release platform, every artifact exists, and an
    old artifact is a directory exactly when the new one is."""

    product: str
    release: Release
    number: Optional[int]
    olds: tuple[Release, ...]
    options: Options


def load_plan(path: StrPath) -> Plan:
    """Reads and checks the plan file at ``path``; raises ``PlanError`` on any problem."""
    path = Path(path)
    try:
        with open(path, "rb") as file:
            table = tomllib.load(file)
    except OSError as error:
        raise PlanError(f"cannot read the plan {path}: {error.strerror or error}") from error
    except tomllib.TOMLDecodeError as error:
        raise PlanError(f"{path} is not valid TOML: {error}") from error
    return parse_plan(table, path.resolve().parent, str(path))


def parse_plan(table: Mapping[str, Any], base: Path, where: str = "the plan") -> Plan:
    """Checks the parsed TOML ``table``, resolving paths against the directory ``base``."""
    _check_keys(table, where, {"product", "release", "from", "options"}, {"product", "release"})
    product = _name(table, "product", where)
    release_table = _table(table, "release", where)
    release = _release(release_table, base, f"{where}: [release]", frozenset({"number"}))
    number = _optional_int(release_table, "number", f"{where}: [release]")
    if number is not None and number < 0:
        raise PlanError(f"{where}: [release]: 'number' must be 0 or more, not {number}")
    froms = table.get("from", [])
    if not isinstance(froms, list) or not all(isinstance(entry, dict) for entry in froms):
        raise PlanError(f"{where}: 'from' must be an array of tables ([[from]])")
    olds = tuple(_release(entry, base, f"{where}: [[from]] #{i + 1}") for i, entry in enumerate(froms))
    _check_olds(release, olds, where)
    options = _options(_table(table, "options", where, required=False), base, f"{where}: [options]")
    return Plan(product, release, number, olds, options)


def _release(
    table: Mapping[str, Any], base: Path, where: str, extra: frozenset[str] = frozenset()
) -> Release:
    """One ``[release]`` or ``[[from]]`` table, its artifacts resolved and checked to exist."""
    _check_keys(table, where, {"version", "artifacts"} | set(extra), {"version", "artifacts"})
    version = _name(table, "version", where)
    where = f"{where} (version {version})"
    artifacts = _table(table, "artifacts", where)
    if not artifacts:
        raise PlanError(f"{where}: 'artifacts' names no platform")
    resolved = {}
    for platform, value in artifacts.items():
        if not _NAME.fullmatch(platform):
            raise PlanError(f"{where}: platform {platform!r} must be letters, digits, '.', '_', '+', '-'")
        if not isinstance(value, str):
            raise PlanError(f"{where}: the artifact of {platform} must be a path string, not {_kind(value)}")
        artifact = (base / value).resolve()
        if not artifact.exists():
            raise PlanError(f"{where}: the artifact of {platform}, {artifact}, does not exist")
        if not (artifact.is_file() or artifact.is_dir()):
            raise PlanError(f"{where}: the artifact of {platform}, {artifact}, is neither a file nor a directory")
        resolved[platform] = artifact
    return Release(version, resolved)


def _check_olds(release: Release, olds: tuple[Release, ...], where: str) -> None:
    """Each old version once, never the new one, on the new release's platforms and kinds."""
    seen = set()
    for old in olds:
        if old.version == release.version:
            raise PlanError(f"{where}: [[from]] version {old.version} is the release's own version")
        if old.version in seen:
            raise PlanError(f"{where}: [[from]] version {old.version} appears twice")
        seen.add(old.version)
        for platform, artifact in old.artifacts.items():
            new = release.artifacts.get(platform)
            if new is None:
                raise PlanError(
                    f"{where}: [[from]] version {old.version} has platform {platform}, which the "
                    f"release does not have (it has {', '.join(sorted(release.artifacts))})"
                )
            if artifact.is_dir() != new.is_dir():
                kinds = ("directory", "file") if artifact.is_dir() else ("file", "directory")
                raise PlanError(
                    f"{where}: the {platform} artifact of {old.version} is a {kinds[0]} but the "
                    f"release's is a {kinds[1]}"
                )


def _options(table: Mapping[str, Any], base: Path, where: str) -> Options:
    """The ``[options]`` table, with defaults for what it leaves out."""
    keys = {"sign_key", "codec", "level", "memory", "max_patch_ratio"}
    _check_keys(table, where, keys, set())
    sign_key = None
    if "sign_key" in table:
        if not isinstance(table["sign_key"], str):
            raise PlanError(f"{where}: 'sign_key' must be a path string, not {_kind(table['sign_key'])}")
        sign_key = (base / table["sign_key"]).resolve()
        if not sign_key.is_file():
            raise PlanError(f"{where}: the signing key {sign_key} does not exist")
    codec = table.get("codec")
    if codec is not None and codec not in _CODECS:
        raise PlanError(f"{where}: 'codec' must be one of {', '.join(_CODECS)}, not {codec!r}")
    ratio = table.get("max_patch_ratio", DEFAULT_MAX_PATCH_RATIO)
    if isinstance(ratio, bool) or not isinstance(ratio, (int, float)) or not 0 < ratio <= 1:
        raise PlanError(f"{where}: 'max_patch_ratio' must be a number in (0, 1], not {ratio!r}")
    level = _optional_int(table, "level", where)
    memory = _memory(table.get("memory"), where)
    options = Options(sign_key, codec, level, memory, float(ratio))
    _check_with_engine(options, where)
    return options


def _check_with_engine(options: Options, where: str) -> None:
    """Refuses options the engine refuses (a level out of range, a memory budget below its
    minimum, a file that is not an unencrypted minisign secret key) by making and signing an
    empty patch with them: before any artifact is hashed, not once per patch."""
    try:
        chunkdelta.diff(
            b"", b"", codec=options.codec, level=options.level, memory=options.memory, sign_key=options.sign_key
        )
    except (ValueError, OSError) as error:
        raise PlanError(f"{where}: {error}") from error


def _memory(value: object, where: str) -> Optional[int]:
    """A memory budget given as bytes (integer) or a size string such as "512MiB"."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    match = _SIZE.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise PlanError(f"{where}: 'memory' must be bytes or a size like \"512MiB\", not {value!r}")
    return int(match.group(1)) * _UNITS[match.group(2)]


def _check_keys(table: Mapping[str, Any], where: str, allowed: set[str], required: set[str]) -> None:
    """Refuses unknown keys (typos) and missing required ones."""
    missing = sorted(required - table.keys())
    if missing:
        raise PlanError(f"{where}: missing {', '.join(repr(key) for key in missing)}")
    unknown = sorted(table.keys() - allowed)
    if unknown:
        raise PlanError(f"{where}: unknown {', '.join(repr(key) for key in unknown)}")


def _table(table: Mapping[str, Any], key: str, where: str, required: bool = True) -> Mapping[str, Any]:
    """The sub-table ``key``; an empty one when absent and not required."""
    value = table.get(key)
    if value is None and not required:
        return {}
    if not isinstance(value, dict):
        raise PlanError(f"{where}: '{key}' must be a table, not {_kind(value)}")
    return value


def _name(table: Mapping[str, Any], key: str, where: str) -> str:
    """A string usable in file names: product ids, versions."""
    value = table[key]
    if not isinstance(value, str) or not _NAME.fullmatch(value):
        raise PlanError(
            f"{where}: '{key}' must be a string of letters, digits, '.', '_', '+', '-', not {value!r}"
        )
    return value


def _optional_int(table: Mapping[str, Any], key: str, where: str) -> Optional[int]:
    """An integer option, if present."""
    value = table.get(key)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise PlanError(f"{where}: '{key}' must be an integer, not {_kind(value)}")
    return value


def _kind(value: object) -> str:
    """How a wrong value is named in messages."""
    return "nothing" if value is None else f"{type(value).__name__} {value!r}"
