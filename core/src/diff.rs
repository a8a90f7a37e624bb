//! Building a patch: index `old` once, then scan and compress the chunks of `new` in parallel.
//!
//! Each chunk becomes four streams (format version 3): control ops, the run-length coded
//! differences as `diff_ctrl` and `diff_code`, and the extra literals. Each stream is stored
//! with whichever of [`crate::Codec`]'s candidates makes it smallest, or raw; the extra stream
//! may be compressed against a window of old ([`extra_dictionary`]).

use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use rayon::prelude::*;

use crate::codec::StreamCodec;
use crate::control::{Op, encode_op};
use crate::error::{Error, Result};
use crate::exec;
use crate::format::{
    self, CONTROL_SLACK, ChunkInfo, MAX_DICTIONARY_LEN, MAX_GROUP_RAW, PatchInfo, StreamInfo, StreamKind,
};
use crate::hash::hash;
use crate::index::{SuffixIndex, Text};
use crate::io::{OutputFile, map_file, same_file};
use crate::options::DiffOptions;
use crate::parallel::{Progress, Workers};
use crate::rle;
use crate::scan::{MIN_GAINS, Segment, scan};

/// Builds a patch that turns `old` into `new`.
///
/// When both are zip archives or gzip files of which the new one has changed members that the
/// pinned zlib rebuilds, and [`DiffOptions::containers`] is on (the default), the patch is a
/// container patch (`CONTAINER-FORMAT.md`), made from the inflated views of both files;
/// otherwise a file patch. The views add their inflated members (at most
/// [`crate::MAX_EXPANDED_LEN`] each) to the memory below, which then applies to the views.
///
/// Memory: while the chunks are scanned, the index of `old`, within the budget of
/// [`DiffOptions::memory`] (a full suffix array, 4 bytes per byte below 2 GiB, 8 above, when
/// it fits). The index is freed before any chunk is compressed; from then on, the finished
/// patch, plus a few times the chunk size per thread (LZMA2's match finder takes about 10
/// bytes per byte of its window), plus every chunk's run-length diff streams until grouping
/// has offered them to groups (together at most about the size of `new`).
///
/// ```
/// let old = b"hello, old world".repeat(100);
/// let new = b"hello, new world".repeat(100);
/// let patch = chunkdelta::diff(&old, &new, &chunkdelta::DiffOptions::new())?;
/// assert_eq!(chunkdelta::apply(&old, &patch[..], &chunkdelta::ApplyOptions::new())?, new);
/// # Ok::<(), chunkdelta::Error>(())
/// ```
pub fn diff(old: &[u8], new: &[u8], options: &DiffOptions) -> Result<Vec<u8>> {
    diff_text(Text::Borrowed(old), Text::Borrowed(new), options)
}

/// [`diff`] of inputs that may be mapped files ([`Text`]): a cancellable sort shares old
/// instead of copying it, and an executable pair's pages are released once masked.
fn diff_text(old: Text<'_>, new: Text<'_>, options: &DiffOptions) -> Result<Vec<u8>> {
    options.validate(new.bytes().len() as u64)?;
    let workers = Workers::new(options.threads)?;
    let mut patch = workers.run(|| build_unsigned(old, new, options))?;
    for (key, sign_options) in &options.signers {
        patch = crate::trust::sign(&patch, key, sign_options)?;
    }
    Ok(patch)
}

/// Diffs two files into `patch_path`, which appears only once complete.
///
/// Both inputs are memory-mapped; for an executable pair, their pages leave the resident set
/// once hashed and masked (the sort and the scan read the masked copies). Returns what the
/// patch's header and table hold. A `patch_path` that names either input is an
/// [`crate::ErrorKind::InvalidArgument`].
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
    let old = Arc::new(map_file(old_path.as_ref())?);
    let new = Arc::new(map_file(new_path.as_ref())?);
    let patch = diff_text(Text::Mapped(&old), Text::Mapped(&new), options)?;
    let output = OutputFile::create(patch_path.as_ref())?;
    std::io::Write::write_all(&mut output.file(), &patch)
        .map_err(|e| Error::io(format!("writing {}", patch_path.as_ref().display()), e))?;
    output.commit()?;
    format::read_info(&patch[..])
}

/// A chunk's table entry and its streams as stored, in payload order.
pub(crate) struct EncodedChunk {
    info: ChunkInfo,
    /// Four streams, or five in version 4.
    packed: Vec<Vec<u8>>,
    /// The run-length form of the chunk's differences, which [`group_chunks`] offers to groups.
    runs: rle::Rle,
}

