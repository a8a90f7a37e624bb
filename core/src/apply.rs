//! Applying and verifying a patch: check `old`, then decode chunks in parallel, in batches read
//! in one forward pass over the patch stream.

use std::fs;
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Mutex;

use rayon::prelude::*;

use crate::control::OpReader;
use crate::error::{Error, Result};
use crate::format::{ChunkInfo, PatchInfo, PatchReader, read_head};
use crate::hash::hash;
use crate::io::{OutputFile, map_file};
use crate::options::ApplyOptions;
use crate::parallel::{Progress, Workers};

/// Applies `patch` (read in one forward pass, never seeked) to `old` and returns the new bytes.
///
/// Fails with [`crate::ErrorKind::SourceMismatch`] if `old` is not the file the patch was made
/// for. Every chunk and the whole result are checked against their blake3 hashes.
pub fn apply(old: &[u8], patch: impl Read, options: &ApplyOptions) -> Result<Vec<u8>> {
    let mut output = MemoryOutput(Mutex::new(Vec::new()));
    run(old, patch, &mut output, options)?;
    Ok(output.0.into_inner().unwrap_or_else(|poisoned| poisoned.into_inner()))
}

/// Applies `patch` to the file at `old_path`, writing the result to `out_path`.
///
/// `old` is memory-mapped and never written. The output is written to a temporary file in
/// `out_path`'s folder, with `old`'s permissions, then synced and renamed into place, so
/// `out_path` either holds the complete, verified result or is left as it was. `out_path` may
/// be `old_path` itself, which replaces `old` atomically on success.
pub fn apply_file(
    old_path: impl AsRef<Path>,
    patch: impl Read,
    out_path: impl AsRef<Path>,
    options: &ApplyOptions,
) -> Result<PatchInfo> {
    let old_path = old_path.as_ref();
    let old = map_file(old_path)?;
    let permissions = fs::metadata(old_path).map(|m| m.permissions()).ok();
    let mut output = FileOutput { file: None, dest: out_path.as_ref(), permissions };
    let info = run(&old, patch, &mut output, options)?;
    output.file.take().expect("run prepares the output").commit()?;
    Ok(info)
}

/// Does everything [`apply`] does, including every hash check, without keeping the output.
pub fn verify(old: &[u8], patch: impl Read, options: &ApplyOptions) -> Result<PatchInfo> {
    run(old, patch, &mut DiscardOutput, options)
}

/// [`verify`] with `old` memory-mapped from `old_path`.
pub fn verify_file(
    old_path: impl AsRef<Path>,
    patch: impl Read,
    options: &ApplyOptions,
) -> Result<PatchInfo> {
    verify(&map_file(old_path.as_ref())?, patch, options)
}

/// Where decoded chunks go. `prepare` runs once `old` is verified, before any chunk.
trait Output: Sync {
    fn prepare(&mut self) -> Result<()> {
        Ok(())
    }
    fn write_at(&self, offset: u64, bytes: &[u8]) -> Result<()>;
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
    dest: &'a Path,
    permissions: Option<fs::Permissions>,
}

impl Output for FileOutput<'_> {
    fn prepare(&mut self) -> Result<()> {
        self.file = Some(OutputFile::create(self.dest, self.permissions.clone())?);
        Ok(())
    }

    fn write_at(&self, offset: u64, bytes: &[u8]) -> Result<()> {
        let file = self.file.as_ref().expect("prepared before any write");
        file.file()
            .write_all_at(bytes, offset)
            .map_err(|e| Error::io(format!("writing {}", self.dest.display()), e))
    }
}

struct DiscardOutput;

impl Output for DiscardOutput {
    fn write_at(&self, _offset: u64, _bytes: &[u8]) -> Result<()> {
        Ok(())
    }
}

fn run(old: &[u8], patch: impl Read, output: &mut impl Output, options: &ApplyOptions) -> Result<PatchInfo> {
    let workers = Workers::new(options.threads)?;
    let mut reader = PatchReader::new(patch);
    let info = read_head(&mut reader, options.max_chunk_len)?;
    workers.run(|| check_source(old, &info))?;
    output.prepare()?;

    let progress = Progress::new(options.progress.get(), info.new_size);
    let mut hasher = blake3::Hasher::new();
    // Memory in use: one batch of payloads plus, per chunk, output and stream buffers.
    let batch_len = 2 * workers.run(rayon::current_num_threads).max(1);
    let output = &*output;
    for (batch_index, batch) in info.chunks.chunks(batch_len).enumerate() {
        progress.check()?;
        let payloads = batch
            .iter()
            .map(|chunk| reader.read_vec(chunk.payload_len(), "chunk payloads"))
            .collect::<Result<Vec<_>>>()?;
        let first = batch_index * batch_len;
        let decoded: Vec<Vec<u8>> = workers.run(|| {
            batch
                .par_iter()
                .zip(payloads)
                .enumerate()
                .map(|(i, (chunk, payload))| {
                    progress.check()?;
                    let bytes = decode_chunk(old, chunk, &payload, first + i)?;
                    output.write_at(chunk.new_offset, &bytes)?;
                    progress.advance(chunk.new_len)?;
                    Ok(bytes)
                })
                .collect::<Result<_>>()
        })?;
        for bytes in &decoded {
            hasher.update(bytes);
        }
    }
    reader.expect_end()?;
    if *hasher.finalize().as_bytes() != info.new_hash {
        return Err(Error::corrupt("the output does not match the new file's hash"));
    }
    Ok(info)
}

