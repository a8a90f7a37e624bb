//! Tree patches: a whole directory (files, directories, symlinks, permission bits) from an old
//! to a new release, specified in `TREE-FORMAT.md`.
//!
//! ```text
//! header (64 bytes) | signature block | manifest (LZMA2) | solid file patches, back to back
//! ```
//!
//! The manifest lists the old files the patch reads (path, size, a blake3 prefix, and one
//! digest of all their hashes) and every entry of the new tree: a file kept or copied from an
//! old file (unchanged, moved or duplicated content: no payload) or made by the solid file
//! patch; a directory; or a symlink. The solid patch is an ordinary file patch, from the
//! concatenated bases to the concatenated changed files, so the tree format has no encoder or
//! decoder of its own. Format 1 patches (one file patch per file) still apply. Signatures use the same block and
//! [`crate::TrustPolicy`] as file patches, over the tree patch's own signing digest.

mod build;
mod inplace;
mod manifest;
mod platform;
mod similar;
mod solid;
mod stage;
mod walk;

use std::path::Path;

pub use inplace::{InPlaceReport, Recovered, apply_tree_in_place, commit_tree, recover_tree, rollback_tree};
pub use manifest::{EntryKind, FileSource, Mtime, OldCheck, OldFile, SolidPatch, TreeEntry};
pub use stage::{apply_tree, verify_tree};

use crate::codec::StreamCodec;
use crate::error::{Error, Result};
use crate::format::MAX_SIGNATURE_LEN;
use crate::io::{OutputFile, map_file};
use crate::options::DiffOptions;
use crate::trust::{self, SecretKey, SignOptions, SignatureInfo, TrustPolicy};
use manifest::Manifest;

/// `magic`: the ASCII bytes `CDTR`.
pub const TREE_MAGIC: [u8; 4] = *b"CDTR";
/// The newest tree format version this library writes: 3 when a tree patch records hard
/// links or mtimes, else 2. It reads versions 1 to 3.
pub const TREE_FORMAT_VERSION: u16 = 3;
const HEADER_LEN: usize = 64;
/// Offset of `signature_len`, the first header byte that signatures do not cover.
const SIGNED_HEADER_LEN: usize = 56;
/// Largest decompressed manifest (64 MiB, about half a million entries).
pub const MAX_MANIFEST_LEN: u64 = 64 << 20;

/// Everything a tree patch says about itself before its file patches.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TreeInfo {
    /// The tree format version: 1, 2 or 3.
    pub format_version: u16,
    /// The old files the patch reads, sorted by path; apply checks each one's size and hash.
    pub old_files: Vec<OldFile>,
    /// Format 2: blake3 of the old files' blake3 hashes, in order, which apply checks too.
    pub old_digest: Option<[u8; 32]>,
    /// Format 2: the solid file patches that make every file that is not a copy, in payload
    /// order.
    pub solid: Vec<SolidPatch>,
    /// Every entry of the new tree, sorted by path bytes (so a directory precedes its content).
    pub entries: Vec<TreeEntry>,
    /// Paths of the old tree that the new one does not have (files, directories, symlinks).
    pub removed: Vec<std::path::PathBuf>,
    /// Total size of the patch in bytes.
    pub patch_size: u64,
    /// blake3 of the decompressed manifest.
    pub manifest_hash: [u8; 32],
    /// What every signature covers: blake3 of the header before `signature_len`.
    pub signing_digest: [u8; 32],
    /// The signatures in the signature block; empty when unsigned.
    pub signatures: Vec<SignatureInfo>,
}

/// Whether `prefix` (the first bytes of a patch) starts like a tree patch.
pub fn is_tree_patch(prefix: &[u8]) -> bool {
    prefix.starts_with(&TREE_MAGIC)
}

/// Reads a whole tree patch held in memory and checks its structure: header, signature block,
/// manifest hash and content, and that the file patches fill the rest exactly. File patches
/// are not decoded.
pub fn read_tree_info(patch: &[u8]) -> Result<TreeInfo> {
    Ok(parse(patch, None)?.0)
}

