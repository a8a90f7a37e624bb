//! Ed25519 key pairs in minisign's key file format, so that keys a release pipeline already
//! has (`minisign -G`) sign chunkdelta patches, and keys made here sign files with minisign.
//!
//! A minisign file is an `untrusted comment:` line and one base64 line. Public key:
//! `"Ed" || key_id (8) || public key (32)`. Secret key: `"Ed" || kdf ("Sc" or zeros) || "B2" ||
//! salt (32) || opslimit (u64 le) || memlimit (u64 le) || key_id (8) || seed (32) || public key
//! (32) || checksum (32)`, where the checksum is BLAKE2b-256 of `"Ed" || key_id || seed ||
//! public key`, and with kdf `Sc` the last 104 bytes are XORed with an scrypt stream of the
//! password. Unencrypted keys made by `minisign -W` carry an all-zero checksum, which is
//! accepted: the public half is still checked against the secret one.

use std::fmt;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use blake2::{Blake2b256, Digest};
use ed25519_dalek::{SigningKey, VerifyingKey};
use zeroize::{Zeroize, Zeroizing};

use crate::error::{Error, Result};

const ALGORITHM: [u8; 2] = *b"Ed";
const KDF_SCRYPT: [u8; 2] = *b"Sc";
const KDF_NONE: [u8; 2] = [0, 0];
const CHECKSUM_BLAKE2B: [u8; 2] = *b"B2";
const PUBLIC_LEN: usize = 2 + 8 + 32;
/// key id, seed, public key, checksum: the part an scrypt stream encrypts.
const SECRET_TAIL_LEN: usize = 8 + 32 + 32 + 32;
const SECRET_LEN: usize = 2 + 2 + 2 + 32 + 8 + 8 + SECRET_TAIL_LEN;
/// Largest scrypt cost accepted from a key file: minisign's own ("sensitive", 1 GiB).
const MAX_SCRYPT_LOG_N: u8 = 20;
const MAX_SCRYPT_P: u32 = 16;

/// The 8 bytes that name a key, stored in both halves of the pair and in every signature.
/// Shown as minisign shows it: the bytes read as a little-endian u64, in 16 upper-case hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyId(pub [u8; 8]);

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016X}", u64::from_le_bytes(self.0))
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({self})")
    }
}

/// A publisher's public key: what a client trusts.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey {
    pub(crate) id: KeyId,
    pub(crate) key: VerifyingKey,
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.id)
    }
}

impl PublicKey {
    /// The key's id.
    pub fn id(&self) -> KeyId {
        self.id
    }

    /// Parses a minisign public key: a whole `.pub` file, or only its base64 line.
    pub fn from_minisign(text: &str) -> Result<Self> {
        let blob = decode_key_text(text, "public key")?;
        let blob: [u8; PUBLIC_LEN] =
            blob.as_slice().try_into().map_err(|_| bad_key("public key", "it is not 42 bytes long"))?;
        if blob[..2] != ALGORITHM {
            return Err(bad_key("public key", "it is not an Ed25519 key"));
        }
        let key = VerifyingKey::from_bytes(blob[10..].try_into().expect("32 bytes"))
            .map_err(|_| bad_key("public key", "it is not a valid Ed25519 point"))?;
        Ok(PublicKey { id: KeyId(blob[2..10].try_into().expect("8 bytes")), key })
    }

    /// Reads a minisign `.pub` file.
    pub fn read(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = read_key_file(path)?;
        PublicKey::from_minisign(&text).map_err(|e| in_file(e, path))
    }

    /// The minisign `.pub` file text.
    pub fn to_minisign(&self) -> String {
        let mut blob = Vec::with_capacity(PUBLIC_LEN);
        blob.extend_from_slice(&ALGORITHM);
        blob.extend_from_slice(&self.id.0);
        blob.extend_from_slice(self.key.as_bytes());
        format!("untrusted comment: minisign public key {}\n{}\n", self.id, BASE64.encode(blob))
    }
}