/// Fails with `SourceMismatch` unless `old` has the size and blake3 the patch records.
fn check_source(old: &[u8], info: &PatchInfo) -> Result<()> {
    let mismatch = |actual_hash| Error::SourceMismatch {
        expected_size: info.old_size,
        actual_size: old.len() as u64,
        expected_hash: info.old_hash,
        actual_hash,
    };
    if old.len() as u64 != info.old_size {
        return Err(mismatch(None));
    }
    let actual = hash(old);
    if actual != info.old_hash {
        return Err(mismatch(Some(actual)));
    }
    Ok(())
}

/// Decodes chunk `index` from its payload and checks it against its hash.
fn decode_chunk(old: &[u8], chunk: &ChunkInfo, payload: &[u8], index: usize) -> Result<Vec<u8>> {
    let bad = |what: &str| Error::corrupt(format!("chunk {index}: {what}"));
    let (control_z, rest) = payload.split_at(chunk.control_len as usize);
    let (diff_z, extra_z) = rest.split_at(chunk.diff_len as usize);
    let new_len = chunk.new_len as usize;
    let diff_len = chunk.diff_raw_len() as usize;

    let mut control = vec![0u8; chunk.control_raw_len as usize];
    decompress_exact(control_z, &mut control).map_err(|e| bad(&format!("control stream: {e}")))?;
    // Diff and extra streams share one buffer: together they are exactly `new_len` bytes.
    let mut streams = vec![0u8; new_len];
    let (diff, extra) = streams.split_at_mut(diff_len);
    decompress_exact(diff_z, diff).map_err(|e| bad(&format!("diff stream: {e}")))?;
    decompress_exact(extra_z, extra).map_err(|e| bad(&format!("extra stream: {e}")))?;

    let mut out = vec![0u8; new_len];
    let (mut cursor, mut written, mut diff_at, mut extra_at) = (0usize, 0usize, 0usize, 0usize);
    for op in OpReader::new(&control) {
        let op = op.map_err(|e| bad(&e.to_string()))?;
        if op.add_len == 0 && op.extra_len == 0 {
            return Err(bad("empty control op"));
        }
        cursor = i64::try_from(cursor)
            .ok()
            .and_then(|c| c.checked_add(op.seek))
            .and_then(|c| usize::try_from(c).ok())
            .filter(|&c| c <= old.len())
            .ok_or_else(|| bad("control op seeks outside old"))?;
        let add = usize::try_from(op.add_len).map_err(|_| bad("add length overflows"))?;
        if add > old.len() - cursor || add > diff.len() - diff_at || add > new_len - written {
            return Err(bad("add op runs past the end of old, the diff stream or the chunk"));
        }
        let target = &mut out[written..written + add];
        for ((o, n), d) in
            target.iter_mut().zip(&old[cursor..cursor + add]).zip(&diff[diff_at..diff_at + add])
        {
            *o = n.wrapping_add(*d);
        }
        (cursor, diff_at, written) = (cursor + add, diff_at + add, written + add);
        let copy = usize::try_from(op.extra_len).map_err(|_| bad("extra length overflows"))?;
        if copy > extra.len() - extra_at || copy > new_len - written {
            return Err(bad("extra op runs past the end of the extra stream or the chunk"));
        }
        out[written..written + copy].copy_from_slice(&extra[extra_at..extra_at + copy]);
        (extra_at, written) = (extra_at + copy, written + copy);
    }
    if written != new_len || diff_at != diff.len() || extra_at != extra.len() {
        return Err(bad("control ops do not cover the chunk and its streams exactly"));
    }
    if hash(&out) != chunk.hash {
        return Err(bad("output does not match its hash"));
    }
    Ok(out)
}

/// Decompresses `src` into exactly `dst.len()` bytes; an empty `src` must mean an empty `dst`.
fn decompress_exact(src: &[u8], dst: &mut [u8]) -> std::result::Result<(), String> {
    if src.is_empty() {
        return if dst.is_empty() { Ok(()) } else { Err("missing".into()) };
    }
    let mut decompressor = zstd::bulk::Decompressor::new().map_err(|e| e.to_string())?;
    let written = decompressor.decompress_to_buffer(src, dst).map_err(|e| e.to_string())?;
    if written != dst.len() {
        return Err(format!("decompressed to {written} bytes, expected {}", dst.len()));
    }
    Ok(())
}