/// Diffs the directory `old_dir` into `new_dir` and writes a tree patch to `patch_path`, which
/// appears only once complete. Symlinks are recorded, never followed; devices, fifos, sockets
/// and names that differ only in case are an [`crate::ErrorKind::InvalidArgument`]. Each
/// file is matched to an old file with the same content anywhere (a copy: moves and
/// duplicates cost no payload), else the old file at the same path, else the old file that
/// shares most of its content-defined chunks (a renamed-and-edited file, a moved folder),
/// else one with the same name and a similar size, else none; every file that is not a copy
/// goes into one solid file patch against those bases (each once), diffed in parallel chunks.
/// Memory: both trees' changed files and their bases, concatenated, plus the file engine's
/// index of the bases. The patch is built in memory before it is written. Signers in `options` sign the
/// tree patch.
pub fn diff_tree(
    old_dir: impl AsRef<Path>,
    new_dir: impl AsRef<Path>,
    patch_path: impl AsRef<Path>,
    options: &DiffOptions,
) -> Result<TreeInfo> {
    let (manifest, solid) = build::build(old_dir.as_ref(), new_dir.as_ref(), options)?;
    let mut patch = encode(&manifest, &solid)?;
    for (key, sign_options) in &options.signers {
        patch = sign_tree(&patch, key, sign_options)?;
    }
    let output = OutputFile::create(patch_path.as_ref())?;
    std::io::Write::write_all(&mut output.file(), &patch)
        .map_err(|e| Error::io(format!("writing {}", patch_path.as_ref().display()), e))?;
    output.commit()?;
    read_tree_info(&patch)
}

/// [`read_tree_info`] of the patch file at `path` (memory-mapped).
pub fn read_tree_info_file(path: impl AsRef<Path>) -> Result<TreeInfo> {
    read_tree_info(&map_file(path.as_ref())?)
}

/// The header fields.
struct Header {
    version: u16,
    manifest_raw_len: u64,
    manifest_packed_len: u64,
    manifest_hash: [u8; 32],
    signature_len: u32,
}

impl Header {
    fn encode(&self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        out[0..4].copy_from_slice(&TREE_MAGIC);
        out[4..6].copy_from_slice(&self.version.to_le_bytes());
        out[8..16].copy_from_slice(&self.manifest_raw_len.to_le_bytes());
        out[16..24].copy_from_slice(&self.manifest_packed_len.to_le_bytes());
        out[24..56].copy_from_slice(&self.manifest_hash);
        out[56..60].copy_from_slice(&self.signature_len.to_le_bytes());
        out
    }

    fn decode(bytes: &[u8]) -> Result<Self> {
        let Some(bytes) = bytes.first_chunk::<HEADER_LEN>() else {
            return Err(Error::corrupt("truncated: the tree patch ends inside its header"));
        };
        if !is_tree_patch(bytes) {
            return Err(Error::corrupt("not a chunkdelta tree patch (bad magic)"));
        }
        let version = u16::from_le_bytes([bytes[4], bytes[5]]);
        if !(1..=TREE_FORMAT_VERSION).contains(&version) {
            return Err(Error::UnsupportedVersion { found: version, supported: TREE_FORMAT_VERSION });
        }
        let u64_at = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"));
        let header = Header {
            version,
            manifest_raw_len: u64_at(8),
            manifest_packed_len: u64_at(16),
            manifest_hash: bytes[24..56].try_into().expect("32 bytes"),
            signature_len: u32::from_le_bytes(bytes[56..60].try_into().expect("4 bytes")),
        };
        if bytes[6..8] != [0, 0] || bytes[60..64] != [0; 4] {
            return Err(Error::corrupt("reserved tree header fields are set"));
        }
        if header.manifest_raw_len > MAX_MANIFEST_LEN {
            return Err(Error::limit("tree manifest", header.manifest_raw_len, MAX_MANIFEST_LEN));
        }
        if header.manifest_packed_len > crate::format::compress_bound(header.manifest_raw_len) {
            return Err(Error::corrupt("the tree manifest is larger than its raw size allows"));
        }
        if u64::from(header.signature_len) > MAX_SIGNATURE_LEN {
            return Err(Error::corrupt(format!("signature block of {} bytes", header.signature_len)));
        }
        Ok(header)
    }
}

