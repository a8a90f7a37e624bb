//! Applying and verifying a patch: check `old`, then decode chunks in parallel, in batches read
//! in one forward pass over the patch stream.

use std::fs;
use std::io::Read;
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use rayon::prelude::*;

use crate::compat::{PatchFormat, PatchHead, Sniffed, bsdiff, sniff};
use crate::container;
use crate::control::{Op, OpReader};
use crate::error::{Error, Result};
use crate::exec;
use crate::format::{ChunkInfo, PatchInfo, PatchReader, StreamKind, read_head};
use crate::hash::hash;
use crate::io::{OutputFile, map_file};
use crate::options::ApplyOptions;
use crate::parallel::{Progress, Workers};
use crate::rle;

/// Applies `patch` (read in one forward pass, never seeked) to `old` and returns the new bytes.
///
/// Fails with [`crate::ErrorKind::SourceMismatch`] if `old` is not the file the patch was made
/// for. Every chunk and the whole result are checked against their blake3 hashes.
///
/// A bsdiff patch (BSDIFF40 or BSDIFF43, told by its magic) is applied too, with every number
/// in it checked; it carries no hashes, so a wrong `old` goes undetected
/// ([`crate::PatchFormat::has_hashes`]).
pub fn apply(old: &[u8], patch: impl Read, options: &ApplyOptions) -> Result<Vec<u8>> {
    let (format, patch) = sniff(patch)?;
    refuse_unsigned_format(format, options)?;
    if format != PatchFormat::Chunkdelta {
        return bsdiff::apply(old, patch, format, options);
    }
    if is_container(&patch) {
        let mut out = Vec::new();
        container::apply(old, patch, container::Target::Memory(&mut out), options)?;
        return Ok(out);
    }
    let mut output = MemoryOutput(Mutex::new(Vec::new()));
    run(old, patch, &mut output, options)?;
    Ok(output.0.into_inner().unwrap_or_else(|poisoned| poisoned.into_inner()))
}

/// What [`apply_file`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ApplyReport {
    /// What the patch says about itself: a chunkdelta patch's header and chunk table, or a
    /// bsdiff patch's header.
    pub head: PatchHead,
    /// blake3 of the new file: checked against the patch's for a chunkdelta patch, computed
    /// from the output for a bsdiff patch.
    pub new_hash: [u8; 32],
    /// Chunks that an earlier, killed apply of the same patch had already written to the
    /// temporary output, found intact by their hashes and so not decoded again.
    pub chunks_resumed: u64,
}

/// Applies `patch` to the file at `old_path`, writing the result to `out_path`.
///
/// `old` is memory-mapped and never written. The output is written to a temporary file in
/// `out_path`'s folder, `.NAME.ID.chunkdelta-tmp` where `ID` is the first 16 hex digits of the
/// patch's [`PatchInfo::table_hash`], with `old`'s permissions. It is synced and renamed into
/// place, so `out_path` either holds the complete, verified result or is left as it was (the
/// sync can be switched off with [`ApplyOptions::durable`]).
/// `out_path` may be `old_path` itself, which replaces `old` atomically on success.
///
/// Resuming: a failure that this function sees removes the temporary file, but a process that
/// is killed leaves it. Running the same apply again reuses it: every chunk already there is
/// checked against its hash and kept if intact, and only the others are decoded. The file is
/// locked while an apply uses it; a second apply to the same destination fails with
/// [`crate::ErrorKind::Io`] meanwhile.
///
/// A bsdiff patch is applied as [`apply`] says, written through a temporary file of its own
/// (not resumable) and renamed into place likewise. So is a container patch
/// (`CONTAINER-FORMAT.md`), with its two views in temporary files beside `out_path` meanwhile;
/// a member that does not deflate here as it did for diff is a
/// [`crate::ErrorKind::RebuildMismatch`], with nothing written.
pub fn apply_file(
    old_path: impl AsRef<Path>,
    patch: impl Read,
    out_path: impl AsRef<Path>,
    options: &ApplyOptions,
) -> Result<ApplyReport> {
    let old_path = old_path.as_ref();
    let old = map_file(old_path)?;
    let permissions = fs::metadata(old_path).map(|m| m.permissions()).ok();
    let (format, patch) = sniff(patch)?;
    refuse_unsigned_format(format, options)?;
    if format != PatchFormat::Chunkdelta {
        return bsdiff::apply_file(&old, patch, format, out_path.as_ref(), permissions, options);
    }
    if is_container(&patch) {
        let target = container::Target::File { dest: out_path.as_ref(), permissions };
        return container::apply(&old, patch, target, options);
    }
    apply_file_patch_to_file(&old, patch, out_path.as_ref(), permissions, options)
}

