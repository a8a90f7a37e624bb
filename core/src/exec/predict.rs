//! Predicting the new value of each pointer field from the old one, and coding fields as
//! corrections to those predictions, chunk by chunk.
//!
//! Diff and apply run the same code here over the same inputs (old, its analysis, the new
//! layout and the map from the patch), which is what keeps the predictions identical.

use super::map::AddressMap;
use super::{Reference, Segment};
use crate::control::{read_varint, unzigzag, write_varint, zigzag};

/// Where a file's bytes lie in memory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Layout {
    pub(crate) segments: Vec<Segment>,
    pub(crate) image_base: u64,
}

impl Layout {
    /// The address of file offset `offset` and its address space: in the first segment whose
    /// file bytes hold it, else in the first whose memory does (`.bss` past the file bytes).
    fn address_of(&self, offset: u64) -> Option<(u64, u32)> {
        let within = |s: &&Segment, len: u64| offset >= s.offset && offset - s.offset < len;
        let segment = self
            .segments
            .iter()
            .find(|s| within(s, s.file_len))
            .or_else(|| self.segments.iter().find(|s| within(s, s.mem_len)))?;
        Some((segment.va + (offset - segment.offset), segment.space))
    }

    /// The file offset (or the offset it would have, past a segment's file bytes) of address
    /// `va` in address space `space`.
    fn offset_of(&self, va: u64, space: u32) -> Option<u64> {
        let segment =
            self.segments.iter().find(|s| s.space == space && va >= s.va && va - s.va < s.mem_len)?;
        segment.offset.checked_add(va - segment.va)
    }
}

/// Predicts a field's new immediate: its old target, moved by the address map, pointed at from
/// the field's new place.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Predictor {
    pub(crate) old: Layout,
    pub(crate) new: Layout,
    pub(crate) map: AddressMap,
}

impl Predictor {
    /// The predicted immediate of `reference` (whose word in old is `old_word`) once at new
    /// offset `new_offset`; the old immediate where any step has no answer.
    fn predict(&self, reference: Reference, old_word: u64, new_offset: u64) -> u64 {
        let kind = reference.kind;
        let immediate = kind.read(old_word);
        self.moved(reference, immediate, new_offset).unwrap_or(immediate)
    }

    fn moved(&self, reference: Reference, immediate: u64, new_offset: u64) -> Option<u64> {
        let kind = reference.kind;
        let (field_va, space) = self.old.address_of(reference.offset)?;
        let target = kind.target(field_va, immediate, self.old.image_base);
        let new_target = self.map.map(self.old.offset_of(target, space)?)?;
        let (new_target_va, _) = self.new.address_of(new_target)?;
        let (new_field_va, _) = self.new.address_of(new_offset)?;
        Some(kind.immediate(new_field_va, new_target_va, self.new.image_base))
    }
}

/// The little-endian word of `width` bytes at `at`.
fn read_word(bytes: &[u8], at: usize, width: usize) -> u64 {
    bytes[at..at + width].iter().rev().fold(0, |word, &b| word << 8 | u64::from(b))
}

fn write_word(bytes: &mut [u8], at: usize, width: usize, word: u64) {
    for (i, byte) in bytes[at..at + width].iter_mut().enumerate() {
        *byte = (word >> (8 * i)) as u8;
    }
}

/// The old file's pointer fields and how to predict them: what both diff and apply hold.
pub(crate) struct Fields<'a> {
    /// The old file, unmasked.
    pub(crate) old: &'a [u8],
    /// The old file's references, sorted and within `old`.
    pub(crate) references: &'a [Reference],
    pub(crate) predictor: &'a Predictor,
}

impl Fields<'_> {
    /// The references whose words lie wholly in `old[start..start + len]`, in order.
    fn inside(&self, start: usize, len: usize) -> &[Reference] {
        let (start, end) = (start as u64, (start + len) as u64);
        let first = self.references.partition_point(|r| r.offset < start);
        let count = self.references[first..].partition_point(|r| r.span().end <= end);
        &self.references[first..first + count]
    }

    /// The references whose words overlap `old[start..start + len]`, in order.
    fn overlapping(&self, start: usize, len: usize) -> &[Reference] {
        let (start, end) = (start as u64, (start + len) as u64);
        let first = self.references.partition_point(|r| r.span().end <= start);
        let count = self.references[first..].partition_point(|r| r.offset < end);
        &self.references[first..first + count]
    }

    /// Diff: for a matched region of `new` (at new offset `new_offset`) against `old` at
    /// `old_start`, clears the immediate of every field old has wholly inside the region and
    /// appends its correction to `corrections`.
    pub(crate) fn code_region(
        &self,
        new: &mut [u8],
        old_start: usize,
        new_offset: u64,
        corrections: &mut Vec<u8>,
    ) {
        for &reference in self.inside(old_start, new.len()) {
            let (kind, width) = (reference.kind, reference.kind.width());
            let at = reference.offset as usize - old_start;
            let predicted = self.predictor.predict(
                reference,
                read_word(self.old, reference.offset as usize, width),
                new_offset + at as u64,
            );
            let word = read_word(new, at, width);
            write_varint(zigzag(kind.signed_difference(kind.read(word), predicted)), corrections);
            write_word(new, at, width, kind.write(word, 0));
        }
    }

    /// Apply: `out` holds `old[old_start..] + diff` for a matched region at new offset
    /// `new_offset`. Takes old's immediates back out of it (the diff was made against old with
    /// its fields cleared), then writes each field old has wholly inside the region as its
    /// prediction plus the next correction.
    pub(crate) fn decode_region(
        &self,
        out: &mut [u8],
        old_start: usize,
        new_offset: u64,
        corrections: &mut &[u8],
    ) -> Result<(), &'static str> {
        let region = old_start as u64..(old_start + out.len()) as u64;
        for reference in self.overlapping(old_start, out.len()) {
            let span = reference.span();
            for at in span.start.max(region.start)..span.end.min(region.end) {
                let mask = reference.kind.mask((at - span.start) as usize);
                let byte = &mut out[(at - region.start) as usize];
                *byte = byte.wrapping_sub(self.old[at as usize] & mask);
            }
        }
        for &reference in self.inside(old_start, out.len()) {
            let (kind, width) = (reference.kind, reference.kind.width());
            let at = reference.offset as usize - old_start;
            let predicted = self.predictor.predict(
                reference,
                read_word(self.old, reference.offset as usize, width),
                new_offset + at as u64,
            );
            let correction =
                read_varint(corrections).ok_or("the corrections stream ends early or is malformed")?;
            let word = read_word(out, at, width);
            write_word(out, at, width, kind.write(word, kind.add(predicted, unzigzag(correction))));
        }
        Ok(())
    }
}

/// `old` with the immediate bits of every reference cleared: what diff matches against.
pub(crate) fn masked(bytes: &[u8], references: &[Reference]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    for reference in references {
        let span = reference.span();
        for (i, byte) in out[span.start as usize..span.end as usize].iter_mut().enumerate() {
            *byte &= !reference.kind.mask(i);
        }
    }
    out
}
