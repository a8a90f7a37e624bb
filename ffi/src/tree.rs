//! Release trees: diff a directory into a tree patch, apply it to a new directory, verify it,
//! upgrade a directory in place (stage and swap, then commit or roll back, or recover after a
//! kill), and describe a tree patch (`chunkdelta_tree_info`, `chunkdelta_tree_signatures_file`). One function per step; each is a
//! call into the core's tree API with the options of `chunkdelta_options`.

use std::ffi::{c_char, c_int};

use chunkdelta::{EntryKind, FileSource, Recovered, TreeInfo};

use crate::args::{Out, path};
use crate::info::{chunkdelta_signature, put_signatures};
use crate::options::{apply_options, chunkdelta_options, diff_options};
use crate::panic::guard;
use crate::result::chunkdelta_result;

/// `chunkdelta_recover_tree`: no update was pending; nothing was changed.
pub const CHUNKDELTA_RECOVERED_NOTHING: c_int = 0;
/// `chunkdelta_recover_tree`: an update had not swapped yet; the directory holds the old tree
/// and the staged one was removed.
pub const CHUNKDELTA_RECOVERED_DISCARDED_STAGING: c_int = 1;
/// `chunkdelta_recover_tree`: an update had swapped; the directory holds the new tree, and the
/// old one is kept for `chunkdelta_commit_tree` or `chunkdelta_rollback_tree`.
pub const CHUNKDELTA_RECOVERED_SWAPPED: c_int = 2;
/// `chunkdelta_recover_tree`: a rollback was under way and is now finished; the directory
/// holds the old tree.
pub const CHUNKDELTA_RECOVERED_ROLLED_BACK: c_int = 3;

/// What a tree patch says about itself: filled by `chunkdelta_tree_info_file`. The caller owns
/// it (on the stack, typically). The counts describe the new tree and how each of its files is
/// made; `copied_count + patched_count + literal_count + solid_count == file_count` and
/// `file_count + dir_count + symlink_count + hard_link_count == entry_count`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct chunkdelta_tree_info {
    /// The tree format version of the patch.
    pub format_version: u32,
    /// Number of entries of the new tree: files, directories, symlinks and hard links.
    pub entry_count: u64,
    /// Number of regular files of the new tree.
    pub file_count: u64,
    /// Files copied from an old file (unchanged, moved or duplicated content: no payload).
    pub copied_count: u64,
    /// Tree format 1: files made by a file patch against an old file.
    pub patched_count: u64,
    /// Tree format 1: files stored literally (a file patch against an empty file).
    pub literal_count: u64,
    /// Tree format 2: files made by the tree's solid file patches (every file that is not
    /// copied).
    pub solid_count: u64,
    /// Tree format 2: total size in bytes of the solid file patches (0 when there is none).
    pub solid_size: u64,
    /// Directories of the new tree, empty ones included.
    pub dir_count: u64,
    /// Symlinks of the new tree.
    pub symlink_count: u64,
    /// Paths of the old tree that the new one does not have.
    pub removed_count: u64,
    /// Old files the patch reads; apply checks each one's size and blake3 first.
    pub old_file_count: u64,
    /// Total size in bytes of the new tree's regular files.
    pub new_files_size: u64,
    /// Size in bytes of the whole patch.
    pub patch_size: u64,
    /// Number of signatures the patch carries (0: unsigned).
    pub signature_count: u32,
    /// blake3 of the decompressed manifest.
    pub manifest_hash: [u8; 32],
    /// What every signature covers: blake3 of the header before its signature length.
    pub signing_digest: [u8; 32],
    /// Tree format 3: entries that are another name of a file entry (hard links).
    pub hard_link_count: u64,
}

