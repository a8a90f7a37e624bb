//! The signature block between a patch's table hash and its payloads (`FORMAT.md`, "Signature
//! block"): its records, and the message each record's Ed25519 signature covers.
//!
//! ```text
//! block:  block_version (u8, 1) | count (u8, >= 1) | count records
//! record: "Ed" | key_id (8) | created (u64) | expires (u64, 0 = never) | release (u64)
//!         | flags (u8: 1 product, 2 release) | product_len (u8) | product | signature (64)
//! ```
//!
//! An empty block (length 0) means an unsigned patch.

use crate::error::{Error, Result};
use crate::trust::keys::KeyId;

/// `block_version`: the layout above.
const BLOCK_VERSION: u8 = 1;
const ALGORITHM: [u8; 2] = *b"Ed";
const FLAG_PRODUCT: u8 = 1;
const FLAG_RELEASE: u8 = 2;
/// Bytes of a record before its product id.
const FIXED_LEN: usize = 2 + 8 + 8 + 8 + 8 + 1 + 1;
const SIGNATURE_LEN: usize = 64;
/// The context that starts every signed message, so that a chunkdelta signature means nothing
/// anywhere else.
const CONTEXT: &[u8; 24] = b"chunkdelta signature v1\0";
/// Most signatures in one block.
pub(crate) const MAX_SIGNATURES: usize = 255;

/// One signature of a patch and the metadata it signs.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SignatureInfo {
    /// The id of the key that made it.
    pub key_id: KeyId,
    /// When it was made, in seconds since the Unix epoch.
    pub created: u64,
    /// When it stops being accepted, in seconds since the Unix epoch; `None` is never.
    pub expires: Option<u64>,
    /// The product the signer says the patch belongs to.
    pub product: Option<String>,
    /// The release number the signer says the patch produces.
    pub release: Option<u64>,
    pub(crate) signature: [u8; SIGNATURE_LEN],
}

impl SignatureInfo {
    /// The record's bytes without its signature: what the signature covers, after the
    /// context and the patch's signing digest.
    pub(crate) fn signed_fields(&self) -> Vec<u8> {
        let product = self.product.as_deref().unwrap_or("").as_bytes();
        let flags =
            (self.product.is_some() as u8 * FLAG_PRODUCT) | (self.release.is_some() as u8 * FLAG_RELEASE);
        let mut out = Vec::with_capacity(FIXED_LEN + product.len());
        out.extend_from_slice(&ALGORITHM);
        out.extend_from_slice(&self.key_id.0);
        out.extend_from_slice(&self.created.to_le_bytes());
        out.extend_from_slice(&self.expires.unwrap_or(0).to_le_bytes());
        out.extend_from_slice(&self.release.unwrap_or(0).to_le_bytes());
        out.push(flags);
        out.push(u8::try_from(product.len()).expect("products are checked to fit in 255 bytes"));
        out.extend_from_slice(product);
        out
    }

    /// The message the Ed25519 signature covers.
    pub(crate) fn message(&self, signing_digest: &[u8; 32]) -> Vec<u8> {
        [&CONTEXT[..], signing_digest, &self.signed_fields()].concat()
    }
}

/// Serialises `signatures` as a block (empty for none).
pub(crate) fn encode(signatures: &[SignatureInfo]) -> Vec<u8> {
    if signatures.is_empty() {
        return Vec::new();
    }
    let mut out = vec![BLOCK_VERSION, u8::try_from(signatures.len()).expect("at most 255 signatures")];
    for signature in signatures {
        out.extend_from_slice(&signature.signed_fields());
        out.extend_from_slice(&signature.signature);
    }
    out
}

/// Parses a block. Anything but an exact, well-formed block is a corrupt patch.
pub(crate) fn decode(block: &[u8]) -> Result<Vec<SignatureInfo>> {
    let Some((&[version, count], mut rest)) = block.split_first_chunk::<2>() else {
        return match block.len() {
            0 => Ok(Vec::new()),
            _ => Err(corrupt("it is 1 byte long")),
        };
    };
    if version != BLOCK_VERSION {
        return Err(corrupt(&format!("its version is {version}; this library reads version 1")));
    }
    if count == 0 {
        return Err(corrupt("it holds no signatures"));
    }
    let mut signatures = Vec::with_capacity(usize::from(count));
    for index in 0..count {
        let (signature, tail) =
            decode_record(rest).map_err(|why| corrupt(&format!("record {index}: {why}")))?;
        signatures.push(signature);
        rest = tail;
    }
    if !rest.is_empty() {
        return Err(corrupt(&format!("{} bytes follow the last record", rest.len())));
    }
    Ok(signatures)
}

