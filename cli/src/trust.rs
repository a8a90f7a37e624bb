//! The signing side of the command line: `keygen`, `sign`, `diff --sign`, and the trust
//! options of `apply` and `verify`.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chunkdelta::{Error, PublicKey, SecretKey, SignOptions, TrustPolicy};
use clap::Args;

/// The environment variable that holds the password of an encrypted minisign secret key.
pub(crate) const PASSWORD_VAR: &str = "CHUNKDELTA_KEY_PASSWORD";

/// What a new signature says (`diff --sign`, `sign`).
#[derive(Args)]
pub(crate) struct SignArgs {
    /// Clients refuse the signature from this time on: a duration from now (30d, 12h, 1y) or
    /// a UTC date or time (2027-06-30, 2027-06-30T12:00:00Z).
    #[arg(long, value_name = "WHEN", value_parser = parse_expiry)]
    expires: Option<u64>,
    /// The product id the signature names; clients can require it with `--product`.
    #[arg(long, value_name = "ID")]
    product: Option<String>,
    /// The release number the signature names; clients refuse it below their `--min-release`.
    #[arg(long, value_name = "N")]
    release: Option<u64>,
}

impl SignArgs {
    pub(crate) fn options(&self) -> SignOptions {
        let mut options = SignOptions::new();
        if let Some(expires) = self.expires {
            options = options.expires(expires);
        }
        if let Some(product) = &self.product {
            options = options.product(product.clone());
        }
        if let Some(release) = self.release {
            options = options.release(release);
        }
        options
    }
}

/// Which signatures `apply` and `verify` accept. Without a key or trust directory, signatures
/// are not checked.
#[derive(Args)]
pub(crate) struct TrustArgs {
    /// A trusted publisher's minisign public key file (repeatable): the patch must carry a
    /// valid, unexpired signature by one of the trusted keys.
    #[arg(long = "trusted-key", value_name = "FILE")]
    keys: Vec<PathBuf>,
    /// A directory whose `*.pub` files are all trusted keys.
    #[arg(long, value_name = "DIR")]
    trust_dir: Option<PathBuf>,
    /// Require the accepted signature to name this product id.
    #[arg(long, value_name = "ID")]
    product: Option<String>,
    /// Require the accepted signature to name release N or later (the release installed now),
    /// refusing downgrades.
    #[arg(long, value_name = "N")]
    min_release: Option<u64>,
}

impl TrustArgs {
    /// The policy these options describe, or `None` when no key is configured.
    pub(crate) fn policy(&self) -> Result<Option<TrustPolicy>, Error> {
        if self.keys.is_empty() && self.trust_dir.is_none() {
            if self.product.is_some() || self.min_release.is_some() {
                return Err(Error::InvalidArgument(
                    "--product and --min-release need trusted keys: --trusted-key FILE or --trust-dir DIR"
                        .into(),
                ));
            }
            return Ok(None);
        }
        let mut policy = TrustPolicy::new();
        for path in &self.keys {
            policy = policy.trust(PublicKey::read(path)?);
        }
        if let Some(dir) = &self.trust_dir {
            policy = policy.trust_dir(dir)?;
        }
        if let Some(product) = &self.product {
            policy = policy.product(product.clone());
        }
        if let Some(release) = self.min_release {
            policy = policy.min_release(release);
        }
        Ok(Some(policy))
    }
}

/// Reads a secret key, with the password from [`PASSWORD_VAR`] when it is encrypted.
pub(crate) fn read_secret_key(path: &Path) -> Result<SecretKey, Error> {
    let password = std::env::var_os(PASSWORD_VAR).map(|p| p.into_encoded_bytes());
    SecretKey::read(path, password.as_deref()).map_err(|err| match err {
        Error::InvalidArgument(message) if message.contains("password is needed") => {
            Error::InvalidArgument(format!("{message}: set {PASSWORD_VAR}"))
        }
        other => other,
    })
}

/// Seconds since the Unix epoch of `text`: a duration from now or a UTC date or time.
fn parse_expiry(text: &str) -> Result<u64, String> {
    if let Ok(duration) = humantime::parse_duration(text) {
        return Ok(unix(SystemTime::now() + duration));
    }
    let full = if text.len() == 10 { format!("{text}T00:00:00Z") } else { text.to_string() };
    humantime::parse_rfc3339_weak(&full)
        .map(unix)
        .map_err(|_| format!("expected a duration such as 30d or a date such as 2027-06-30, not {text:?}"))
}

fn unix(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO).as_secs()
}

/// A Unix time as an RFC 3339 UTC time, for `info`.
pub(crate) fn format_time(unix_seconds: u64) -> String {
    let time = UNIX_EPOCH.checked_add(Duration::from_secs(unix_seconds));
    time.map_or_else(
        || format!("{unix_seconds} (Unix time)"),
        |t| humantime::format_rfc3339_seconds(t).to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_takes_durations_and_dates() {
        let now = unix(SystemTime::now());
        let in_30_days = parse_expiry("30d").unwrap();
        assert!((now + 30 * 86400..now + 30 * 86400 + 5).contains(&in_30_days));
        assert_eq!(parse_expiry("2027-06-30"), Ok(1_814_313_600));
        assert_eq!(parse_expiry("2027-06-30T12:00:00Z"), Ok(1_814_356_800));
        assert!(parse_expiry("soon").is_err());
    }

    #[test]
    fn times_print_as_rfc3339() {
        assert_eq!(format_time(1_814_313_600), "2027-06-30T00:00:00Z");
    }
}
