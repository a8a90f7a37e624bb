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
mod block;
mod image;
mod kind;
mod map;
mod predict;
mod x86;

pub use block::ExecInfo;
pub(crate) use block::{decode as decode_block, read as read_block};
pub(crate) use kind::Kind;
pub(crate) use map::{AddressMap, Region};
pub(crate) use predict::{ChunkFields, Fields};

use std::sync::Arc;

use rayon::prelude::*;

use crate::codec::StreamCodec;
use crate::error::{Error, Result};
use predict::{Layout, Predictor};

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

    /// The arch's name in reports: `"x86-64"` or `"aarch64"`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86-64",
            Arch::Aarch64 => "aarch64",
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

/// Code is decoded in pieces of this many bytes, in parallel, each from its own start: a piece
/// that starts inside an instruction loses the few fields before the sweep falls back into
/// step. Part of the analysis's definition ([`EXTRACTOR_VERSION`]), not a tuning knob.
const SWEEP_PIECE: u64 = 1 << 20;

/// `code` cut into pieces of [`SWEEP_PIECE`] bytes (the last one shorter).
fn sweep_pieces(code: &image::Code) -> impl Iterator<Item = image::Code> + '_ {
    (0..code.len.div_ceil(SWEEP_PIECE)).map(move |k| image::Code {
        offset: code.offset + k * SWEEP_PIECE,
        len: SWEEP_PIECE.min(code.len - k * SWEEP_PIECE),
        va: code.va.wrapping_add(k * SWEEP_PIECE),
    })
}

/// Whether `file`'s headers read as an ELF, PE or Mach-O file of x86-64 or AArch64 code that
/// [`analyse`] would take: a check of the headers only, without disassembly.
pub(crate) fn looks_executable(file: &[u8]) -> bool {
    image::read(file).is_some()
}

/// The executable layout and pointer fields of `file`, or `None` when it is not an ELF, PE or
/// Mach-O file of x86-64 or AArch64 code, or its headers do not hold together. Never panics,
/// whatever the bytes; time and memory are linear in the file's size.
pub(crate) fn analyse(file: &[u8]) -> Option<Image> {
    let object = image::read(file)?;
    let pieces: Vec<image::Code> = object.code.iter().flat_map(sweep_pieces).collect();
    let found: Vec<Vec<Reference>> = pieces
        .par_iter()
        .map(|piece| {
            let mut found = Vec::new();
            match object.arch {
                Arch::X86_64 => x86::references(file, piece, &mut found),
                Arch::Aarch64 => arm64::references(file, piece, &mut found),
            }
            found
        })
        .collect();
    let mut references = object.pointers;
    references.extend(found.into_iter().flatten());
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
    segments.retain(|s| {
        s.offset.checked_add(s.file_len).is_some()
            && s.va.checked_add(s.mem_len).is_some()
            && s.file_len <= s.mem_len
    });
    segments.sort_by_key(|s| (s.offset, s.va, s.space));
    Some(Image { arch: object.arch, image_base: object.image_base, segments, references })
}

/// Diff's view of two executables of one arch: their analyses and old's masked copy.
pub(crate) struct Pair {
    old: Image,
    /// New's analysis, without its references once new is masked: the block needs its layout.
    new: Image,
    /// Old with every reference's immediate cleared: what the matcher indexes.
    pub(crate) masked_old: Arc<[u8]>,
}

impl Pair {
    /// The pair and new masked as old is (what the scan reads, and only it), when both files
    /// are executables of the same arch and old has references.
    pub(crate) fn analyse(old: &[u8], new: &[u8]) -> Option<(Self, Arc<[u8]>)> {
        let (old_image, new_image) = rayon::join(|| analyse(old), || analyse(new));
        let (old_image, mut new_image) = (old_image?, new_image?);
        if old_image.arch != new_image.arch || old_image.references.is_empty() {
            return None;
        }
        if new_image.segments.len() as u64 > block::MAX_SEGMENTS {
            return None;
        }
        let (masked_old, masked_new) = rayon::join(
            || predict::masked(old, &old_image.references),
            || predict::masked(new, &new_image.references),
        );
        new_image.references = Vec::new();
        Some((Pair { old: old_image, new: new_image, masked_old }, masked_new))
    }

    /// The predictor of a patch predicting through `map`.
    pub(crate) fn predictor(&self, map: AddressMap) -> Predictor {
        let layout =
            |image: &Image| Layout { segments: image.segments.clone(), image_base: image.image_base };
        Predictor { old: layout(&self.old), new: layout(&self.new), map }
    }

    pub(crate) fn old_references(&self) -> &[Reference] {
        &self.old.references
    }

    /// The patch's exec block, its map packed as `pack` makes it smallest.
    pub(crate) fn block(
        &self,
        map: &AddressMap,
        pack: impl Fn(&[u8]) -> Result<(StreamCodec, Vec<u8>)>,
    ) -> Result<Vec<u8>> {
        let raw = map.encode();
        if raw.len() as u64 > block::MAX_MAP_RAW {
            return Err(Error::limit("exec address map", raw.len() as u64, block::MAX_MAP_RAW));
        }
        let (codec, packed) = pack(&raw)?;
        Ok(block::encode(&self.old, &self.new, raw.len(), codec, &packed))
    }
}

/// Apply's side: the old file's references, re-derived and checked against the patch, and the
/// predictor of the patch's block. A [`crate::ErrorKind::RebuildMismatch`] when this build's
/// analysis differs from the one the patch was made with.
pub(crate) fn prepare_apply(old: &[u8], info: &ExecInfo) -> Result<(Vec<Reference>, Predictor)> {
    let mismatch = |why: String| Error::RebuildMismatch { reason: why };
    if info.extractor_version != EXTRACTOR_VERSION {
        return Err(mismatch(format!(
            "the patch needs executable analysis version {}; this build has {EXTRACTOR_VERSION}",
            info.extractor_version
        )));
    }
    let image =
        analyse(old).ok_or_else(|| mismatch("the old file does not read as an executable here".into()))?;
    if block::digest(&image) != info.old_digest || image.arch.name() != info.arch {
        return Err(mismatch(
            "the old file's pointer fields differ from those the patch was made with".into(),
        ));
    }
    let predictor = Predictor {
        old: Layout { segments: image.segments, image_base: image.image_base },
        new: Layout { segments: info.new_segments.clone(), image_base: info.new_base },
        map: info.map.clone(),
    };
    Ok((image.references, predictor))
}