/// [`apply_file`] with `old` already in memory, a chunkdelta patch (a file or container
/// patch), and the output's permissions chosen by the caller (`None`: the process's defaults).
pub(crate) fn apply_to_file(
    old: &[u8],
    patch: impl Read,
    out_path: &Path,
    permissions: Option<fs::Permissions>,
    options: &ApplyOptions,
) -> Result<ApplyReport> {
    let (_, patch) = sniff(patch)?;
    if is_container(&patch) {
        return container::apply(
            old,
            patch,
            container::Target::File { dest: out_path, permissions },
            options,
        );
    }
    apply_file_patch_to_file(old, patch, out_path, permissions, options)
}

/// [`apply_to_file`] of a file patch only.
pub(crate) fn apply_file_patch_to_file(
    old: &[u8],
    patch: impl Read,
    out_path: &Path,
    permissions: Option<fs::Permissions>,
    options: &ApplyOptions,
) -> Result<ApplyReport> {
    let mut output = FileOutput { file: None, resumable_len: 0, dest: out_path, permissions };
    let report = run(old, patch, &mut output, options)?;
    output.file.take().expect("run prepares the output").commit_with(options.durability())?;
    Ok(report)
}

/// Does everything [`apply`] does, including every hash check, without keeping the output.
pub fn verify(old: &[u8], patch: impl Read, options: &ApplyOptions) -> Result<ApplyReport> {
    let (format, patch) = sniff(patch)?;
    refuse_unsigned_format(format, options)?;
    if format != PatchFormat::Chunkdelta {
        return bsdiff::verify(old, patch, format, options);
    }
    if is_container(&patch) {
        return container::apply(old, patch, container::Target::Discard, options);
    }
    run(old, patch, &mut DiscardOutput, options)
}

/// Whether the sniffed stream is a container patch.
fn is_container<R>(patch: &Sniffed<R>) -> bool {
    container::is_container_patch(patch.get_ref().0.get_ref())
}

/// [`apply`] of a file patch only (the inner patch of a container patch), with its report.
pub(crate) fn apply_own(
    old: &[u8],
    patch: impl Read,
    options: &ApplyOptions,
) -> Result<(Vec<u8>, ApplyReport)> {
    let mut output = MemoryOutput(Mutex::new(Vec::new()));
    let report = run(old, patch, &mut output, options)?;
    Ok((output.0.into_inner().unwrap_or_else(|poisoned| poisoned.into_inner()), report))
}

/// [`verify`] of a chunkdelta patch only, file or container patch (the patches inside a tree
/// patch).
pub(crate) fn verify_own(old: &[u8], patch: impl Read, options: &ApplyOptions) -> Result<ApplyReport> {
    let (_, patch) = sniff(patch)?;
    if is_container(&patch) {
        return container::apply(old, patch, container::Target::Discard, options);
    }
    run(old, patch, &mut DiscardOutput, options)
}

/// Applies a chunkdelta patch to `old`, writing the chunks to `output` (a tree patch's solid
/// output, which spreads them over many files).
pub(crate) fn apply_to_output(
    old: &[u8],
    patch: impl Read,
    output: &mut impl Output,
    options: &ApplyOptions,
) -> Result<ApplyReport> {
    run(old, patch, output, options)
}

/// [`verify`] with `old` memory-mapped from `old_path`.
pub fn verify_file(
    old_path: impl AsRef<Path>,
    patch: impl Read,
    options: &ApplyOptions,
) -> Result<ApplyReport> {
    verify(&map_file(old_path.as_ref())?, patch, options)
}

