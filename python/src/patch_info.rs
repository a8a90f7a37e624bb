//! `chunkdelta.PatchInfo`: what a patch's header and chunk table say,
//! `chunkdelta.Signature`: one of its signatures, and `chunkdelta.ExecInfo`: the executable
//! transform of a version-4 patch.

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
    /// What every signature covers with its metadata (blake3 of the header and chunk table),
    /// hex; adding a signature leaves it unchanged.
    signing_digest: String,
    /// The patch's signatures, in the order of its signature block; empty when unsigned.
    signatures: Vec<Signature>,
    /// A container patch's container, "zip" or "gzip"; None for a file patch.
    container: Option<String>,
    /// A container patch: old members that apply inflates; 0 for a file patch.
    members_expanded: u64,
    /// A container patch: new members that apply deflates again, by either method; 0 for a
    /// file patch.
    members_rebuilt: u64,
    /// A container patch: of ``members_rebuilt``, those rebuilt by the token method (the
    /// others by the pinned zlib); 0 for a file patch.
    members_rebuilt_by_tokens: u64,
    /// An executable patch (format version 4): its transform; None for any other patch.
    exec: Option<ExecInfo>,
}

/// The executable transform of a version-4 patch, as ``PatchInfo.exec`` gives it: diff
/// masked the pointer fields of old and new (ELF, PE or Mach-O files) and the chunks code
/// each one as a correction to a prediction through an address map.
#[pyclass(frozen, eq, get_all, module = "chunkdelta", name = "ExecInfo")]
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ExecInfo {
    /// The code's instruction set: "x86-64" or "aarch64".
    arch: String,
    /// The version of the analysis the patch was made with; apply needs the same (else
    /// ``RebuildMismatchError``).
    extractor_version: u16,
    /// How many pointer fields the analysis found in the old file.
    old_references: u64,
    /// Pieces of the address map (old to new offsets) the predictions use.
    map_pieces: u64,
    /// Bytes the exec block takes in the patch.
    block_len: u64,
}

#[pymethods]
impl ExecInfo {
    fn __repr__(&self) -> String {
        format!(
            "ExecInfo(arch='{}', extractor_version={}, old_references={}, map_pieces={}, block_len={})",
            self.arch, self.extractor_version, self.old_references, self.map_pieces, self.block_len
        )
    }
}

impl From<&chunkdelta::ExecInfo> for ExecInfo {
    fn from(exec: &chunkdelta::ExecInfo) -> Self {
        ExecInfo {
            arch: exec.arch.to_string(),
            extractor_version: exec.extractor_version,
            old_references: exec.old_references,
            map_pieces: exec.map_pieces,
            block_len: exec.block_len,
        }
    }
}

/// One signature of a patch and the metadata it signs, as ``PatchInfo.signatures`` lists
/// them. Reading it verifies nothing: trust is checked by ``apply`` and the ``*_file``
/// functions given ``trusted_keys``.
#[pyclass(frozen, eq, get_all, module = "chunkdelta", name = "Signature")]
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Signature {
    /// The id of the key that made it: 16 upper-case hex digits, as minisign shows it.
    key_id: String,
    /// When it was made, in seconds since the Unix epoch.
    created: u64,
    /// When it stops being accepted, in seconds since the Unix epoch; None is never.
    expires: Option<u64>,
    /// The product id it names, if any.
    product: Option<String>,
    /// The release number it names, if any.
    release: Option<u64>,
}

#[pymethods]
impl Signature {
    pub(crate) fn __repr__(&self) -> String {
        let optional = |value: Option<String>| value.unwrap_or_else(|| "None".to_string());
        format!(
            "Signature(key_id='{}', created={}, expires={}, product={}, release={})",
            self.key_id,
            self.created,
            optional(self.expires.map(|e| e.to_string())),
            optional(self.product.as_ref().map(|p| format!("{p:?}"))),
            optional(self.release.map(|r| r.to_string())),
        )
    }
}

impl From<&chunkdelta::SignatureInfo> for Signature {
    fn from(signature: &chunkdelta::SignatureInfo) -> Self {
        Signature {
            key_id: signature.key_id.to_string(),
            created: signature.created,
            expires: signature.expires,
            product: signature.product.clone(),
            release: signature.release,
        }
    }
}

#[pymethods]
impl PatchInfo {
    fn __repr__(&self) -> String {
        format!(
            "PatchInfo(format_version={}, codec={}, old_size={}, new_size={}, chunk_count={}, \
             patch_size={}, old_hash='{}', new_hash='{}', signatures=[{}], exec={})",
            self.format_version,
            self.codec.as_ref().map_or_else(|| "None".to_string(), |codec| format!("'{codec}'")),
            self.old_size,
            self.new_size,
            self.chunk_count,
            self.patch_size,
            self.old_hash,
            self.new_hash,
            self.signatures.iter().map(Signature::__repr__).collect::<Vec<_>>().join(", "),
            self.exec.as_ref().map_or_else(|| "None".to_string(), ExecInfo::__repr__)
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
            signing_digest: hex(&info.signing_digest),
            signatures: info.signatures.iter().map(Signature::from).collect(),
            container: info.container.as_ref().map(|c| c.kind.name().to_string()),
            members_expanded: info.container.as_ref().map_or(0, |c| c.members_expanded),
            members_rebuilt: info.container.as_ref().map_or(0, |c| c.members_rebuilt),
            members_rebuilt_by_tokens: info.container.as_ref().map_or(0, |c| c.members_rebuilt_by_tokens),
            exec: info.exec.as_deref().map(ExecInfo::from),
        }
    }
}

/// `bytes` as lower-case hex.
pub(crate) fn hex(bytes: &[u8; 32]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
