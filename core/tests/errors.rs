//! Error messages, options, progress and cancellation, and what apply_file leaves behind;
//! `malformed.rs` has the catalogue of damaged patches.

mod common;

use std::ops::ControlFlow;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use chunkdelta::{ApplyOptions, DiffOptions, ErrorKind, apply, apply_file, diff};
use common::{edited, old_file};

struct Fixture {
    old: Vec<u8>,
    new: Vec<u8>,
    patch: Vec<u8>,
}

/// A multi-chunk patch: 40 KiB in 4 KiB chunks.
fn fixture() -> Fixture {
    let old = old_file(11, 40_000);
    let new = edited(&old, 12, 10);
    let patch = diff(&old, &new, &DiffOptions::new().chunk_size(4096).level(3)).unwrap();
    Fixture { old, new, patch }
}

/// The catalogue (`malformed.rs`) checks the kind; this checks what the message tells the user.
#[test]
fn a_source_mismatch_names_both_hashes() {
    let f = fixture();
    let mut same_size = f.old.clone();
    same_size[100] ^= 1;
    let err = apply(&same_size, &f.patch[..], &ApplyOptions::new()).unwrap_err();
    let message = err.to_string();
    assert!(message.contains("this patch was made for a different old file"), "{message}");
    assert!(message.contains(&blake3::hash(&f.old).to_hex().to_string()), "{message}");
    assert!(message.contains(&blake3::hash(&same_size).to_hex().to_string()), "{message}");
}

#[test]
fn invalid_options_are_invalid_arguments() {
    let data = old_file(13, 1000);
    for options in [
        DiffOptions::new().level(1000),
        DiffOptions::new().chunk_size(0),
        DiffOptions::new().chunk_size(u64::MAX),
    ] {
        assert_eq!(diff(&data, &data, &options).unwrap_err().kind(), ErrorKind::InvalidArgument);
    }
}

#[test]
fn progress_reaches_total_and_cancels() {
    let f = fixture();
    let last = Arc::new(AtomicU64::new(0));
    let seen = last.clone();
    let options = ApplyOptions::new().progress(move |done, total| {
        assert!(done <= total);
        seen.store(done, Ordering::SeqCst);
        ControlFlow::Continue(())
    });
    apply(&f.old, &f.patch[..], &options).unwrap();
    assert_eq!(last.load(Ordering::SeqCst), f.new.len() as u64);

    let stop = ApplyOptions::new().progress(|_, _| ControlFlow::Break(()));
    assert_eq!(apply(&f.old, &f.patch[..], &stop).unwrap_err().kind(), ErrorKind::Cancelled);
    let stop = DiffOptions::new().chunk_size(4096).progress(|_, _| ControlFlow::Break(()));
    assert_eq!(diff(&f.old, &f.new, &stop).unwrap_err().kind(), ErrorKind::Cancelled);
}

/// libsais cannot be stopped, so with a callback the suffix sort runs on a thread of its own
/// and the callback is called while it runs: the first call comes before old counts as done,
/// and can cancel there. A callback changes no byte of the patch, with the full index or a
/// sampled one (the smallest budget samples this 4 MiB old).
#[test]
fn diff_can_cancel_while_the_suffix_array_is_sorted() {
    let old = old_file(21, 4 << 20);
    let new = edited(&old, 22, 40);
    for memory in [chunkdelta::DEFAULT_MEMORY, chunkdelta::MIN_MEMORY] {
        let plain = DiffOptions::new().level(3).memory(memory);
        let sampled = plain.index_plan(old.len() as u64).unwrap().step > 1;
        assert_eq!(sampled, memory == chunkdelta::MIN_MEMORY);
        let first = Arc::new(AtomicU64::new(u64::MAX));
        let seen = first.clone();
        let stop = plain.clone().progress(move |done, _| {
            seen.compare_exchange(u64::MAX, done, Ordering::SeqCst, Ordering::SeqCst).ok();
            ControlFlow::Break(())
        });
        assert_eq!(diff(&old, &new, &stop).unwrap_err().kind(), ErrorKind::Cancelled);
        assert_eq!(first.load(Ordering::SeqCst), 0, "memory {memory}: cancelled before the sort ended");

        let watched = plain.clone().progress(|_, _| ControlFlow::Continue(()));
        let expected = diff(&old, &new, &plain).unwrap();
        assert_eq!(diff(&old, &new, &watched).unwrap(), expected, "memory {memory}");

        // diff_file's sort shares the mapped old file instead of copying it.
        let dir = tempfile::tempdir().unwrap();
        let [old_path, new_path, patch_path] = ["old", "new", "patch"].map(|name| dir.path().join(name));
        std::fs::write(&old_path, &old).unwrap();
        std::fs::write(&new_path, &new).unwrap();
        let error = chunkdelta::diff_file(&old_path, &new_path, &patch_path, &stop).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Cancelled);
        assert!(!patch_path.exists(), "memory {memory}: a cancelled diff leaves no patch");
        chunkdelta::diff_file(&old_path, &new_path, &patch_path, &watched).unwrap();
        assert_eq!(std::fs::read(&patch_path).unwrap(), expected, "memory {memory}");
    }
}

