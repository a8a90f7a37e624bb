//! Apply's last step: the new file from the new view, each rebuilt member deflated again (by
//! the pinned zlib, or re-encoded from its structure by the token method) and checked
//! against its recorded length and CRC-32.
//!
//! The new file is cut into segments: the bytes between rebuilt members, copied from the view,
//! and the members, deflated. Each segment's place in the output is known from the recipe, so
//! all of them are produced in parallel (work-stealing, no batches) and written straight to
//! their place, in pieces of 64 KiB: memory is zlib's state and one piece per worker.

use std::fs::File;
use std::ops::Range;
use std::os::unix::fs::FileExt;

use rayon::prelude::*;

use super::deflate::{self, Flow};
use super::recipe::{Method, Rebuild};
use super::tokens;
use crate::error::{Error, Result};
use crate::parallel::Workers;

/// One piece of the new file: where it lies there, and what makes it.
struct Segment<'a> {
    out: Range<u64>,
    source: Source<'a>,
}

enum Source<'a> {
    /// Bytes of the view, copied.
    Copy(&'a [u8]),
    /// A member's bytes in the view (inflated bytes, then any structure), deflated as
    /// `Rebuild` says.
    Deflate(&'a [u8], &'a Rebuild, usize),
}

/// The segments of the new file of `new_size` bytes made from `view` by `rebuilds`, whose
/// lengths the caller checked: `view` has the recipe's view length.
fn segments<'a>(view: &'a [u8], rebuilds: &'a [Rebuild], new_size: u64) -> Vec<Segment<'a>> {
    let mut segments = Vec::with_capacity(2 * rebuilds.len() + 1);
    let (mut view_at, mut new_at) = (0usize, 0u64);
    for (index, rebuild) in rebuilds.iter().enumerate() {
        let gap = (rebuild.span.offset - new_at) as usize;
        if gap > 0 {
            segments.push(Segment {
                out: new_at..rebuild.span.offset,
                source: Source::Copy(&view[view_at..view_at + gap]),
            });
        }
        let raw = &view[view_at + gap..view_at + gap + rebuild.span.view_len() as usize];
        segments.push(Segment {
            out: rebuild.span.offset..rebuild.span.end(),
            source: Source::Deflate(raw, rebuild, index),
        });
        (view_at, new_at) = (view_at + gap + raw.len(), rebuild.span.end());
    }
    if new_at < new_size {
        segments.push(Segment { out: new_at..new_size, source: Source::Copy(&view[view_at..]) });
    }
    segments
}

/// Produces `segment`, handing its bytes in order to `write(offset in the new file, bytes)`.
fn produce(segment: &Segment<'_>, write: &mut dyn FnMut(u64, &[u8]) -> Result<()>) -> Result<()> {
    match segment.source {
        Source::Copy(bytes) => write(segment.out.start, bytes),
        Source::Deflate(expanded, rebuild, index) => {
            let (mut produced, mut crc) = (0u64, crc32fast::Hasher::new());
            let sink = |piece: &[u8]| {
                if produced + piece.len() as u64 > rebuild.span.packed_len {
                    return Ok(Flow::Stop);
                }
                crc.update(piece);
                write(segment.out.start + produced, piece)?;
                produced += piece.len() as u64;
                Ok(Flow::Continue)
            };
            let (raw, structure) = expanded.split_at(rebuild.span.raw_len as usize);
            let finished = match rebuild.method {
                Method::Zlib(params) => deflate::deflate(raw, params, sink)?,
                Method::Tokens => tokens::huff(raw, structure, sink)?,
            };
            if !finished || produced != rebuild.span.packed_len || crc.finalize() != rebuild.packed_crc {
                return Err(Error::RebuildMismatch {
                    reason: format!(
                        "member {index} at offset {} deflated to other bytes than the patch records",
                        rebuild.span.offset
                    ),
                });
            }
            Ok(())
        }
    }
}

/// The new file of `new_size` bytes made from `view` by `rebuilds`, in memory.
pub(crate) fn to_memory(
    view: &[u8],
    rebuilds: &[Rebuild],
    new_size: u64,
    workers: &Workers,
) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    out.try_reserve_exact(new_size as usize).map_err(|_| {
        Error::io(
            format!("allocating {new_size} bytes for the new file"),
            std::io::ErrorKind::OutOfMemory.into(),
        )
    })?;
    out.resize(new_size as usize, 0);
    let segments = segments(view, rebuilds, new_size);
    let mut slices = Vec::with_capacity(segments.len());
    let mut rest = out.as_mut_slice();
    for segment in &segments {
        let (slice, after) = rest.split_at_mut((segment.out.end - segment.out.start) as usize);
        slices.push(slice);
        rest = after;
    }
    workers.run(|| {
        segments.par_iter().zip(slices).try_for_each(|(segment, slice)| {
            produce(segment, &mut |offset, bytes| {
                let at = (offset - segment.out.start) as usize;
                slice[at..at + bytes.len()].copy_from_slice(bytes);
                Ok(())
            })
        })
    })?;
    Ok(out)
}

/// Writes the new file of `new_size` bytes made from `view` by `rebuilds` into `file`
/// (already `new_size` bytes long), each piece at its offset.
pub(crate) fn to_file(
    view: &[u8],
    rebuilds: &[Rebuild],
    new_size: u64,
    workers: &Workers,
    file: &File,
) -> Result<()> {
    let segments = segments(view, rebuilds, new_size);
    workers.run(|| {
        segments.par_iter().try_for_each(|segment| {
            produce(segment, &mut |offset, bytes| {
                file.write_all_at(bytes, offset).map_err(|e| Error::io("writing the new file", e))
            })
        })
    })
}