/// A publisher's secret key. Its bytes are zeroized when it is dropped; `Debug` shows only its id.
#[derive(Clone)]
pub struct SecretKey {
    pub(crate) id: KeyId,
    pub(crate) key: SigningKey,
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretKey({})", self.id)
    }
}

impl SecretKey {
    /// A new random key pair, from the operating system's random source.
    pub fn generate() -> Result<Self> {
        let mut seed = Zeroizing::new([0u8; 32]);
        let mut id = [0u8; 8];
        for buf in [&mut seed[..], &mut id[..]] {
            getrandom::fill(buf).map_err(|e| Error::io("reading the system's random source", e.into()))?;
        }
        Ok(SecretKey { id: KeyId(id), key: SigningKey::from_bytes(&seed) })
    }

    /// The key's id.
    pub fn id(&self) -> KeyId {
        self.id
    }

    /// The public half.
    pub fn public_key(&self) -> PublicKey {
        PublicKey { id: self.id, key: self.key.verifying_key() }
    }

    /// Parses a minisign secret key file. An encrypted one (what `minisign -G` writes without
    /// `-W`) needs its `password`; scrypt costs above minisign's own are a
    /// [`crate::ErrorKind::LimitExceeded`]. A wrong password, a damaged file, or a public half
    /// that does not belong to the secret one is an [`crate::ErrorKind::InvalidArgument`].
    pub fn from_minisign(text: &str, password: Option<&[u8]>) -> Result<Self> {
        let mut blob = Zeroizing::new(decode_key_text(text, "secret key")?);
        if blob.len() != SECRET_LEN {
            return Err(bad_key("secret key", "it is not 158 bytes long"));
        }
        if blob[..2] != ALGORITHM || blob[4..6] != CHECKSUM_BLAKE2B {
            return Err(bad_key("secret key", "it is not an Ed25519 key with a BLAKE2b checksum"));
        }
        let kdf: [u8; 2] = blob[2..4].try_into().expect("2 bytes");
        match (kdf, password) {
            (KDF_NONE, _) => {}
            (KDF_SCRYPT, Some(password)) => decrypt(&mut blob, password)?,
            (KDF_SCRYPT, None) => {
                return Err(Error::invalid("the secret key is encrypted: its password is needed"));
            }
            _ => return Err(bad_key("secret key", "its key derivation is unknown")),
        }
        let tail = &blob[SECRET_LEN - SECRET_TAIL_LEN..];
        let (id, seed, public, checksum) = (&tail[..8], &tail[8..40], &tail[40..72], &tail[72..]);
        // `minisign -G -W` leaves the checksum of an unencrypted key all zero.
        let unchecked = kdf == KDF_NONE && checksum.iter().all(|&b| b == 0);
        if !unchecked && checksum != secret_checksum(id, seed, public).as_slice() {
            return Err(bad_key("secret key", "its checksum does not match (wrong password?)"));
        }
        let key = SigningKey::from_bytes(seed.try_into().expect("32 bytes"));
        if key.verifying_key().as_bytes() != public {
            return Err(bad_key("secret key", "its public half does not belong to it"));
        }
        Ok(SecretKey { id: KeyId(id.try_into().expect("8 bytes")), key })
    }

    /// Reads a minisign secret key file (see [`SecretKey::from_minisign`]).
    pub fn read(path: impl AsRef<Path>, password: Option<&[u8]>) -> Result<Self> {
        let path = path.as_ref();
        let text = Zeroizing::new(read_key_file(path)?);
        SecretKey::from_minisign(&text, password).map_err(|e| in_file(e, path))
    }