impl From<&TreeInfo> for chunkdelta_tree_info {
    fn from(info: &TreeInfo) -> Self {
        let mut out = chunkdelta_tree_info {
            format_version: u32::from(info.format_version),
            entry_count: info.entries.len() as u64,
            file_count: 0,
            copied_count: 0,
            patched_count: 0,
            literal_count: 0,
            solid_count: 0,
            solid_size: info.solid.iter().map(|solid| solid.len).sum(),
            dir_count: 0,
            symlink_count: 0,
            removed_count: info.removed.len() as u64,
            old_file_count: info.old_files.len() as u64,
            new_files_size: 0,
            patch_size: info.patch_size,
            signature_count: info.signatures.len() as u32,
            manifest_hash: info.manifest_hash,
            signing_digest: info.signing_digest,
            hard_link_count: 0,
        };
        for entry in &info.entries {
            match &entry.kind {
                EntryKind::File { size, source, .. } => {
                    out.file_count += 1;
                    out.new_files_size += size;
                    match source {
                        FileSource::Copy { .. } => out.copied_count += 1,
                        FileSource::Patch { .. } => out.patched_count += 1,
                        FileSource::Solid { .. } => out.solid_count += 1,
                        // Literal, and any way of making a file added to the core later: the
                        // counts of the three kinds named above would not add up otherwise.
                        _ => out.literal_count += 1,
                    }
                }
                EntryKind::Dir => out.dir_count += 1,
                EntryKind::Symlink { .. } => out.symlink_count += 1,
                EntryKind::HardLink { .. } => out.hard_link_count += 1,
                // An entry kind added to the core later is counted in `entry_count` only.
                _ => {}
            }
        }
        out
    }
}

/// Diffs the directory `old_dir` into the directory `new_dir` and writes a tree patch to
/// `patch_path`, which appears only once complete. Regular files (bytes and permission bits),
/// directories (empty ones too) and symlinks (their targets, never followed) are recorded;
/// content found anywhere in the old tree costs no payload (moves, copies), and a changed
/// file is diffed against the old file that shares most of its content. Devices, fifos,
/// sockets and names that differ only in case are `CHUNKDELTA_ERR_INVALID_ARGUMENT`. The
/// signatures added by `chunkdelta_options_add_signature` sign the tree patch; the progress
/// callback counts bytes of the new tree's files. Level, codec, chunk size, memory and threads
/// apply to each file's patch.
///
/// # Safety
/// Each path is NULL or a NUL-terminated string, unchanged during the call. `opts` is NULL
/// or a live options object.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn chunkdelta_diff_tree(
    old_dir: *const c_char,
    new_dir: *const c_char,
    patch_path: *const c_char,
    opts: *const chunkdelta_options,
) -> chunkdelta_result {
    guard(|| {
        // SAFETY: the pointers meet their functions' contracts by this function's contract.
        let (old, new, patch, options) = unsafe {
            (
                path(old_dir, "old_dir")?,
                path(new_dir, "new_dir")?,
                path(patch_path, "patch_path")?,
                diff_options(opts),
            )
        };
        chunkdelta::diff_tree(old, new, patch, &options)?;
        Ok(())
    })
}

/// Applies the tree patch `patch_path` to the directory `old_dir`, creating the directory
/// `out_dir`; `old_dir` is only read. An existing `out_dir` is
/// `CHUNKDELTA_ERR_INVALID_ARGUMENT`. Before anything is created, the patch's signatures are
/// checked against the trust settings of `opts` (`CHUNKDELTA_ERR_UNTRUSTED`) and every old
/// file the patch reads is checked, size and blake3: a difference is
/// `CHUNKDELTA_ERR_SOURCE_MISMATCH` with the file named by `chunkdelta_last_error`. The new
/// tree is built beside `out_dir` and renamed to it when complete and verified: on any
/// failure, cancellation included, `out_dir` does not exist.
///
/// # Safety
/// Each path is NULL or a NUL-terminated string, unchanged during the call. `opts` is NULL
/// or a live options object.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn chunkdelta_apply_tree(
    old_dir: *const c_char,
    patch_path: *const c_char,
    out_dir: *const c_char,
    opts: *const chunkdelta_options,
) -> chunkdelta_result {
    guard(|| {
        // SAFETY: the pointers meet their functions' contracts by this function's contract.
        let (old, patch, out, options) = unsafe {
            (
                path(old_dir, "old_dir")?,
                path(patch_path, "patch_path")?,
                path(out_dir, "out_dir")?,
                apply_options(opts),
            )
        };
        chunkdelta::apply_tree(old, patch, out, &options)?;
        Ok(())
    })
}

