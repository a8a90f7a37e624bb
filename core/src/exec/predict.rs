//! Predicting the new value of each pointer field from the old one, and coding fields as
//! corrections to those predictions, chunk by chunk.
//!
//! Diff and apply run the same code here over the same inputs (old, its analysis, the new
//! layout and the map from the patch), which is what keeps the predictions identical.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use super::map::AddressMap;
use super::{Kind, Reference, Segment};
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

/// Predicts a field's new immediate: its old target, moved where an earlier field of the chunk
/// with that target pointed, else by the address map, pointed at from the field's new place.
/// Measured on ruff (x86-64) / ruff-win / ruff-mac: remembering earlier fields' targets made
/// the patches 2.2% / 1.4% / 1.8% smaller than the map alone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Predictor {
    pub(crate) old: Layout,
    pub(crate) new: Layout,
    pub(crate) map: AddressMap,
}

/// For each old target (address space, address) that a field of the chunk pointed at, where
/// the last such field pointed in new: a target seen once predicts itself thereafter.
type Learned = HashMap<(u32, u64), u64, BuildHasherDefault<TargetHasher>>;

/// A multiply-rotate hash of the few integers a target key holds. SipHash, the default, cost
/// 8% more CPU time on ruff's apply (0.365 s of user time against 0.335 s, medians of four).
/// Only lookups depend on it, never an order.
#[derive(Default)]
struct TargetHasher(u64);

impl Hasher for TargetHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        bytes.iter().for_each(|&b| self.write_u64(u64::from(b)));
    }

    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0 ^ n).wrapping_mul(0x9e37_79b9_7f4a_7c15).rotate_left(29);
    }
}

/// A field's predicted immediate, and what to learn once its actual one is known: its old
/// target and its address in new.
struct Prediction {
    immediate: u64,
    learn: Option<((u32, u64), u64)>,
}

impl Predictor {
    /// The predicted immediate of `reference` (whose word in old is `old_word`) once at new
    /// offset `new_offset`: its old target as `learned` has it, else moved by the address map;
    /// the old immediate where a step has no answer.
    fn predict(&self, reference: Reference, old_word: u64, new_offset: u64, learned: &Learned) -> Prediction {
        let kind = reference.kind;
        let immediate = kind.read(old_word);
        let unmoved = Prediction { immediate, learn: None };
        let (Some((field_va, space)), Some((new_field_va, _))) =
            (self.old.address_of(reference.offset), self.new.address_of(new_offset))
        else {
            return unmoved;
        };
        let target = (space, kind.target(field_va, immediate, self.old.image_base));
        let learn = Some((target, new_field_va));
        let new_target = learned.get(&target).copied().or_else(|| self.moved(target));
        match new_target {
            Some(new_target) => {
                Prediction { immediate: kind.immediate(new_field_va, new_target, self.new.image_base), learn }
            }
            None => Prediction { learn, ..unmoved },
        }
    }

    /// Where old target `(space, va)` went in new, by the address map.
    fn moved(&self, (space, va): (u32, u64)) -> Option<u64> {
        let new_target = self.map.map(self.old.offset_of(va, space)?)?;
        Some(self.new.address_of(new_target)?.0)
    }

    /// Records in `learned` where the field of `prediction` points in new, given its actual
    /// immediate.
    fn learn(&self, kind: Kind, prediction: &Prediction, actual: u64, learned: &mut Learned) {
        if let Some((target, new_field_va)) = prediction.learn {
            learned.insert(target, kind.target(new_field_va, actual, self.new.image_base));
        }
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
    old: &'a [u8],
    /// The old file's references, sorted and within `old`.
    references: &'a [Reference],
    /// `pages[p]`: the first reference whose word ends after old offset `p * PAGE` (8 bytes
    /// per [`PAGE`] bytes of old: 384 KiB for ruff's 24 MiB).
    pages: Vec<usize>,
    predictor: &'a Predictor,
}

/// Bytes of old per entry of [`Fields::pages`].
const PAGE: usize = 512;

impl<'a> Fields<'a> {
    /// The fields of `old`, whose sorted references are `references`.
    pub(crate) fn new(old: &'a [u8], references: &'a [Reference], predictor: &'a Predictor) -> Self {
        let mut pages = Vec::with_capacity(old.len().div_ceil(PAGE) + 1);
        let mut first = 0;
        for page_start in (0..=old.len()).step_by(PAGE) {
            while references.get(first).is_some_and(|r| r.span().end <= page_start as u64) {
                first += 1;
            }
            pages.push(first);
        }
        Fields { old, references, pages, predictor }
    }

