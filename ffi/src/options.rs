//! `chunkdelta_options`: one options object for diff and apply, and its progress callback.

use std::ffi::{c_int, c_void};
use std::ops::ControlFlow;

use chunkdelta::{
    ApplyOptions, Codec, DEFAULT_CHUNK_SIZE, DEFAULT_LEVEL, DEFAULT_MEMORY, DiffOptions, Error,
    MAX_CHUNK_LEN, MIN_CHUNK_SIZE, MIN_MEMORY, SecretKey, SignOptions, TrustPolicy,
};

use crate::object::{self, Settable};
use crate::result::chunkdelta_result;

/// Reports progress: `done` of `total` bytes. Returning non-zero cancels the operation, which
/// then fails with `CHUNKDELTA_ERR_CANCELLED` and leaves no output.
///
/// It may be called on the calling thread or on any of the library's worker threads, but
/// never concurrently for one operation, and `done` never decreases (while a diff sorts the
/// old file's suffixes, it is called every 100 ms, with `done` moving on an estimate of the
/// sort's time, so that it can cancel there; the sort then finishes on its own thread). It
/// should return
/// quickly, must not unwind (no C++ exception may escape it), and must not call chunkdelta
/// functions other than `chunkdelta_version`, `chunkdelta_result_name` and
/// `chunkdelta_last_error`.
pub type chunkdelta_progress_fn =
    Option<unsafe extern "C" fn(done: u64, total: u64, user_data: *mut c_void) -> c_int>;

/// A C progress callback with its `user_data`.
#[derive(Clone, Copy)]
struct Progress {
    callback: unsafe extern "C" fn(u64, u64, *mut c_void) -> c_int,
    user_data: *mut c_void,
}

// SAFETY: `chunkdelta_options_set_progress` documents that the callback is called from
// worker threads with `user_data`; the C caller guarantees both may be used from any thread.
unsafe impl Send for Progress {}
// SAFETY: as for `Send`; the library never calls the callback concurrently for one operation,
// and concurrent operations sharing one options object are the C caller's to allow.
unsafe impl Sync for Progress {}

impl Progress {
    fn report(&self, done: u64, total: u64) -> ControlFlow<()> {
        // SAFETY: the C caller set a valid function, which accepts its own `user_data`.
        let verdict = unsafe { (self.callback)(done, total, self.user_data) };
        if verdict == 0 { ControlFlow::Continue(()) } else { ControlFlow::Break(()) }
    }
}

/// Options for diff and apply; an opaque object. Made by `chunkdelta_options_new`, freed by
/// `chunkdelta_options_free`. Wherever a function takes options, NULL means the defaults.
///
/// An options object may be read by many calls at once, on many threads; setting a value
/// while a call is using the object is not allowed.
pub struct chunkdelta_options {
    codec: Codec,
    level: i32,
    threads: usize,
    chunk_size: u64,
    memory_limit: u64,
    max_chunk_len: u64,
    durable: bool,
    containers: bool,
    exec: bool,
    hard_links: bool,
    mtimes: bool,
    progress: Option<Progress>,
    /// The signatures diff adds (`chunkdelta_options_add_signature`).
    pub(crate) signers: Vec<(SecretKey, SignOptions)>,
    /// What apply and verify require of a patch's signatures; `None` checks none.
    pub(crate) trust: Option<TrustPolicy>,
}

impl Settable for chunkdelta_options {
    const ARGUMENT: &'static str = "opts";
}

/// `chunkdelta_options_set_codec`: each chunk stream is zstd or stored, whichever is smaller:
/// 5-8% larger patches than xz on the dev corpus, applied about twice as fast.
pub const CHUNKDELTA_CODEC_ZSTD: u32 = 0;
/// `chunkdelta_options_set_codec`: each chunk stream is xz (raw LZMA2) or stored; the default,
/// for the smallest patches.
pub const CHUNKDELTA_CODEC_XZ: u32 = 1;
/// `chunkdelta_options_set_codec`: each chunk stream is zstd, xz or stored, whichever is
/// smallest; diff tries both compressors.
pub const CHUNKDELTA_CODEC_AUTO: u32 = 2;