    /// The minisign secret key file text, unencrypted (as `minisign -G -W` writes it).
    pub fn to_minisign(&self) -> Zeroizing<String> {
        let mut blob = Zeroizing::new(Vec::with_capacity(SECRET_LEN));
        blob.extend_from_slice(&ALGORITHM);
        blob.extend_from_slice(&KDF_NONE);
        blob.extend_from_slice(&CHECKSUM_BLAKE2B);
        blob.extend_from_slice(&[0u8; 48]); // salt, opslimit, memlimit: unused without a kdf
        let seed = Zeroizing::new(self.key.to_bytes());
        let public = self.key.verifying_key().to_bytes();
        blob.extend_from_slice(&self.id.0);
        blob.extend_from_slice(&*seed);
        blob.extend_from_slice(&public);
        blob.extend_from_slice(&secret_checksum(&self.id.0, &*seed, &public));
        let encoded = Zeroizing::new(BASE64.encode(&*blob));
        Zeroizing::new(format!("untrusted comment: minisign secret key {}\n{}\n", self.id, *encoded))
    }
}

/// Creates a new key pair and writes it to `NAME.key` (mode 0600) and `NAME.pub`, where `NAME`
/// is `base`. Existing files are an [`crate::ErrorKind::InvalidArgument`] unless `overwrite`;
/// then each is replaced atomically. Returns the public key.
pub fn write_key_pair(base: impl AsRef<Path>, overwrite: bool) -> Result<PublicKey> {
    let (secret_path, public_path) = key_pair_paths(base.as_ref());
    if !overwrite {
        for path in [&secret_path, &public_path] {
            if fs::symlink_metadata(path).is_ok() {
                return Err(Error::invalid(format!(
                    "{} exists: choose another name or overwrite it on purpose",
                    path.display()
                )));
            }
        }
    }
    let key = SecretKey::generate()?;
    write_file(&secret_path, key.to_minisign().as_bytes(), 0o600)?;
    let public = key.public_key();
    write_file(&public_path, public.to_minisign().as_bytes(), 0o644)?;
    Ok(public)
}

/// `NAME.key` and `NAME.pub`.
fn key_pair_paths(base: &Path) -> (PathBuf, PathBuf) {
    let with = |suffix: &str| {
        let mut name = base.as_os_str().to_owned();
        name.push(suffix);
        PathBuf::from(name)
    };
    (with(".key"), with(".pub"))
}

/// Writes `contents` to a new temporary file with `mode`, syncs it and renames it to `path`.
fn write_file(path: &Path, contents: &[u8], mode: u32) -> Result<()> {
    let mut temp = path.as_os_str().to_owned();
    temp.push(format!(".{}.tmp", std::process::id()));
    let temp = PathBuf::from(temp);
    let context = |what: &str| format!("{what} {}", temp.display());
    let result = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&temp)
            .map_err(|e| Error::io(context("creating"), e))?;
        file.write_all(contents).map_err(|e| Error::io(context("writing"), e))?;
        file.sync_all().map_err(|e| Error::io(context("syncing"), e))?;
        fs::rename(&temp, path).map_err(|e| Error::io(format!("renaming into {}", path.display()), e))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

fn secret_checksum(id: &[u8], seed: &[u8], public: &[u8]) -> [u8; 32] {
    let mut hasher = Blake2b256::new();
    for part in [&ALGORITHM[..], id, seed, public] {
        hasher.update(part);
    }
    hasher.finalize().into()
}

/// Undoes minisign's encryption: XORs the key id, key and checksum with the scrypt stream.
fn decrypt(blob: &mut [u8], password: &[u8]) -> Result<()> {
    let salt = &blob[6..38];
    let opslimit = u64::from_le_bytes(blob[38..46].try_into().expect("8 bytes"));
    let memlimit = u64::from_le_bytes(blob[46..54].try_into().expect("8 bytes"));
    let (log_n, r, p) = scrypt_params(opslimit, memlimit);
    if log_n > MAX_SCRYPT_LOG_N || p > MAX_SCRYPT_P {
        return Err(Error::limit("the secret key's scrypt cost (log2 N)", u64::from(log_n), 20));
    }
    let params = scrypt::Params::new(log_n, r, p).map_err(|_| bad_key("secret key", "bad scrypt cost"))?;
    let mut stream = Zeroizing::new([0u8; SECRET_TAIL_LEN]);
    scrypt::scrypt(password, salt, &params, &mut stream[..]).expect("104 bytes is a valid length");
    let tail = &mut blob[SECRET_LEN - SECRET_TAIL_LEN..];
    tail.iter_mut().zip(stream.iter()).for_each(|(b, s)| *b ^= s);
    stream.zeroize();
    Ok(())
}

