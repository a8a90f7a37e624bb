//! Signed patches: `keygen`, `sign`, `sign_file`, and the signing and trust keywords of the
//! diff and apply functions.

use std::path::{Path, PathBuf};

use chunkdelta::{ApplyOptions, DiffOptions, PublicKey, SecretKey, SignOptions, TrustPolicy};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::args::{BytesLike, unsigned};
use crate::errors::to_pyerr;
use crate::patch_info::Signature;
use crate::run::Job;

/// The password of an encrypted minisign secret key: `str` (taken as UTF-8) or `bytes`.
#[derive(FromPyObject)]
pub(crate) enum Password {
    Text(String),
    Bytes(Vec<u8>),
}

impl Password {
    fn as_bytes(&self) -> &[u8] {
        match self {
            Password::Text(text) => text.as_bytes(),
            Password::Bytes(bytes) => bytes,
        }
    }
}

/// Reads the minisign secret key at `path`, decrypting it with `password` if given.
fn secret_key(py: Python<'_>, path: &Path, password: Option<&Password>) -> PyResult<SecretKey> {
    SecretKey::read(path, password.map(Password::as_bytes)).map_err(|e| to_pyerr(py, e, &[path]))
}

/// The metadata keywords of a new signature, as Python passed them.
pub(crate) struct Metadata {
    pub(crate) created: Option<i64>,
    pub(crate) expires: Option<i64>,
    pub(crate) product: Option<String>,
    pub(crate) release: Option<i64>,
}

impl Metadata {
    fn is_empty(&self) -> bool {
        self.created.is_none() && self.expires.is_none() && self.product.is_none() && self.release.is_none()
    }

    /// The core's signing options; negative times or releases raise `ValueError`.
    fn options(self) -> PyResult<SignOptions> {
        let mut options = SignOptions::new();
        if let Some(created) = unsigned("created", self.created)? {
            options = options.created(created);
        }
        if let Some(expires) = unsigned("expires", self.expires)? {
            options = options.expires(expires);
        }
        if let Some(product) = self.product {
            options = options.product(product);
        }
        if let Some(release) = unsigned("release", self.release)? {
            options = options.release(release);
        }
        Ok(options)
    }
}

/// The key and options of `sign` and `sign_file`.
fn signer(
    py: Python<'_>,
    key_path: &Path,
    password: Option<Password>,
    metadata: Metadata,
) -> PyResult<(SecretKey, SignOptions)> {
    Ok((secret_key(py, key_path, password.as_ref())?, metadata.options()?))
}

/// Adds to `options` a signature by the secret key at `key` (decrypted with `password`) with
/// `metadata`. Without a key, metadata or a password is a `ValueError`.
pub(crate) fn sign_while_diffing(
    py: Python<'_>,
    options: DiffOptions,
    key: Option<&Path>,
    password: Option<&Password>,
    metadata: Metadata,
) -> PyResult<DiffOptions> {
    let Some(key) = key else {
        if metadata.is_empty() && password.is_none() {
            return Ok(options);
        }
        return Err(PyValueError::new_err(
            "key_password, expires, product and release sign the patch: they need sign_key",
        ));
    };
    Ok(options.sign(secret_key(py, key, password)?, metadata.options()?))
}

/// The trust keywords of the apply and verify functions, as Python passed them.
pub(crate) struct TrustArgs {
    /// `trusted_keys=`: public key files.
    pub(crate) trusted_keys: Option<Vec<PathBuf>>,
    /// `trust_dir=`: a directory whose every `*.pub` file is trusted.
    pub(crate) trust_dir: Option<PathBuf>,
    pub(crate) product: Option<String>,
    pub(crate) min_release: Option<i64>,
}