/// With trust configured, a patch of a format without signatures (bsdiff) is untrusted.
fn refuse_unsigned_format(format: PatchFormat, options: &ApplyOptions) -> Result<()> {
    if format != PatchFormat::Chunkdelta && options.trust.is_some() {
        return Err(Error::untrusted(format!("a {format} patch carries no signatures")));
    }
    Ok(())
}

/// Where decoded chunks go. `prepare` runs once `old` is verified, before any chunk.
pub(crate) trait Output: Sync {
    fn prepare(&mut self, _info: &PatchInfo) -> Result<()> {
        Ok(())
    }
    fn write_at(&self, offset: u64, bytes: &[u8]) -> Result<()>;
    /// The chunk's bytes if the output already holds them intact, checked by the chunk's hash.
    fn existing(&self, _chunk: &ChunkInfo) -> Result<Option<Vec<u8>>> {
        Ok(None)
    }
}

struct MemoryOutput(Mutex<Vec<u8>>);

impl Output for MemoryOutput {
    /// Grows the buffer as verified chunks arrive, so its size never rests on the header's claim.
    fn write_at(&self, offset: u64, bytes: &[u8]) -> Result<()> {
        let mut buffer = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let start =
            usize::try_from(offset).map_err(|_| Error::limit("output offset", offset, usize::MAX as u64))?;
        let end = start + bytes.len();
        if buffer.len() < end {
            let out_of_memory = std::io::ErrorKind::OutOfMemory.into();
            let missing = end - buffer.len();
            buffer
                .try_reserve(missing)
                .map_err(|_| Error::io(format!("growing the output to {end} bytes"), out_of_memory))?;
            buffer.resize(end, 0);
        }
        buffer[start..end].copy_from_slice(bytes);
        Ok(())
    }
}

struct FileOutput<'a> {
    file: Option<OutputFile>,
    /// How many bytes the temporary file held before this apply: an interrupted run's output.
    resumable_len: u64,
    dest: &'a Path,
    permissions: Option<fs::Permissions>,
}

impl FileOutput<'_> {
    fn file(&self) -> &OutputFile {
        self.file.as_ref().expect("prepared before any chunk")
    }
}

impl Output for FileOutput<'_> {
    fn prepare(&mut self, info: &PatchInfo) -> Result<()> {
        let patch_id: String = info.table_hash[..8].iter().map(|b| format!("{b:02x}")).collect();
        let (file, resumable_len) = OutputFile::resumable(self.dest, &patch_id, info.new_size)?;
        if let Some(permissions) = self.permissions.clone() {
            file.set_permissions(permissions)?;
        }
        (self.file, self.resumable_len) = (Some(file), resumable_len);
        Ok(())
    }

    fn write_at(&self, offset: u64, bytes: &[u8]) -> Result<()> {
        self.file()
            .file()
            .write_all_at(bytes, offset)
            .map_err(|e| Error::io(format!("writing {}", self.dest.display()), e))
    }

    fn existing(&self, chunk: &ChunkInfo) -> Result<Option<Vec<u8>>> {
        if chunk.new_offset + chunk.new_len > self.resumable_len {
            return Ok(None);
        }
        let mut bytes = vec![0u8; chunk.new_len as usize];
        self.file().file().read_exact_at(&mut bytes, chunk.new_offset).map_err(|e| {
            Error::io(format!("reading back the partial output of {}", self.dest.display()), e)
        })?;
        Ok((hash(&bytes) == chunk.hash).then_some(bytes))
    }
}

struct DiscardOutput;

impl Output for DiscardOutput {
    fn write_at(&self, _offset: u64, _bytes: &[u8]) -> Result<()> {
        Ok(())
    }
}

