//! Building a patch: index `old` once, then scan and compress the chunks of `new` in parallel.

use std::path::Path;

use rayon::prelude::*;

use crate::control::{Op, encode_op};
use crate::error::{Error, Result};
use crate::format::{self, CONTROL_SLACK, ChunkInfo, PatchInfo};
use crate::hash::hash;
use crate::index::SuffixIndex;
use crate::io::{OutputFile, map_file, same_file};
use crate::options::DiffOptions;
use crate::parallel::{Progress, Workers};
use crate::scan::{Segment, scan};

/// Builds a patch that turns `old` into `new`.
///
/// Memory: the index of `old`, within the budget of [`DiffOptions::memory`] (a full suffix
/// array, 4 bytes per byte below 2 GiB, 8 above, when it fits), plus the finished patch, plus
/// a few times the chunk size per thread.
///
/// ```
/// let old = b"hello, old world".repeat(100);
/// let new = b"hello, new world".repeat(100);
/// let patch = chunkdelta::diff(&old, &new, &chunkdelta::DiffOptions::new())?;
/// assert_eq!(chunkdelta::apply(&old, &patch[..], &chunkdelta::ApplyOptions::new())?, new);
/// # Ok::<(), chunkdelta::Error>(())
/// ```
pub fn diff(old: &[u8], new: &[u8], options: &DiffOptions) -> Result<Vec<u8>> {
    options.validate(new.len() as u64)?;
    let workers = Workers::new(options.threads)?;
    workers.run(|| build_patch(old, new, options))
}

/// Diffs two files into `patch_path`, which appears only once complete.
///
/// Both inputs are memory-mapped. Returns what the patch's header and table hold. A
/// `patch_path` that names either input is an [`crate::ErrorKind::InvalidArgument`].
pub fn diff_file(
    old_path: impl AsRef<Path>,
    new_path: impl AsRef<Path>,
    patch_path: impl AsRef<Path>,
    options: &DiffOptions,
) -> Result<PatchInfo> {
    for input in [old_path.as_ref(), new_path.as_ref()] {
        if same_file(input, patch_path.as_ref()) {
            return Err(Error::invalid(format!(
                "the patch would replace its input {}: choose another patch path",
                input.display()
            )));
        }
    }
    let old = map_file(old_path.as_ref())?;
    let new = map_file(new_path.as_ref())?;
    let patch = diff(&old, &new, options)?;
    let output = OutputFile::create(patch_path.as_ref())?;
    std::io::Write::write_all(&mut output.file(), &patch)
        .map_err(|e| Error::io(format!("writing {}", patch_path.as_ref().display()), e))?;
    output.commit()?;
    format::read_info(&patch[..])
}

/// A chunk's table entry and its three compressed streams, back to back.
pub(crate) struct EncodedChunk {
    info: ChunkInfo,
    pub(crate) payload: Vec<u8>,
}

fn build_patch(old: &[u8], new: &[u8], options: &DiffOptions) -> Result<Vec<u8>> {
    let step = options.index_plan(old.len() as u64)?.step as usize;
    build_patch_with_step(old, new, options, step)
}

/// [`build_patch`] with the index of `old` sampled every `step` bytes.
fn build_patch_with_step(old: &[u8], new: &[u8], options: &DiffOptions, step: usize) -> Result<Vec<u8>> {
    let progress = Progress::new(options.progress.get(), (old.len() + new.len()) as u64);
    let (index, (old_hash, new_hash)) =
        rayon::join(|| SuffixIndex::build(old, step), || rayon::join(|| hash(old), || hash(new)));
    let index = index?;
    progress.advance(old.len() as u64)?;

    let chunk_size = options.chunk_size as usize;
    let chunks: Vec<EncodedChunk> = new
        .par_chunks(chunk_size)
        .enumerate()
        .map(|(i, chunk)| {
            progress.check()?;
            let offset = i * chunk_size;
            let encoded =
                encode_chunk(old, &index, chunk, offset as u64, proportional(offset, old, new), options)?;
            progress.advance(chunk.len() as u64)?;
            Ok(encoded)
        })
        .collect::<Result<_>>()?;

    let infos: Vec<ChunkInfo> = chunks.iter().map(|c| c.info.clone()).collect();
    let mut patch =
        format::encode_head(options.codec, old.len() as u64, old_hash, new.len() as u64, new_hash, &infos);
    for chunk in chunks {
        patch.extend_from_slice(&chunk.payload);
    }
    Ok(patch)
}

/// Where in `old` the byte at `offset` of `new` lies if both files are laid out alike: the
/// scan's first guess of a chunk's alignment.
pub(crate) fn proportional(offset: usize, old: &[u8], new: &[u8]) -> usize {
    (offset as u128 * old.len() as u128 / new.len().max(1) as u128) as usize
}