impl Default for chunkdelta_options {
    fn default() -> Self {
        chunkdelta_options {
            codec: Codec::Xz,
            level: DEFAULT_LEVEL,
            threads: 0,
            chunk_size: DEFAULT_CHUNK_SIZE,
            memory_limit: DEFAULT_MEMORY,
            max_chunk_len: MAX_CHUNK_LEN,
            durable: true,
            containers: true,
            exec: true,
            hard_links: false,
            mtimes: false,
            progress: None,
            signers: Vec::new(),
            trust: None,
        }
    }
}

impl chunkdelta_options {
    fn diff(&self) -> DiffOptions {
        let options = DiffOptions::new()
            .codec(self.codec)
            .level(self.level)
            .threads(self.threads)
            .chunk_size(self.chunk_size)
            .memory(self.memory_limit)
            .containers(self.containers)
            .exec(self.exec)
            .hard_links(self.hard_links)
            .mtimes(self.mtimes);
        let options = self
            .signers
            .iter()
            .fold(options, |options, (key, signing)| options.sign(key.clone(), signing.clone()));
        match self.progress {
            Some(progress) => options.progress(move |done, total| progress.report(done, total)),
            None => options,
        }
    }

    fn apply(&self) -> ApplyOptions {
        let options =
            ApplyOptions::new().threads(self.threads).max_chunk_len(self.max_chunk_len).durable(self.durable);
        let options = match &self.trust {
            Some(policy) => options.trust(policy.clone()),
            None => options,
        };
        match self.progress {
            Some(progress) => options.progress(move |done, total| progress.report(done, total)),
            None => options,
        }
    }
}

/// The diff options `opts` holds: the defaults if it is NULL.
///
/// # Safety
/// `opts` is NULL or a live object from `chunkdelta_options_new`.
pub(crate) unsafe fn diff_options(opts: *const chunkdelta_options) -> DiffOptions {
    // SAFETY: per the contract, a live object or NULL; it is only read.
    unsafe { opts.as_ref() }.map_or_else(DiffOptions::new, chunkdelta_options::diff)
}

/// The apply and verify options `opts` holds: the defaults if it is NULL.
///
/// # Safety
/// `opts` is NULL or a live object from `chunkdelta_options_new`.
pub(crate) unsafe fn apply_options(opts: *const chunkdelta_options) -> ApplyOptions {
    // SAFETY: per the contract, a live object or NULL; it is only read.
    unsafe { opts.as_ref() }.map_or_else(ApplyOptions::new, chunkdelta_options::apply)
}

/// A new options object with the defaults: level 19, all cores, 4 MiB chunks, a 2 GiB index
/// memory budget, chunks up to 1 GiB accepted, no progress callback, no signing, no trust
/// (signatures are not checked). Free it with `chunkdelta_options_free`. Returns NULL only on
/// an internal error.
#[unsafe(no_mangle)]
pub extern "C" fn chunkdelta_options_new() -> *mut chunkdelta_options {
    object::new()
}

/// Frees an options object. NULL is a no-op.
///
/// # Safety
/// `opts` is NULL or an object from `chunkdelta_options_new`, not freed before and not in
/// use by any call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn chunkdelta_options_free(opts: *mut chunkdelta_options) {
    // SAFETY: forwarded from this function's contract.
    unsafe { object::free(opts) }
}

/// Sets the zstd compression level for diff: default 19; zstd's range goes from its negative
/// fast levels up to 22, and 0 means zstd's default (3). A level outside that range is
/// `CHUNKDELTA_ERR_INVALID_ARGUMENT`.
///
/// # Safety
/// `opts` is NULL or a live options object that no call is using.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn chunkdelta_options_set_level(
    opts: *mut chunkdelta_options,
    level: c_int,
) -> chunkdelta_result {
    let set = |o: &mut chunkdelta_options| {
        let range = chunkdelta::level_range();
        if !range.contains(&level) {
            return Err(Error::InvalidArgument(format!("compression level {level} is outside {range:?}")));
        }
        o.level = level;
        Ok(())
    };
    // SAFETY: forwarded from this function's contract.
    unsafe { object::update(opts, set) }
}