/// libsodium's mapping of `crypto_pwhash_scryptsalsa208sha256` limits to scrypt's
/// (log2 N, r, p), which minisign's key files rely on.
fn scrypt_params(opslimit: u64, memlimit: u64) -> (u8, u32, u32) {
    let opslimit = opslimit.max(32768);
    let r = 8u64;
    let log_n_below = |max_n: u64| (1u8..63).find(|&log_n| (1u64 << log_n) > max_n / 2).unwrap_or(63);
    if opslimit < memlimit / 32 {
        (log_n_below(opslimit / (r * 4)), 8, 1)
    } else {
        let log_n = log_n_below(memlimit / (r * 128));
        let max_rp = ((opslimit / 4) >> log_n).min(0x3fff_ffff);
        (log_n, 8, u32::try_from(max_rp / r).expect("below 2^30"))
    }
}

/// The base64 line of a key file: the first line that is neither empty nor a comment.
fn decode_key_text(text: &str, what: &str) -> Result<Vec<u8>> {
    let line = text
        .lines()
        .map(str::trim)
        .find(|line| !line.is_empty() && !line.starts_with("untrusted comment:"))
        .ok_or_else(|| bad_key(what, "it has no key line"))?;
    BASE64.decode(line).map_err(|_| bad_key(what, "its key line is not base64"))
}

/// Key files are small; anything over 4 KiB is not one.
fn read_key_file(path: &Path) -> Result<String> {
    let bytes = fs::read(path).map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
    if bytes.len() > 4096 {
        return Err(Error::invalid(format!("{} is not a key file: it is over 4 KiB", path.display())));
    }
    String::from_utf8(bytes)
        .map_err(|_| Error::invalid(format!("{} is not a key file: not text", path.display())))
}

fn bad_key(what: &str, why: &str) -> Error {
    Error::invalid(format!("not a minisign {what}: {why}"))
}

fn in_file(err: Error, path: &Path) -> Error {
    match err {
        Error::InvalidArgument(message) => Error::invalid(format!("{}: {message}", path.display())),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_key_round_trips_through_minisign_text() {
        let key = SecretKey::generate().unwrap();
        let parsed = SecretKey::from_minisign(&key.to_minisign(), None).unwrap();
        assert_eq!(parsed.id(), key.id());
        assert_eq!(parsed.public_key(), key.public_key());
        let public = PublicKey::from_minisign(&key.public_key().to_minisign()).unwrap();
        assert_eq!(public, key.public_key());
    }

    #[test]
    fn damaged_secret_key_is_refused() {
        let key = SecretKey::generate().unwrap();
        let text = key.to_minisign();
        let line = text.lines().nth(1).unwrap();
        let mut blob = BASE64.decode(line).unwrap();
        blob[SECRET_LEN - 40] ^= 1; // a public key byte
        let err = SecretKey::from_minisign(&BASE64.encode(&blob), None).unwrap_err();
        assert!(err.to_string().contains("checksum"), "{err}");
    }

    #[test]
    fn libsodium_limits_map_to_minisigns_scrypt_cost() {
        // minisign's OPSLIMIT_SENSITIVE and MEMLIMIT_SENSITIVE: N = 2^20, r = 8, p = 1.
        assert_eq!(scrypt_params(33_554_432, 1_073_741_824), (20, 8, 1));
        // The interactive limits (524288, 16 MiB): N = 2^14.
        assert_eq!(scrypt_params(524_288, 16_777_216), (14, 8, 1));
    }

    #[test]
    fn key_id_prints_as_minisign_does() {
        assert_eq!(KeyId([0xEF, 0xCD, 0xAB, 0x89, 0x67, 0x45, 0x23, 0x01]).to_string(), "0123456789ABCDEF");
    }
}