/// A parsed tree patch: its info, and where its file patches start.
pub(crate) struct Parsed {
    blobs_at: usize,
}

/// Parses `patch`. With `trust`, the signatures are checked right after the header and block,
/// before the manifest is decompressed.
pub(crate) fn parse(patch: &[u8], trust: Option<&TrustPolicy>) -> Result<(TreeInfo, Parsed)> {
    let header = Header::decode(patch)?;
    let signing_digest = *blake3::hash(&patch[..SIGNED_HEADER_LEN]).as_bytes();
    let block_end = HEADER_LEN + header.signature_len as usize;
    let block = patch.get(HEADER_LEN..block_end).ok_or_else(|| truncated("signature block"))?;
    let signatures = trust::decode_block(block)?;
    if let Some(policy) = trust {
        policy.check_signatures(&signatures, &signing_digest)?;
    }
    let manifest_end = block_end.saturating_add(header.manifest_packed_len as usize);
    let packed = patch.get(block_end..manifest_end).ok_or_else(|| truncated("manifest"))?;
    let mut raw = vec![0u8; header.manifest_raw_len as usize];
    manifest_codec(header.version)
        .decompress_exact(packed, &mut raw, &[])
        .map_err(|why| Error::corrupt(format!("tree manifest: {why}")))?;
    if *blake3::hash(&raw).as_bytes() != header.manifest_hash {
        return Err(Error::corrupt("the tree manifest does not match its hash"));
    }
    let manifest = Manifest::decode(header.version, &raw)?;
    check_copies(&manifest)?;
    let solid_len = manifest.solid.iter().try_fold(0u64, |sum, patch| sum.checked_add(patch.len));
    let blob_total =
        manifest.entries.iter().try_fold(solid_len.unwrap_or(u64::MAX), |sum, entry| match &entry.kind {
            EntryKind::File { source, .. } => sum.checked_add(source.blob_len()),
            _ => Some(sum),
        });
    let expected = blob_total.and_then(|total| total.checked_add(manifest_end as u64));
    if expected != Some(patch.len() as u64) {
        return Err(Error::corrupt(format!(
            "the tree patch has {} bytes but its manifest accounts for {expected:?}",
            patch.len()
        )));
    }
    let info = TreeInfo {
        format_version: header.version,
        old_files: manifest.old_files,
        old_digest: manifest.old_digest,
        solid: manifest.solid,
        entries: manifest.entries,
        removed: manifest.removed,
        patch_size: patch.len() as u64,
        manifest_hash: header.manifest_hash,
        signing_digest,
        signatures,
    };
    Ok((info, Parsed { blobs_at: manifest_end }))
}

/// How the manifest of tree format `version` is compressed.
fn manifest_codec(version: u16) -> StreamCodec {
    if version == 1 { StreamCodec::Zstd } else { StreamCodec::Lzma2 }
}

/// A copy must copy an old file with the entry's size (and, in format 1, hash).
fn check_copies(manifest: &Manifest) -> Result<()> {
    for entry in &manifest.entries {
        if let EntryKind::File { size, hash, source: FileSource::Copy { old } } = &entry.kind {
            let old = &manifest.old_files[*old];
            let same_hash = hash.is_none_or(|hash| old.check.matches(&hash));
            if old.size != *size || !same_hash {
                return Err(Error::corrupt(format!(
                    "{} copies an old file of other content",
                    entry.path.display()
                )));
            }
        }
    }
    Ok(())
}

fn truncated(what: &str) -> Error {
    Error::corrupt(format!("truncated: the tree patch ends inside its {what}"))
}

