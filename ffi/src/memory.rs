//! Diff, apply and patch info on buffers in memory.

use chunkdelta::read_info;

use crate::args::{Out, bytes};
use crate::buffer::OutBuffer;
use crate::info::{
    chunkdelta_container_info, chunkdelta_exec_info, chunkdelta_info, chunkdelta_signature, put_signatures,
};
use crate::options::{apply_options, chunkdelta_options, diff_options};
use crate::panic::guard;
use crate::result::chunkdelta_result;

/// Builds a patch that turns `old_data` into `new_data`. On success `*patch_out` and
/// `*patch_len_out` receive the patch, which the caller frees with
/// `chunkdelta_free(*patch_out, *patch_len_out)`; on failure they are set to NULL and 0.
/// A data pointer may be NULL when its length is 0.
///
/// Memory: about 4 to 8 times `old_len` for the suffix array, plus the patch.
///
/// # Safety
/// Each data pointer is NULL or points to its length in readable bytes, unchanged during the
/// call. `opts` is NULL or a live options object. The out-pointers are valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn chunkdelta_diff(
    old_data: *const u8,
    old_len: usize,
    new_data: *const u8,
    new_len: usize,
    opts: *const chunkdelta_options,
    patch_out: *mut *mut u8,
    patch_len_out: *mut usize,
) -> chunkdelta_result {
    guard(|| {
        // SAFETY: the pointers meet their functions' contracts by this function's contract.
        let (out, old, new, options) = unsafe {
            (
                OutBuffer::new(patch_out, patch_len_out, ["patch_out", "patch_len_out"])?,
                bytes(old_data, old_len, "old_data")?,
                bytes(new_data, new_len, "new_data")?,
                diff_options(opts),
            )
        };
        out.put(chunkdelta::diff(old, new, &options)?);
        Ok(())
    })
}

/// Applies `patch` to `old_data`. On success `*out` and `*out_len` receive the new file,
/// which the caller frees with `chunkdelta_free(*out, *out_len)`; on failure they are set to
/// NULL and 0. `old_data` is checked against the patch's blake3 first, and every chunk and
/// the whole result after decoding. A data pointer may be NULL when its length is 0.
///
/// # Safety
/// Each data pointer is NULL or points to its length in readable bytes, unchanged during the
/// call. `opts` is NULL or a live options object. The out-pointers are valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn chunkdelta_apply(
    old_data: *const u8,
    old_len: usize,
    patch: *const u8,
    patch_len: usize,
    opts: *const chunkdelta_options,
    out: *mut *mut u8,
    out_len: *mut usize,
) -> chunkdelta_result {
    guard(|| {
        // SAFETY: the pointers meet their functions' contracts by this function's contract.
        let (out, old, patch, options) = unsafe {
            (
                OutBuffer::new(out, out_len, ["out", "out_len"])?,
                bytes(old_data, old_len, "old_data")?,
                bytes(patch, patch_len, "patch")?,
                apply_options(opts),
            )
        };
        out.put(chunkdelta::apply(old, patch, &options)?);
        Ok(())
    })
}

/// Reads the header and chunk table of the patch in memory into `*info_out`, and checks that
/// the patch holds exactly the bytes its table accounts for. Payloads are not decoded.
///
/// # Safety
/// `patch` is NULL or points to `patch_len` readable bytes, unchanged during the call.
/// `info_out` is valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn chunkdelta_patch_info(
    patch: *const u8,
    patch_len: usize,
    info_out: *mut chunkdelta_info,
) -> chunkdelta_result {
    guard(|| {
        // SAFETY: the pointers meet their functions' contracts by this function's contract.
        let (mut info_out, patch) =
            unsafe { (Out::new(info_out, "info_out")?, bytes(patch, patch_len, "patch")?) };
        info_out.write(chunkdelta_info::from(&read_info(patch)?));
        Ok(())
    })
}

/// Describes the container of the patch in memory into `*info_out` (a file patch has kind
/// `CHUNKDELTA_CONTAINER_NONE`), after the checks of `chunkdelta_patch_info`.
///
/// # Safety
/// `patch` is NULL or points to `patch_len` readable bytes, unchanged during the call.
/// `info_out` is valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn chunkdelta_patch_container_info(
    patch: *const u8,
    patch_len: usize,
    info_out: *mut chunkdelta_container_info,
) -> chunkdelta_result {
    guard(|| {
        // SAFETY: the pointers meet their functions' contracts by this function's contract.
        let (mut info_out, patch) =
            unsafe { (Out::new(info_out, "info_out")?, bytes(patch, patch_len, "patch")?) };
        info_out.write(chunkdelta_container_info::from(&read_info(patch)?));
        Ok(())
    })
}

/// Describes the executable transform of the patch in memory into `*info_out` (a patch of
/// format version 1 to 3 has arch `CHUNKDELTA_EXEC_NONE`), after the checks of
/// `chunkdelta_patch_info`.
///
/// # Safety
/// `patch` is NULL or points to `patch_len` readable bytes, unchanged during the call.
/// `info_out` is valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn chunkdelta_patch_exec_info(
    patch: *const u8,
    patch_len: usize,
    info_out: *mut chunkdelta_exec_info,
) -> chunkdelta_result {
    guard(|| {
        // SAFETY: the pointers meet their functions' contracts by this function's contract.
        let (mut info_out, patch) =
            unsafe { (Out::new(info_out, "info_out")?, bytes(patch, patch_len, "patch")?) };
        info_out.write(chunkdelta_exec_info::from(&read_info(patch)?));
        Ok(())
    })
}

/// Describes the signatures of the patch in memory: writes the first `capacity` of them to
/// `signatures_out` (fewer if it has fewer) and their number to `*count_out`, which may exceed
/// `capacity`: call with a capacity of 0 (and NULL) to learn how many there are, or size the
/// array from `chunkdelta_info.signature_count`. Reads what `chunkdelta_patch_info` reads;
/// verifies no signature.
///
/// # Safety
/// `patch` is NULL or points to `patch_len` readable bytes, unchanged during the call.
/// `signatures_out` is NULL (when `capacity` is 0) or valid for writes of `capacity`
/// `chunkdelta_signature`s. `count_out` is valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn chunkdelta_patch_signatures(
    patch: *const u8,
    patch_len: usize,
    signatures_out: *mut chunkdelta_signature,
    capacity: usize,
    count_out: *mut usize,
) -> chunkdelta_result {
    guard(|| {
        // SAFETY: the pointers meet their functions' contracts by this function's contract.
        let patch = unsafe { bytes(patch, patch_len, "patch")? };
        // SAFETY: forwarded from this function's contract.
        unsafe { put_signatures(signatures_out, capacity, count_out, || Ok(read_info(patch)?.signatures)) }
    })
}