impl EncodedChunk {
    /// Total bytes of the chunk's payload.
    #[cfg(feature = "bench-internals")]
    pub(crate) fn payload_len(&self) -> usize {
        self.packed.iter().map(Vec::len).sum()
    }

    /// Packed bytes of the two diff streams.
    fn diff_len(&self) -> usize {
        self.packed[1].len() + self.packed[2].len()
    }
}

/// The unsigned patch: what [`crate::container::diff`] makes when `old` and `new` are
/// containers with members to rebuild (a container patch, or a file patch where that is
/// smaller), else a file patch.
pub(crate) fn build_unsigned(old: Text<'_>, new: Text<'_>, options: &DiffOptions) -> Result<Vec<u8>> {
    match crate::container::diff(old, new, options)? {
        Some(patch) => Ok(patch),
        None => build_patch(old, new, options),
    }
}

pub(crate) fn build_patch(old: Text<'_>, new: Text<'_>, options: &DiffOptions) -> Result<Vec<u8>> {
    let step = options.index_plan(old.bytes().len() as u64)?.step as usize;
    build_patch_with_step(old, new, options, step)
}

/// [`build_patch`] with the index of `old` sampled every `step` bytes: version 4 when
/// [`DiffOptions::exec`] is on and both files are executables of one arch, else version 3.
///
/// An executable pair is hashed before its index is built, and then its mapped inputs' pages
/// are released: the index and the scan read only the masked views, and the raw files would
/// otherwise stay resident beside them (ruff: peak RSS 226 → 198 MB).
fn build_patch_with_step(
    text: Text<'_>,
    new_text: Text<'_>,
    options: &DiffOptions,
    step: usize,
) -> Result<Vec<u8>> {
    let (old, new) = (text.bytes(), new_text.bytes());
    let progress = Progress::new(options.progress.get(), (old.len() + new.len()) as u64);
    let (pair, masked_new) = options.exec.then(|| exec::Pair::analyse(old, new)).flatten().unzip();
    let hashes = || rayon::join(|| hash(old), || hash(new));
    let (index, (old_hash, new_hash)) = match &pair {
        None => rayon::join(|| SuffixIndex::build(text, step, &progress), hashes),
        Some(pair) => {
            let hashes = hashes();
            text.release_pages();
            new_text.release_pages();
            (SuffixIndex::build(Text::Shared(&pair.masked_old), step, &progress), hashes)
        }
    };
    let index = index?;

    let (mut chunks, exec_block) = match (&pair, masked_new) {
        (Some(pair), Some(masked_new)) => {
            let (chunks, block) = encode_exec_chunks(pair, masked_new, old, index, new, options, &progress)?;
            (chunks, Some(block))
        }
        _ => (encode_chunks(old, index, new, options, &progress)?, None),
    };
    group_chunks(&mut chunks, options)?;

    let infos: Vec<ChunkInfo> = chunks.iter().map(|c| c.info.clone()).collect();
    let (old_len, new_len) = (old.len() as u64, new.len() as u64);
    let mut patch = format::encode_head(old_len, old_hash, new_len, new_hash, &infos, exec_block.as_deref());
    for stream in chunks.iter().flat_map(|chunk| &chunk.packed) {
        patch.extend_from_slice(stream);
    }
    Ok(patch)
}

/// Scans every chunk of `new`, then frees the index and encodes the chunks, in parallel.
fn encode_chunks(
    old: &[u8],
    index: SuffixIndex,
    new: &[u8],
    options: &DiffOptions,
    progress: &Progress,
) -> Result<Vec<EncodedChunk>> {
    let chunk_size = options.chunk_size as usize;
    let plans = plan_chunks(old, index, new, chunk_size, progress)?;
    new.par_chunks(chunk_size)
        .zip(plans)
        .enumerate()
        .map(|(i, (chunk, plan))| {
            progress.check()?;
            let streams = Streams::from_segments(old, chunk, &plan.segments);
            let offset = (i * chunk_size) as u64;
            let encoded = pack_chunk(old, chunk, offset, &streams, plan.dictionary, None, options)?;
            progress.advance(packed_share(chunk.len()))?;
            Ok(encoded)
        })
        .collect()
}

