//! Diff, apply, verify and patch info on files. Outputs appear only once complete and
//! synced: a failure, cancellation included, leaves no output file.

use std::ffi::c_char;
use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use chunkdelta::{Error, read_info};

use crate::args::{Out, path};
use crate::info::{
    chunkdelta_container_info, chunkdelta_exec_info, chunkdelta_info, chunkdelta_signature, put_signatures,
};
use crate::options::{apply_options, chunkdelta_options, diff_options};
use crate::panic::guard;
use crate::result::chunkdelta_result;

/// The patch file at `path`, buffered for the small reads of its header and table.
fn open_patch(path: &Path) -> Result<BufReader<File>, Error> {
    File::open(path)
        .map(BufReader::new)
        .map_err(|source| Error::Io { context: format!("opening {}", path.display()), source })
}

/// Diffs the file `old_path` into `new_path` and writes the patch to `patch_path`, which
/// appears only once complete. Both inputs are memory-mapped. A `patch_path` naming either
/// input is `CHUNKDELTA_ERR_INVALID_ARGUMENT`.
///
/// # Safety
/// Each path is NULL or a NUL-terminated string, unchanged during the call. `opts` is NULL
/// or a live options object.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn chunkdelta_diff_file(
    old_path: *const c_char,
    new_path: *const c_char,
    patch_path: *const c_char,
    opts: *const chunkdelta_options,
) -> chunkdelta_result {
    guard(|| {
        // SAFETY: the pointers meet their functions' contracts by this function's contract.
        let (old, new, patch, options) = unsafe {
            (
                path(old_path, "old_path")?,
                path(new_path, "new_path")?,
                path(patch_path, "patch_path")?,
                diff_options(opts),
            )
        };
        chunkdelta::diff_file(old, new, patch, &options)?;
        Ok(())
    })
}

/// Applies the patch file `patch_path` to the file `old_path`, writing the new file to
/// `out_path`. The output is written beside `out_path` under a temporary name, synced, and
/// renamed into place only when complete and verified: on any failure, cancellation
/// included, `out_path` is left as it was. `out_path` may name `old_path`, which replaces the
/// old file atomically. The output gets the old file's permissions. A process killed
/// meanwhile leaves the temporary `.NAME.ID.chunkdelta-tmp` beside `out_path`; calling this
/// again with the same patch resumes from it, keeping the chunks that match their hashes.
///
/// # Safety
/// Each path is NULL or a NUL-terminated string, unchanged during the call. `opts` is NULL
/// or a live options object.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn chunkdelta_apply_file(
    old_path: *const c_char,
    patch_path: *const c_char,
    out_path: *const c_char,
    opts: *const chunkdelta_options,
) -> chunkdelta_result {
    guard(|| {
        // SAFETY: the pointers meet their functions' contracts by this function's contract.
        let (old, patch, out, options) = unsafe {
            (
                path(old_path, "old_path")?,
                path(patch_path, "patch_path")?,
                path(out_path, "out_path")?,
                apply_options(opts),
            )
        };
        chunkdelta::apply_file(old, open_patch(patch)?, out, &options)?;
        Ok(())
    })
}

/// Does everything `chunkdelta_apply_file` does, every hash check included, without
/// writing anything.
///
/// # Safety
/// Each path is NULL or a NUL-terminated string, unchanged during the call. `opts` is NULL
/// or a live options object.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn chunkdelta_verify_file(
    old_path: *const c_char,
    patch_path: *const c_char,
    opts: *const chunkdelta_options,
) -> chunkdelta_result {
    guard(|| {
        // SAFETY: the pointers meet their functions' contracts by this function's contract.
        let (old, patch, options) =
            unsafe { (path(old_path, "old_path")?, path(patch_path, "patch_path")?, apply_options(opts)) };
        chunkdelta::verify_file(old, open_patch(patch)?, &options)?;
        Ok(())
    })
}

/// `chunkdelta_patch_info` on the patch file `patch_path`.
///
/// # Safety
/// `patch_path` is NULL or a NUL-terminated string, unchanged during the call. `info_out` is
/// valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn chunkdelta_patch_info_file(
    patch_path: *const c_char,
    info_out: *mut chunkdelta_info,
) -> chunkdelta_result {
    guard(|| {
        // SAFETY: the pointers meet their functions' contracts by this function's contract.
        let (mut info_out, patch) =
            unsafe { (Out::new(info_out, "info_out")?, path(patch_path, "patch_path")?) };
        info_out.write(chunkdelta_info::from(&read_info(open_patch(patch)?)?));
        Ok(())
    })
}

/// `chunkdelta_patch_container_info` on the patch file `patch_path`.
///
/// # Safety
/// `patch_path` is NULL or a NUL-terminated string, unchanged during the call. `info_out` is
/// valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn chunkdelta_patch_container_info_file(
    patch_path: *const c_char,
    info_out: *mut chunkdelta_container_info,
) -> chunkdelta_result {
    guard(|| {
        // SAFETY: the pointers meet their functions' contracts by this function's contract.
        let (mut info_out, patch) =
            unsafe { (Out::new(info_out, "info_out")?, path(patch_path, "patch_path")?) };
        info_out.write(chunkdelta_container_info::from(&read_info(open_patch(patch)?)?));
        Ok(())
    })
}

/// `chunkdelta_patch_exec_info` on the patch file `patch_path`.
///
/// # Safety
/// `patch_path` is NULL or a NUL-terminated string, unchanged during the call. `info_out` is
/// valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn chunkdelta_patch_exec_info_file(
    patch_path: *const c_char,
    info_out: *mut chunkdelta_exec_info,
) -> chunkdelta_result {
    guard(|| {
        // SAFETY: the pointers meet their functions' contracts by this function's contract.
        let (mut info_out, patch) =
            unsafe { (Out::new(info_out, "info_out")?, path(patch_path, "patch_path")?) };
        info_out.write(chunkdelta_exec_info::from(&read_info(open_patch(patch)?)?));
        Ok(())
    })
}

/// `chunkdelta_patch_signatures` on the patch file `patch_path`.
///
/// # Safety
/// `patch_path` is NULL or a NUL-terminated string, unchanged during the call.
/// `signatures_out` is NULL (when `capacity` is 0) or valid for writes of `capacity`
/// `chunkdelta_signature`s. `count_out` is valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn chunkdelta_patch_signatures_file(
    patch_path: *const c_char,
    signatures_out: *mut chunkdelta_signature,
    capacity: usize,
    count_out: *mut usize,
) -> chunkdelta_result {
    guard(|| {
        // SAFETY: the pointers meet their functions' contracts by this function's contract.
        let patch = unsafe { path(patch_path, "patch_path")? };
        // SAFETY: forwarded from this function's contract.
        unsafe {
            put_signatures(signatures_out, capacity, count_out, || {
                Ok(read_info(open_patch(patch)?)?.signatures)
            })
        }
    })
}