fn decode_record(bytes: &[u8]) -> std::result::Result<(SignatureInfo, &[u8]), String> {
    let (fixed, rest) = bytes.split_first_chunk::<FIXED_LEN>().ok_or("truncated")?;
    if fixed[..2] != ALGORITHM {
        return Err(format!("unknown algorithm {:02x}{:02x}", fixed[0], fixed[1]));
    }
    let u64_at = |at: usize| u64::from_le_bytes(fixed[at..at + 8].try_into().expect("8 bytes"));
    let (flags, product_len) = (fixed[34], usize::from(fixed[35]));
    if flags & !(FLAG_PRODUCT | FLAG_RELEASE) != 0 {
        return Err(format!("unknown flags {flags:#04x}"));
    }
    if (flags & FLAG_PRODUCT != 0) != (product_len > 0) {
        return Err("the product flag and the product length disagree".into());
    }
    if flags & FLAG_RELEASE == 0 && u64_at(26) != 0 {
        return Err("a release number is stored without its flag".into());
    }
    if rest.len() < product_len + SIGNATURE_LEN {
        return Err("truncated".into());
    }
    let (product, rest) = rest.split_at(product_len);
    let (signature, rest) = rest.split_at(SIGNATURE_LEN);
    let product = match product_len {
        0 => None,
        _ => Some(String::from_utf8(product.to_vec()).map_err(|_| "the product id is not UTF-8")?),
    };
    let signature = SignatureInfo {
        key_id: KeyId(fixed[2..10].try_into().expect("8 bytes")),
        created: u64_at(10),
        expires: Some(u64_at(18)).filter(|&t| t != 0),
        product,
        release: (flags & FLAG_RELEASE != 0).then(|| u64_at(26)),
        signature: signature.try_into().expect("64 bytes"),
    };
    Ok((signature, rest))
}

fn corrupt(why: &str) -> Error {
    Error::corrupt(format!("the signature block is malformed: {why}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(product: Option<&str>, release: Option<u64>) -> SignatureInfo {
        SignatureInfo {
            key_id: KeyId([1, 2, 3, 4, 5, 6, 7, 8]),
            created: 1_700_000_000,
            expires: Some(1_800_000_000),
            product: product.map(str::to_owned),
            release,
            signature: [9; 64],
        }
    }

    #[test]
    fn block_round_trips() {
        let signatures = vec![sample(Some("demo"), Some(7)), sample(None, None)];
        let block = encode(&signatures);
        assert_eq!(block.len(), 2 + (FIXED_LEN + 4 + 64) + (FIXED_LEN + 64));
        assert_eq!(decode(&block).unwrap(), signatures);
        assert!(decode(&[]).unwrap().is_empty());
    }

    #[test]
    fn every_truncation_and_trailing_byte_is_corrupt() {
        let block = encode(&[sample(Some("demo"), Some(7))]);
        for len in 1..block.len() {
            assert!(decode(&block[..len]).is_err(), "truncated to {len}");
        }
        let mut longer = block.clone();
        longer.push(0);
        assert!(decode(&longer).is_err());
    }

    #[test]
    fn inconsistent_fields_are_corrupt() {
        let block = encode(&[sample(None, None)]);
        let at_fixed = |offset: usize, value: u8| {
            let mut bad = block.clone();
            bad[2 + offset] = value;
            decode(&bad).unwrap_err().to_string()
        };
        assert!(at_fixed(34, 4).contains("flags"));
        assert!(at_fixed(34, FLAG_PRODUCT).contains("product"));
        assert!(at_fixed(26, 1).contains("release"));
        assert!(at_fixed(0, b'X').contains("algorithm"));
    }
}