/// The plan of every `chunk_size`-byte chunk of `new` against `old`, in parallel. Takes the
/// index so that it is freed before any chunk is compressed: the suffix array (4 bytes per
/// byte of old) and the compressors' match finders (about 10 times each stream's window) are
/// then never held at once.
fn plan_chunks(
    old: &[u8],
    index: SuffixIndex,
    new: &[u8],
    chunk_size: usize,
    progress: &Progress,
) -> Result<Vec<ChunkPlan>> {
    new.par_chunks(chunk_size)
        .enumerate()
        .map(|(i, chunk)| {
            progress.check()?;
            let plan = plan_chunk(old, &index, chunk, ChunkAt { offset: i * chunk_size, new_len: new.len() });
            progress.advance(scanned_share(chunk.len()))?;
            Ok(plan)
        })
        .collect()
}

/// The progress a chunk of `len` bytes counts once scanned: half its bytes (scan and
/// compression take comparable times); [`packed_share`] counts the rest once it is packed.
fn scanned_share(len: usize) -> u64 {
    (len / 2) as u64
}

/// The progress a chunk of `len` bytes counts once packed: what [`scanned_share`] left.
fn packed_share(len: usize) -> u64 {
    (len - len / 2) as u64
}

/// The chunks of an executable pair, and the exec block: every chunk is scanned on the masked
/// views first (then the index and `masked_new` are freed), then the address map is read off
/// all their matches, and then each chunk's pointer fields are coded against it and the chunk
/// is packed (with the extra stream's dictionary in the unmasked `old`).
fn encode_exec_chunks(
    pair: &exec::Pair,
    masked_new: Arc<[u8]>,
    old: &[u8],
    index: SuffixIndex,
    new: &[u8],
    options: &DiffOptions,
    progress: &Progress,
) -> Result<(Vec<EncodedChunk>, Vec<u8>)> {
    let chunk_size = options.chunk_size as usize;
    let plans = plan_chunks(&pair.masked_old, index, &masked_new, chunk_size, progress)?;
    drop(masked_new);
    let map = exec::AddressMap::from_regions(matched_regions(&plans, chunk_size));
    let block = pair.block(&map, |raw| options.codec.smallest(raw, options.level, &[]))?;
    let predictor = pair.predictor(map);
    let fields = exec::Fields::new(old, pair.old_references(), &predictor);
    let chunks = new
        .par_chunks(chunk_size)
        .zip(plans)
        .enumerate()
        .map(|(i, (chunk, plan))| {
            progress.check()?;
            let offset = i * chunk_size;
            let (coded, corrections) = code_fields(&fields, chunk, offset as u64, &plan.segments);
            let streams = Streams::from_segments(&pair.masked_old, &coded, &plan.segments);
            let encoded = pack_chunk(
                old,
                chunk,
                offset as u64,
                &streams,
                plan.dictionary,
                Some(&corrections),
                options,
            )?;
            progress.advance(packed_share(chunk.len()))?;
            Ok(encoded)
        })
        .collect::<Result<_>>()?;
    Ok((chunks, block))
}

/// Every add region of the plans, chunks `chunk_size` bytes apart, in new's order.
fn matched_regions(plans: &[ChunkPlan], chunk_size: usize) -> impl Iterator<Item = exec::Region> + '_ {
    plans.iter().enumerate().flat_map(move |(i, plan)| {
        let mut at = (i * chunk_size) as u64;
        plan.segments.iter().map(move |segment| {
            let region = exec::Region { old: segment.old_pos as u64, new: at, len: segment.add_len as u64 };
            at += (segment.add_len + segment.extra_len) as u64;
            region
        })
    })
}

/// The chunk at new offset `offset` with the immediate of each pointer field its matches carry
/// over from old cleared, and the corrections that restore them.
fn code_fields(
    fields: &exec::Fields<'_>,
    chunk: &[u8],
    offset: u64,
    segments: &[Segment],
) -> (Vec<u8>, Vec<u8>) {
    let (mut coded, mut corrections) = (chunk.to_vec(), Vec::new());
    let (mut at, mut chunk_fields) = (0, fields.chunk());
    for segment in segments {
        let region = &mut coded[at..at + segment.add_len];
        chunk_fields.code_region(region, segment.old_pos, offset + at as u64, &mut corrections);
        at += segment.add_len + segment.extra_len;
    }
    (coded, corrections)
}

