//! Keys and signatures: `chunkdelta_keygen`, `chunkdelta_sign_options`, `chunkdelta_sign`,
//! `chunkdelta_sign_file`, and signing while diffing (`chunkdelta_options_add_signature`).

use std::ffi::{c_char, c_int};

use chunkdelta::{Error, KeyId, SecretKey, SignOptions};

use crate::args::{Out, bytes, optional_bytes, path, text};
use crate::buffer::OutBuffer;
use crate::object::{self, Settable};
use crate::options::chunkdelta_options;
use crate::panic::guard;
use crate::result::chunkdelta_result;

/// The bytes of a key id as text: 16 upper-case hex digits and a NUL.
pub const CHUNKDELTA_KEY_ID_SIZE: usize = 17;

/// What a new signature says besides "this key signed this patch"; an opaque object. Made by
/// `chunkdelta_sign_options_new`, freed by `chunkdelta_sign_options_free`. Wherever a function
/// takes one, NULL means the defaults: created now, never expires, no product, no release.
#[derive(Default)]
pub struct chunkdelta_sign_options {
    options: SignOptions,
}

impl Settable for chunkdelta_sign_options {
    const ARGUMENT: &'static str = "sign_opts";
}

/// The signing options `sign_opts` holds: the defaults if it is NULL.
///
/// # Safety
/// `sign_opts` is NULL or a live object from `chunkdelta_sign_options_new`.
unsafe fn sign_options(sign_opts: *const chunkdelta_sign_options) -> SignOptions {
    // SAFETY: per the contract, a live object or NULL; it is only read.
    unsafe { sign_opts.as_ref() }.map_or_else(SignOptions::new, |o| o.options.clone())
}

/// Reads the minisign secret key at `key_path`, decrypting it with `password` (NULL for an
/// unencrypted key).
///
/// # Safety
/// Both are NULL or NUL-terminated strings, unchanged during the call.
unsafe fn secret_key(key_path: *const c_char, password: *const c_char) -> Result<SecretKey, Error> {
    // SAFETY: forwarded from this function's contract.
    let (key_path, password) = unsafe { (path(key_path, "key_path")?, optional_bytes(password)) };
    SecretKey::read(key_path, password)
}

/// Writes `id` as text, NUL-terminated, to the `CHUNKDELTA_KEY_ID_SIZE` bytes at `out`.
fn write_key_id(mut out: Out<[c_char; CHUNKDELTA_KEY_ID_SIZE]>, id: KeyId) {
    let mut text = [0; CHUNKDELTA_KEY_ID_SIZE];
    for (place, digit) in text.iter_mut().zip(id.to_string().bytes()) {
        *place = digit as c_char;
    }
    out.write(text);
}

/// Creates a new Ed25519 key pair in minisign's format: the secret key in `BASE.key` (mode
/// 0600, unencrypted) and the public key in `BASE.pub`. Existing files are
/// `CHUNKDELTA_ERR_INVALID_ARGUMENT` unless `overwrite` is non-zero; then each is replaced
/// atomically. Unless `key_id_out` is NULL, it receives the key id: 16 upper-case hex digits
/// and a NUL, `CHUNKDELTA_KEY_ID_SIZE` bytes.
///
/// # Safety
/// `base` is NULL or a NUL-terminated string, unchanged during the call. `key_id_out` is NULL
/// or valid for writes of `CHUNKDELTA_KEY_ID_SIZE` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn chunkdelta_keygen(
    base: *const c_char,
    overwrite: c_int,
    key_id_out: *mut c_char,
) -> chunkdelta_result {
    guard(|| {
        // SAFETY: the pointers meet their functions' contracts by this function's contract.
        let (base, key_id_out) = unsafe {
            let out =
                (!key_id_out.is_null()).then(|| Out::new(key_id_out.cast(), "key_id_out")).transpose()?;
            (path(base, "base")?, out)
        };
        let public = chunkdelta::write_key_pair(base, overwrite != 0)?;
        if let Some(out) = key_id_out {
            write_key_id(out, public.id());
        }
        Ok(())
    })
}

/// A new signing options object with the defaults: created now, never expires, no product id,
/// no release number. Free it with `chunkdelta_sign_options_free`. Returns NULL only on an
/// internal error.
#[unsafe(no_mangle)]
pub extern "C" fn chunkdelta_sign_options_new() -> *mut chunkdelta_sign_options {
    object::new()
}

/// Frees a signing options object. NULL is a no-op.
///
/// # Safety
/// `sign_opts` is NULL or an object from `chunkdelta_sign_options_new`, not freed before and
/// not in use by any call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn chunkdelta_sign_options_free(sign_opts: *mut chunkdelta_sign_options) {
    // SAFETY: forwarded from this function's contract.
    unsafe { object::free(sign_opts) }
}

/// Sets the signature's creation time, in seconds since the Unix epoch, instead of the time
/// of signing.
///
/// # Safety
/// `sign_opts` is NULL or a live signing options object that no call is using.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn chunkdelta_sign_options_set_created(
    sign_opts: *mut chunkdelta_sign_options,
    unix_seconds: u64,
) -> chunkdelta_result {
    let set = |o: &mut chunkdelta_sign_options| {
        o.options = std::mem::take(&mut o.options).created(unix_seconds);
        Ok(())
    };
    // SAFETY: forwarded from this function's contract.
    unsafe { object::update(sign_opts, set) }
}