fn run(
    old: &[u8],
    patch: impl Read,
    output: &mut impl Output,
    options: &ApplyOptions,
) -> Result<ApplyReport> {
    let workers = Workers::new(options.threads)?;
    let mut reader = PatchReader::new(patch);
    let info = read_head(&mut reader, options.max_chunk_len)?;
    if let Some(policy) = &options.trust {
        policy.check(&info)?;
    }
    // The old file's analysis (version 4) runs beside its hash check, which decides first.
    let (source, exec) = workers.run(|| {
        rayon::join(
            || check_source(old, &info),
            || info.exec.as_ref().map(|exec| exec::prepare_apply(old, exec)).transpose(),
        )
    });
    source?;
    let exec = exec?;
    let fields = exec.as_ref().map(|(references, predictor)| exec::Fields::new(old, references, predictor));
    output.prepare(&info)?;

    let progress = Progress::new(options.progress.get(), info.new_size);
    let resumed = AtomicU64::new(0);
    let mut hasher = blake3::Hasher::new();
    // Memory in use: one batch of payloads plus, per chunk, output and stream buffers, plus
    // the diff streams of the groups the batch reaches into.
    let batch_len = 2 * workers.run(rayon::current_num_threads).max(1);
    let output = &*output;
    let mut group = None;
    for (batch_index, batch) in info.chunks.chunks(batch_len).enumerate() {
        progress.check()?;
        let payloads = batch
            .iter()
            .map(|chunk| reader.read_vec(chunk.payload_len(), "chunk payloads"))
            .collect::<Result<Vec<_>>>()?;
        let first = batch_index * batch_len;
        let slices = workers.run(|| group_slices(&info.chunks, first, &payloads, &mut group))?;
        let produced: Vec<Vec<u8>> = workers.run(|| {
            batch
                .par_iter()
                .zip(payloads)
                .zip(slices)
                .enumerate()
                .map(|(i, ((chunk, payload), slice))| {
                    progress.check()?;
                    let bytes = match output.existing(chunk)? {
                        Some(bytes) => {
                            resumed.fetch_add(1, Ordering::Relaxed);
                            bytes
                        }
                        None => {
                            let decode = Decode { old, fields: fields.as_ref(), index: first + i };
                            let bytes = decode.chunk(chunk, &payload, slice.as_ref())?;
                            output.write_at(chunk.new_offset, &bytes)?;
                            bytes
                        }
                    };
                    progress.advance(chunk.new_len)?;
                    Ok(bytes)
                })
                .collect::<Result<_>>()
        })?;
        for bytes in &produced {
            hasher.update(bytes);
        }
    }
    reader.expect_end()?;
    if *hasher.finalize().as_bytes() != info.new_hash {
        return Err(Error::corrupt("the output does not match the new file's hash"));
    }
    let new_hash = info.new_hash;
    Ok(ApplyReport { head: PatchHead::Chunkdelta(info), new_hash, chunks_resumed: resumed.into_inner() })
}

/// One group's decoded diff streams, kept from its leader until its last member is decoded.
struct GroupStreams {
    ctrl: Arc<Vec<u8>>,
    code: Arc<Vec<u8>>,
    /// Where the next chunk's slices start in `ctrl` and `code`.
    at: [usize; 2],
    /// Chunks of the group not yet given their slices.
    left: usize,
}

/// A grouped chunk's share of its group's diff streams.
struct GroupSlice {
    ctrl: Arc<Vec<u8>>,
    code: Arc<Vec<u8>>,
    ranges: [Range<usize>; 2],
}

/// For the batch of chunks from `first` (whose payloads are `payloads`), each chunk's slices of
/// its group's diff streams, or `None` outside groups. A leader's group is decoded here; `group`
/// carries an unfinished group into the next batch.
fn group_slices(
    chunks: &[ChunkInfo],
    first: usize,
    payloads: &[Vec<u8>],
    group: &mut Option<GroupStreams>,
) -> Result<Vec<Option<GroupSlice>>> {
    let mut slices = Vec::with_capacity(payloads.len());
    for (i, payload) in payloads.iter().enumerate() {
        let chunk = &chunks[first + i];
        if chunk.group_len >= 2 {
            *group = Some(decode_group(chunks, first + i, payload)?);
        }
        let Some(streams) = group.as_mut() else {
            slices.push(None);
            continue;
        };
        let lens = [chunk.raw_len(StreamKind::DiffCtrl), chunk.raw_len(StreamKind::DiffCode)];
        let ranges = [0, 1].map(|s| streams.at[s]..streams.at[s] + lens[s] as usize);
        streams.at = [ranges[0].end, ranges[1].end];
        slices.push(Some(GroupSlice { ctrl: streams.ctrl.clone(), code: streams.code.clone(), ranges }));
        streams.left -= 1;
        if streams.left == 0 {
            *group = None;
        }
    }
    Ok(slices)
}