    /// The coder of one chunk's fields, which learns targets as it goes; a chunk is coded and
    /// decoded by one such coder, region after region in order.
    pub(crate) fn chunk(&'a self) -> ChunkFields<'a> {
        ChunkFields { fields: self, learned: Learned::default() }
    }

    /// The references whose words overlap `old[start..start + len]`, in order: the first
    /// searched among those of `start`'s page, the last galloped to from it. A binary search
    /// over all of old's millions of references missed the cache at every step: one for each
    /// end was 19% of the apply's CPU on ruff, one for the first 14%, the page's 3.6% (apply's
    /// user time on ruff, one thread, median of 12: 0.82x; pydantic-core 0.91x).
    fn overlapping(&self, start: usize, len: usize) -> &[Reference] {
        let last_page = self.pages.len() - 1;
        let (page, end) = ((start / PAGE).min(last_page), (start + len) as u64);
        let (from, to) = (self.pages[page], self.pages[(page + 1).min(last_page)]);
        let first = from + self.references[from..to].partition_point(|r| r.span().end <= start as u64);
        let rest = &self.references[first..];
        &rest[..gallop(rest, |r| r.offset < end)]
    }

    /// The references whose words lie wholly in `old[start..start + len]`, in order: the
    /// overlapping ones less a first that starts before the region and a last that ends after
    /// it (references never overlap, so only those two can stick out).
    fn inside(&self, start: usize, len: usize) -> &[Reference] {
        let (region_start, region_end) = (start as u64, (start + len) as u64);
        let mut inside = self.overlapping(start, len);
        if inside.first().is_some_and(|r| r.offset < region_start) {
            inside = &inside[1..];
        }
        if inside.last().is_some_and(|r| r.span().end > region_end) {
            inside = &inside[..inside.len() - 1];
        }
        inside
    }
}

/// `items.partition_point(before)` for a predicate true on a prefix, found by doubling a
/// bound from the front and then searching below it: O(log k) steps for an answer `k`, all
/// near the front of `items`.
fn gallop<T>(items: &[T], before: impl Fn(&T) -> bool) -> usize {
    let mut bound = 1;
    while bound < items.len() && before(&items[bound]) {
        bound *= 2;
    }
    let low = bound / 2;
    low + items[low..bound.min(items.len())].partition_point(before)
}

/// One chunk's pointer fields, coded or decoded in order ([`Fields::chunk`]).
pub(crate) struct ChunkFields<'a> {
    fields: &'a Fields<'a>,
    learned: Learned,
}

impl ChunkFields<'_> {
    /// The prediction of `reference`, carried to new offset `new_offset`.
    fn predict(&self, reference: Reference, new_offset: u64) -> Prediction {
        let word = read_word(self.fields.old, reference.offset as usize, reference.kind.width());
        self.fields.predictor.predict(reference, word, new_offset, &self.learned)
    }

    /// Diff: for a matched region of `new` (at new offset `new_offset`) against `old` at
    /// `old_start`, clears the immediate of every field old has wholly inside the region and
    /// appends its correction to `corrections`.
    pub(crate) fn code_region(
        &mut self,
        new: &mut [u8],
        old_start: usize,
        new_offset: u64,
        corrections: &mut Vec<u8>,
    ) {
        for &reference in self.fields.inside(old_start, new.len()) {
            let (kind, width) = (reference.kind, reference.kind.width());
            let at = reference.offset as usize - old_start;
            let prediction = self.predict(reference, new_offset + at as u64);
            let word = read_word(new, at, width);
            let actual = kind.read(word);
            write_varint(zigzag(kind.signed_difference(actual, prediction.immediate)), corrections);
            write_word(new, at, width, kind.write(word, 0));
            self.fields.predictor.learn(kind, &prediction, actual, &mut self.learned);
        }
    }