/// Sets when clients stop accepting the signature, in seconds since the Unix epoch. Signing
/// fails with `CHUNKDELTA_ERR_INVALID_ARGUMENT` if it is not after the creation time.
///
/// # Safety
/// `sign_opts` is NULL or a live signing options object that no call is using.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn chunkdelta_sign_options_set_expires(
    sign_opts: *mut chunkdelta_sign_options,
    unix_seconds: u64,
) -> chunkdelta_result {
    let set = |o: &mut chunkdelta_sign_options| {
        o.options = std::mem::take(&mut o.options).expires(unix_seconds);
        Ok(())
    };
    // SAFETY: forwarded from this function's contract.
    unsafe { object::update(sign_opts, set) }
}

/// Sets the product id the signature names: 1 to 255 bytes of UTF-8 (checked when signing);
/// NULL or not UTF-8 is `CHUNKDELTA_ERR_INVALID_ARGUMENT`. Clients that require a product
/// (`chunkdelta_options_set_product`) accept only signatures that name it.
///
/// # Safety
/// `sign_opts` is NULL or a live signing options object that no call is using. `product` is
/// NULL or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn chunkdelta_sign_options_set_product(
    sign_opts: *mut chunkdelta_sign_options,
    product: *const c_char,
) -> chunkdelta_result {
    let set = |o: &mut chunkdelta_sign_options| {
        // SAFETY: forwarded from this function's contract.
        let product = unsafe { text(product, "product")? };
        o.options = std::mem::take(&mut o.options).product(product);
        Ok(())
    };
    // SAFETY: forwarded from this function's contract.
    unsafe { object::update(sign_opts, set) }
}

/// Sets the release number the signature names: clients with a minimum release
/// (`chunkdelta_options_set_min_release`) refuse signatures below it, which blocks downgrades.
///
/// # Safety
/// `sign_opts` is NULL or a live signing options object that no call is using.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn chunkdelta_sign_options_set_release(
    sign_opts: *mut chunkdelta_sign_options,
    release: u64,
) -> chunkdelta_result {
    let set = |o: &mut chunkdelta_sign_options| {
        o.options = std::mem::take(&mut o.options).release(release);
        Ok(())
    };
    // SAFETY: forwarded from this function's contract.
    unsafe { object::update(sign_opts, set) }
}

/// Signs the patch in memory with the minisign secret key at `key_path` (`password` decrypts
/// an encrypted key; NULL for an unencrypted one). On success `*out` and `*out_len` receive
/// the signed patch, which the caller frees with `chunkdelta_free(*out, *out_len)`; on failure
/// they are set to NULL and 0. The signed patch keeps the patch's earlier signatures, except
/// an earlier one by the same key, which the new one replaces: signing with a second key adds
/// a second signature (for a key rotation). Payloads are unchanged. A wrong password or a
/// damaged key file is `CHUNKDELTA_ERR_INVALID_ARGUMENT`.
///
/// # Safety
/// `patch` is NULL or points to `patch_len` readable bytes, unchanged during the call. The
/// strings are NULL or NUL-terminated. `sign_opts` is NULL or a live signing options object.
/// The out-pointers are valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn chunkdelta_sign(
    patch: *const u8,
    patch_len: usize,
    key_path: *const c_char,
    password: *const c_char,
    sign_opts: *const chunkdelta_sign_options,
    out: *mut *mut u8,
    out_len: *mut usize,
) -> chunkdelta_result {
    guard(|| {
        // SAFETY: the pointers meet their functions' contracts by this function's contract.
        let (out, patch, key, options) = unsafe {
            (
                OutBuffer::new(out, out_len, ["out", "out_len"])?,
                bytes(patch, patch_len, "patch")?,
                secret_key(key_path, password)?,
                sign_options(sign_opts),
            )
        };
        out.put(chunkdelta::sign(patch, &key, &options)?);
        Ok(())
    })
}

/// `chunkdelta_sign` on the patch file `patch_path`, in place and atomically: the signed
/// patch is written beside it and renamed over it, so `patch_path` holds either the old or
/// the signed patch, never a mix.
///
/// # Safety
/// The strings are NULL or NUL-terminated, unchanged during the call. `sign_opts` is NULL or
/// a live signing options object.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn chunkdelta_sign_file(
    patch_path: *const c_char,
    key_path: *const c_char,
    password: *const c_char,
    sign_opts: *const chunkdelta_sign_options,
) -> chunkdelta_result {
    guard(|| {
        // SAFETY: the pointers meet their functions' contracts by this function's contract.
        let (patch, key, options) = unsafe {
            (path(patch_path, "patch_path")?, secret_key(key_path, password)?, sign_options(sign_opts))
        };
        chunkdelta::sign_file(patch, &key, &options)?;
        Ok(())
    })
}

/// Makes `chunkdelta_diff` and `chunkdelta_diff_file` sign the patches they make with the
/// minisign secret key at `key_path` (`password` as in `chunkdelta_sign`) and the metadata of
/// `sign_opts` (NULL for the defaults; copied, so it may be freed at once). The key is read
/// now: a missing file is `CHUNKDELTA_ERR_IO`, a wrong password `CHUNKDELTA_ERR_INVALID_ARGUMENT`.
/// Call again to sign with more keys; the options object keeps the keys until it is freed.
///
/// # Safety
/// `opts` is NULL or a live options object that no call is using. The strings are NULL or
/// NUL-terminated. `sign_opts` is NULL or a live signing options object.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn chunkdelta_options_add_signature(
    opts: *mut chunkdelta_options,
    key_path: *const c_char,
    password: *const c_char,
    sign_opts: *const chunkdelta_sign_options,
) -> chunkdelta_result {
    let set = |o: &mut chunkdelta_options| {
        // SAFETY: forwarded from this function's contract.
        let signer = unsafe { (secret_key(key_path, password)?, sign_options(sign_opts)) };
        o.signers.push(signer);
        Ok(())
    };
    // SAFETY: forwarded from this function's contract.
    unsafe { object::update(opts, set) }
}
