//! Which signatures a client accepts: [`TrustPolicy`].

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use ed25519_dalek::Signature;

use crate::error::{Error, Result};
use crate::format::PatchInfo;
use crate::trust::block::SignatureInfo;
use crate::trust::keys::PublicKey;

/// The rules a patch must meet before apply or verify decodes any of it: at least one of its
/// signatures verifies under a trusted key, has not expired, names the required product (if
/// the policy names one) and a release at least the policy's minimum (if it sets one).
///
/// ```
/// use chunkdelta::{ApplyOptions, DiffOptions, SecretKey, SignOptions, TrustPolicy};
///
/// let key = SecretKey::generate()?;
/// let (old, new) = (b"old release".repeat(100), b"new release".repeat(100));
/// let signing = SignOptions::new().product("demo").release(2);
/// let patch = chunkdelta::diff(&old, &new, &DiffOptions::new().sign(key.clone(), signing))?;
///
/// let trust = TrustPolicy::new().trust(key.public_key()).product("demo").min_release(2);
/// assert_eq!(chunkdelta::apply(&old, &patch[..], &ApplyOptions::new().trust(trust))?, new);
///
/// let stranger = TrustPolicy::new().trust(SecretKey::generate()?.public_key());
/// let err = chunkdelta::apply(&old, &patch[..], &ApplyOptions::new().trust(stranger)).unwrap_err();
/// assert_eq!(err.kind(), chunkdelta::ErrorKind::Untrusted);
/// # Ok::<(), chunkdelta::Error>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct TrustPolicy {
    keys: Vec<PublicKey>,
    product: Option<String>,
    min_release: Option<u64>,
    now: Option<u64>,
}

impl TrustPolicy {
    /// A policy that trusts no key yet: it refuses every patch until [`TrustPolicy::trust`].
    pub fn new() -> Self {
        Self::default()
    }

    /// Accepts signatures made by `key` (call once per key: during a key rotation, trust both).
    pub fn trust(mut self, key: PublicKey) -> Self {
        self.keys.push(key);
        self
    }

    /// Trusts every `*.pub` file (minisign public key) in `dir`. A directory without one is an
    /// [`crate::ErrorKind::InvalidArgument`]: it would refuse every patch.
    pub fn trust_dir(mut self, dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref();
        let keys = public_key_files(dir)?;
        if keys.is_empty() {
            return Err(Error::invalid(format!(
                "the trust directory {} holds no *.pub key file",
                dir.display()
            )));
        }
        for path in keys {
            self.keys.push(PublicKey::read(path)?);
        }
        Ok(self)
    }

    /// Requires the accepted signature to name this product id.
    pub fn product(mut self, product: impl Into<String>) -> Self {
        self.product = Some(product.into());
        self
    }

    /// Requires the accepted signature to name a release of at least `release`: a client
    /// passes the release it has installed, so that an older, vulnerable one is refused.
    pub fn min_release(mut self, release: u64) -> Self {
        self.min_release = Some(release);
        self
    }

    /// Judges expiry at this time (seconds since the Unix epoch) instead of the system clock.
    pub fn at_time(mut self, unix_seconds: u64) -> Self {
        self.now = Some(unix_seconds);
        self
    }

    /// The keys trusted so far.
    pub fn keys(&self) -> &[PublicKey] {
        &self.keys
    }

    /// Checks `info`'s signatures. Returns the first one that meets every rule; otherwise an
    /// [`crate::ErrorKind::Untrusted`] error that names, for each signature, the rule it failed.
    pub fn check<'a>(&self, info: &'a PatchInfo) -> Result<&'a SignatureInfo> {
        self.check_signatures(&info.signatures, &info.signing_digest)
    }

    /// [`TrustPolicy::check`] for any signed structure: `signatures` over `signing_digest`.
    /// Every kind of patch (files today; trees and containers) signs its own digest this way.
    pub(crate) fn check_signatures<'a>(
        &self,
        signatures: &'a [SignatureInfo],
        signing_digest: &[u8; 32],
    ) -> Result<&'a SignatureInfo> {
        if signatures.is_empty() {
            return Err(Error::untrusted("the patch is not signed"));
        }
        let now = self.now.unwrap_or_else(unix_now);
        let mut refusals = Vec::new();
        for signature in signatures {
            match self.judge(signature, signing_digest, now) {
                Ok(()) => return Ok(signature),
                Err(why) => refusals.push(format!("signature by key {}: {why}", signature.key_id)),
            }
        }
        Err(Error::untrusted(refusals.join("; ")))
    }

    fn judge(
        &self,
        signature: &SignatureInfo,
        digest: &[u8; 32],
        now: u64,
    ) -> std::result::Result<(), String> {
        let mut keys = self.keys.iter().filter(|key| key.id == signature.key_id).peekable();
        if keys.peek().is_none() {
            return Err("the key is not trusted".into());
        }
        let message = signature.message(digest);
        let ed25519 = Signature::from_bytes(&signature.signature);
        if !keys.any(|key| key.key.verify_strict(&message, &ed25519).is_ok()) {
            return Err("the signature does not verify (the patch was altered, or signed by another key with the same id)".into());
        }
        if let Some(expires) = signature.expires.filter(|&expires| now >= expires) {
            return Err(format!("it expired at {expires} (Unix time; now {now})"));
        }
        if let Some(wanted) = &self.product
            && signature.product.as_ref() != Some(wanted)
        {
            let found =
                signature.product.as_deref().map_or("no product".to_owned(), |p| format!("product {p:?}"));
            return Err(format!("it names {found}, not {wanted:?}"));
        }
        if let Some(min) = self.min_release {
            match signature.release {
                Some(release) if release >= min => {}
                Some(release) => return Err(format!("its release {release} is below the minimum {min}")),
                None => return Err(format!("it names no release, and release {min} or later is required")),
            }
        }
        Ok(())
    }
}

/// The `*.pub` files of `dir`, sorted.
fn public_key_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let context = || format!("reading the trust directory {}", dir.display());
    let mut keys = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(context(), e))? {
        let path = entry.map_err(|e| Error::io(context(), e))?.path();
        if path.extension().is_some_and(|ext| ext == "pub") {
            keys.push(path);
        }
    }
    keys.sort();
    Ok(keys)
}

pub(crate) fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}