/// Makes `options` refuse patches that no signature by one of the trusted keys covers with
/// `product` and a release of at least `min_release`, if given. The trusted keys are those of
/// `trusted_keys` (public key files) and every `*.pub` file in `trust_dir`. Without either
/// (both `None`), signatures are not checked, and `product` or `min_release` is a
/// `ValueError`; an empty `trusted_keys` list alone trusts no key, so every patch is refused.
pub(crate) fn require_trust(
    py: Python<'_>,
    options: ApplyOptions,
    given: TrustArgs,
) -> PyResult<ApplyOptions> {
    let TrustArgs { trusted_keys, trust_dir, product, min_release } = given;
    if trusted_keys.is_none() && trust_dir.is_none() {
        if product.is_none() && min_release.is_none() {
            return Ok(options);
        }
        return Err(PyValueError::new_err("product and min_release need trusted_keys or trust_dir"));
    }
    let mut policy = TrustPolicy::new();
    for path in trusted_keys.iter().flatten() {
        policy = policy.trust(PublicKey::read(path).map_err(|e| to_pyerr(py, e, &[path]))?);
    }
    if let Some(dir) = &trust_dir {
        policy = policy.trust_dir(dir).map_err(|e| to_pyerr(py, e, &[dir]))?;
    }
    if let Some(product) = product {
        policy = policy.product(product);
    }
    if let Some(release) = unsigned("min_release", min_release)? {
        policy = policy.min_release(release);
    }
    Ok(options.trust(policy))
}

/// Creates a new Ed25519 key pair in minisign's format, ``BASE.key`` (the secret key, mode
/// 0600, unencrypted) and ``BASE.pub``, and returns its key id (16 upper-case hex digits, as
/// minisign shows it). Existing files raise ``ValueError`` unless ``overwrite=True``.
#[pyfunction]
#[pyo3(signature = (base, *, overwrite=false))]
pub(crate) fn keygen(py: Python<'_>, base: PathBuf, overwrite: bool) -> PyResult<String> {
    let public = chunkdelta::write_key_pair(&base, overwrite).map_err(|e| to_pyerr(py, e, &[]))?;
    Ok(public.id().to_string())
}

/// Returns ``patch`` (bytes-like) with a signature by the minisign secret key at ``key_path``
/// added: its earlier signatures are kept, except one by the same key, which this replaces,
/// so signing with a second key gives a patch that either key's clients accept (a key
/// rotation). ``password`` (str or bytes) decrypts an encrypted key. The signature names its
/// creation time (``created``, Unix seconds; default now) and optionally an expiry
/// (``expires``, Unix seconds), a ``product`` id and a ``release`` number.
#[pyfunction]
#[pyo3(signature = (patch, key_path, *, password=None, created=None, expires=None, product=None, release=None))]
#[allow(clippy::too_many_arguments)] // the Python signature, keyword-only options included
pub(crate) fn sign<'py>(
    py: Python<'py>,
    patch: BytesLike<'py>,
    key_path: PathBuf,
    password: Option<Password>,
    created: Option<i64>,
    expires: Option<i64>,
    product: Option<String>,
    release: Option<i64>,
) -> PyResult<Bound<'py, PyBytes>> {
    let (key, options) = signer(py, &key_path, password, Metadata { created, expires, product, release })?;
    let patch = patch.as_bytes();
    let signed = Job::new(None)?.run(py, &[], || chunkdelta::sign(patch, &key, &options))?;
    Ok(PyBytes::new(py, &signed))
}

/// ``sign`` on the patch file ``patch_path`` (a file or tree patch), in place and atomically
/// (the file holds either the old or the signed patch); returns the signatures it now carries.
#[pyfunction]
#[pyo3(signature = (patch_path, key_path, *, password=None, created=None, expires=None, product=None, release=None))]
#[allow(clippy::too_many_arguments)] // the Python signature, keyword-only options included
pub(crate) fn sign_file(
    py: Python<'_>,
    patch_path: PathBuf,
    key_path: PathBuf,
    password: Option<Password>,
    created: Option<i64>,
    expires: Option<i64>,
    product: Option<String>,
    release: Option<i64>,
) -> PyResult<Vec<Signature>> {
    let (key, options) = signer(py, &key_path, password, Metadata { created, expires, product, release })?;
    let signatures =
        Job::new(None)?.run(py, &[&patch_path], || chunkdelta::sign_file(&patch_path, &key, &options))?;
    Ok(signatures.iter().map(Signature::from).collect())
}
