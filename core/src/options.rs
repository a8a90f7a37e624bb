//! Options for diff and apply, built by value:
//! `DiffOptions::new().level(19).threads(4)`.

use std::fmt;
use std::ops::{ControlFlow, RangeInclusive};
use std::sync::Arc;

use crate::codec::Codec;
use crate::error::{Error, Result};
use crate::format::{MAX_CHUNK_COUNT, MAX_CHUNK_LEN};
use crate::index::{choose_step, peak_memory};
use crate::io::Durability;
use crate::trust::{SecretKey, SignOptions, TrustPolicy};

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
/// Memory budget for the index of old used when none is given: 2 GiB.
///
/// Old files up to 512 MiB get the full index, so their patches are those of a full index (all
/// the dev corpus); larger ones get a sampled index of at most 2 GiB, up to about 42 GiB of old
/// (step 256). At 1 GiB of old that is step 8: a 1.5 GiB index, so diff's peak RSS (index, both
/// mapped files, zstd) should stay under half of bsdiff's 8.8 bytes per byte of old (measured:
/// 2.8 GiB at step 16, 6.2 GiB with the full index), for 1-4% of patch size on the dev corpus
/// (README, "Bounded-memory diff").
pub const DEFAULT_MEMORY: u64 = 2 << 30;
/// Smallest memory budget accepted by [`DiffOptions::memory`].
pub const MIN_MEMORY: u64 = 16 << 20;

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

    /// This callback for a part of the work worth `span` of `total`, starting at `base`: each
    /// `(done, part_total)` is told as `(base + span * done / part_total, total)`.
    pub(crate) fn part(&self, base: u64, span: u64, total: u64) -> Self {
        match &self.0 {
            Some(callback) => {
                let callback = Arc::clone(callback);
                Callback::new(move |done, part_total| {
                    let scaled = u128::from(span) * u128::from(done) / u128::from(part_total.max(1));
                    callback(base + scaled as u64, total)
                })
            }
            None => Callback(None),
        }
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
    pub(crate) memory: u64,
    pub(crate) progress: Callback,
    pub(crate) signers: Vec<(SecretKey, SignOptions)>,
    pub(crate) containers: bool,
    pub(crate) exec: bool,
    pub(crate) hard_links: bool,
    pub(crate) mtimes: bool,
}

impl Default for DiffOptions {
    fn default() -> Self {
        Self::new()
    }
}

impl DiffOptions {
    /// Defaults: LZMA2 ([`Codec::Xz`]) at [`DEFAULT_LEVEL`], all cores, [`DEFAULT_CHUNK_SIZE`],
    /// [`DEFAULT_MEMORY`], no progress callback, containers and executable matching on.
    pub fn new() -> Self {
        DiffOptions {
            codec: Codec::Xz,
            level: DEFAULT_LEVEL,
            threads: 0,
            chunk_size: DEFAULT_CHUNK_SIZE,
            memory: DEFAULT_MEMORY,
            progress: Callback::default(),
            signers: Vec::new(),
            containers: true,
            exec: true,
            hard_links: false,
            mtimes: false,
        }
    }

    /// Tree patches: whether files of the new tree that are one file under several names
    /// (hard links) stay so (default false, like rsync without `-H`: each name is then a file
    /// of its own, a copy that costs no payload). True makes a tree format 3 patch when the
    /// new tree has hard links.
    pub fn hard_links(mut self, on: bool) -> Self {
        self.hard_links = on;
        self
    }

    /// Tree patches: whether every entry's modification time is recorded and set on apply
    /// (default false, like rsync without `-t`: applied files get the time they are written,
    /// and the patch does not depend on when the release was built). True makes a tree
    /// format 3 patch, 12 bytes an entry larger.
    pub fn mtimes(mut self, on: bool) -> Self {
        self.mtimes = on;
        self
    }

    /// Whether diff makes a container patch (`CONTAINER-FORMAT.md`) when old and new are zip
    /// archives or gzip files whose changed members the pinned zlib rebuilds (the default,
    /// true). Such a patch is much smaller, and its apply deflates those members again, which
    /// costs CPU time (about 20 MB/s of inflated data per core). False always makes a file patch.
    pub fn containers(mut self, on: bool) -> Self {
        self.containers = on;
        self
    }

    /// Whether diff matches executables with their pointer fields masked (the default, true):
    /// when old and new are both ELF, PE or Mach-O files of x86-64 or AArch64 code, the patch
    /// is format version 4, whose chunks code each pointer as a correction to a prediction
    /// (`FORMAT.md`, "Version 4"). Diff then holds a masked copy of both files and their
    /// analyses (16 bytes per pointer field: about 12 MB each for ruff's 24 MB x86-64 builds)
    /// besides the memory [`crate::diff`] states; apply holds old's analysis. False always
    /// makes a version-3 patch.
    pub fn exec(mut self, on: bool) -> Self {
        self.exec = on;
        self
    }

    /// Which compressors diff tries on each chunk stream; each stream keeps the smallest
    /// result, or is stored raw. [`Codec::Xz`] makes smaller patches that diff and apply more
    /// slowly; [`Codec::Auto`] tries both. Patches are format version 3 (4 for executables) in every case.
    pub fn codec(mut self, codec: Codec) -> Self {
        self.codec = codec;
        self
    }