/// Serialises an unsigned tree patch.
fn encode(manifest: &Manifest, solid: &[u8]) -> Result<Vec<u8>> {
    let raw = manifest.encode();
    if raw.len() as u64 > MAX_MANIFEST_LEN {
        return Err(Error::limit("tree manifest", raw.len() as u64, MAX_MANIFEST_LEN));
    }
    let version = manifest.format_version();
    let packed = manifest_codec(version).compress(&raw, 19, &[])?;
    let header = Header {
        version,
        manifest_raw_len: raw.len() as u64,
        manifest_packed_len: packed.len() as u64,
        manifest_hash: *blake3::hash(&raw).as_bytes(),
        signature_len: 0,
    };
    let mut out = header.encode().to_vec();
    out.extend_from_slice(&packed);
    out.extend_from_slice(solid);
    Ok(out)
}

/// `patch` (a tree patch) with a signature by `key` added, as [`crate::sign`] does for file
/// patches.
pub(crate) fn sign_tree(patch: &[u8], key: &SecretKey, options: &SignOptions) -> Result<Vec<u8>> {
    let (info, _) = parse(patch, None)?;
    let header = Header::decode(patch)?;
    let block = trust::add_signature(&info.signatures, &info.signing_digest, key, options)?;
    let rest = &patch[HEADER_LEN + header.signature_len as usize..];
    let mut head = Header { signature_len: block.len() as u32, ..header }.encode().to_vec();
    head.extend_from_slice(&block);
    Ok([head, rest.to_vec()].concat())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::ApplyOptions;

    /// A tree patch of files `f0`, `f1`, ..., all solid: per solid patch, the sizes of its
    /// files and the content the patch makes from nothing.
    fn solid_tree(patches: &[(&[u64], &[u8])]) -> Vec<u8> {
        let (mut entries, mut solid, mut blobs) = (Vec::new(), Vec::new(), Vec::new());
        for (sizes, content) in patches {
            let blob = crate::diff(&[], content, &DiffOptions::new().level(1)).unwrap();
            for &size in *sizes {
                let source = FileSource::Solid { patch: 0, offset: 0 };
                let kind = EntryKind::File { size, hash: None, source };
                entries.push(TreeEntry {
                    path: format!("f{}", entries.len()).into(),
                    mode: 0o644,
                    kind,
                    mtime: None,
                });
            }
            solid.push(SolidPatch { bases: vec![], files: sizes.len(), len: blob.len() as u64 });
            blobs.extend_from_slice(&blob);
        }
        let old_digest = Some(build::old_digest(&[]));
        encode(&Manifest { old_files: vec![], entries, removed: vec![], old_digest, solid }, &blobs).unwrap()
    }

    #[test]
    fn solid_files_that_disagree_with_the_solid_patch_are_corrupt_and_leave_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join("old");
        std::fs::create_dir(&old).unwrap();
        let apply = |patches: &[(&[u64], &[u8])]| {
            let patch = dir.path().join("p");
            std::fs::write(&patch, solid_tree(patches)).unwrap();
            let out = dir.path().join("out");
            let result = apply_tree(&old, &patch, &out, &ApplyOptions::new());
            let left = std::fs::read_dir(dir.path()).unwrap().count();
            (result, out, left)
        };
        let (made, out, _) = apply(&[(&[3, 5], b"abcdefgh"), (&[2], b"ij")]);
        made.unwrap();
        assert_eq!(std::fs::read(out.join("f1")).unwrap(), b"defgh");
        assert_eq!(std::fs::read(out.join("f2")).unwrap(), b"ij", "the second solid patch");
        std::fs::remove_dir_all(&out).unwrap();
        let wrong: [&[(&[u64], &[u8])]; 3] =
            [&[(&[3, 3], b"abcdefgh")], &[(&[3, 6], b"abcdefgh")], &[(&[8], b"abcdefgh"), (&[1], b"ij")]];
        for patches in wrong {
            let (made, out, left) = apply(patches);
            let err = made.expect_err("sizes that do not add up");
            assert_eq!(err.kind(), crate::ErrorKind::CorruptPatch, "{err}");
            assert!(!out.exists() && left == 2, "only old and the patch are left");
        }
    }
}
