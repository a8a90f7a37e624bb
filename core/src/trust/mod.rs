//! Signed patches: who made a patch, not only whether it is intact.
//!
//! A patch's blake3 hashes prove that it was not damaged, but anyone can compute them. A
//! signature proves that a publisher holding a secret key made (or approved) the patch: an
//! Ed25519 signature ([`ed25519_dalek`], strict verification) over the patch's
//! [`PatchInfo::signing_digest`] (which covers the header, the chunk table, every chunk
//! hash, and the old and new files' sizes and hashes) and over signed metadata: the key id,
//! the creation time and optionally an expiry, a product id and a release number.
//!
//! Signatures live in the signature block that every format version reserves between the
//! table hash and the payloads, so a patch can carry several (during a key rotation, the old
//! and the new key's) and a signature can be added to an existing patch ([`sign_file`]). Keys
//! are minisign key files ([`SecretKey`], [`PublicKey`], [`write_key_pair`]). Clients name the
//! keys they trust in a [`TrustPolicy`], given to [`crate::ApplyOptions::trust`]; apply and
//! verify then refuse, before decoding any payload or creating any output, a patch that no
//! trusted, unexpired signature with the right product and release covers.

mod block;
mod keys;
mod policy;

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use ed25519_dalek::Signer;

pub use block::SignatureInfo;
pub use keys::{KeyId, PublicKey, SecretKey, write_key_pair};
pub use policy::TrustPolicy;

pub(crate) use block::decode as decode_block;

use crate::error::{Error, Result};
use crate::format::{self, Head, MAX_CHUNK_LEN, MAX_SIGNATURE_LEN, PatchInfo, PatchReader};
use crate::io::OutputFile;

/// What a new signature says besides "this key signed this patch".
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SignOptions {
    created: Option<u64>,
    expires: Option<u64>,
    product: Option<String>,
    release: Option<u64>,
}

impl SignOptions {
    /// Created now, never expires, no product id, no release number.
    pub fn new() -> Self {
        Self::default()
    }

    /// The creation time (seconds since the Unix epoch) instead of now.
    pub fn created(mut self, unix_seconds: u64) -> Self {
        self.created = Some(unix_seconds);
        self
    }

    /// Clients refuse the signature from this time on (seconds since the Unix epoch).
    pub fn expires(mut self, unix_seconds: u64) -> Self {
        self.expires = Some(unix_seconds);
        self
    }

    /// The product the patch belongs to (1 to 255 bytes of UTF-8).
    pub fn product(mut self, product: impl Into<String>) -> Self {
        self.product = Some(product.into());
        self
    }

    /// The release number the patch produces, for clients' downgrade protection.
    pub fn release(mut self, release: u64) -> Self {
        self.release = Some(release);
        self
    }

    /// The unsigned record these options describe, for `key`.
    fn record(&self, key: &SecretKey) -> Result<SignatureInfo> {
        if let Some(product) = &self.product
            && !(1..=255).contains(&product.len())
        {
            return Err(Error::invalid(format!("a product id has 1 to 255 bytes, not {}", product.len())));
        }
        let created = self.created.unwrap_or_else(policy::unix_now);
        if let Some(expires) = self.expires.filter(|&expires| expires <= created) {
            return Err(Error::invalid(format!(
                "the expiry {expires} is not after the creation time {created}"
            )));
        }
        Ok(SignatureInfo {
            key_id: key.id,
            created,
            expires: self.expires,
            product: self.product.clone(),
            release: self.release,
            signature: [0; 64],
        })
    }
}

/// Returns `patch` with a signature by `key` added: the same patch, whose signature block
/// holds its earlier signatures (except an earlier one by the same key, which this replaces)
/// and the new one. Payloads are unchanged.
pub fn sign(patch: &[u8], key: &SecretKey, options: &SignOptions) -> Result<Vec<u8>> {
    if crate::tree::is_tree_patch(patch) {
        return crate::tree::sign_tree(patch, key, options);
    }
    if crate::container::is_container_patch(patch) {
        return crate::container::sign(patch, key, options);
    }
    let mut reader = PatchReader::new(patch);
    let head = format::read_head_raw(&mut reader, MAX_CHUNK_LEN)?;
    let payloads = &patch[reader.offset() as usize..];
    let expected = head.info.patch_size - reader.offset();
    if payloads.len() as u64 != expected {
        return Err(Error::corrupt(format!(
            "the patch has {} bytes of payloads but its chunk table accounts for {expected}",
            payloads.len()
        )));
    }
    Ok([signed_head(&head, key, options)?, payloads.to_vec()].concat())
}