/// Groups runs of consecutive chunks: their run-length coded diff streams, concatenated, are
/// compressed once and stored by the group's first chunk ([`format::MAX_GROUP_RAW`] bytes at
/// most per stream). Candidates are maximal runs of chunks with differences, cut at the cap,
/// compressed in parallel; one is kept only where it packs smaller than its chunks' diff
/// streams as they stand, so grouping never grows a patch.
fn group_chunks(chunks: &mut [EncodedChunk], options: &DiffOptions) -> Result<()> {
    let candidates = group_candidates(chunks);
    let packed: Vec<Option<[Packed; 2]>> = candidates
        .par_iter()
        .map(|range| pack_group(&chunks[range.clone()], options))
        .collect::<Result<_>>()?;
    for (range, packed) in candidates.into_iter().zip(packed) {
        if let Some(packed) = packed {
            join_group(&mut chunks[range], packed);
        }
    }
    Ok(())
}

/// Ranges of at least two consecutive chunks with differences, whose run-length streams sum to
/// at most [`MAX_GROUP_RAW`] each, taken greedily from the front.
fn group_candidates(chunks: &[EncodedChunk]) -> Vec<Range<usize>> {
    let (mut groups, mut start, mut sums) = (Vec::new(), 0, [0u64; 2]);
    for (i, chunk) in chunks.iter().enumerate() {
        let lens = [chunk.runs.ctrl.len() as u64, chunk.runs.code.len() as u64];
        let fits = sums[0] + lens[0] <= MAX_GROUP_RAW && sums[1] + lens[1] <= MAX_GROUP_RAW;
        if lens[0] == 0 || !fits {
            if i - start >= 2 {
                groups.push(start..i);
            }
            (start, sums) = if lens[0] == 0 { (i + 1, [0, 0]) } else { (i, lens) };
        } else {
            sums = [sums[0] + lens[0], sums[1] + lens[1]];
        }
    }
    if chunks.len() - start >= 2 {
        groups.push(start..chunks.len());
    }
    groups
}

/// The group's concatenated `diff_ctrl` and `diff_code`, packed, if smaller than its chunks'
/// diff streams together.
fn pack_group(chunks: &[EncodedChunk], options: &DiffOptions) -> Result<Option<[Packed; 2]>> {
    let ctrl: Vec<u8> = chunks.iter().flat_map(|c| c.runs.ctrl.iter().copied()).collect();
    let code: Vec<u8> = chunks.iter().flat_map(|c| c.runs.code.iter().copied()).collect();
    let (ctrl, code) =
        rayon::join(|| Packed::smallest(&ctrl, &[], options), || Packed::smallest(&code, &[], options));
    let (ctrl, code) = (ctrl?, code?);
    let separate: usize = chunks.iter().map(EncodedChunk::diff_len).sum();
    Ok((ctrl.bytes.len() + code.bytes.len() < separate).then_some([ctrl, code]))
}

/// Makes `chunks` one group: the leader stores `packed`, every chunk's diff streams take
/// their run-length lengths, and the members' become in-group.
fn join_group(chunks: &mut [EncodedChunk], packed: [Packed; 2]) {
    for chunk in chunks.iter_mut() {
        let lens = [chunk.runs.ctrl.len(), chunk.runs.code.len()];
        for (s, stream) in chunk.info.streams[1..3].iter_mut().enumerate() {
            stream.raw_len = lens[s] as u64;
            (stream.codec, stream.packed_len) = (StreamCodec::InGroup, 0);
            chunk.packed[1 + s].clear();
        }
    }
    let n = u32::try_from(chunks.len()).expect("groups are cut at the chunk count's cap");
    let leader = &mut chunks[0];
    leader.info.group_len = n;
    for (s, packed) in packed.into_iter().enumerate() {
        let stream = &mut leader.info.streams[1 + s];
        (stream.codec, stream.packed_len) = (packed.codec, packed.bytes.len() as u64);
        leader.packed[1 + s] = packed.bytes;
    }
}

/// The three raw streams of a chunk.
pub(crate) struct Streams {
    pub(crate) control: Vec<u8>,
    pub(crate) diff: Vec<u8>,
    pub(crate) extra: Vec<u8>,
}

impl Streams {
    pub(crate) fn from_segments(old: &[u8], new: &[u8], segments: &[Segment]) -> Self {
        let mut streams = Streams { control: control_stream(segments), diff: Vec::new(), extra: Vec::new() };
        let mut at = 0usize;
        for segment in segments {
            let added = &new[at..at + segment.add_len];
            let base = &old[segment.old_pos..segment.old_pos + segment.add_len];
            streams.diff.extend(added.iter().zip(base).map(|(n, o)| n.wrapping_sub(*o)));
            at += segment.add_len;
            streams.extra.extend_from_slice(&new[at..at + segment.extra_len]);
            at += segment.extra_len;
        }
        streams
    }