/// Does everything `chunkdelta_apply_tree` does, every file patch decoded and checked,
/// without writing anything.
///
/// # Safety
/// Each path is NULL or a NUL-terminated string, unchanged during the call. `opts` is NULL
/// or a live options object.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn chunkdelta_verify_tree(
    old_dir: *const c_char,
    patch_path: *const c_char,
    opts: *const chunkdelta_options,
) -> chunkdelta_result {
    guard(|| {
        // SAFETY: the pointers meet their functions' contracts by this function's contract.
        let (old, patch, options) =
            unsafe { (path(old_dir, "old_dir")?, path(patch_path, "patch_path")?, apply_options(opts)) };
        chunkdelta::verify_tree(old, patch, &options)?;
        Ok(())
    })
}

/// Upgrades the directory `dir` with the tree patch `patch_path` so that at every moment,
/// even after a kill or a power cut, `dir` is the complete old tree or the complete new one.
/// The new tree is staged in `.NAME.cdtr` beside `dir` (same filesystem), checked as
/// `chunkdelta_apply_tree` checks, then swapped with `dir` in one atomic exchange. Files in
/// `dir` that the patch does not know (a user's configuration, a plugin) are carried into the
/// new tree; unless `carried_out` is NULL, it receives their number (0 when a rerun finds the
/// swap already done). The old tree is kept until `chunkdelta_commit_tree` or
/// `chunkdelta_rollback_tree`; another update is refused until then. Called again with the
/// same patch after a kill, it resumes.
///
/// A refused patch (signature, changed old file) leaves `dir` unchanged and nothing beside it.
/// A later failure before the swap (cancellation, a full disk) leaves the state directory
/// beside it: rerunning the same call resumes, and `chunkdelta_recover_tree` removes it
/// (`CHUNKDELTA_RECOVERED_DISCARDED_STAGING`); until one of the two, another patch is refused.
///
/// # Safety
/// Each path is NULL or a NUL-terminated string, unchanged during the call. `opts` is NULL
/// or a live options object. `carried_out` is NULL or valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn chunkdelta_apply_tree_in_place(
    dir: *const c_char,
    patch_path: *const c_char,
    opts: *const chunkdelta_options,
    carried_out: *mut usize,
) -> chunkdelta_result {
    guard(|| {
        // SAFETY: the pointers meet their functions' contracts by this function's contract.
        let (dir, patch, options, carried_out) = unsafe {
            let carried_out =
                (!carried_out.is_null()).then(|| Out::new(carried_out, "carried_out")).transpose()?;
            (path(dir, "dir")?, path(patch_path, "patch_path")?, apply_options(opts), carried_out)
        };
        let report = chunkdelta::apply_tree_in_place(dir, patch, &options)?;
        if let Some(mut carried_out) = carried_out {
            carried_out.write(report.carried.len());
        }
        Ok(())
    })
}

/// Ends an in-place update that swapped: deletes the old tree and the state directory beside
/// `dir`, which then holds exactly the new tree and the carried files. Without a swapped
/// update it is `CHUNKDELTA_ERR_INVALID_ARGUMENT`.
///
/// # Safety
/// `dir` is NULL or a NUL-terminated string, unchanged during the call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn chunkdelta_commit_tree(dir: *const c_char) -> chunkdelta_result {
    guard(|| {
        // SAFETY: forwarded from this function's contract.
        chunkdelta::commit_tree(unsafe { path(dir, "dir")? })
    })
}

/// Undoes an in-place update of `dir`: swaps the old tree back if the update had swapped,
/// and removes the new tree and the state directory. Safe to call again after a kill. With no
/// update pending it is `CHUNKDELTA_ERR_INVALID_ARGUMENT`.
///
/// # Safety
/// `dir` is NULL or a NUL-terminated string, unchanged during the call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn chunkdelta_rollback_tree(dir: *const c_char) -> chunkdelta_result {
    guard(|| {
        // SAFETY: forwarded from this function's contract.
        chunkdelta::rollback_tree(unsafe { path(dir, "dir")? })
    })
}

