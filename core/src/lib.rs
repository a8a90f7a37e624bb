//! chunkdelta builds compact binary patches from an old to a new file, and applies them fast,
//! in bounded memory, verifiably.
//!
//! A patch cuts the new file into independent chunks. Each chunk carries bsdiff-style control,
//! diff (run-length coded) and extra streams, each compressed with LZMA2 (the default) or zstd, or stored
//! (format version 3; the extra stream possibly against a window of `old` as a dictionary),
//! and the blake3 hash of its output. Diff
//! indexes `old` once with a suffix array and scans the chunks in parallel; apply decodes
//! chunks in parallel in one forward pass over the patch, checking `old`'s hash before writing
//! anything and every chunk's hash after. The byte format is specified in `FORMAT.md`.
//!
//! Zip archives and gzip files get container patches (`CONTAINER-FORMAT.md`): their changed
//! members are diffed inflated and deflated again on apply by a pinned zlib.
//!
//! ```
//! use chunkdelta::{ApplyOptions, DiffOptions};
//!
//! let old = b"release 1.0: the quick brown fox".repeat(1000);
//! let new = b"release 1.1: the quick brown fox!".repeat(1000);
//! let patch = chunkdelta::diff(&old, &new, &DiffOptions::new().level(3))?;
//! assert!(patch.len() < new.len() / 10);
//!
//! let info = chunkdelta::read_info(&patch[..])?;
//! assert_eq!(info.new_size, new.len() as u64);
//! assert_eq!(chunkdelta::apply(&old, &patch[..], &ApplyOptions::new())?, new);
//!
//! // The wrong old file is refused before anything is written.
//! let err = chunkdelta::apply(&new, &patch[..], &ApplyOptions::new()).unwrap_err();
//! assert_eq!(err.kind(), chunkdelta::ErrorKind::SourceMismatch);
//! # Ok::<(), chunkdelta::Error>(())
//! ```
//!
//! # Threads
//! Diff and apply run on rayon's global pool (one thread per core, `RAYON_NUM_THREADS`
//! respected) unless the options give a thread count. Suffix-array construction uses
//! libsais on one thread, while other threads hash both files.
//!
//! # Platform
//! Linux and other Unix systems: file output uses positional writes (`FileExt::write_all_at`).

mod apply;
mod codec;
mod compat;
mod container;
mod control;
mod diff;
mod error;
mod exec;
mod format;
mod hash;
mod index;
#[cfg(feature = "bench-internals")]
pub mod internals;
mod io;
mod options;
mod parallel;
mod rle;
mod scan;
mod tree;
mod trust;

pub use apply::{ApplyReport, apply, apply_file, verify, verify_file};
pub use codec::{Codec, StreamCodec};
pub use compat::{BsdiffInfo, PatchFormat, PatchHead, inspect};
pub use container::{
    CONTAINER_FORMAT_VERSION, CONTAINER_MAGIC, ContainerInfo, ContainerKind, MAX_EXPANDED_LEN, MAX_RECIPE_LEN,
};
pub use diff::{diff, diff_file};
pub use error::{Error, ErrorKind, Result};
pub use exec::ExecInfo;
pub use format::{
    ChunkInfo, FORMAT_VERSION, MAGIC, MAX_CHUNK_COUNT, MAX_CHUNK_LEN, MAX_DICTIONARY_LEN, MAX_GROUP_RAW,
    MAX_SIGNATURE_LEN, PatchInfo, StreamInfo, StreamKind, read_info,
};
pub use options::{
    ApplyOptions, DEFAULT_CHUNK_SIZE, DEFAULT_LEVEL, DEFAULT_MEMORY, DiffOptions, IndexPlan, MIN_CHUNK_SIZE,
    MIN_MEMORY, ProgressFn, level_range,
};
pub use tree::{
    EntryKind, FileSource, InPlaceReport, MAX_MANIFEST_LEN, Mtime, OldCheck, OldFile, Recovered, SolidPatch,
    TREE_FORMAT_VERSION, TREE_MAGIC, TreeEntry, TreeInfo, apply_tree, apply_tree_in_place, commit_tree,
    diff_tree, is_tree_patch, read_tree_info, read_tree_info_file, recover_tree, rollback_tree, verify_tree,
};
pub use trust::{
    KeyId, PublicKey, SecretKey, SignOptions, SignatureInfo, TrustPolicy, sign, sign_file, write_key_pair,
};
