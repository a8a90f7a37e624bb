//! Apply's last step: the new file from the new view, each rebuilt member deflated again by
//! the pinned zlib and checked against its recorded length and CRC-32.

use std::io::Write;

use rayon::prelude::*;

use super::deflate::{self, Flow};
use super::recipe::Rebuild;
use crate::error::{Error, Result};
use crate::parallel::Workers;

/// Writes the new file made from `view` by `rebuilds` to `sink` and returns its blake3.
///
/// Members are deflated in parallel, in batches of twice the worker count, and written in
/// order. Memory: one batch of deflated members (each at most its recorded length, since a
/// longer output stops the member) and zlib's state per worker.
pub(crate) fn write_new(
    view: &[u8],
    rebuilds: &[Rebuild],
    workers: &Workers,
    sink: &mut impl Write,
) -> Result<[u8; 32]> {
    let mut out = HashingSink { sink, hasher: blake3::Hasher::new() };
    let batch_len = 2 * workers.run(rayon::current_num_threads).max(1);
    let mut view_at = 0usize;
    let mut new_at = 0u64;
    for (batch_index, batch) in rebuilds.chunks(batch_len).enumerate() {
        let mut starts = Vec::with_capacity(batch.len());
        let (mut v, mut n) = (view_at, new_at);
        for rebuild in batch {
            let gap = (rebuild.span.offset - n) as usize;
            starts.push(v + gap);
            v += gap + rebuild.span.raw_len as usize;
            n = rebuild.span.end();
        }
        let view_end = v;
        if view_end > view.len() {
            return Err(Error::corrupt("the new view is shorter than the recipe says"));
        }
        let packed: Vec<Vec<u8>> = workers.run(|| {
            batch
                .par_iter()
                .zip(&starts)
                .enumerate()
                .map(|(i, (rebuild, &start))| {
                    let raw = &view[start..start + rebuild.span.raw_len as usize];
                    deflate_member(raw, rebuild, batch_index * batch_len + i)
                })
                .collect::<Result<_>>()
        })?;
        for ((rebuild, start), bytes) in batch.iter().zip(starts).zip(packed) {
            out.write(&view[view_at..start])?;
            out.write(&bytes)?;
            view_at = start + rebuild.span.raw_len as usize;
        }
        new_at = batch.last().map_or(new_at, |r| r.span.end());
    }
    out.write(&view[view_at..])?;
    Ok(*out.hasher.finalize().as_bytes())
}

/// `raw` deflated as `rebuild` says, or [`crate::ErrorKind::RebuildMismatch`] if the output
/// differs from what diff recorded in length or CRC-32.
fn deflate_member(raw: &[u8], rebuild: &Rebuild, index: usize) -> Result<Vec<u8>> {
    let expected = rebuild.span.packed_len as usize;
    let mut packed = Vec::new();
    packed.try_reserve_exact(expected).map_err(|_| {
        Error::io(
            format!("allocating {expected} bytes for member {index}"),
            std::io::ErrorKind::OutOfMemory.into(),
        )
    })?;
    let finished = deflate::deflate(raw, rebuild.params, |piece| {
        if packed.len() + piece.len() > expected {
            return Ok(Flow::Stop);
        }
        packed.extend_from_slice(piece);
        Ok(Flow::Continue)
    })?;
    if !finished || packed.len() != expected || crc32fast::hash(&packed) != rebuild.packed_crc {
        return Err(Error::RebuildMismatch {
            reason: format!(
                "member {index} at offset {} deflated to other bytes than the patch records",
                rebuild.span.offset
            ),
        });
    }
    Ok(packed)
}

/// A sink that hashes what it writes.
struct HashingSink<'a, W: Write> {
    sink: &'a mut W,
    hasher: blake3::Hasher,
}

impl<W: Write> HashingSink<'_, W> {
    fn write(&mut self, bytes: &[u8]) -> Result<()> {
        self.hasher.update(bytes);
        self.sink.write_all(bytes).map_err(|e| Error::io("writing the new file", e))
    }
}
