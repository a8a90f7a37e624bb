"""The bsdiff4 names: the same files in give the same result out as a real bsdiff4."""

from __future__ import annotations

import inspect
from pathlib import Path
from types import ModuleType

import bsdiff4
import pytest

import chunkdelta
from conftest import edited, old_file


def release_script(tool: ModuleType, folder: Path, src: bytes, dst: bytes) -> dict[str, bytes]:
    """A release script written for bsdiff4, using its four functions and patching in place."""
    (folder / "app-1.0").write_bytes(src)
    (folder / "app-1.1").write_bytes(dst)
    tool.file_diff(str(folder / "app-1.0"), str(folder / "app-1.1"), str(folder / "app.patch"))
    tool.file_patch(str(folder / "app-1.0"), str(folder / "rebuilt"), str(folder / "app.patch"))
    (folder / "installed").write_bytes(src)
    tool.file_patch_inplace(str(folder / "installed"), str(folder / "app.patch"))
    in_memory = tool.patch(src, tool.diff(src, dst))
    return {
        "file_patch": (folder / "rebuilt").read_bytes(),
        "file_patch_inplace": (folder / "installed").read_bytes(),
        "patch": in_memory,
    }


@pytest.mark.parametrize(
    ("src", "dst"),
    [
        (old_file(1, 150_000), edited(old_file(1, 150_000), 2, 40)),
        (b"", b"new content"),
        (b"old content", b""),
        (b"same", b"same"),
    ],
    ids=["release", "from-empty", "to-empty", "unchanged"],
)
def test_same_result_as_bsdiff4(tmp_path: Path, src: bytes, dst: bytes) -> None:
    (tmp_path / "bsdiff4").mkdir()
    (tmp_path / "chunkdelta").mkdir()
    expected = release_script(bsdiff4, tmp_path / "bsdiff4", src, dst)
    got = release_script(chunkdelta, tmp_path / "chunkdelta", src, dst)
    assert expected == {name: dst for name in expected}
    assert got == expected


def test_the_names_take_bsdiff4_arity() -> None:
    for name, arity in [("diff", 2), ("patch", 2), ("file_diff", 3), ("file_patch", 3), ("file_patch_inplace", 2)]:
        assert callable(getattr(bsdiff4, name))
        required = [
            p
            for p in inspect.signature(getattr(chunkdelta, name)).parameters.values()
            if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
        assert len(required) == arity, name


def test_bsdiff4_style_errors_are_chunkdelta_errors(tmp_path: Path) -> None:
    (tmp_path / "a").write_bytes(b"a" * 100)
    (tmp_path / "b").write_bytes(b"b" * 100)
    chunkdelta.file_diff(tmp_path / "a", tmp_path / "b", tmp_path / "p")
    with pytest.raises(chunkdelta.SourceMismatchError):
        chunkdelta.file_patch(tmp_path / "b", tmp_path / "out", tmp_path / "p")
