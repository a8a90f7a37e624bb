//! `chunkdelta_info` and `chunkdelta_signature`: what a patch says about itself.

use std::ffi::{c_char, c_int};

use chunkdelta::{ContainerKind, Error, PatchInfo, SignatureInfo};

use crate::args::{Out, out_slice};
use crate::signing::CHUNKDELTA_KEY_ID_SIZE;

/// The bytes of `chunkdelta_signature.product`: the longest product id (255 bytes) and a NUL.
pub const CHUNKDELTA_PRODUCT_SIZE: usize = 256;

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
    /// Number of signatures the patch carries (0: unsigned); `chunkdelta_patch_signatures`
    /// describes them.
    pub signature_count: u32,
    /// The digest every signature covers, with its signed metadata: blake3 of the header
    /// (its signature length read as 0) and the chunk table. Adding a signature leaves it
    /// unchanged.
    pub signing_digest: [u8; 32],
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
            signature_count: info.signatures.len() as u32,
            signing_digest: info.signing_digest,
        }
    }
}

/// `chunkdelta_container_info.kind`: a file patch, not a container patch.
pub const CHUNKDELTA_CONTAINER_NONE: u32 = 0;
/// `chunkdelta_container_info.kind`: a container patch of a zip archive (wheel, jar, apk...).
pub const CHUNKDELTA_CONTAINER_ZIP: u32 = 1;
/// `chunkdelta_container_info.kind`: a container patch of a gzip file (`.tar.gz`...).
pub const CHUNKDELTA_CONTAINER_GZIP: u32 = 2;

/// What a container patch (`CONTAINER-FORMAT.md`) says about its container: filled by
/// `chunkdelta_patch_container_info` and `chunkdelta_patch_container_info_file`. For a file
/// patch, `kind` is `CHUNKDELTA_CONTAINER_NONE` and every other field 0. For a container
/// patch, `chunkdelta_info` describes the old and new files and the whole patch, and its chunk
/// count is the inner patch's (over the new view).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct chunkdelta_container_info {
    /// One of the `CHUNKDELTA_CONTAINER_*` values.
    pub kind: u32,
    /// The container format version: 1, or 2 when members are rebuilt by the token method.
    pub format_version: u32,
    /// How many old members apply inflates (into the old view).
    pub members_expanded: u64,
    /// How many new members apply deflates again, by either method, and
    pub members_rebuilt: u64,
    /// how many inflated bytes that is: apply's extra CPU time (about 20 MB/s per core for
    /// zlib members, several times faster for token members).
    pub rebuilt_len: u64,
    /// Of `members_rebuilt`, how many the token method rebuilds (the others: the pinned zlib).
    pub members_rebuilt_by_tokens: u64,
    /// The bytes of those members' token structures in the new view.
    pub structure_len: u64,
}

impl From<&PatchInfo> for chunkdelta_container_info {
    fn from(info: &PatchInfo) -> Self {
        let Some(container) = info.container.as_deref() else { return Self::default() };
        let zip = container.kind == ContainerKind::Zip;
        chunkdelta_container_info {
            kind: if zip { CHUNKDELTA_CONTAINER_ZIP } else { CHUNKDELTA_CONTAINER_GZIP },
            format_version: container.format_version.into(),
            members_expanded: container.members_expanded,
            members_rebuilt: container.members_rebuilt,
            rebuilt_len: container.rebuilt_len,
            members_rebuilt_by_tokens: container.members_rebuilt_by_tokens,
            structure_len: container.structure_len,
        }
    }
}

/// `chunkdelta_exec_info.arch`: not an executable patch (format versions 1 to 3).
pub const CHUNKDELTA_EXEC_NONE: u32 = 0;
/// `chunkdelta_exec_info.arch`: an executable patch of x86-64 code.
pub const CHUNKDELTA_EXEC_X86_64: u32 = 1;
/// `chunkdelta_exec_info.arch`: an executable patch of AArch64 code.
pub const CHUNKDELTA_EXEC_AARCH64: u32 = 2;