    /// The whole chunk as one literal.
    #[cfg(test)]
    fn literal(new: &[u8]) -> Self {
        Self::from_segments(&[], new, &[Segment { old_pos: 0, add_len: 0, extra_len: new.len() }])
    }
}

/// The control stream of `segments`.
fn control_stream(segments: &[Segment]) -> Vec<u8> {
    let (mut control, mut cursor) = (Vec::new(), 0usize);
    for segment in segments {
        let seek = segment.old_pos as i64 - cursor as i64;
        encode_op(
            Op { seek, add_len: segment.add_len as u64, extra_len: segment.extra_len as u64 },
            &mut control,
        );
        cursor = segment.old_pos + segment.add_len;
    }
    control
}

/// How a chunk is covered: its segments (one literal where matching does not pay) and the
/// window of old its extra stream is compressed against, if any.
pub(crate) struct ChunkPlan {
    pub(crate) segments: Vec<Segment>,
    pub(crate) dictionary: Option<Range<usize>>,
}

/// Scans one chunk of new against `old`. Small literals get [`small_extra_dictionary`]'s
/// window without a second scan (with one at the sparing gain, `synth` was 53,724 bytes
/// instead of 46,441, measured with the large window); a chunk whose large literals get [`extra_dictionary`]'s is scanned again with the
/// sparing gain.
pub(crate) fn plan_chunk(old: &[u8], index: &SuffixIndex, new: &[u8], at: ChunkAt) -> ChunkPlan {
    let scan_with = |gain| {
        let segments = scan(old, index, new, at.aligned(old.len()), gain);
        if control_stream(&segments).len() as u64 > new.len() as u64 + CONTROL_SLACK {
            return vec![Segment { old_pos: 0, add_len: 0, extra_len: new.len() }];
        }
        segments
    };
    let extra_len = |segments: &[Segment]| segments.iter().map(|s| s.extra_len).sum::<usize>();
    let mut segments = scan_with(MIN_GAINS[0]);
    if let Some(window) = small_extra_dictionary(old.len(), at, new.len(), extra_len(&segments)) {
        return ChunkPlan { segments, dictionary: Some(window) };
    }
    let mut dictionary = extra_dictionary(old.len(), at.new_len, at.offset, new.len(), extra_len(&segments));
    if dictionary.is_some() {
        segments = scan_with(MIN_GAINS[1]);
        dictionary = extra_dictionary(old.len(), at.new_len, at.offset, new.len(), extra_len(&segments));
    }
    ChunkPlan { segments, dictionary }
}

/// Where a chunk lies in the new file.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ChunkAt {
    /// Offset of the chunk in the new file.
    pub(crate) offset: usize,
    /// Length of the whole new file.
    pub(crate) new_len: usize,
}

impl ChunkAt {
    /// Where in an `old_len`-byte old file the chunk lies if both files are laid out alike
    /// (`offset * old_len / new_len`): the scan's first guess of its alignment, and the centre
    /// of its dictionary window.
    pub(crate) fn aligned(self, old_len: usize) -> usize {
        (self.offset as u128 * old_len as u128 / self.new_len.max(1) as u128) as usize
    }
}

/// Extra streams shorter than this get no dictionary: too little to gain for the cost of
/// loading one.
pub(crate) const DICTIONARY_MIN_EXTRA: usize = 64 << 10;
/// Nor do extra streams below this share of their chunk, in percent: the scan matched most of
/// such a chunk, so its literals are what old does not hold.
pub(crate) const DICTIONARY_MIN_EXTRA_PERCENT: usize = 25;
/// The dictionary reaches this far beyond the chunk's aligned position on each side. Measured
/// on ruff-jump (xz): 2 MiB 6,768,109 bytes in 20.4 s, 1 MiB 6,805,020 in 17.2 s, 256 KiB
/// 6,837,197 in 15.8 s (HDiffPatch lzma2: 6,917,242 in 16.1 s): loading a preset dictionary
/// into LZMA2's binary tree cost a third of the diff at 2 MiB.
pub(crate) const DICTIONARY_MARGIN: usize = 256 << 10;