/// Sets the compressors diff tries on each chunk stream: `CHUNKDELTA_CODEC_XZ` (the default),
/// `CHUNKDELTA_CODEC_ZSTD` or `CHUNKDELTA_CODEC_AUTO`; any other value is
/// `CHUNKDELTA_ERR_INVALID_ARGUMENT`. Patches are format version 3 (4 for executables,
/// `chunkdelta_options_set_exec`) whichever is chosen.
///
/// # Safety
/// `opts` is NULL or a live options object that no call is using.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn chunkdelta_options_set_codec(
    opts: *mut chunkdelta_options,
    codec: u32,
) -> chunkdelta_result {
    let set = |o: &mut chunkdelta_options| {
        o.codec = match codec {
            CHUNKDELTA_CODEC_ZSTD => Codec::Zstd,
            CHUNKDELTA_CODEC_XZ => Codec::Xz,
            CHUNKDELTA_CODEC_AUTO => Codec::Auto,
            _ => return Err(Error::InvalidArgument(format!("unknown codec {codec}"))),
        };
        Ok(())
    };
    // SAFETY: forwarded from this function's contract.
    unsafe { object::update(opts, set) }
}

/// Sets whether `chunkdelta_apply_file` syncs the output and its folder to disk (non-zero,
/// the default) or not (0): unsynced, the output still appears atomically and fully
/// verified, but a power cut soon after may leave it empty or as it was.
///
/// # Safety
/// `opts` is NULL or a live options object that no call is using.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn chunkdelta_options_set_durable(
    opts: *mut chunkdelta_options,
    durable: c_int,
) -> chunkdelta_result {
    let set = |o: &mut chunkdelta_options| {
        o.durable = durable != 0;
        Ok(())
    };
    // SAFETY: forwarded from this function's contract.
    unsafe { object::update(opts, set) }
}

/// Sets whether diff makes container patches (non-zero, the default) or not (0): for zip
/// archives (wheel, jar, apk...) and gzip files whose changed members the pinned zlib
/// rebuilds, the patch diffs those members inflated and apply deflates them again (much
/// smaller patches, slower apply; `CHUNKDELTA_ERR_REBUILD_MISMATCH` where a machine cannot
/// rebuild them). 0 always makes a file patch of the compressed bytes.
///
/// # Safety
/// `opts` is NULL or a live options object that no call is using.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn chunkdelta_options_set_containers(
    opts: *mut chunkdelta_options,
    containers: c_int,
) -> chunkdelta_result {
    let set = |o: &mut chunkdelta_options| {
        o.containers = containers != 0;
        Ok(())
    };
    // SAFETY: forwarded from this function's contract.
    unsafe { object::update(opts, set) }
}

/// Sets whether diff makes executable patches (non-zero, the default) or not (0): when old
/// and new are both ELF, PE or Mach-O files of x86-64 or AArch64 code, the patch is format
/// version 4 (`FORMAT.md`, "Version 4"), whose chunks code each pointer field as a correction
/// to a prediction (much smaller patches of rebuilt programs; diff holds a masked copy of both
/// files). Apply re-derives the old file's analysis and fails with
/// `CHUNKDELTA_ERR_REBUILD_MISMATCH` where it differs from the patch's. 0 always makes a
/// version-3 patch. `chunkdelta_patch_exec_info` describes an executable patch.
///
/// # Safety
/// `opts` is NULL or a live options object that no call is using.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn chunkdelta_options_set_exec(
    opts: *mut chunkdelta_options,
    exec: c_int,
) -> chunkdelta_result {
    let set = |o: &mut chunkdelta_options| {
        o.exec = exec != 0;
        Ok(())
    };
    // SAFETY: forwarded from this function's contract.
    unsafe { object::update(opts, set) }
}

/// Sets what a tree diff records besides content, modes and symlinks (both off by default,
/// like rsync without `-H` and `-t`): `hard_links` non-zero keeps files that are one file
/// under several names so (else each name is a copy of its own); `mtimes` non-zero records
/// every entry's modification time, which apply sets. Either makes a tree format 3 patch
/// when it records something. File patches ignore both.
///
/// # Safety
/// `opts` is NULL or a live options object that no call is using.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn chunkdelta_options_set_tree_metadata(
    opts: *mut chunkdelta_options,
    hard_links: c_int,
    mtimes: c_int,
) -> chunkdelta_result {
    let set = |o: &mut chunkdelta_options| {
        (o.hard_links, o.mtimes) = (hard_links != 0, mtimes != 0);
        Ok(())
    };
    // SAFETY: forwarded from this function's contract.
    unsafe { object::update(opts, set) }
}

