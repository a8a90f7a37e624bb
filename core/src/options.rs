//! Options for diff and apply, built by value:
//! `DiffOptions::new().level(19).threads(4)`.

use std::fmt;
use std::ops::{ControlFlow, RangeInclusive};
use std::sync::Arc;

use crate::codec::Codec;
use crate::error::{Error, Result};
use crate::format::{MAX_CHUNK_COUNT, MAX_CHUNK_LEN};
use crate::io::Durability;

/// A progress callback: receives (bytes done, bytes total) and returns
/// [`ControlFlow::Break`] to cancel. It is called from worker threads, never concurrently,
/// with `done` never decreasing.
pub type ProgressFn = dyn Fn(u64, u64) -> ControlFlow<()> + Send + Sync;

/// zstd level used when none is given. Chosen by measurement on the dev corpus (see README).
pub const DEFAULT_LEVEL: i32 = 19;
/// Chunk size used when none is given. Chosen by measurement on the dev corpus (see README).
pub const DEFAULT_CHUNK_SIZE: u64 = 4 << 20;
/// Smallest chunk size accepted.
pub const MIN_CHUNK_SIZE: u64 = 1 << 10;

/// An optional progress callback, shown by `Debug` only as present or absent.
#[derive(Clone, Default)]
pub(crate) struct Callback(Option<Arc<ProgressFn>>);

impl Callback {
    fn new(callback: impl Fn(u64, u64) -> ControlFlow<()> + Send + Sync + 'static) -> Self {
        Callback(Some(Arc::new(callback)))
    }

    pub(crate) fn get(&self) -> Option<&ProgressFn> {
        self.0.as_deref()
    }
}

impl fmt::Debug for Callback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() { "Some(<callback>)" } else { "None" })
    }
}

/// The zstd compression levels accepted by [`DiffOptions::level`].
pub fn level_range() -> RangeInclusive<i32> {
    zstd::compression_level_range()
}

/// Options of [`crate::diff`] and [`crate::diff_file`].
#[derive(Clone, Debug)]
pub struct DiffOptions {
    pub(crate) codec: Codec,
    pub(crate) level: i32,
    pub(crate) threads: usize,
    pub(crate) chunk_size: u64,
    pub(crate) progress: Callback,
}

impl Default for DiffOptions {
    fn default() -> Self {
        Self::new()
    }
}

impl DiffOptions {
    /// Defaults: zstd at [`DEFAULT_LEVEL`], all cores, [`DEFAULT_CHUNK_SIZE`], no progress
    /// callback.
    pub fn new() -> Self {
        DiffOptions {
            codec: Codec::Zstd,
            level: DEFAULT_LEVEL,
            threads: 0,
            chunk_size: DEFAULT_CHUNK_SIZE,
            progress: Callback::default(),
        }
    }

    /// How the chunk streams are compressed. [`Codec::Xz`] makes smaller patches that diff
    /// and apply more slowly, and needs a reader of format version 2.
    pub fn codec(mut self, codec: Codec) -> Self {
        self.codec = codec;
        self
    }

    /// Compression level, within [`level_range`] (zstd's levels). For [`Codec::Xz`] it is
    /// capped at preset 9, made "extreme" from level 19 up.
    pub fn level(mut self, level: i32) -> Self {
        self.level = level;
        self
    }

    /// Worker threads; 0 (the default) uses rayon's global pool, which has one thread per
    /// core unless `RAYON_NUM_THREADS` says otherwise.
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = threads;
        self
    }

    /// Bytes of the new file per chunk, from [`MIN_CHUNK_SIZE`] to [`MAX_CHUNK_LEN`].
    /// Apply needs memory of about threads x 3 x chunk size.
    pub fn chunk_size(mut self, bytes: u64) -> Self {
        self.chunk_size = bytes;
        self
    }

    /// Calls `callback(done, total)` as work progresses; returning `Break` cancels the diff.
    pub fn progress(
        mut self,
        callback: impl Fn(u64, u64) -> ControlFlow<()> + Send + Sync + 'static,
    ) -> Self {
        self.progress = Callback::new(callback);
        self
    }

    pub(crate) fn validate(&self, new_size: u64) -> Result<()> {
        if !level_range().contains(&self.level) {
            return Err(Error::invalid(format!(
                "compression level {} is outside {:?}",
                self.level,
                level_range()
            )));
        }
        if !(MIN_CHUNK_SIZE..=MAX_CHUNK_LEN).contains(&self.chunk_size) {
            return Err(Error::invalid(format!(
                "chunk size {} is outside {MIN_CHUNK_SIZE}..={MAX_CHUNK_LEN}",
                self.chunk_size
            )));
        }
        let chunks = new_size.div_ceil(self.chunk_size);
        if chunks > MAX_CHUNK_COUNT {
            return Err(Error::limit(
                format!("chunk count for a {new_size}-byte file at chunk size {}", self.chunk_size),
                chunks,
                MAX_CHUNK_COUNT,
            ));
        }
        Ok(())
    }
}

/// Options of [`crate::apply`], [`crate::apply_file`] and [`crate::verify`].
#[derive(Clone, Debug)]
pub struct ApplyOptions {
    pub(crate) threads: usize,
    pub(crate) max_chunk_len: u64,
    pub(crate) durable: bool,
    pub(crate) progress: Callback,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        Self::new()
    }
}

impl ApplyOptions {
    /// Defaults: all cores, chunks up to [`MAX_CHUNK_LEN`], durable, no progress callback.
    pub fn new() -> Self {
        ApplyOptions {
            threads: 0,
            max_chunk_len: MAX_CHUNK_LEN,
            durable: true,
            progress: Callback::default(),
        }
    }

    /// Worker threads; 0 (the default) uses rayon's global pool (`RAYON_NUM_THREADS` respected).
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = threads;
        self
    }

    /// Rejects, with [`crate::ErrorKind::LimitExceeded`], patches whose chunks are longer than
    /// `bytes`. Memory in use is about threads x 3 x the longest chunk, so this caps memory.
    pub fn max_chunk_len(mut self, bytes: u64) -> Self {
        self.max_chunk_len = bytes.min(MAX_CHUNK_LEN);
        self
    }

    /// Whether [`crate::apply_file`] syncs the output and its folder before and after renaming
    /// it into place (the default, true). Without the sync the rename is still atomic for other
    /// processes and every hash is still checked, but a power cut soon after may leave the
    /// destination empty or as it was. Costs measured in the README's benchmark table.
    pub fn durable(mut self, durable: bool) -> Self {
        self.durable = durable;
        self
    }

    pub(crate) fn durability(&self) -> Durability {
        if self.durable { Durability::Synced } else { Durability::Unsynced }
    }

    /// Calls `callback(done, total)` as chunks complete; returning `Break` cancels the apply.
    pub fn progress(
        mut self,
        callback: impl Fn(u64, u64) -> ControlFlow<()> + Send + Sync + 'static,
    ) -> Self {
        self.progress = Callback::new(callback);
        self
    }
}