/// The window of old that a chunk's extra stream is worth compressing against, if any: for
/// an extra stream of at least [`DICTIONARY_MIN_EXTRA`] bytes and
/// [`DICTIONARY_MIN_EXTRA_PERCENT`] of the chunk, the part of old at the chunk's proportional
/// position (`offset * old_len / new_len`), widened by [`DICTIONARY_MARGIN`] on each side,
/// within old and at most [`MAX_DICTIONARY_LEN`] bytes.
pub(crate) fn extra_dictionary(
    old_len: usize,
    new_len: usize,
    chunk_offset: usize,
    chunk_len: usize,
    extra_len: usize,
) -> Option<Range<usize>> {
    if extra_len < DICTIONARY_MIN_EXTRA || extra_len * 100 < chunk_len * DICTIONARY_MIN_EXTRA_PERCENT {
        return None;
    }
    let aligned = ChunkAt { offset: chunk_offset, new_len }.aligned(old_len);
    let start = aligned.saturating_sub(DICTIONARY_MARGIN).min(old_len);
    let end = (aligned + chunk_len + DICTIONARY_MARGIN).min(old_len).min(start + MAX_DICTIONARY_LEN as usize);
    (start < end).then_some(start..end)
}

/// The window of old a small extra stream is compressed against: this many bytes centred on
/// the chunk's proportional place. Measured with xz against [`extra_dictionary`]'s window
/// (the chunk and [`DICTIONARY_MARGIN`] either side, 4.5 MiB) on `synth`: 46,441 bytes both,
/// in 1.25× and 2.9× the diff time without a dictionary; on `pydantic-core` 18,065 and 18,007
/// bytes in 1.06× and 2.1× (without: 52,431 and 18,312 bytes); 256 KiB: 47,284 and 18,106.
/// One noisy run each on a shared machine; a rerun of this build gave `synth` 0.93–1.10×.
pub(crate) const SMALL_DICTIONARY_LEN: usize = 1 << 20;

/// The window of old that an extra stream of 1 byte up to [`DICTIONARY_MIN_EXTRA`] is
/// compressed against: [`SMALL_DICTIONARY_LEN`] bytes of old centred on the middle of the
/// chunk's proportional place, moved back within old where it would reach past old's end.
/// Such literals are mostly new text or code made of words old already has (on `synth`,
/// inserted lines of the vocabulary of old's text), which the compressor then codes as matches
/// into the window: `synth`'s extra streams went from 29,681 to 23,691 bytes.
pub(crate) fn small_extra_dictionary(
    old_len: usize,
    at: ChunkAt,
    chunk_len: usize,
    extra_len: usize,
) -> Option<Range<usize>> {
    if extra_len == 0 || extra_len >= DICTIONARY_MIN_EXTRA {
        return None;
    }
    let centre = at.aligned(old_len) + chunk_len / 2;
    let start =
        centre.saturating_sub(SMALL_DICTIONARY_LEN / 2).min(old_len.saturating_sub(SMALL_DICTIONARY_LEN));
    let end = (start + SMALL_DICTIONARY_LEN).min(old_len);
    (start < end).then_some(start..end)
}

/// Encodes a chunk's raw streams as version 3 does: the diff stream run-length coded, every
/// stream as small as `options.codec` makes it, and the extra stream compressed against
/// `old[dictionary]` when there is one (unless the extra stream is stored).
pub(crate) fn pack_chunk(
    old: &[u8],
    new: &[u8],
    offset: u64,
    streams: &Streams,
    dictionary: Option<Range<usize>>,
    corrections: Option<&[u8]>,
    options: &DiffOptions,
) -> Result<EncodedChunk> {
    let pack = |raw: &[u8], dict: &[u8]| Packed::smallest(raw, dict, options);
    let runs = rle::encode(&streams.diff);
    let ((control, diff), (extra, corrections)) = rayon::join(
        || rayon::join(|| pack(&streams.control, &[]), || pack_diff(&streams.diff, &runs, options)),
        || {
            rayon::join(
                || pack_extra(old, &streams.extra, dictionary, &pack),
                || corrections.map(|raw| pack(raw, &[])).transpose(),
            )
        },
    );
    let ([diff_ctrl, diff_code], (extra, dictionary)) = (diff?, extra?);
    let mut packed = vec![control?, diff_ctrl, diff_code, extra];
    packed.extend(corrections?);
    let kinds = [
        StreamKind::Control,
        StreamKind::DiffCtrl,
        StreamKind::DiffCode,
        StreamKind::Extra,
        StreamKind::Corrections,
    ];
    let streams = kinds
        .into_iter()
        .zip(&packed)
        .map(|(kind, p)| StreamInfo {
            kind,
            codec: p.codec,
            raw_len: p.raw_len as u64,
            packed_len: p.bytes.len() as u64,
        })
        .collect();
    let info = ChunkInfo {
        new_offset: offset,
        new_len: new.len() as u64,
        streams,
        dictionary,
        hash: hash(new),
        group_len: 0,
    };
    Ok(EncodedChunk { info, packed: packed.into_iter().map(|p| p.bytes).collect(), runs })
}