/// What an executable patch (format version 4, `FORMAT.md` "Version 4") says about its
/// transform: filled by `chunkdelta_patch_exec_info` and `chunkdelta_patch_exec_info_file`.
/// For any other patch, `arch` is `CHUNKDELTA_EXEC_NONE` and every other field 0.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct chunkdelta_exec_info {
    /// One of the `CHUNKDELTA_EXEC_*` values: the instruction set of the code.
    pub arch: u32,
    /// The version of the analysis of executables the patch was made with; apply needs the
    /// same (else `CHUNKDELTA_ERR_REBUILD_MISMATCH`).
    pub extractor_version: u32,
    /// How many pointer fields the analysis found in the old file.
    pub old_references: u64,
    /// Pieces of the address map (old to new offsets) the predictions use.
    pub map_pieces: u64,
    /// Bytes the exec block takes in the patch.
    pub block_len: u64,
}

impl From<&PatchInfo> for chunkdelta_exec_info {
    fn from(info: &PatchInfo) -> Self {
        let Some(exec) = info.exec.as_deref() else { return Self::default() };
        let arch = match exec.arch {
            "x86-64" => CHUNKDELTA_EXEC_X86_64,
            "aarch64" => CHUNKDELTA_EXEC_AARCH64,
            // The core reports no other arch; a new one needs its constant here (the panic
            // boundary turns this into CHUNKDELTA_ERR_INTERNAL, never a wrong answer).
            other => panic!("the exec arch {other:?} has no CHUNKDELTA_EXEC_* constant"),
        };
        chunkdelta_exec_info {
            arch,
            extractor_version: exec.extractor_version.into(),
            old_references: exec.old_references,
            map_pieces: exec.map_pieces,
            block_len: exec.block_len,
        }
    }
}

/// One signature of a patch and the metadata it signs: filled by `chunkdelta_patch_signatures`
/// and `chunkdelta_patch_signatures_file`. Whether it is trusted is for apply and verify to
/// judge (`chunkdelta_options_add_trusted_key`): this only reads it.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct chunkdelta_signature {
    /// The id of the key that made it: 16 upper-case hex digits and a NUL, as minisign and
    /// `chunkdelta_keygen` show it.
    pub key_id: [c_char; CHUNKDELTA_KEY_ID_SIZE],
    /// When it was made, in seconds since the Unix epoch.
    pub created: u64,
    /// When it stops being accepted, in seconds since the Unix epoch; 0 is never.
    pub expires: u64,
    /// The release number it names, if `has_release`; otherwise 0.
    pub release: u64,
    /// Non-zero when it names a release number.
    pub has_release: c_int,
    /// The product id it names, NUL-terminated; empty when it names none.
    pub product: [c_char; CHUNKDELTA_PRODUCT_SIZE],
}

/// `text` in a NUL-terminated C array (product ids have at most 255 bytes and key ids 16, so
/// nothing is cut in practice; a longer text would be cut, never overrun).
fn c_text<const N: usize>(text: &str) -> [c_char; N] {
    let mut out = [0; N];
    for (place, byte) in out.iter_mut().take(N - 1).zip(text.bytes()) {
        *place = byte as c_char;
    }
    out
}

impl From<&SignatureInfo> for chunkdelta_signature {
    fn from(signature: &SignatureInfo) -> Self {
        chunkdelta_signature {
            key_id: c_text(&signature.key_id.to_string()),
            created: signature.created,
            expires: signature.expires.unwrap_or(0),
            release: signature.release.unwrap_or(0),
            has_release: c_int::from(signature.release.is_some()),
            product: c_text(signature.product.as_deref().unwrap_or("")),
        }
    }
}

/// The body of `chunkdelta_patch_signatures`, its `_file` twin and
/// `chunkdelta_tree_signatures_file`: checks the out-parameters, reads the patch's signatures
/// with `read`, writes its first `capacity` signatures to `signatures_out` (fewer if it has
/// fewer) and their total number to `count_out`.
///
/// # Safety
/// As [`out_slice`] for `signatures_out` and `capacity`, and [`Out::new`] for `count_out`.
pub(crate) unsafe fn put_signatures(
    signatures_out: *mut chunkdelta_signature,
    capacity: usize,
    count_out: *mut usize,
    read: impl FnOnce() -> Result<Vec<SignatureInfo>, Error>,
) -> Result<(), Error> {
    // SAFETY: forwarded from this function's contract.
    let (mut count_out, out) = unsafe {
        (Out::new(count_out, "count_out")?, out_slice(signatures_out, capacity, "signatures_out")?)
    };
    let signatures = read()?;
    for (place, signature) in out.iter_mut().zip(&signatures) {
        place.write(chunkdelta_signature::from(signature));
    }
    count_out.write(signatures.len());
    Ok(())
}
