"""Release trees: diff_tree, tree_info, apply_tree compared entry by entry, verify_tree, in-place
upgrades (carried user files, recover, rollback, commit, resume), a changed old file refused
with nothing written, cancellation, and signed tree patches under trusted_keys and trust_dir."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

import chunkdelta
from conftest import VECTORS, edited, old_file

README = b"read me: the documentation of release 1, kept as it is\n"
RUN = old_file(2, 30_000)
DATA = old_file(3, 65_536)
A_TXT = old_file(1, 20_000)


def put(root: Path, rel: str, data: bytes, mode: int = 0o644) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    path.chmod(mode)


def build_old(root: Path) -> Path:
    """a.txt, bin/run (0755), docs/readme, gone.txt, lib/data.bin, link -> a.txt."""
    root.mkdir()
    put(root, "a.txt", A_TXT)
    put(root, "bin/run", RUN, 0o755)
    put(root, "docs/readme", README)
    put(root, "gone.txt", b"this file is removed by release 2\n")
    put(root, "lib/data.bin", DATA)
    (root / "link").symlink_to("a.txt")
    return root


def build_new(root: Path) -> Path:
    """a.txt and lib/data.bin edited, bin/run kept and duplicated as sub/dup, docs/readme
    moved to moved/readme (docs/ stays, empty), gone.txt removed, new.txt added (0600), the
    empty directory empty/, and link retargeted to bin/run."""
    root.mkdir()
    put(root, "a.txt", edited(A_TXT, 4, 3))
    put(root, "bin/run", RUN, 0o755)
    put(root, "sub/dup", RUN, 0o755)
    put(root, "lib/data.bin", edited(DATA, 5, 4))
    put(root, "moved/readme", README)
    put(root, "new.txt", b"a file that release 2 adds, like nothing in release 1\n", 0o600)
    (root / "docs").mkdir()
    (root / "empty").mkdir()
    (root / "link").symlink_to("bin/run")
    return root


def snapshot(root: Path, skip: tuple[str, ...] = ()) -> dict[str, tuple[str, int, bytes]]:
    """Every path under ``root`` (but ``skip``): its kind, permission bits and content or target."""
    found: dict[str, tuple[str, int, bytes]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            rel = path.relative_to(root).as_posix()
            if rel in skip:
                continue
            st = path.lstat()
            if stat.S_ISLNK(st.st_mode):
                found[rel] = ("symlink", 0, os.readlink(path).encode())
            elif stat.S_ISDIR(st.st_mode):
                found[rel] = ("dir", stat.S_IMODE(st.st_mode), b"")
            else:
                found[rel] = ("file", stat.S_IMODE(st.st_mode), path.read_bytes())
    return found


class Trees:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.old = build_old(folder / "old")
        self.new = build_new(folder / "new")
        self.patch = folder / "app.tpatch"
        self.info = chunkdelta.diff_tree(self.old, self.new, self.patch, level=3)


@pytest.fixture
def trees(tmp_path: Path) -> Trees:
    return Trees(tmp_path)


def test_tree_info_describes_every_entry(trees: Trees) -> None:
    info = trees.info
    assert chunkdelta.tree_info(trees.patch) == info
    assert chunkdelta.tree_info(str(trees.patch)) == info
    assert chunkdelta.tree_info(trees.patch.read_bytes()) == info
    assert info.format_version == 2 and info.patch_size == trees.patch.stat().st_size
    assert info.signatures == [] and len(info.manifest_hash) == 64 and len(info.signing_digest) == 64
    entries = {entry.path: entry for entry in info.entries}
    assert [entry.path for entry in info.entries] == sorted(entries)
    assert sorted(entries) == sorted(snapshot(trees.new))

    ops = {path: (e.kind, e.op, e.old) for path, e in entries.items() if e.kind == "file"}
    assert ops == {
        "a.txt": ("file", "solid", None),
        "bin/run": ("file", "copy", "bin/run"),
        "sub/dup": ("file", "copy", "bin/run"),
        "lib/data.bin": ("file", "solid", None),
        "moved/readme": ("file", "copy", "docs/readme"),
        "new.txt": ("file", "solid", None),
    }
    assert info.solid_bases == ["a.txt", "lib/data.bin"]
    assert info.solid_len is not None and 0 < info.solid_len < info.patch_size
    run, new_txt, link, empty = entries["bin/run"], entries["new.txt"], entries["link"], entries["empty"]
    assert (run.mode, run.size, run.blob_len, run.target) == (0o755, len(RUN), 0, None)
    assert new_txt.mode == 0o600 and new_txt.blob_len == 0 and new_txt.hash is None
    assert (link.kind, link.target, link.size, link.op, link.hash) == ("symlink", "bin/run", None, None, None)
    assert (empty.kind, empty.mode, empty.size, empty.target) == ("dir", 0o755, None, None)
    assert entries["docs"].kind == "dir"
    assert info.removed == ["docs/readme", "gone.txt"]
    old_files = {old.path: old for old in info.old_files}
    assert sorted(old_files) == ["a.txt", "bin/run", "docs/readme", "lib/data.bin"]
    assert old_files["bin/run"].size == len(RUN) and len(old_files["bin/run"].hash) == 8
    assert int(old_files["bin/run"].hash, 16) >= 0  # hex
    assert "TreeEntry(path='link', kind='symlink'" in repr(link) and "TreeInfo(" in repr(info)


def test_apply_tree_makes_exactly_the_new_tree(trees: Trees) -> None:
    out = trees.folder / "out"
    before = snapshot(trees.old)
    assert chunkdelta.apply_tree(trees.old, trees.patch, out, durable=False) == trees.info
    assert snapshot(out) == snapshot(trees.new)
    assert snapshot(trees.old) == before  # only read
    assert snapshot(out) != snapshot(trees.old)
    with pytest.raises(ValueError, match="exists"):
        chunkdelta.apply_tree(trees.old, trees.patch, out)
    assert chunkdelta.verify_tree(trees.old, trees.patch) == trees.info
    with pytest.raises(chunkdelta.SourceMismatchError):
        chunkdelta.verify_tree(trees.new, trees.patch)


def test_hard_links_and_mtimes_are_kept_when_asked_for(trees: Trees) -> None:
    os.link(trees.new / "bin/run", trees.new / "sub/run-again")
    os.utime(trees.new / "a.txt", ns=(0, 1_000_000_000_123_456_789))
    patch = trees.folder / "linked.tpatch"
    info = chunkdelta.diff_tree(trees.old, trees.new, patch, level=3, hard_links=True, mtimes=True)
    assert info.format_version == 3
    entries = {entry.path: entry for entry in info.entries}
    assert (entries["sub/run-again"].kind, entries["sub/run-again"].target) == ("hardlink", "bin/run")
    assert entries["sub/run-again"].mtime_ns is None
    assert entries["a.txt"].mtime_ns == 1_000_000_000_123_456_789
    out = trees.folder / "out"
    chunkdelta.apply_tree(trees.old, patch, out, durable=False)
    assert snapshot(out) == snapshot(trees.new)
    assert (out / "bin/run").stat().st_ino == (out / "sub/run-again").stat().st_ino
    assert (out / "a.txt").stat().st_mtime_ns == 1_000_000_000_123_456_789
    plain = chunkdelta.diff_tree(trees.old, trees.new, trees.folder / "plain.tpatch", level=3)
    assert plain.format_version == 2
    assert all(entry.kind != "hardlink" and entry.mtime_ns is None for entry in plain.entries)


def test_a_changed_old_file_is_refused_with_nothing_written(trees: Trees) -> None:
    changed = build_old(trees.folder / "changed")
    put(changed, "lib/data.bin", b"not the old data any more\n")
    entries = sorted(os.listdir(trees.folder))
    out = trees.folder / "changed-out"
    with pytest.raises(chunkdelta.SourceMismatchError, match="lib/data.bin"):
        chunkdelta.apply_tree(changed, trees.patch, out)
    assert not out.exists() and sorted(os.listdir(trees.folder)) == entries
    with pytest.raises(chunkdelta.SourceMismatchError, match="lib/data.bin"):
        chunkdelta.verify_tree(changed, trees.patch)
    # A bytes-like object is patch data for tree_info, never a path; a file patch is refused.
    with pytest.raises(chunkdelta.CorruptPatchError):
        chunkdelta.tree_info((VECTORS / "v3-small-edit.patch").read_bytes())
    with pytest.raises(chunkdelta.CorruptPatchError):
        chunkdelta.apply_tree(trees.old, VECTORS / "v3-small-edit.patch", out)
    assert not out.exists()
    truncated = trees.folder / "truncated.tpatch"
    truncated.write_bytes(trees.patch.read_bytes()[:-1])
    with pytest.raises(chunkdelta.CorruptPatchError):
        chunkdelta.tree_info(truncated)
    with pytest.raises(chunkdelta.CorruptPatchError):
        chunkdelta.apply_tree(trees.old, truncated, out)
    assert not out.exists()


def test_progress_counts_new_file_bytes_and_can_cancel(trees: Trees) -> None:
    seen: list[tuple[int, int]] = []
    chunkdelta.diff_tree(trees.old, trees.new, trees.folder / "again.tpatch", level=3,
                         progress=lambda done, total: seen.append((done, total)))
    sizes = sum(e.size or 0 for e in trees.info.entries)
    assert seen and seen[-1] == (sizes, sizes)
    assert all(a[0] <= b[0] for a, b in zip(seen, seen[1:]))

    out = trees.folder / "cancelled"
    with pytest.raises(chunkdelta.CancelledError):
        chunkdelta.apply_tree(trees.old, trees.patch, out, progress=lambda done, total: False)
    assert not out.exists()

    def boom(done: int, total: int) -> None:
        raise KeyError("from the callback")

    with pytest.raises(KeyError, match="from the callback"):
        chunkdelta.verify_tree(trees.old, trees.patch, progress=boom)


def test_in_place_carries_user_files_and_rolls_back_and_commits(trees: Trees) -> None:
    parent = trees.folder / "inplace"
    parent.mkdir()
    app = build_old(parent / "app")
    put(app, "user.cfg", b"a setting of the user's\n", 0o600)
    old_with_user = snapshot(app)
    assert chunkdelta.recover_tree(app) == "nothing"
    with pytest.raises(ValueError):
        chunkdelta.commit_tree(app)
    with pytest.raises(ValueError):
        chunkdelta.rollback_tree(app)

    report = chunkdelta.apply_tree_in_place(app, trees.patch, durable=False)
    assert (report.info, report.carried, report.resumed) == (trees.info, ["user.cfg"], False)
    assert "carried=['user.cfg'], resumed=False)" in repr(report)
    assert snapshot(app, skip=("user.cfg",)) == snapshot(trees.new)
    assert (app / "user.cfg").read_bytes() == b"a setting of the user's\n"
    assert len(os.listdir(parent)) == 2  # app and its state directory beside it
    assert chunkdelta.recover_tree(app) == "swapped"
    again = chunkdelta.apply_tree_in_place(app, trees.patch)  # as after a kill once swapped
    assert (again.carried, again.resumed) == ([], True)

    chunkdelta.rollback_tree(app)
    assert snapshot(app) == old_with_user
    assert os.listdir(parent) == ["app"]

    chunkdelta.apply_tree_in_place(str(app), str(trees.patch))
    chunkdelta.commit_tree(app)
    assert snapshot(app, skip=("user.cfg",)) == snapshot(trees.new)
    assert os.listdir(parent) == ["app"]
    assert chunkdelta.recover_tree(app) == "nothing"
    with pytest.raises(ValueError, match="no swapped update"):
        chunkdelta.commit_tree(app)

    # The new tree is not the old one the patch reads: refused, the directory as it was.
    with pytest.raises(chunkdelta.SourceMismatchError):
        chunkdelta.apply_tree_in_place(app, trees.patch)
    assert snapshot(app, skip=("user.cfg",)) == snapshot(trees.new)
    # Checked before any state is created: nothing is left beside the directory.
    assert os.listdir(parent) == ["app"]
    assert chunkdelta.recover_tree(app) == "nothing"


def test_an_interrupted_in_place_apply_is_discarded_or_resumed(trees: Trees) -> None:
    parent = trees.folder / "inplace"
    parent.mkdir()
    app = build_old(parent / "app")
    before = snapshot(app)
    with pytest.raises(chunkdelta.CancelledError):
        chunkdelta.apply_tree_in_place(app, trees.patch, progress=lambda done, total: done == 0)
    assert snapshot(app) == before
    # The staging is kept for a rerun to resume; recover discards it.
    assert chunkdelta.recover_tree(app) == "discarded-staging"
    assert os.listdir(parent) == ["app"] and snapshot(app) == before

    with pytest.raises(chunkdelta.CancelledError):
        chunkdelta.apply_tree_in_place(app, trees.patch, progress=lambda done, total: done == 0)
    report = chunkdelta.apply_tree_in_place(app, trees.patch)
    assert report.resumed and snapshot(app) == snapshot(trees.new)
    chunkdelta.rollback_tree(app)
    assert snapshot(app) == before


@pytest.fixture
def keys(tmp_path: Path) -> dict[str, Path]:
    """keys/alpha.{key,pub} and stranger.{key,pub}: name -> base path."""
    (tmp_path / "keys").mkdir()
    chunkdelta.keygen(tmp_path / "keys" / "alpha")
    chunkdelta.keygen(tmp_path / "stranger")
    return {"alpha": tmp_path / "keys" / "alpha", "stranger": tmp_path / "stranger", "dir": tmp_path / "keys"}


def test_signed_tree_patches_need_a_trusted_key(trees: Trees, keys: dict[str, Path]) -> None:
    signed = trees.folder / "signed.tpatch"
    alpha_key = keys["alpha"].with_suffix(".key")
    info = chunkdelta.diff_tree(trees.old, trees.new, signed, level=3, sign_key=alpha_key, product="app", release=2)
    (signature,) = info.signatures
    assert (signature.product, signature.release) == ("app", 2)
    assert signature.key_id in keys["alpha"].with_suffix(".pub").read_text()
    # Signatures cover the header and manifest, which signing leaves as they were.
    assert info.signing_digest == trees.info.signing_digest and info.entries == trees.info.entries

    out = trees.folder / "signed-out"
    entries = sorted(os.listdir(trees.folder))
    stranger = [keys["stranger"].with_suffix(".pub")]
    with pytest.raises(chunkdelta.UntrustedPatchError, match="not trusted"):
        chunkdelta.apply_tree(trees.old, signed, out, trusted_keys=stranger)
    assert not out.exists() and sorted(os.listdir(trees.folder)) == entries
    with pytest.raises(chunkdelta.UntrustedPatchError):
        chunkdelta.verify_tree(trees.old, signed, trusted_keys=stranger)
    with pytest.raises(chunkdelta.UntrustedPatchError, match="not signed"):
        chunkdelta.verify_tree(trees.old, trees.patch, trust_dir=keys["dir"])
    with pytest.raises(chunkdelta.UntrustedPatchError):
        chunkdelta.verify_tree(trees.old, signed, trust_dir=keys["dir"], min_release=3)
    before = snapshot(trees.old)
    with pytest.raises(chunkdelta.UntrustedPatchError):
        chunkdelta.apply_tree_in_place(trees.old, signed, trusted_keys=stranger)
    assert snapshot(trees.old) == before
    # Trust is checked before any state is created: nothing is left beside the directory.
    assert sorted(os.listdir(trees.folder)) == entries
    assert chunkdelta.recover_tree(trees.old) == "nothing"

    chunkdelta.apply_tree(trees.old, signed, out, trust_dir=keys["dir"], product="app", min_release=2)
    assert snapshot(out) == snapshot(trees.new)
    chunkdelta.verify_tree(trees.old, signed, trusted_keys=stranger, trust_dir=keys["dir"])

    # Signing the unsigned tree patch afterwards, in place.
    (added,) = chunkdelta.sign_file(trees.patch, alpha_key)
    assert chunkdelta.tree_info(trees.patch).signatures == [added]
    chunkdelta.verify_tree(trees.old, trees.patch, trust_dir=keys["dir"])


def test_trust_dir_on_the_file_functions(tmp_path: Path, keys: dict[str, Path]) -> None:
    old, new = (VECTORS / "small-edit.old").read_bytes(), (VECTORS / "small-edit.new").read_bytes()
    signed = chunkdelta.sign((VECTORS / "v3-small-edit.patch").read_bytes(), keys["alpha"].with_suffix(".key"))
    assert chunkdelta.apply(old, signed, trust_dir=keys["dir"]) == new
    old_path, patch_path, out = tmp_path / "old", tmp_path / "p", tmp_path / "out"
    old_path.write_bytes(old)
    patch_path.write_bytes(signed)
    chunkdelta.verify_file(old_path, patch_path, trust_dir=str(keys["dir"]))
    chunkdelta.apply_file(old_path, patch_path, out, trust_dir=keys["dir"])
    assert out.read_bytes() == new
    empty = tmp_path / "no-keys"
    empty.mkdir()
    with pytest.raises(ValueError, match="no \\*.pub"):
        chunkdelta.apply(old, signed, trust_dir=empty)
    with pytest.raises(FileNotFoundError):
        chunkdelta.apply(old, signed, trust_dir=tmp_path / "missing")
    with pytest.raises(ValueError, match="trust_dir"):
        chunkdelta.apply_file(old_path, patch_path, out, product="app")
    with pytest.raises(chunkdelta.UntrustedPatchError):
        chunkdelta.apply(old, signed, trust_dir=keys["dir"], trusted_keys=[], product="other")