/// Decodes the diff streams of the group that chunk `index` leads from its payload: each to
/// exactly the sum of its group's raw lengths, which `read_head` bounded by
/// [`crate::format::MAX_GROUP_RAW`].
fn decode_group(chunks: &[ChunkInfo], index: usize, payload: &[u8]) -> Result<GroupStreams> {
    let n = chunks[index].group_len as usize;
    let members = &chunks[index..index + n];
    let streams = Unpacker { chunk: &chunks[index], payload, index };
    let decode = |kind| -> Result<Arc<Vec<u8>>> {
        let mut raw = vec![0u8; members.iter().map(|c| c.raw_len(kind) as usize).sum()];
        streams.unpack(kind, &mut raw, &[])?;
        Ok(Arc::new(raw))
    };
    let (ctrl, code) = rayon::join(|| decode(StreamKind::DiffCtrl), || decode(StreamKind::DiffCode));
    Ok(GroupStreams { ctrl: ctrl?, code: code?, at: [0, 0], left: n })
}

/// Fails with `SourceMismatch` unless `old` has the size and blake3 the patch records.
fn check_source(old: &[u8], info: &PatchInfo) -> Result<()> {
    check_old(old, info.old_size, &info.old_hash)
}

/// Fails with `SourceMismatch` unless `old` is `size` bytes with blake3 `expected`.
pub(crate) fn check_old(old: &[u8], size: u64, expected: &[u8; 32]) -> Result<()> {
    let mismatch = |actual_hash| Error::SourceMismatch {
        expected_size: size,
        actual_size: old.len() as u64,
        expected_hash: *expected,
        actual_hash,
    };
    if old.len() as u64 != size {
        return Err(mismatch(None));
    }
    let actual = hash(old);
    if actual != *expected {
        return Err(mismatch(Some(actual)));
    }
    Ok(())
}

/// What decoding a chunk needs besides its payload.
struct Decode<'a> {
    old: &'a [u8],
    /// A version-4 patch's pointer fields.
    fields: Option<&'a exec::Fields<'a>>,
    /// The chunk's number, for error messages.
    index: usize,
}

impl Decode<'_> {
    /// Decodes chunk `index` from its payload and checks it against its hash.
    ///
    /// Memory: the output plus the extra and control streams (and in version 3 the two diff
    /// streams). The differences are decoded into the tail of the output buffer, behind
    /// `extra_raw_len` free bytes. An add op at output offset `written = diff_at + extra_at` reads
    /// its diff bytes at `extra_raw_len + diff_at >= written`, so it reads each byte before any
    /// write reaches it, and the chunk decodes in place. A grouped chunk takes its diff streams
    /// from `group`.
    fn chunk(&self, chunk: &ChunkInfo, payload: &[u8], group: Option<&GroupSlice>) -> Result<Vec<u8>> {
        let (old, index) = (self.old, self.index);
        let bad = |what: &str| Error::corrupt(format!("chunk {index}: {what}"));
        let streams = Unpacker { chunk, payload, index };
        let dictionary = match &chunk.dictionary {
            Some(range) => usize::try_from(range.start)
                .ok()
                .zip(usize::try_from(range.end).ok())
                .and_then(|(start, end)| old.get(start..end))
                .ok_or_else(|| bad("dictionary outside old"))?,
            None => &[],
        };
        let control = streams.to_vec(StreamKind::Control, &[])?;
        let extra = streams.to_vec(StreamKind::Extra, dictionary)?;
        let mut out = vec![0u8; chunk.new_len as usize];
        let diff = &mut out[extra.len()..];
        if let Some(group) = group {
            let [ctrl, code] = &group.ranges;
            rle::decode(&group.ctrl[ctrl.clone()], &group.code[code.clone()], diff).map_err(bad)?;
        } else if chunk.stream(StreamKind::Diff).is_some() {
            streams.unpack(StreamKind::Diff, diff, &[])?;
        } else {
            let (ctrl, code) =
                (streams.to_vec(StreamKind::DiffCtrl, &[])?, streams.to_vec(StreamKind::DiffCode, &[])?);
            rle::decode(&ctrl, &code, diff).map_err(bad)?;
        }

        let corrections = match (self.fields, chunk.stream(StreamKind::Corrections)) {
            (Some(_), Some(_)) => streams.to_vec(StreamKind::Corrections, &[])?,
            (None, None) => Vec::new(),
            _ => return Err(bad("corrections stream and exec block do not go together")),
        };
        let fields = self.fields.map(|fields| (fields.chunk(), chunk.new_offset, &corrections[..]));
        let mut decoder = InPlace::new(old, &mut out, &extra, fields);
        for op in OpReader::new(&control) {
            decoder.run(op.map_err(|e| bad(&e.to_string()))?).map_err(bad)?;
        }
        decoder.finish().map_err(bad)?;
        if hash(&out) != chunk.hash {
            return Err(bad("output does not match its hash"));
        }
        Ok(out)
    }
}

