//! `chunkdelta.PatchInfo`: what a patch's header and chunk table say.

use pyo3::prelude::*;

/// What a patch's header and chunk table say. Hashes are blake3, as lower-case hex.
#[pyclass(frozen, eq, get_all, module = "chunkdelta", name = "PatchInfo")]
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PatchInfo {
    /// The patch format version.
    format_version: u16,
    /// Format versions 1 and 2: how every chunk stream is compressed, "zstd" or "xz". None in
    /// version 3, where each stream of each chunk has its own codec.
    codec: Option<String>,
    /// Size of the old file in bytes.
    old_size: u64,
    /// Size of the new file in bytes.
    new_size: u64,
    /// Number of chunks the new file is cut into.
    chunk_count: u64,
    /// Size of the whole patch in bytes.
    patch_size: u64,
    /// blake3 of the old file, hex.
    old_hash: String,
    /// blake3 of the new file, hex.
    new_hash: String,
}

#[pymethods]
impl PatchInfo {
    fn __repr__(&self) -> String {
        format!(
            "PatchInfo(format_version={}, codec={}, old_size={}, new_size={}, chunk_count={}, \
             patch_size={}, old_hash='{}', new_hash='{}')",
            self.format_version,
            self.codec.as_ref().map_or_else(|| "None".to_string(), |codec| format!("'{codec}'")),
            self.old_size,
            self.new_size,
            self.chunk_count,
            self.patch_size,
            self.old_hash,
            self.new_hash
        )
    }
}

impl From<&chunkdelta::PatchInfo> for PatchInfo {
    fn from(info: &chunkdelta::PatchInfo) -> Self {
        PatchInfo {
            format_version: info.format_version,
            codec: info.codec.map(|codec| codec.to_string()),
            old_size: info.old_size,
            new_size: info.new_size,
            chunk_count: info.chunks.len() as u64,
            patch_size: info.patch_size,
            old_hash: hex(&info.old_hash),
            new_hash: hex(&info.new_hash),
        }
    }
}

fn hex(bytes: &[u8; 32]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