/// One stream as the patch stores it.
struct Packed {
    raw_len: usize,
    codec: StreamCodec,
    bytes: Vec<u8>,
}

impl Packed {
    /// `raw` as small as `options.codec` makes it, against `dict` (empty: none).
    fn smallest(raw: &[u8], dict: &[u8], options: &DiffOptions) -> Result<Self> {
        let (codec, bytes) = options.codec.smallest(raw, options.level, dict)?;
        Ok(Packed { raw_len: raw.len(), codec, bytes })
    }

    /// `raw` packed by [`crate::Codec::smallest_trial`], without a dictionary: a size to rank by.
    fn trial(raw: &[u8], options: &DiffOptions) -> Result<Self> {
        let (codec, bytes) = options.codec.smallest_trial(raw, options.level)?;
        Ok(Packed { raw_len: raw.len(), codec, bytes })
    }
}

/// The diff stream as `diff_ctrl` and `diff_code`: run-length coded, or as one literal item
/// where that packs smaller (measured: LZMA2, and zstd on some executables, compress the
/// plain differences better than the split streams). The literal is ranked by a trial packing
/// ([`Packed::trial`]) and packed in full only where the trial already beats the runs: on the
/// dev pairs that leaves one chunk of pydantic-core's runs where the full packing would have won
/// (patch 18,065 → 20,655 bytes; level 20 packs every literal in full).
/// `runs` is `rle::encode(diff)`.
fn pack_diff(diff: &[u8], runs: &rle::Rle, options: &DiffOptions) -> Result<[Packed; 2]> {
    let literal_ctrl = rle::literal_ctrl(diff.len());
    let ((runs_ctrl, runs_code), (literal_ctrl, trial)) = rayon::join(
        || {
            rayon::join(
                || Packed::smallest(&runs.ctrl, &[], options),
                || Packed::smallest(&runs.code, &[], options),
            )
        },
        || rayon::join(|| Packed::smallest(&literal_ctrl, &[], options), || Packed::trial(diff, options)),
    );
    let runs = [runs_ctrl?, runs_code?];
    let runs_len = runs[0].bytes.len() + runs[1].bytes.len();
    let literal_ctrl = literal_ctrl?;
    if literal_ctrl.bytes.len() + trial?.bytes.len() >= runs_len {
        return Ok(runs);
    }
    let literal_code = Packed::smallest(diff, &[], options)?;
    Ok(if literal_ctrl.bytes.len() + literal_code.bytes.len() < runs_len {
        [literal_ctrl, literal_code]
    } else {
        runs
    })
}

/// The extra stream, against `old[dictionary]` when the policy gave one (and then the range).
///
/// The dictionary is not checked against the plain stream: on the dev pairs it was smaller on
/// every chunk the policy chose (ruff-jump: all 6 chunks, 2.2% of the patch; synth's small
/// extra streams: all 15 compressed chunks), and the second compression cost 20% of
/// ruff-jump's diff time. It is dropped only when the stream would be stored, since a stored
/// stream cannot use it.
fn pack_extra(
    old: &[u8],
    extra: &[u8],
    dictionary: Option<Range<usize>>,
    pack: &(impl Fn(&[u8], &[u8]) -> Result<Packed> + Sync),
) -> Result<(Packed, Option<Range<u64>>)> {
    let Some(range) = dictionary else { return Ok((pack(extra, &[])?, None)) };
    let packed = pack(extra, &old[range.clone()])?;
    if packed.codec == StreamCodec::Stored {
        return Ok((packed, None));
    }
    Ok((packed, Some(range.start as u64..range.end as u64)))
}