/// Brings `dir` and its state directory to a consistent state after a kill, without the
/// patch, and writes what it found to `state_out`: `CHUNKDELTA_RECOVERED_NOTHING`,
/// `_DISCARDED_STAGING` (the update had not swapped: `dir` is the old tree),
/// `_SWAPPED` (`dir` is the new tree, awaiting commit or rollback) or `_ROLLED_BACK`.
/// `state_out` is written only on success.
///
/// # Safety
/// `dir` is NULL or a NUL-terminated string, unchanged during the call. `state_out` is valid
/// for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn chunkdelta_recover_tree(
    dir: *const c_char,
    state_out: *mut c_int,
) -> chunkdelta_result {
    guard(|| {
        // SAFETY: the pointers meet their functions' contracts by this function's contract.
        let (dir, mut state_out) = unsafe { (path(dir, "dir")?, Out::new(state_out, "state_out")?) };
        let state = match chunkdelta::recover_tree(dir)? {
            Recovered::Nothing => CHUNKDELTA_RECOVERED_NOTHING,
            Recovered::DiscardedStaging => CHUNKDELTA_RECOVERED_DISCARDED_STAGING,
            Recovered::Swapped => CHUNKDELTA_RECOVERED_SWAPPED,
            Recovered::RolledBack => CHUNKDELTA_RECOVERED_ROLLED_BACK,
            // A state added to the core without a constant here is a bug of this library: the
            // panic boundary turns it into CHUNKDELTA_ERR_INTERNAL with this message.
            other => panic!("recover_tree returned a state the C API has no constant for: {other:?}"),
        };
        state_out.write(state);
        Ok(())
    })
}

/// Reads the tree patch file `patch_path` and fills `info_out` with what it says, after
/// checking its structure (header, signature block, manifest, and that the file patches fill
/// the rest exactly); file patches are not decoded. A file patch, or anything else that is not
/// a tree patch, is `CHUNKDELTA_ERR_CORRUPT_PATCH`.
///
/// # Safety
/// `patch_path` is NULL or a NUL-terminated string, unchanged during the call. `info_out` is
/// valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn chunkdelta_tree_info_file(
    patch_path: *const c_char,
    info_out: *mut chunkdelta_tree_info,
) -> chunkdelta_result {
    guard(|| {
        // SAFETY: the pointers meet their functions' contracts by this function's contract.
        let (mut info_out, patch) =
            unsafe { (Out::new(info_out, "info_out")?, path(patch_path, "patch_path")?) };
        info_out.write(chunkdelta_tree_info::from(&chunkdelta::read_tree_info_file(patch)?));
        Ok(())
    })
}

/// The signatures of the tree patch file `patch_path`, as `chunkdelta_patch_signatures_file`
/// gives a file patch's: its first `capacity` signatures are written to `signatures_out`
/// (fewer if it has fewer) and their number to `count_out`; call with `capacity` 0 to learn
/// the count. This only describes them: trust is judged by apply and verify.
///
/// # Safety
/// `patch_path` is NULL or a NUL-terminated string, unchanged during the call.
/// `signatures_out` is NULL (when `capacity` is 0) or valid for writes of `capacity`
/// `chunkdelta_signature`s. `count_out` is valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn chunkdelta_tree_signatures_file(
    patch_path: *const c_char,
    signatures_out: *mut chunkdelta_signature,
    capacity: usize,
    count_out: *mut usize,
) -> chunkdelta_result {
    guard(|| {
        // SAFETY: the pointers meet their functions' contracts by this function's contract.
        let patch = unsafe { path(patch_path, "patch_path")? };
        let read = || Ok(chunkdelta::read_tree_info_file(patch)?.signatures);
        // SAFETY: forwarded from this function's contract.
        unsafe { put_signatures(signatures_out, capacity, count_out, read) }
    })
}