/// The three raw streams of a chunk.
pub(crate) struct Streams {
    pub(crate) control: Vec<u8>,
    pub(crate) diff: Vec<u8>,
    pub(crate) extra: Vec<u8>,
}

impl Streams {
    pub(crate) fn from_segments(old: &[u8], new: &[u8], segments: &[Segment]) -> Self {
        let mut streams = Streams { control: Vec::new(), diff: Vec::new(), extra: Vec::new() };
        let (mut cursor, mut at) = (0usize, 0usize);
        for segment in segments {
            let seek = segment.old_pos as i64 - cursor as i64;
            encode_op(
                Op { seek, add_len: segment.add_len as u64, extra_len: segment.extra_len as u64 },
                &mut streams.control,
            );
            let added = &new[at..at + segment.add_len];
            let base = &old[segment.old_pos..segment.old_pos + segment.add_len];
            streams.diff.extend(added.iter().zip(base).map(|(n, o)| n.wrapping_sub(*o)));
            at += segment.add_len;
            streams.extra.extend_from_slice(&new[at..at + segment.extra_len]);
            at += segment.extra_len;
            cursor = segment.old_pos + segment.add_len;
        }
        streams
    }

    /// The whole chunk as one literal: the fallback when matching does not pay.
    fn literal(new: &[u8]) -> Self {
        let mut control = Vec::new();
        encode_op(Op { seek: 0, add_len: 0, extra_len: new.len() as u64 }, &mut control);
        Streams { control, diff: Vec::new(), extra: new.to_vec() }
    }
}

pub(crate) fn encode_chunk(
    old: &[u8],
    index: &SuffixIndex,
    new: &[u8],
    offset: u64,
    hint: usize,
    options: &DiffOptions,
) -> Result<EncodedChunk> {
    let segments = scan(old, index, new, hint);
    let mut streams = Streams::from_segments(old, new, &segments);
    if streams.control.len() as u64 > new.len() as u64 + CONTROL_SLACK {
        streams = Streams::literal(new);
    }
    let compress = |raw: &[u8]| options.codec.compress(raw, options.level);
    let (control, (diff, extra)) = rayon::join(
        || compress(&streams.control),
        || rayon::join(|| compress(&streams.diff), || compress(&streams.extra)),
    );
    let (control, diff, extra) = (control?, diff?, extra?);
    let info = ChunkInfo {
        new_offset: offset,
        new_len: new.len() as u64,
        control_raw_len: streams.control.len() as u64,
        extra_raw_len: streams.extra.len() as u64,
        control_len: control.len() as u64,
        diff_len: diff.len() as u64,
        extra_len: extra.len() as u64,
        hash: hash(new),
    };
    let mut payload = control;
    payload.extend_from_slice(&diff);
    payload.extend_from_slice(&extra);
    Ok(EncodedChunk { info, payload })
}
#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::{ApplyOptions, apply};

    /// Pseudo-random bytes (xorshift64): matches exist only where a test copies old into new.
    fn noise(seed: u64, len: usize) -> Vec<u8> {
        let mut state = seed | 1;
        (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect()
    }

    fn patch(old: &[u8], new: &[u8], step: usize) -> Vec<u8> {
        let options = DiffOptions::new().level(3).chunk_size(64 << 10);
        let patch = build_patch_with_step(old, new, &options, step).unwrap();
        assert_eq!(apply(old, &patch[..], &ApplyOptions::new()).unwrap(), new, "step {step}");
        patch
    }

    #[test]
    fn sampled_index_finds_long_matches_at_unaligned_offsets() {
        let old = noise(1, 1 << 20);
        let mut new = Vec::new();
        for (start, len) in [(1, 5000), (70_001, 300_003), (12_345, 999), (500_007, 200_000), (3, 100)] {
            new.extend_from_slice(&old[start..start + len]);
            new.extend_from_slice(&noise(start as u64, 7));
        }
        let copied: usize = new.len();
        for step in [1, 2, 4, 8, 16, 64, 256] {
            let size = patch(&old, &new, step).len();
            assert!(size < copied / 50, "step {step}: {size} bytes for {copied}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn sampled_index_round_trips(
            old in prop::collection::vec(prop::sample::select(b"ab\0\x01xyz".to_vec()), 0..3000),
            cuts in prop::collection::vec((any::<prop::sample::Index>(), 0usize..600, any::<u8>()), 0..8),
            step in prop::sample::select(vec![2usize, 4, 8, 64]),
        ) {
            let mut new = Vec::new();
            for (start, len, filler) in cuts {
                let start = if old.is_empty() { 0 } else { start.index(old.len()) };
                new.extend_from_slice(&old[start..old.len().min(start + len)]);
                new.push(filler);
            }
            patch(&old, &new, step);
        }
    }
}