#[cfg(test)]
pub(crate) mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::{ApplyOptions, apply};

    /// Pseudo-random bytes (xorshift64): matches exist only where a test copies old into new.
    pub(crate) fn noise(seed: u64, len: usize) -> Vec<u8> {
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
        let patch = build_patch_with_step(Text::Borrowed(old), Text::Borrowed(new), &options, step).unwrap();
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

    #[test]
    fn extra_dictionary_follows_its_thresholds_and_stays_within_old() {
        const MIB: usize = 1 << 20;
        let big = DICTIONARY_MIN_EXTRA;
        assert_eq!(extra_dictionary(100 * MIB, 100 * MIB, 0, 4 * MIB, big - 1), None);
        assert_eq!(extra_dictionary(100 * MIB, 100 * MIB, 0, 4 * MIB, MIB - 1), None, "under 25%");
        assert_eq!(extra_dictionary(0, 100 * MIB, 0, 4 * MIB, 4 * MIB), None, "empty old");
        assert_eq!(extra_dictionary(100 * MIB, 100 * MIB, 0, 4 * MIB, MIB), Some(0..4 * MIB + MIB / 4));
        // Old half the size of new: a chunk at 40 MiB aligns with old at 20 MiB.
        assert_eq!(
            extra_dictionary(50 * MIB, 100 * MIB, 40 * MIB, 4 * MIB, MIB),
            Some(20 * MIB - MIB / 4..24 * MIB + MIB / 4)
        );
        assert_eq!(
            extra_dictionary(MIB, 100 * MIB, 96 * MIB, 4 * MIB, MIB),
            Some(96 * MIB / 100 - MIB / 4..MIB)
        );
        let huge = extra_dictionary(1 << 40, 1 << 40, 1 << 30, 1 << 30, 1 << 30).unwrap();
        assert_eq!(huge.len() as u64, MAX_DICTIONARY_LEN);
    }

    #[test]
    fn small_extra_dictionary_is_a_window_centred_on_the_chunk_within_old() {
        const MIB: usize = 1 << 20;
        let at = |offset| ChunkAt { offset, new_len: 100 * MIB };
        let half = SMALL_DICTIONARY_LEN / 2;
        assert_eq!(small_extra_dictionary(100 * MIB, at(0), 4 * MIB, 0), None, "no literals");
        assert_eq!(small_extra_dictionary(100 * MIB, at(0), 4 * MIB, DICTIONARY_MIN_EXTRA), None, "large");
        let centred = 42 * MIB - half..42 * MIB + half;
        assert_eq!(small_extra_dictionary(100 * MIB, at(40 * MIB), 4 * MIB, 1), Some(centred));
        assert_eq!(small_extra_dictionary(100 * MIB, at(0), 1000, 1), Some(0..SMALL_DICTIONARY_LEN));
        assert_eq!(
            small_extra_dictionary(100 * MIB, at(99 * MIB), 4 * MIB, 1),
            Some(100 * MIB - 2 * half..100 * MIB)
        );
        assert_eq!(small_extra_dictionary(MIB / 2, at(0), 4 * MIB, 1), Some(0..MIB / 2), "old shorter");
        assert_eq!(small_extra_dictionary(0, at(0), 4 * MIB, 1), None, "empty old");
    }

    #[test]
    fn the_diff_stream_is_run_length_coded_or_one_literal_whichever_packs_smaller() {
        let options = DiffOptions::new().level(3);
        let zeros = [0u8; 100_000];
        let [ctrl, code] = pack_diff(&zeros, &rle::encode(&zeros), &options).unwrap();
        assert_eq!((ctrl.raw_len, code.raw_len), (3, 0), "one run item");
        let random = noise(5, 100_000);
        let [ctrl, code] = pack_diff(&random, &rle::encode(&random), &options).unwrap();
        assert_eq!((ctrl.raw_len, code.raw_len), (3, random.len()), "one literal item");
        assert_eq!((ctrl.codec, code.codec), (StreamCodec::Stored, StreamCodec::Stored));
    }

    #[test]
    fn a_dictionary_is_dropped_only_with_a_stored_extra_stream() {
        let old = noise(3, 200_000);
        let related: Vec<u8> = old.chunks_exact(9).flat_map(|piece| piece[..6].to_vec()).collect();
        let unrelated = noise(4, related.len());
        let options = DiffOptions::new().level(3);
        for (new, kept) in [(related, true), (unrelated, false)] {
            let streams = Streams::literal(&new);
            let chunk = pack_chunk(&old, &new, 0, &streams, Some(0..old.len()), None, &options).unwrap();
            assert_eq!(chunk.info.dictionary.is_some(), kept, "kept {kept}");
            let extra = chunk.info.stream(StreamKind::Extra).unwrap();
            let stored = extra.codec == StreamCodec::Stored;
            assert_eq!(stored, !kept, "an incompressible extra stream is stored");
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