    /// Compression level, within [`level_range`] (zstd's levels). For LZMA2 ([`Codec::Xz`],
    /// [`Codec::Auto`]) it is capped at preset 9, made "extreme" at level 19 for streams up to
    /// 1 MiB and from level 20 for every stream (on the dev pairs level 20 diffed 2-6x slower
    /// than 19 for patches at most 0.2% smaller, except pydantic-core: 13% smaller).
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

    /// Memory budget in bytes for the index of old, its construction included; at least
    /// [`MIN_MEMORY`] (less is an [`crate::ErrorKind::InvalidArgument`]).
    ///
    /// Diff indexes every position of old when that fits (4 bytes per byte of old, 8 from
    /// 2 GiB on). Otherwise it indexes only the positions at multiples of a step, the smallest
    /// power of two up to 256 that fits ([`DiffOptions::index_plan`] tells which): about
    /// 12 bytes per indexed position while it is built (24 from 2^31 positions on), 4 (or 8)
    /// afterwards. A budget that not even step 256 fits is an
    /// [`crate::ErrorKind::InvalidArgument`]. Memory beyond the index: the mapped inputs and
    /// the patch, as [`crate::diff`] says.
    ///
    /// A sampled index still finds every match at least about `step + 8` bytes long, so patches
    /// grow only where old and new share short runs. Measured on the dev corpus (README,
    /// "Bounded-memory diff"), patch size against the full index: step 4 +0.5 to +1.7%, step 8
    /// +0.9 to +3.8%, step 16 +0.5 to +6.9%, step 64 0 to +17% (executables cost most, a tar
    /// least). Diff time does not grow: fewer suffixes are sorted and searched.
    pub fn memory(mut self, bytes: u64) -> Self {
        self.memory = bytes;
        self
    }

    /// How diff would index an old file of `old_len` bytes under these options, or the
    /// [`crate::ErrorKind::InvalidArgument`] it would fail with.
    pub fn index_plan(&self, old_len: u64) -> Result<IndexPlan> {
        self.validate_memory()?;
        let step = choose_step(old_len, self.memory)?;
        Ok(IndexPlan { step: step as u64, peak_bytes: peak_memory(old_len, step as u64) })
    }

    /// Calls `callback(done, total)` as work progresses; returning `Break` cancels the diff.
    ///
    /// `done` counts old's bytes once it is indexed and each chunk of new's bytes half when
    /// scanned and half when packed; `total` is both files' lengths. While old's suffix array
    /// is sorted (one libsais call, which cannot be interrupted), the callback is called every
    /// 100 ms with `done` moving toward old's length on an estimate of the sort's time (it
    /// never gets there before the sort ends), and a cancellation returns at once: with a
    /// callback, the sort of an old file of 1 MiB or more runs on a thread of its own, over a
    /// copy of old (counted in [`DiffOptions::index_plan`]; [`crate::diff_file`]'s mapped old
    /// file and executables' masked copies are shared instead), and that thread finishes the
    /// sort after a cancellation before it ends and frees its memory.
    pub fn progress(
        mut self,
        callback: impl Fn(u64, u64) -> ControlFlow<()> + Send + Sync + 'static,
    ) -> Self {
        self.progress = Callback::new(callback);
        self
    }

    /// Signs the patch with `key` as it is made (see [`crate::sign`]); call again to add
    /// signatures by more keys.
    pub fn sign(mut self, key: SecretKey, options: SignOptions) -> Self {
        self.signers.push((key, options));
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
        self.validate_memory()?;
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

    fn validate_memory(&self) -> Result<()> {
        if self.memory < MIN_MEMORY {
            return Err(Error::invalid(format!(
                "a memory budget of {} bytes is below the minimum of {MIN_MEMORY}",
                self.memory
            )));
        }
        Ok(())
    }
}

/// How diff indexes old under a memory budget: see [`DiffOptions::memory`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IndexPlan {
    /// The index holds the suffixes of old at multiples of this power of two; 1 is all of them.
    pub step: u64,
    /// The most memory, in bytes, that building the index takes (the finished index takes
    /// less when `step` > 1).
    pub peak_bytes: u64,
}

/// Options of [`crate::apply`], [`crate::apply_file`] and [`crate::verify`].
#[derive(Clone, Debug)]
pub struct ApplyOptions {
    pub(crate) threads: usize,
    pub(crate) max_chunk_len: u64,
    pub(crate) durable: bool,
    pub(crate) progress: Callback,
    pub(crate) trust: Option<TrustPolicy>,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        Self::new()
    }
}

impl ApplyOptions {
    /// Defaults: all cores, chunks up to [`MAX_CHUNK_LEN`], durable, no progress callback, no
    /// trust policy (signatures are not checked).
    pub fn new() -> Self {
        ApplyOptions {
            threads: 0,
            max_chunk_len: MAX_CHUNK_LEN,
            durable: true,
            progress: Callback::default(),
            trust: None,
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

    /// Refuses, with [`crate::ErrorKind::Untrusted`], a patch that `policy` does not accept,
    /// before decoding any payload or creating any output.
    pub fn trust(mut self, policy: TrustPolicy) -> Self {
        self.trust = Some(policy);
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