    /// Apply: `out` holds `old[old_start..] + diff` for a matched region at new offset
    /// `new_offset`. Takes old's immediates back out of it (the diff was made against old with
    /// its fields cleared), then writes each field old has wholly inside the region as its
    /// prediction plus the next correction.
    pub(crate) fn decode_region(
        &mut self,
        out: &mut [u8],
        old_start: usize,
        new_offset: u64,
        corrections: &mut &[u8],
    ) -> Result<(), &'static str> {
        let region = old_start as u64..(old_start + out.len()) as u64;
        for reference in self.fields.overlapping(old_start, out.len()) {
            let span = reference.span();
            for at in span.start.max(region.start)..span.end.min(region.end) {
                let mask = reference.kind.mask((at - span.start) as usize);
                let byte = &mut out[(at - region.start) as usize];
                *byte = byte.wrapping_sub(self.fields.old[at as usize] & mask);
            }
        }
        for &reference in self.fields.inside(old_start, out.len()) {
            let (kind, width) = (reference.kind, reference.kind.width());
            let at = reference.offset as usize - old_start;
            let prediction = self.predict(reference, new_offset + at as u64);
            let correction =
                read_varint(corrections).ok_or("the corrections stream ends early or is malformed")?;
            let actual = kind.add(prediction.immediate, unzigzag(correction));
            let word = read_word(out, at, width);
            write_word(out, at, width, kind.write(word, actual));
            self.fields.predictor.learn(kind, &prediction, actual, &mut self.learned);
        }
        Ok(())
    }
}

/// `old` with the immediate bits of every reference cleared: what diff matches against. Shared,
/// so that a cancellable suffix sort can read it on its own thread without a copy.
///
/// Copied straight into the `Arc`: masking a `Vec` and converting it costs a second copy, and
/// freeing the `Vec` raises glibc's mmap threshold, which kept ruff's diff 40 MB higher.
pub(crate) fn masked(bytes: &[u8], references: &[Reference]) -> Arc<[u8]> {
    let mut shared = Arc::<[u8]>::from(bytes);
    let out = Arc::get_mut(&mut shared).expect("a new Arc has one owner");
    for reference in references {
        let span = reference.span();
        for (i, byte) in out[span.start as usize..span.end as usize].iter_mut().enumerate() {
            *byte &= !reference.kind.mask(i);
        }
    }
    shared
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn gallop_finds_the_partition_point_of_every_prefix() {
        for len in 0..70 {
            let items: Vec<usize> = (0..len).collect();
            for cut in 0..=len {
                assert_eq!(gallop(&items, |&i| i < cut), cut, "len {len}, cut {cut}");
            }
        }
    }

    proptest! {
        #[test]
        fn overlapping_finds_exactly_the_references_that_overlap_a_region(
            gaps in prop::collection::vec((0usize..700, any::<bool>()), 0..60),
            regions in prop::collection::vec((0usize..30_000, 0usize..2_000), 1..20),
        ) {
            let mut references = Vec::new();
            let mut offset = 0u64;
            for (gap, wide) in gaps {
                let kind = if wide { Kind::Abs64 } else { Kind::Rel32 { bias: 0 } };
                references.push(Reference { offset: offset + gap as u64, kind });
                offset += gap as u64 + kind.width() as u64;
            }
            let old = vec![0u8; offset as usize + 1500];
            let layout = || Layout { segments: Vec::new(), image_base: 0 };
            let predictor = Predictor { old: layout(), new: layout(), map: AddressMap::from_regions([]) };
            let fields = Fields::new(&old, &references, &predictor);
            for (start, len) in regions {
                let start = start % (old.len() + 1);
                let len = len.min(old.len() - start);
                let expected: Vec<Reference> = references
                    .iter()
                    .filter(|r| r.offset < (start + len) as u64 && r.span().end > start as u64)
                    .copied()
                    .collect();
                prop_assert_eq!(fields.overlapping(start, len), &expected[..], "{}+{}", start, len);
            }
        }
    }
}