/// Sets the number of worker threads for diff and apply; 0 (the default) uses one per core
/// (`RAYON_NUM_THREADS` is respected).
///
/// # Safety
/// `opts` is NULL or a live options object that no call is using.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn chunkdelta_options_set_threads(
    opts: *mut chunkdelta_options,
    threads: u32,
) -> chunkdelta_result {
    let set = |o: &mut chunkdelta_options| {
        o.threads = threads as usize;
        Ok(())
    };
    // SAFETY: forwarded from this function's contract.
    unsafe { object::update(opts, set) }
}

/// Sets how many bytes of the new file each chunk of a diff covers (default 4 MiB), from
/// 1 KiB to 1 GiB; anything else is `CHUNKDELTA_ERR_INVALID_ARGUMENT`. Apply needs about
/// threads x 3 x chunk size of memory.
///
/// # Safety
/// `opts` is NULL or a live options object that no call is using.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn chunkdelta_options_set_chunk_size(
    opts: *mut chunkdelta_options,
    bytes: u64,
) -> chunkdelta_result {
    let set = |o: &mut chunkdelta_options| {
        if !(MIN_CHUNK_SIZE..=MAX_CHUNK_LEN).contains(&bytes) {
            return Err(Error::InvalidArgument(format!(
                "chunk size {bytes} is outside {MIN_CHUNK_SIZE}..={MAX_CHUNK_LEN}"
            )));
        }
        o.chunk_size = bytes;
        Ok(())
    };
    // SAFETY: forwarded from this function's contract.
    unsafe { object::update(opts, set) }
}

/// Sets the memory budget, in bytes, of diff's index of the old file, its construction
/// included: default 2 GiB, at least 16 MiB (less is `CHUNKDELTA_ERR_INVALID_ARGUMENT`).
/// Diff indexes every byte of old when that fits (4 bytes per byte of old, 8 from 2 GiB on);
/// otherwise only the positions at multiples of the smallest power-of-two step up to 256 that
/// fits, which makes patches somewhat larger. A diff whose old file does not fit even at step
/// 256 fails with `CHUNKDELTA_ERR_INVALID_ARGUMENT`.
///
/// # Safety
/// `opts` is NULL or a live options object that no call is using.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn chunkdelta_options_set_memory_limit(
    opts: *mut chunkdelta_options,
    bytes: u64,
) -> chunkdelta_result {
    let set = |o: &mut chunkdelta_options| {
        if bytes < MIN_MEMORY {
            return Err(Error::InvalidArgument(format!(
                "a memory budget of {bytes} bytes is below the minimum of {MIN_MEMORY}"
            )));
        }
        o.memory_limit = bytes;
        Ok(())
    };
    // SAFETY: forwarded from this function's contract.
    unsafe { object::update(opts, set) }
}

/// Makes apply and verify refuse, with `CHUNKDELTA_ERR_LIMIT_EXCEEDED`, patches with chunks
/// longer than `bytes` (default and maximum 1 GiB), which caps their memory at about threads
/// x 3 x `bytes`. 0 is `CHUNKDELTA_ERR_INVALID_ARGUMENT`.
///
/// # Safety
/// `opts` is NULL or a live options object that no call is using.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn chunkdelta_options_set_max_chunk_len(
    opts: *mut chunkdelta_options,
    bytes: u64,
) -> chunkdelta_result {
    let set = |o: &mut chunkdelta_options| {
        if bytes == 0 {
            return Err(Error::InvalidArgument("a maximum chunk length of 0".into()));
        }
        o.max_chunk_len = bytes.min(MAX_CHUNK_LEN);
        Ok(())
    };
    // SAFETY: forwarded from this function's contract.
    unsafe { object::update(opts, set) }
}

/// Sets the progress callback of diff, apply and verify, called with `user_data`; NULL
/// removes it. See `chunkdelta_progress_fn` for when and on which threads it is called.
///
/// # Safety
/// `opts` is NULL or a live options object that no call is using. `cb`, if not NULL, is safe
/// to call from any thread with `user_data` for as long as the options object is used.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn chunkdelta_options_set_progress(
    opts: *mut chunkdelta_options,
    cb: chunkdelta_progress_fn,
    user_data: *mut c_void,
) -> chunkdelta_result {
    let set = |o: &mut chunkdelta_options| {
        o.progress = cb.map(|callback| Progress { callback, user_data });
        Ok(())
    };
    // SAFETY: forwarded from this function's contract.
    unsafe { object::update(opts, set) }
}
