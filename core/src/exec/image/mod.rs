//! Reading ELF, PE/COFF and Mach-O headers (fat Mach-O too): the segments, the code sections
//! and the pointer fields that relocation data names.
//!
//! The headers are parsed with the pinned `object` crate's low-level readers, which check that
//! every table they hand out lies within the file; everything read from those tables is then
//! checked here with checked arithmetic. A file whose headers do not hold together is not an
//! executable to this module: [`read`] gives `None`, and the patch is a plain one.

mod elf;
mod macho;
mod pe;

use super::{Arch, Kind, Reference, Segment};

/// The most segments (and, separately, code ranges) an executable may have.
const MAX_TABLE: usize = 4096;

/// The code to disassemble: `len` bytes at file offset `offset`, loaded at `va`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Code {
    pub(crate) offset: u64,
    pub(crate) len: u64,
    pub(crate) va: u64,
}

impl Code {
    /// The code's bytes, or `None` when they do not lie within `file`.
    pub(crate) fn bytes<'a>(&self, file: &'a [u8]) -> Option<&'a [u8]> {
        file.get(range(self.offset, self.len)?)
    }
}

/// What the headers of an executable say.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Object {
    pub(crate) arch: Arch,
    pub(crate) image_base: u64,
    pub(crate) segments: Vec<Segment>,
    pub(crate) code: Vec<Code>,
    /// Pointer fields named by relocation data (`Abs64`, `Rva32`).
    pub(crate) pointers: Vec<Reference>,
}

/// The headers of `file`, or `None` for anything but an ELF, PE or Mach-O file of x86-64 or
/// AArch64 code whose headers lie within the file.
///
/// Also `None` when there are more than 4096 segments or code ranges, or when code ranges
/// overlap (so that disassembly time stays linear in the file's size).
/// At most one pointer per 4 bytes of file is kept (a hostile RELR table could name more).
pub(crate) fn read(file: &[u8]) -> Option<Object> {
    let object = match file.get(..4)? {
        [0x7f, b'E', b'L', b'F'] => elf::read_elf(file),
        [b'M', b'Z', ..] => pe::read_pe(file),
        _ => macho::read_macho(file),
    }?;
    holds_together(&object, file.len() as u64).then_some(object)
}

/// Whether the segments and code ranges of `object` lie within a file of `len` bytes, are
/// few enough, and the code ranges do not overlap.
fn holds_together(object: &Object, len: u64) -> bool {
    let in_file = |offset: u64, size: u64| offset.checked_add(size).is_some_and(|end| end <= len);
    let segments_fit = object.segments.iter().all(|s| {
        in_file(s.offset, s.file_len) && s.file_len <= s.mem_len && s.va.checked_add(s.mem_len).is_some()
    });
    let code_fit = object.code.iter().all(|c| in_file(c.offset, c.len) && c.va.checked_add(c.len).is_some());
    object.segments.len() <= MAX_TABLE
        && object.code.len() <= MAX_TABLE
        && segments_fit
        && code_fit
        && disjoint(object.code.iter().map(|c| (c.offset, c.len)))
}

/// Whether no two of the ranges (offset, length) overlap.
fn disjoint(ranges: impl Iterator<Item = (u64, u64)>) -> bool {
    let mut spans: Vec<(u64, u64)> =
        ranges.map(|(offset, len)| (offset, offset.saturating_add(len))).collect();
    spans.sort_unstable();
    spans.windows(2).all(|pair| matches!(pair, [a, b] if a.1 <= b.0))
}

/// `offset .. offset + len` as a `usize` range, if it does not overflow.
fn range(offset: u64, len: u64) -> Option<std::ops::Range<usize>> {
    let start = usize::try_from(offset).ok()?;
    let end = usize::try_from(offset.checked_add(len)?).ok()?;
    Some(start..end)
}

/// The little-endian `u64` at `at` in `file`.
fn u64_at(file: &[u8], at: usize) -> Option<u64> {
    let bytes = file.get(at..at.checked_add(8)?)?;
    Some(u64::from_le_bytes(bytes.try_into().ok()?))
}

/// The pointer fields found so far, at most one per 4 bytes of the file.
struct Pointers {
    list: Vec<Reference>,
    cap: usize,
}

impl Pointers {
    fn new(file_len: usize) -> Self {
        Pointers { list: Vec::new(), cap: file_len / 4 }
    }

    /// Adds a field; `false` once the list is full.
    fn push(&mut self, offset: u64, kind: Kind) -> bool {
        let room = self.list.len() < self.cap;
        if room {
            self.list.push(Reference { offset, kind });
        }
        room
    }
}

/// File offsets of virtual addresses, through the file parts of the segments.
struct AddressMap {
    /// Segments with file bytes, sorted by `va`.
    parts: Vec<Segment>,
}

impl AddressMap {
    fn new(segments: &[Segment]) -> Self {
        let mut parts: Vec<Segment> = segments.iter().copied().filter(|s| s.file_len > 0).collect();
        parts.sort_by_key(|s| (s.va, s.offset));
        AddressMap { parts }
    }

    /// The file offset of the `len` bytes at `va`, when they lie in the file part of the last
    /// segment (by `va`) that starts at or below `va`.
    fn offset(&self, va: u64, len: u64) -> Option<u64> {
        let index = self.parts.partition_point(|s| s.va <= va).checked_sub(1)?;
        let part = self.parts.get(index)?;
        let delta = va - part.va;
        if delta.checked_add(len)? > part.file_len {
            return None;
        }
        part.offset.checked_add(delta)
    }
}

#[cfg(test)]
pub(super) mod tests {
    use proptest::prelude::*;

    use super::Reference;
    use super::elf::tests::elf;
    use super::macho::tests::{ARM64, X86_64, fat, macho};
    use super::pe::tests::pe;
    use crate::exec::Kind;

    /// Writes `value`'s low `width` bytes, little-endian, at `at`.
    pub(super) fn put(file: &mut [u8], at: usize, width: usize, value: u64) {
        file[at..at + width].copy_from_slice(&value.to_le_bytes()[..width]);
    }

    pub(super) fn abs64(offsets: &[u64]) -> Vec<Reference> {
        offsets.iter().map(|&offset| Reference { offset, kind: Kind::Abs64 }).collect()
    }

    /// Valid files of each format, to mutate.
    pub(in crate::exec) fn samples() -> Vec<Vec<u8>> {
        vec![elf(true), elf(false), pe(0x8664), pe(0xaa64), macho(ARM64), fat(&[X86_64, ARM64])]
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let first = crate::exec::analyse(&bytes);
            prop_assert_eq!(first, crate::exec::analyse(&bytes));
        }

        #[test]
        fn mutated_headers_never_panic(
            sample in 0..6usize,
            edits in proptest::collection::vec((any::<u16>(), any::<u8>()), 1..8),
            cut in any::<u16>(),
        ) {
            let mut file = samples().swap_remove(sample);
            for (at, value) in edits {
                let len = file.len();
                file[usize::from(at) % len] = value;
            }
            let first = crate::exec::analyse(&file);
            prop_assert_eq!(&first, &crate::exec::analyse(&file));
            file.truncate(usize::from(cut) % (file.len() + 1));
            let _ = crate::exec::analyse(&file);
        }
    }
}