/// The streams of one chunk's payload, which the table has checked: each lies at the sum of
/// the packed lengths before it.
struct Unpacker<'a> {
    chunk: &'a ChunkInfo,
    payload: &'a [u8],
    index: usize,
}

impl Unpacker<'_> {
    /// Decodes the stream of `kind` into `dst`, which has its raw length, against `dict`.
    fn unpack(&self, kind: StreamKind, dst: &mut [u8], dict: &[u8]) -> Result<()> {
        let mut at = 0usize;
        for stream in &self.chunk.streams {
            let packed = &self.payload[at..at + stream.packed_len as usize];
            if stream.kind == kind {
                return stream
                    .codec
                    .decompress_exact(packed, dst, dict)
                    .map_err(|e| Error::corrupt(format!("chunk {}: {kind} stream: {e}", self.index)));
            }
            at += packed.len();
        }
        Err(Error::corrupt(format!("chunk {}: no {kind} stream", self.index)))
    }

    /// [`Unpacker::unpack`] into a new buffer of the stream's raw length.
    fn to_vec(&self, kind: StreamKind, dict: &[u8]) -> Result<Vec<u8>> {
        let mut raw = vec![0u8; self.chunk.raw_len(kind) as usize];
        self.unpack(kind, &mut raw, dict)?;
        Ok(raw)
    }
}

/// The state of [`decode_chunk`]'s in-place decoding; every op is checked before it runs.
struct InPlace<'a> {
    old: &'a [u8],
    /// The chunk's output, with the unread diff stream in its last `diff_raw_len - diff_at` bytes.
    out: &'a mut [u8],
    extra: &'a [u8],
    cursor: usize,
    written: usize,
    diff_at: usize,
    extra_at: usize,
    /// Version 4: the chunk's pointer fields, its offset in new, and its unread corrections.
    fields: Option<(exec::ChunkFields<'a>, u64, &'a [u8])>,
}

impl<'a> InPlace<'a> {
    /// `out` holds the whole diff stream after its first `extra.len()` bytes.
    fn new(
        old: &'a [u8],
        out: &'a mut [u8],
        extra: &'a [u8],
        fields: Option<(exec::ChunkFields<'a>, u64, &'a [u8])>,
    ) -> Self {
        InPlace { old, out, extra, cursor: 0, written: 0, diff_at: 0, extra_at: 0, fields }
    }

