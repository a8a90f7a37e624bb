//! Executable-aware matching (format version 4): the pointer fields of x86-64 and AArch64 code
//! are masked out of the match and each is coded as a correction to a prediction.
//!
//! [`analyse`] finds, in an ELF, PE/COFF or Mach-O file (fat Mach-O too), where its code and
//! pointers lie: the file's loadable [`Segment`]s and a sorted list of [`Reference`]s. It is a
//! pure function of the file's bytes (no floats, no hash-map order, stable sorts only), and
//! [`EXTRACTOR_VERSION`] names its exact behaviour: a patch records the version and a hash of
//! the old file's analysis, and apply refuses to go on if its own analysis differs.
//!
//! A reference that is not really a pointer (data decoded as code) costs size, never
//! correctness: the transform codes every masked field exactly, whatever it holds.

mod arm64;
mod image;
mod kind;
mod x86;

pub(crate) use kind::Kind;

/// The behaviour of [`analyse`]: any change to what it finds bumps this number.
pub(crate) const EXTRACTOR_VERSION: u16 = 1;

/// The instruction set of an executable's code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Arch {
    X86_64,
    Aarch64,
}

impl Arch {
    /// The arch's number in the patch (`FORMAT.md`, version 4).
    pub(crate) fn id(self) -> u16 {
        match self {
            Arch::X86_64 => 1,
            Arch::Aarch64 => 2,
        }
    }

    pub(crate) fn from_id(id: u16) -> Option<Self> {
        match id {
            1 => Some(Arch::X86_64),
            2 => Some(Arch::Aarch64),
            _ => None,
        }
    }
}

/// A loadable part of the file: bytes `offset .. offset + file_len` appear in memory at `va`,
/// followed by `mem_len - file_len` zero bytes (`.bss`). `space` tells apart the independent
/// address spaces of a fat Mach-O file's slices (0 elsewhere).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Segment {
    pub(crate) offset: u64,
    pub(crate) va: u64,
    pub(crate) file_len: u64,
    pub(crate) mem_len: u64,
    pub(crate) space: u32,
}

/// A pointer field: its word starts at file offset `offset` and is read as `kind` says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Reference {
    pub(crate) offset: u64,
    pub(crate) kind: Kind,
}

impl Reference {
    /// File offsets of the field's word.
    pub(crate) fn span(&self) -> std::ops::Range<u64> {
        self.offset..self.offset + self.kind.width() as u64
    }
}

/// What [`analyse`] finds in one executable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Image {
    pub(crate) arch: Arch,
    /// PE's preferred load address, which 32-bit RVAs are relative to; 0 for ELF and Mach-O.
    pub(crate) image_base: u64,
    /// Sorted by `offset`.
    pub(crate) segments: Vec<Segment>,
    /// Sorted by `offset`, their words within the file and never overlapping.
    pub(crate) references: Vec<Reference>,
}

/// The executable layout and pointer fields of `file`, or `None` when it is not an ELF, PE or
/// Mach-O file of x86-64 or AArch64 code, or its headers do not hold together. Never panics,
/// whatever the bytes; time and memory are linear in the file's size.
pub(crate) fn analyse(file: &[u8]) -> Option<Image> {
    let object = image::read(file)?;
    let mut references = object.pointers;
    for code in &object.code {
        match object.arch {
            Arch::X86_64 => x86::references(file, code, &mut references),
            Arch::Aarch64 => arm64::references(file, code, &mut references),
        }
    }
    references.sort();
    let mut end = 0u64;
    references.retain(|r| {
        let keep = r.offset >= end && r.span().end <= file.len() as u64;
        if keep {
            end = r.span().end;
        }
        keep
    });
    let mut segments = object.segments;
    segments.sort_by_key(|s| (s.offset, s.va, s.space));
    Some(Image { arch: object.arch, image_base: object.image_base, segments, references })
}
