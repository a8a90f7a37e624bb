"""The bsdiff4 names: the same files in give the same result out as a real bsdiff4."""

from __future__ import annotations

import inspect
from pathlib import Path
from types import ModuleType

import bsdiff4
import pytest

import chunkdelta
from conftest import VECTORS, edited, old_file


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


BSDIFF_FIXTURES = VECTORS.parent / "bsdiff"


def bsdiff4_pairs() -> list[tuple[str, bytes, bytes]]:
    """(name, old, new): small generated pairs and the golden-vector pairs of the fixtures."""
    pairs = [("release", old_file(3, 60_000), edited(old_file(3, 60_000), 4, 20)), ("empty", b"", b"")]
    for name in ["small-edit", "pieces", "from-empty", "to-empty"]:
        pairs.append((name, (VECTORS / f"{name}.old").read_bytes(), (VECTORS / f"{name}.new").read_bytes()))
    return pairs


@pytest.mark.parametrize(("name", "src", "dst"), bsdiff4_pairs(), ids=[p[0] for p in bsdiff4_pairs()])
def test_bsdiff4_patches_apply_through_every_function(tmp_path: Path, name: str, src: bytes, dst: bytes) -> None:
    """BSDIFF40 patches that bsdiff4 writes: chunkdelta applies them by every entry point."""
    bsdiff_patch = bsdiff4.diff(src, dst)
    assert bsdiff_patch.startswith(b"BSDIFF40")
    assert chunkdelta.patch(src, bsdiff_patch) == dst
    assert chunkdelta.apply(src, bsdiff_patch) == dst
    (tmp_path / "old").write_bytes(src)
    (tmp_path / "p").write_bytes(bsdiff_patch)
    chunkdelta.file_patch(tmp_path / "old", tmp_path / "new", tmp_path / "p")
    assert (tmp_path / "new").read_bytes() == dst
    chunkdelta.verify_file(tmp_path / "old", tmp_path / "p")
    chunkdelta.file_patch_inplace(tmp_path / "old", tmp_path / "p")
    assert (tmp_path / "old").read_bytes() == dst


@pytest.mark.parametrize("fixture", sorted(p.name for p in BSDIFF_FIXTURES.glob("*.bsdiff40")))
def test_debian_bsdiff_patches_apply(tmp_path: Path, fixture: str) -> None:
    pair = fixture.removesuffix(".bsdiff40")
    src, dst = (VECTORS / f"{pair}.old").read_bytes(), (VECTORS / f"{pair}.new").read_bytes()
    assert chunkdelta.patch(src, (BSDIFF_FIXTURES / fixture).read_bytes()) == dst
    chunkdelta.apply_file(VECTORS / f"{pair}.old", BSDIFF_FIXTURES / fixture, tmp_path / "new")
    assert (tmp_path / "new").read_bytes() == dst


def test_damaged_bsdiff_patches_raise_and_write_nothing(tmp_path: Path) -> None:
    src, dst = old_file(5, 20_000), edited(old_file(5, 20_000), 6, 5)
    good = bsdiff4.diff(src, dst)
    (tmp_path / "old").write_bytes(src)
    for cut in [0, 7, 8, 31, 32, len(good) // 2, len(good) - 1]:
        with pytest.raises(chunkdelta.CorruptPatchError):
            chunkdelta.patch(src, good[:cut])
        (tmp_path / "p").write_bytes(good[:cut])
        with pytest.raises(chunkdelta.CorruptPatchError):
            chunkdelta.file_patch(tmp_path / "old", tmp_path / "new", tmp_path / "p")
        assert sorted(p.name for p in tmp_path.iterdir()) == ["old", "p"]
