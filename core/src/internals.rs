//! The stages of [`crate::diff`], one call each, for the criterion benchmarks in `benches/`.
//!
//! Compiled only with the `bench-internals` feature and hidden from the docs: this is not a
//! stable API. Each function is a thin wrapper that runs exactly the code diff runs, so a
//! benchmark of it measures that stage and nothing else.
#![doc(hidden)]

use crate::codec::StreamCodec;
use crate::diff::{ChunkAt, Streams, pack_chunk, plan_chunk};
use crate::error::Result;
use crate::index::{SuffixIndex, Text};
use crate::options::DiffOptions;
use crate::parallel::Progress;
use crate::scan::scan;

/// The suffix index of `old` that diff builds once and every chunk scan shares.
pub struct Index<'a> {
    old: &'a [u8],
    inner: SuffixIndex<'a>,
}

/// The three raw (uncompressed) streams of one chunk, as diff would compress them.
pub struct ChunkStreams {
    /// Control ops, three varints each.
    pub control: Vec<u8>,
    /// Bytewise `new - old` over the matched regions: mostly zeros.
    pub diff: Vec<u8>,
    /// Literal bytes of `new` that matched nothing.
    pub extra: Vec<u8>,
}

/// Builds the suffix index of `old` (libsais, on as many threads as the current rayon pool).
pub fn build_index(old: &[u8]) -> Result<Index<'_>> {
    Ok(Index { old, inner: SuffixIndex::build(Text::Borrowed(old), 1, &Progress::new(None, 0))? })
}

/// Scans one chunk of `new` against the indexed old file; returns the number of segments.
pub fn scan_chunk(index: &Index<'_>, chunk: &[u8]) -> usize {
    scan(index.old, &index.inner, chunk, 0, 8).len()
}

/// Scans one chunk and returns its raw streams, before the literal fallback and compression.
pub fn chunk_streams(index: &Index<'_>, chunk: &[u8]) -> ChunkStreams {
    let streams = Streams::from_segments(index.old, chunk, &scan(index.old, &index.inner, chunk, 0, 8));
    ChunkStreams { control: streams.control, diff: streams.diff, extra: streams.extra }
}

/// Encodes one chunk as diff does (scan, streams, run-length coding, each stream as small as
/// the default codec or storing makes it, blake3), as the whole new file; returns the length
/// of its payload.
pub fn encode_chunk(index: &Index<'_>, chunk: &[u8], level: i32) -> Result<usize> {
    let at = ChunkAt { offset: 0, new_len: chunk.len() };
    let plan = plan_chunk(index.old, &index.inner, chunk, at);
    let streams = Streams::from_segments(index.old, chunk, &plan.segments);
    let options = DiffOptions::new().level(level);
    Ok(pack_chunk(index.old, chunk, 0, &streams, plan.dictionary, None, &options)?.payload_len())
}

/// One zstd frame of `raw` at `level`, as diff writes each stream.
pub fn compress(raw: &[u8], level: i32) -> Result<Vec<u8>> {
    StreamCodec::Zstd.compress(raw, level, &[])
}

/// blake3 of `data` as diff and apply compute it (rayon above 128 KiB).
pub fn hash(data: &[u8]) -> [u8; 32] {
    crate::hash::hash(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrappers_run_the_pipeline() {
        let old: Vec<u8> = (0..100_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect();
        let mut new = old.clone();
        new[50_000..50_100].fill(7);
        let index = build_index(&old).unwrap();
        assert!(scan_chunk(&index, &new) >= 1);
        let streams = chunk_streams(&index, &new);
        assert_eq!(streams.diff.len() + streams.extra.len(), new.len());
        assert!(encode_chunk(&index, &new, 3).unwrap() < new.len() / 10);
        assert_eq!(zstd::bulk::decompress(&compress(&new, 3).unwrap(), new.len()).unwrap(), new);
        assert_eq!(hash(&new), *blake3::hash(&new).as_bytes());
    }
}