/// Adds a signature by `key` to the patch file at `path`, as [`sign`] does, in place and
/// atomically: the signed patch is written beside it and renamed over it, so `path` holds
/// either the old or the new patch. Works on file and tree patches (a tree patch is signed in
/// memory). Returns the signatures the patch now carries.
pub fn sign_file(
    path: impl AsRef<Path>,
    key: &SecretKey,
    options: &SignOptions,
) -> Result<Vec<SignatureInfo>> {
    let path = path.as_ref();
    let mapped = crate::io::map_file(path)?;
    if crate::tree::is_tree_patch(&mapped) {
        let signed = crate::tree::sign_tree(&mapped, key, options)?;
        drop(mapped);
        write_replacing(path, &signed)?;
        return Ok(crate::tree::read_tree_info(&signed)?.signatures);
    }
    if crate::container::is_container_patch(&mapped) {
        let signed = crate::container::sign(&mapped, key, options)?;
        drop(mapped);
        write_replacing(path, &signed)?;
        return Ok(format::read_info(&signed[..])?.signatures);
    }
    drop(mapped);
    Ok(sign_file_patch(path, key, options)?.signatures)
}

/// Replaces `path` atomically with `bytes`, keeping its permissions.
fn write_replacing(path: &Path, bytes: &[u8]) -> Result<()> {
    let permissions =
        std::fs::metadata(path).map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
    let output = OutputFile::create(path)?;
    output.set_permissions(permissions.permissions())?;
    std::io::Write::write_all(&mut output.file(), bytes)
        .map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
    output.commit()
}

/// [`sign_file`] for a file patch, streamed: only the head is held in memory.
fn sign_file_patch(path: &Path, key: &SecretKey, options: &SignOptions) -> Result<PatchInfo> {
    let file = File::open(path).map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
    let permissions = file.metadata().map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
    let mut reader = PatchReader::new(BufReader::new(file));
    let head = format::read_head_raw(&mut reader, MAX_CHUNK_LEN)?;
    let new_head = signed_head(&head, key, options)?;
    let output = OutputFile::create(path)?;
    output.set_permissions(permissions.permissions())?;
    let mut out = std::io::BufWriter::new(output.file());
    let written = |e| Error::io(format!("writing {}", path.display()), e);
    std::io::Write::write_all(&mut out, &new_head).map_err(written)?;
    reader.copy_exact(head.info.patch_size - reader.offset(), &mut out, "chunk payloads")?;
    reader.expect_end()?;
    out.into_inner().map_err(|e| written(e.into_error()))?;
    output.commit()?;
    let patch = File::open(path).map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
    format::read_info(BufReader::new(patch))
}

/// The header, table, table hash and signature block of `head`'s patch with the new signature.
fn signed_head(head: &Head, key: &SecretKey, options: &SignOptions) -> Result<Vec<u8>> {
    let block = add_signature(&head.info.signatures, &head.info.signing_digest, key, options)?;
    Ok(format::head_with_block(&head.table, &block))
}

/// The signature block holding `signatures` (less any earlier one by `key`) and a new
/// signature by `key` over `signing_digest`: how every kind of patch is signed.
pub(crate) fn add_signature(
    signatures: &[SignatureInfo],
    signing_digest: &[u8; 32],
    key: &SecretKey,
    options: &SignOptions,
) -> Result<Vec<u8>> {
    let mut record = options.record(key)?;
    record.signature = key.key.sign(&record.message(signing_digest)).to_bytes();
    let mut signatures: Vec<SignatureInfo> =
        signatures.iter().filter(|s| s.key_id != key.id).cloned().collect();
    signatures.push(record);
    if signatures.len() > block::MAX_SIGNATURES {
        return Err(Error::limit("signatures", signatures.len() as u64, block::MAX_SIGNATURES as u64));
    }
    let block = block::encode(&signatures);
    if block.len() as u64 > MAX_SIGNATURE_LEN {
        return Err(Error::limit("signature block", block.len() as u64, MAX_SIGNATURE_LEN));
    }
    Ok(block)
}
