//! The one error type of the crate, and its stable [`ErrorKind`].
//!
//! The C ABI and the Python module map each [`ErrorKind`] one-to-one onto a result code and an
//! exception class, so the set of kinds is a contract: kinds are only ever added.

use std::fmt;
use std::io;

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The class of a failure. Stable: bindings map it one-to-one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Reading or writing a file or stream failed (missing file, permission, full disk...).
    Io,
    /// The patch is not a well-formed chunkdelta patch: bad magic, truncated, inconsistent
    /// sizes, bad compressed data, or a hash that does not match.
    CorruptPatch,
    /// The patch is written in a format version this library does not know.
    UnsupportedVersion,
    /// The patch was made for a different old file (size or blake3 differs).
    SourceMismatch,
    /// A size in the input exceeds a limit of this library or of the caller's options.
    LimitExceeded,
    /// The caller passed an invalid option or argument.
    InvalidArgument,
    /// The progress callback asked to stop.
    Cancelled,
    /// Trust is configured and the patch does not meet it: unsigned, signed by no trusted key,
    /// expired, for another product, or for a release below the minimum.
    Untrusted,
    /// The patch cannot rebuild the new file on this machine; fetch the full new file instead.
    /// Nothing was written. A container patch's member did not deflate to the bytes the patch
    /// records (or this build does not link the pinned zlib), or an executable patch's
    /// analysis of the old file (its pointer fields) differs from the one diff made.
    RebuildMismatch,
}

impl ErrorKind {
    /// A short, stable, upper-case name such as `SOURCE_MISMATCH`.
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::Io => "IO",
            ErrorKind::CorruptPatch => "CORRUPT_PATCH",
            ErrorKind::UnsupportedVersion => "UNSUPPORTED_VERSION",
            ErrorKind::SourceMismatch => "SOURCE_MISMATCH",
            ErrorKind::LimitExceeded => "LIMIT_EXCEEDED",
            ErrorKind::InvalidArgument => "INVALID_ARGUMENT",
            ErrorKind::Cancelled => "CANCELLED",
            ErrorKind::Untrusted => "UNTRUSTED",
            ErrorKind::RebuildMismatch => "REBUILD_MISMATCH",
        }
    }
}

/// Every failure of diff, apply, verify and info.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// An I/O operation failed; `context` says which (for example "creating /tmp/out").
    Io {
        /// What was being done, with the path where there is one.
        context: String,
        /// The underlying error.
        source: io::Error,
    },
    /// The patch is malformed; `reason` says where and how.
    CorruptPatch {
        /// A human-readable description, naming the chunk or byte offset where known.
        reason: String,
    },
    /// The patch's format version is not one this library reads.
    UnsupportedVersion {
        /// The version found in the patch.
        found: u16,
        /// The highest version this library reads.
        supported: u16,
    },
    /// The old file given is not the one the patch was made for.
    SourceMismatch {
        /// Size of `old` recorded in the patch.
        expected_size: u64,
        /// Size of the `old` given.
        actual_size: u64,
        /// blake3 of `old` recorded in the patch.
        expected_hash: [u8; 32],
        /// blake3 of the `old` given; `None` when the sizes already differ and it was not computed.
        actual_hash: Option<[u8; 32]>,
    },
    /// A file of the old tree is not the one a tree patch was made for (or is missing, or
    /// lies behind a symlink).
    TreeSourceMismatch {
        /// The file's path, relative to the old tree.
        path: std::path::PathBuf,
        /// How it differs.
        reason: String,
    },
    /// A size is beyond what this library or the caller's options allow.
    LimitExceeded {
        /// What was too large.
        what: String,
        /// The offending value.
        value: u64,
        /// The limit it exceeded.
        limit: u64,
    },
    /// An option or argument is invalid.
    InvalidArgument(String),
    /// The progress callback asked to stop; nothing was written.
    Cancelled,
    /// The patch does not meet the caller's [`crate::TrustPolicy`]; nothing was decoded or written.
    Untrusted {
        /// Which rule each signature failed, or that there is none.
        reason: String,
    },
    /// A container member deflated to other bytes than the patch records, or the old file's
    /// executable analysis differs from the patch's; nothing was written.
    RebuildMismatch {
        /// Which member, or which library.
        reason: String,
    },
}

impl Error {
    /// The stable class of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Io { .. } => ErrorKind::Io,
            Error::CorruptPatch { .. } => ErrorKind::CorruptPatch,
            Error::UnsupportedVersion { .. } => ErrorKind::UnsupportedVersion,
            Error::SourceMismatch { .. } | Error::TreeSourceMismatch { .. } => ErrorKind::SourceMismatch,
            Error::LimitExceeded { .. } => ErrorKind::LimitExceeded,
            Error::InvalidArgument(_) => ErrorKind::InvalidArgument,
            Error::Cancelled => ErrorKind::Cancelled,
            Error::Untrusted { .. } => ErrorKind::Untrusted,
            Error::RebuildMismatch { .. } => ErrorKind::RebuildMismatch,
        }
    }

    pub(crate) fn io(context: impl Into<String>, source: io::Error) -> Self {
        Error::Io { context: context.into(), source }
    }

    pub(crate) fn corrupt(reason: impl Into<String>) -> Self {
        Error::CorruptPatch { reason: reason.into() }
    }

    pub(crate) fn limit(what: impl Into<String>, value: u64, limit: u64) -> Self {
        Error::LimitExceeded { what: what.into(), value, limit }
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Error::InvalidArgument(message.into())
    }

    pub(crate) fn untrusted(reason: impl Into<String>) -> Self {
        Error::Untrusted { reason: reason.into() }
    }
}

fn hex(bytes: &[u8; 32]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io { context, source } => write!(f, "{context}: {source}"),
            Error::CorruptPatch { reason } => write!(f, "corrupt patch: {reason}"),
            Error::UnsupportedVersion { found, supported } => write!(
                f,
                "unsupported patch format version {found} (this library reads versions up to {supported})"
            ),
            Error::SourceMismatch { expected_size, actual_size, expected_hash, actual_hash } => {
                write!(f, "this patch was made for a different old file: ")?;
                match actual_hash {
                    Some(actual) => write!(f, "expected blake3 {}, got {}", hex(expected_hash), hex(actual)),
                    None => write!(
                        f,
                        "expected {expected_size} bytes with blake3 {}, got {actual_size} bytes",
                        hex(expected_hash)
                    ),
                }
            }
            Error::TreeSourceMismatch { path, reason } => {
                write!(f, "this patch was made for a different old tree: {}: {reason}", path.display())
            }
            Error::LimitExceeded { what, value, limit } => {
                write!(f, "limit exceeded: {what} is {value}, the limit is {limit}")
            }
            Error::InvalidArgument(message) => write!(f, "invalid argument: {message}"),
            Error::Cancelled => write!(f, "cancelled by the progress callback"),
            Error::Untrusted { reason } => write!(f, "untrusted patch: {reason}"),
            Error::RebuildMismatch { reason } => {
                write!(f, "cannot rebuild the new file on this machine ({reason}): fetch the full file")
            }
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

impl From<Error> for io::Error {
    /// I/O errors come back out as themselves; every other kind becomes `InvalidData`
    /// (or `InvalidInput` for bad arguments), carrying the original error.
    fn from(err: Error) -> Self {
        let kind = match &err {
            Error::Io { source, .. } => source.kind(),
            Error::InvalidArgument(_) => io::ErrorKind::InvalidInput,
            Error::Cancelled => io::ErrorKind::Interrupted,
            _ => io::ErrorKind::InvalidData,
        };
        io::Error::new(kind, err)
    }
}