#[test]
fn progress_moves_while_the_suffix_array_is_sorted() {
    let old = old_file(23, 16 << 20);
    let new = edited(&old, 24, 40);
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let calls = seen.clone();
    let options = DiffOptions::new().level(1).progress(move |done, total| {
        calls.lock().unwrap().push((done, total));
        ControlFlow::Continue(())
    });
    diff(&old, &new, &options).unwrap();
    let seen = seen.lock().unwrap();
    let total = (old.len() + new.len()) as u64;
    assert!(seen.iter().all(|&(_, t)| t == total));
    assert!(seen.windows(2).all(|w| w[0].0 <= w[1].0), "the count never goes back");
    assert_eq!(seen.last().unwrap().0, total);
    let during_sort = seen.iter().filter(|&&(done, _)| 0 < done && done < old.len() as u64).count();
    assert!(during_sort > 0, "the sort's share is counted on an estimate while it runs");
}

fn folder_entries(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn failed_apply_leaves_nothing_at_the_destination() {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let old_path = dir.path().join("old");
    std::fs::write(&old_path, &f.old).unwrap();
    let out = dir.path().join("out");
    let mut corrupt = f.patch.clone();
    let at = corrupt.len() - 10;
    corrupt[at] ^= 0xff;
    let cancel = ApplyOptions::new()
        .progress(|done, _| if done > 0 { ControlFlow::Break(()) } else { ControlFlow::Continue(()) });
    let cases = [
        (&corrupt[..], ApplyOptions::new(), ErrorKind::CorruptPatch),
        (&f.patch[..f.patch.len() / 2], ApplyOptions::new(), ErrorKind::CorruptPatch),
        (&f.patch[..], cancel, ErrorKind::Cancelled),
    ];
    for (patch, options, kind) in cases {
        let err = apply_file(&old_path, patch, &out, &options).unwrap_err();
        assert_eq!(err.kind(), kind, "{err}");
        assert_eq!(folder_entries(dir.path()), ["old"], "after {kind:?}");
    }
    assert_eq!(std::fs::read(&old_path).unwrap(), f.old, "old is never modified");

    let missing =
        apply_file(dir.path().join("missing"), &f.patch[..], &out, &ApplyOptions::new()).unwrap_err();
    assert_eq!(missing.kind(), ErrorKind::Io);
    let no_folder = dir.path().join("no/such/folder/out");
    let err = apply_file(&old_path, &f.patch[..], &no_folder, &ApplyOptions::new()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Io);

    apply_file(&old_path, &f.patch[..], &out, &ApplyOptions::new()).unwrap();
    assert_eq!(std::fs::read(&out).unwrap(), f.new);
    assert_eq!(folder_entries(dir.path()), ["old", "out"]);
}

#[test]
fn apply_file_without_fsync_still_writes_the_verified_file_atomically() {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let (old_path, out) = (dir.path().join("old"), dir.path().join("out"));
    std::fs::write(&old_path, &f.old).unwrap();
    let options = ApplyOptions::new().durable(false);
    apply_file(&old_path, &f.patch[..], &out, &options).unwrap();
    assert_eq!(std::fs::read(&out).unwrap(), f.new);
    assert_eq!(folder_entries(dir.path()), ["old", "out"]);

    let wrong_old = dir.path().join("wrong-old");
    std::fs::write(&wrong_old, &f.new).unwrap();
    let err = apply_file(&wrong_old, &f.patch[..], &out, &options).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::SourceMismatch);
    assert_eq!(std::fs::read(&out).unwrap(), f.new, "a failed apply leaves the destination as it was");
}

#[test]
fn apply_file_can_replace_old_in_place() {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.bin");
    std::fs::write(&path, &f.old).unwrap();
    apply_file(&path, &f.patch[..], &path, &ApplyOptions::new()).unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), f.new);
    assert_eq!(folder_entries(dir.path()), ["app.bin"]);
}
