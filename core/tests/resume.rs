//! Resuming an apply from the temporary output a killed run left behind. The kill itself is
//! tested on the real binary in `cli/tests/cli.rs`; here the leftover file is made by hand.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use chunkdelta::{ApplyOptions, DiffOptions, ErrorKind, apply_file, diff, read_info};
use common::{edited, old_file};

const CHUNK: u64 = 4096;

struct Fixture {
    dir: tempfile::TempDir,
    old_path: PathBuf,
    dest: PathBuf,
    new: Vec<u8>,
    patch: Vec<u8>,
}

impl Fixture {
    /// A 12-chunk patch, its old file on disk, and a destination path.
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let old = old_file(31, 48_000);
        let new = edited(&old, 32, 8);
        let patch = diff(&old, &new, &DiffOptions::new().chunk_size(CHUNK).level(3)).unwrap();
        let old_path = dir.path().join("app-1.0");
        fs::write(&old_path, &old).unwrap();
        let dest = dir.path().join("app");
        Fixture { dir, old_path, dest, new, patch }
    }

    /// Where an apply of this patch to `dest` keeps its output until it is complete:
    /// `.NAME.ID.chunkdelta-tmp`, ID being 16 hex digits of the patch's table hash.
    fn temporary(&self) -> PathBuf {
        let info = read_info(&self.patch[..]).unwrap();
        let id: String = info.table_hash[..8].iter().map(|b| format!("{b:02x}")).collect();
        self.dir.path().join(format!(".app.{id}.chunkdelta-tmp"))
    }

    fn apply(&self) -> chunkdelta::Result<chunkdelta::ApplyReport> {
        apply_file(&self.old_path, &self.patch[..], &self.dest, &ApplyOptions::new())
    }

    fn chunk_count(&self) -> u64 {
        read_info(&self.patch[..]).unwrap().chunks.len() as u64
    }
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<_> =
        fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

#[test]
fn a_fresh_apply_resumes_nothing() {
    let f = Fixture::new();
    let report = f.apply().unwrap();
    assert_eq!(report.chunks_resumed, 0);
    assert_eq!(fs::read(&f.dest).unwrap(), f.new);
}

#[test]
fn intact_chunks_of_a_killed_run_are_kept_and_the_rest_decoded() {
    let f = Fixture::new();
    // What a run killed mid-way leaves: some chunks written, one torn, the rest still zero.
    let mut partial = f.new.clone();
    partial[CHUNK as usize * 3 + 100] ^= 0xff;
    partial[CHUNK as usize * 7..].fill(0);
    fs::write(f.temporary(), &partial).unwrap();

    let report = f.apply().unwrap();
    assert_eq!(report.chunks_resumed, 6, "chunks 0-2 and 4-6 were intact");
    assert!(report.chunks_resumed < f.chunk_count());
    assert_eq!(fs::read(&f.dest).unwrap(), f.new);
    assert_eq!(entries(f.dir.path()), ["app", "app-1.0"]);
}

#[test]
fn a_complete_leftover_is_verified_and_renamed() {
    let f = Fixture::new();
    fs::write(f.temporary(), &f.new).unwrap();
    assert_eq!(f.apply().unwrap().chunks_resumed, f.chunk_count());
    assert_eq!(fs::read(&f.dest).unwrap(), f.new);
}

#[test]
fn a_leftover_of_garbage_or_the_wrong_length_is_rewritten() {
    let f = Fixture::new();
    let mut longer = f.new.clone();
    longer.extend_from_slice(&[7; 5000]);
    for leftover in [vec![0x5a; f.new.len()], f.new[..f.new.len() / 2].to_vec(), longer] {
        fs::write(f.temporary(), &leftover).unwrap();
        f.apply().unwrap();
        assert_eq!(fs::read(&f.dest).unwrap(), f.new);
        fs::remove_file(&f.dest).unwrap();
    }
}

#[test]
fn a_temporary_of_another_patch_is_never_used_or_touched() {
    let f = Fixture::new();
    let stale = f.dir.path().join(".app.0123456789abcdef.chunkdelta-tmp");
    fs::write(&stale, &f.new).unwrap();
    assert_eq!(f.apply().unwrap().chunks_resumed, 0);
    assert_eq!(fs::read(&stale).unwrap(), f.new);
}

#[test]
fn a_symlink_in_place_of_the_temporary_is_refused() {
    let f = Fixture::new();
    let victim = f.dir.path().join("victim");
    fs::write(&victim, b"precious").unwrap();
    std::os::unix::fs::symlink(&victim, f.temporary()).unwrap();
    let err = f.apply().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Io, "{err}");
    assert_eq!(fs::read(&victim).unwrap(), b"precious");
    assert!(!f.dest.exists());
}

#[test]
fn a_hard_linked_temporary_is_refused() {
    let f = Fixture::new();
    let other = f.dir.path().join("other");
    fs::write(&other, &f.new).unwrap();
    fs::hard_link(&other, f.temporary()).unwrap();
    let err = f.apply().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Io, "{err}");
    assert!(err.to_string().contains("refusing to reuse"), "{err}");
    assert!(!f.dest.exists());
}

#[test]
fn a_second_apply_to_the_same_destination_waits_its_turn() {
    let f = Fixture::new();
    let held = fs::File::create(f.temporary()).unwrap();
    held.lock().unwrap();
    let err = f.apply().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Io, "{err}");
    assert!(f.temporary().exists(), "the other apply's file is left alone");
    assert!(!f.dest.exists());
    drop(held);
    f.apply().unwrap();
    assert_eq!(fs::read(&f.dest).unwrap(), f.new);
}

#[test]
fn a_failed_apply_removes_its_temporary() {
    let f = Fixture::new();
    let mut corrupt = f.patch.clone();
    let last = corrupt.len() - 1;
    corrupt[last] ^= 0xff;
    let err = apply_file(&f.old_path, &corrupt[..], &f.dest, &ApplyOptions::new()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::CorruptPatch);
    assert_eq!(entries(f.dir.path()), ["app-1.0"]);
}
