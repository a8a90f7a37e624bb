//! Patches of other tools that apply reads besides its own, told apart by their magic:
//! bsdiff's BSDIFF40 (bsdiff 4.x, Debian's `bsdiff`, PyPI's `bsdiff4`) and ENDSLEY/BSDIFF43.

pub(crate) mod bsdiff;

use std::fmt;
use std::io::{Chain, Cursor, Read};

use crate::error::{Error, Result};
use crate::format::{PatchInfo, PatchReader, read_info};

pub use bsdiff::BsdiffInfo;

/// The format of a patch, as its first bytes tell.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PatchFormat {
    /// chunkdelta's own format (`FORMAT.md`), magic `CDLT`.
    Chunkdelta,
    /// bsdiff 4.x: magic `BSDIFF40`, three bzip2 blocks (control, diff, extra). No hashes.
    Bsdiff40,
    /// Matthew Endsley's bsdiff: magic `ENDSLEY/BSDIFF43`, one bzip2 stream. No hashes.
    Bsdiff43,
}

impl PatchFormat {
    /// The format whose magic `prefix` starts with: chunkdelta's unless it is a bsdiff magic,
    /// so that a damaged chunkdelta patch is reported as one.
    pub fn detect(prefix: &[u8]) -> PatchFormat {
        if prefix.starts_with(bsdiff::MAGIC_40) {
            PatchFormat::Bsdiff40
        } else if prefix.starts_with(bsdiff::MAGIC_43) {
            PatchFormat::Bsdiff43
        } else {
            PatchFormat::Chunkdelta
        }
    }

    /// Whether patches of this format record hashes of the old and new files, so that apply
    /// can tell a wrong old file or a wrong result.
    pub fn has_hashes(self) -> bool {
        self == PatchFormat::Chunkdelta
    }
}

impl fmt::Display for PatchFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PatchFormat::Chunkdelta => "chunkdelta",
            PatchFormat::Bsdiff40 => "BSDIFF40",
            PatchFormat::Bsdiff43 => "BSDIFF43",
        })
    }
}

/// What a patch of any format that apply reads says about itself. Exhaustive on purpose: a
/// format added later is a change that every `match` has to see.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PatchHead {
    /// A chunkdelta patch: header and chunk table.
    Chunkdelta(PatchInfo),
    /// A BSDIFF40 or BSDIFF43 patch: its header and block sizes.
    Bsdiff(BsdiffInfo),
}

impl PatchHead {
    /// The patch's format.
    pub fn format(&self) -> PatchFormat {
        match self {
            PatchHead::Chunkdelta(_) => PatchFormat::Chunkdelta,
            PatchHead::Bsdiff(info) => info.format,
        }
    }

    /// Size in bytes of the file the patch produces.
    pub fn new_size(&self) -> u64 {
        match self {
            PatchHead::Chunkdelta(info) => info.new_size,
            PatchHead::Bsdiff(info) => info.new_size,
        }
    }

    /// Total size of the patch in bytes.
    pub fn patch_size(&self) -> u64 {
        match self {
            PatchHead::Chunkdelta(info) => info.patch_size,
            PatchHead::Bsdiff(info) => info.patch_size,
        }
    }

    /// The chunkdelta header and table, if the patch is a chunkdelta patch.
    pub fn chunkdelta(&self) -> Option<&PatchInfo> {
        match self {
            PatchHead::Chunkdelta(info) => Some(info),
            PatchHead::Bsdiff(_) => None,
        }
    }
}

/// A patch stream whose first bytes have been read to tell its format, and are read again.
pub(crate) type Sniffed<R> = Chain<Cursor<Vec<u8>>, R>;

/// Reads enough of `patch` to tell its format (fewer bytes if it ends first), and gives back
/// the format and the whole stream, those bytes included.
pub(crate) fn sniff<R: Read>(patch: R) -> Result<(PatchFormat, Sniffed<R>)> {
    let mut prefix = Vec::with_capacity(bsdiff::MAGIC_43.len());
    let mut patch = patch;
    // `read_to_end` retries interrupted reads itself.
    let wanted = (bsdiff::MAGIC_43.len()) as u64;
    patch.by_ref().take(wanted).read_to_end(&mut prefix).map_err(|e| Error::io("reading the patch", e))?;
    Ok((PatchFormat::detect(&prefix), Cursor::new(prefix).chain(patch)))
}

/// Reads a whole patch of any format that apply reads and checks its structure, as
/// [`crate::read_info`] does for chunkdelta patches. For a bsdiff patch that is its header
/// and block sizes: its bzip2 streams are not decoded.
pub fn inspect(patch: impl Read) -> Result<PatchHead> {
    let (format, patch) = sniff(patch)?;
    match format {
        PatchFormat::Chunkdelta => read_info(patch).map(PatchHead::Chunkdelta),
        _ => bsdiff::read_info(&mut PatchReader::new(patch), format).map(PatchHead::Bsdiff),
    }
}