    /// Checks `op` against old, both streams and the chunk, then writes its bytes.
    fn run(&mut self, op: Op) -> std::result::Result<(), &'static str> {
        if op.add_len == 0 && op.extra_len == 0 {
            return Err("empty control op");
        }
        self.cursor = i64::try_from(self.cursor)
            .ok()
            .and_then(|c| c.checked_add(op.seek))
            .and_then(|c| usize::try_from(c).ok())
            .filter(|&c| c <= self.old.len())
            .ok_or("control op seeks outside old")?;
        let diff_len = self.out.len() - self.extra.len();
        let add = usize::try_from(op.add_len).map_err(|_| "add length overflows")?;
        if add > self.old.len() - self.cursor || add > diff_len - self.diff_at {
            return Err("add op runs past the end of old or the diff stream");
        }
        let source = self.extra.len() + self.diff_at;
        self.out.copy_within(source..source + add, self.written);
        let target = &mut self.out[self.written..self.written + add];
        for (o, base) in target.iter_mut().zip(&self.old[self.cursor..self.cursor + add]) {
            *o = o.wrapping_add(*base);
        }
        if let Some((fields, offset, corrections)) = &mut self.fields {
            fields.decode_region(target, self.cursor, *offset + self.written as u64, corrections)?;
        }
        (self.cursor, self.diff_at, self.written) =
            (self.cursor + add, self.diff_at + add, self.written + add);

        let copy = usize::try_from(op.extra_len).map_err(|_| "extra length overflows")?;
        if copy > self.extra.len() - self.extra_at {
            return Err("extra op runs past the end of the extra stream");
        }
        self.out[self.written..self.written + copy]
            .copy_from_slice(&self.extra[self.extra_at..self.extra_at + copy]);
        (self.extra_at, self.written) = (self.extra_at + copy, self.written + copy);
        Ok(())
    }

    /// Fails unless the ops consumed both streams exactly, and so covered the whole chunk.
    fn finish(&self) -> std::result::Result<(), &'static str> {
        if self.diff_at + self.extra.len() != self.out.len() || self.extra_at != self.extra.len() {
            return Err("control ops do not cover the chunk and its streams exactly");
        }
        if self.fields.as_ref().is_some_and(|(_, _, corrections)| !corrections.is_empty()) {
            return Err("the corrections stream has bytes left after the chunk's fields");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Control ops as (seek, add_len, extra_len).
    type Ops<'a> = &'a [(i64, u64, u64)];

    /// Decodes `ops` against `old`, with `diff` and `extra` as the raw streams.
    fn decode(old: &[u8], diff: &[u8], extra: &[u8], ops: Ops) -> Result<Vec<u8>, &'static str> {
        let mut out = vec![0u8; diff.len() + extra.len()];
        out[extra.len()..].copy_from_slice(diff);
        let mut decoder = InPlace::new(old, &mut out, extra, None);
        for &(seek, add_len, extra_len) in ops {
            decoder.run(Op { seek, add_len, extra_len })?;
        }
        decoder.finish()?;
        Ok(out)
    }

    #[test]
    fn decodes_in_place_with_interleaved_extra() {
        let old = b"abcdefgh";
        // "abc" + 1 each, "XY", then "fgh" after a seek of 2, then "Z".
        let out = decode(old, &[1, 1, 1, 0, 0, 0], b"XYZ", &[(0, 3, 2), (2, 3, 1)]).unwrap();
        assert_eq!(out, b"bcdXYfghZ");
    }

    #[test]
    fn seeks_backwards_and_repeats_old() {
        let old = b"xyz";
        let out = decode(old, &[0; 6], b"", &[(0, 3, 0), (-3, 3, 0)]).unwrap();
        assert_eq!(out, b"xyzxyz");
    }

    #[test]
    fn rejects_each_malformed_op() {
        let old = b"abcd";
        let cases: [(Ops, &str); 6] = [
            (&[(0, 0, 0)], "empty control op"),
            (&[(-1, 2, 0)], "control op seeks outside old"),
            (&[(5, 0, 2)], "control op seeks outside old"),
            (&[(3, 2, 0)], "add op runs past the end of old or the diff stream"),
            (&[(0, 1, 3)], "extra op runs past the end of the extra stream"),
            (&[(0, 1, 1)], "control ops do not cover the chunk and its streams exactly"),
        ];
        for (ops, expected) in cases {
            assert_eq!(decode(old, &[0, 0], b"ab", ops), Err(expected), "ops {ops:?}");
        }
    }

    #[test]
    fn rejects_an_add_longer_than_the_diff_stream() {
        assert_eq!(
            decode(b"abcdef", &[0, 0], b"", &[(0, 3, 0)]),
            Err("add op runs past the end of old or the diff stream")
        );
    }
}
