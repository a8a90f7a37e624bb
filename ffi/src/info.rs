//! `chunkdelta_info`: what a patch says about itself.

use chunkdelta::PatchInfo;

/// What a patch's header says: filled by `chunkdelta_patch_info` and
/// `chunkdelta_patch_info_file`. The caller owns it (on the stack, typically).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct chunkdelta_info {
    /// Format version of the patch.
    pub format_version: u32,
    /// Size in bytes of the old file the patch applies to.
    pub old_size: u64,
    /// Size in bytes of the file the patch produces.
    pub new_size: u64,
    /// Number of chunks the new file is cut into.
    pub chunk_count: u64,
    /// blake3 of the old file.
    pub old_hash: [u8; 32],
    /// blake3 of the new file.
    pub new_hash: [u8; 32],
}

impl From<&PatchInfo> for chunkdelta_info {
    fn from(info: &PatchInfo) -> Self {
        chunkdelta_info {
            format_version: u32::from(info.format_version),
            old_size: info.old_size,
            new_size: info.new_size,
            chunk_count: info.chunks.len() as u64,
            old_hash: info.old_hash,
            new_hash: info.new_hash,
        }
    }
}
