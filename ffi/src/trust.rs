//! What apply and verify require of a patch's signatures: the trust settings of
//! `chunkdelta_options`.

use std::ffi::c_char;

use chunkdelta::{PublicKey, TrustPolicy};

use crate::args::{path, text};
use crate::object;
use crate::options::chunkdelta_options;
use crate::result::chunkdelta_result;

/// Changes the trust policy of `o`, starting from one that trusts no key when there is none.
fn configure(o: &mut chunkdelta_options, change: impl FnOnce(TrustPolicy) -> TrustPolicy) {
    o.trust = Some(change(o.trust.take().unwrap_or_default()));
}

/// Trusts the minisign public key in the file `key_path` (what `chunkdelta_keygen` writes as
/// `BASE.pub`, or `minisign -G`'s). The key is read now: a missing file is
/// `CHUNKDELTA_ERR_IO`, one that is not a public key `CHUNKDELTA_ERR_INVALID_ARGUMENT`. Call
/// once per key; during a key rotation, trust both.
///
/// Once trust is configured (by this function, `chunkdelta_options_add_trust_dir`,
/// `chunkdelta_options_set_product` or `chunkdelta_options_set_min_release`), every apply and
/// verify with these options, of file and tree patches, refuses with `CHUNKDELTA_ERR_UNTRUSTED`
/// and before decoding anything or creating any output, a patch unless one of its signatures
/// verifies under a trusted key, has not expired, names the required product (if set) and a
/// release of at least the minimum (if set). With no key trusted, every patch is refused.
///
/// # Safety
/// `opts` is NULL or a live options object that no call is using. `key_path` is NULL or a
/// NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn chunkdelta_options_add_trusted_key(
    opts: *mut chunkdelta_options,
    key_path: *const c_char,
) -> chunkdelta_result {
    let set = |o: &mut chunkdelta_options| {
        // SAFETY: forwarded from this function's contract.
        let key = PublicKey::read(unsafe { path(key_path, "key_path")? })?;
        configure(o, |policy| policy.trust(key));
        Ok(())
    };
    // SAFETY: forwarded from this function's contract.
    unsafe { object::update(opts, set) }
}

/// Trusts every minisign public key file (`*.pub`) in the directory `dir`, as
/// `chunkdelta_options_add_trusted_key` would one by one, and configures trust. The keys are
/// read now: a missing directory or unreadable key is `CHUNKDELTA_ERR_IO`, a directory with no
/// `*.pub` file or a file that is not a public key `CHUNKDELTA_ERR_INVALID_ARGUMENT`; on
/// failure the options are left as they were.
///
/// # Safety
/// `opts` is NULL or a live options object that no call is using. `dir` is NULL or a
/// NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn chunkdelta_options_add_trust_dir(
    opts: *mut chunkdelta_options,
    dir: *const c_char,
) -> chunkdelta_result {
    let set = |o: &mut chunkdelta_options| {
        // SAFETY: forwarded from this function's contract.
        let dir = unsafe { path(dir, "dir")? };
        o.trust = Some(o.trust.clone().unwrap_or_default().trust_dir(dir)?);
        Ok(())
    };
    // SAFETY: forwarded from this function's contract.
    unsafe { object::update(opts, set) }
}

/// Requires the accepted signature to name the product id `product` (UTF-8; NULL or invalid
/// UTF-8 is `CHUNKDELTA_ERR_INVALID_ARGUMENT`), and configures trust (see
/// `chunkdelta_options_add_trusted_key`).
///
/// # Safety
/// `opts` is NULL or a live options object that no call is using. `product` is NULL or a
/// NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn chunkdelta_options_set_product(
    opts: *mut chunkdelta_options,
    product: *const c_char,
) -> chunkdelta_result {
    let set = |o: &mut chunkdelta_options| {
        // SAFETY: forwarded from this function's contract.
        let product = unsafe { text(product, "product")? };
        configure(o, |policy| policy.product(product));
        Ok(())
    };
    // SAFETY: forwarded from this function's contract.
    unsafe { object::update(opts, set) }
}

/// Requires the accepted signature to name a release of at least `release` (a client passes
/// the release it has installed, so that an older, vulnerable one is refused; a signature
/// that names no release is refused too), and configures trust (see
/// `chunkdelta_options_add_trusted_key`).
///
/// # Safety
/// `opts` is NULL or a live options object that no call is using.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn chunkdelta_options_set_min_release(
    opts: *mut chunkdelta_options,
    release: u64,
) -> chunkdelta_result {
    let set = |o: &mut chunkdelta_options| {
        configure(o, |policy| policy.min_release(release));
        Ok(())
    };
    // SAFETY: forwarded from this function's contract.
    unsafe { object::update(opts, set) }
}

/// Removes the trusted keys, the required product and the minimum release: apply and verify
/// with these options no longer check signatures.
///
/// # Safety
/// `opts` is NULL or a live options object that no call is using.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn chunkdelta_options_clear_trust(opts: *mut chunkdelta_options) -> chunkdelta_result {
    let set = |o: &mut chunkdelta_options| {
        o.trust = None;
        Ok(())
    };
    // SAFETY: forwarded from this function's contract.
    unsafe { object::update(opts, set) }
}
