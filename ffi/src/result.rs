//! The result codes, their names, and the library version.

use std::ffi::{CStr, c_char};

use chunkdelta::ErrorKind;

use crate::panic::catch;

/// What a chunkdelta function returns. `CHUNKDELTA_OK` is 0; every other code is a failure
/// whose message `chunkdelta_last_error()` returns. Codes are never renumbered or reused.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum chunkdelta_result {
    /// Success.
    CHUNKDELTA_OK = 0,
    /// Reading or writing a file failed (missing file, permission, full disk...).
    CHUNKDELTA_ERR_IO = 1,
    /// The patch is malformed, truncated, or a hash in it does not match.
    CHUNKDELTA_ERR_CORRUPT_PATCH = 2,
    /// The patch is written in a format version this library does not read.
    CHUNKDELTA_ERR_UNSUPPORTED_VERSION = 3,
    /// The patch was made for a different old file (size or blake3 differs).
    CHUNKDELTA_ERR_SOURCE_MISMATCH = 4,
    /// A size in the patch exceeds a limit of the format or of the options.
    CHUNKDELTA_ERR_LIMIT_EXCEEDED = 5,
    /// A NULL or inconsistent argument, or an invalid option value.
    CHUNKDELTA_ERR_INVALID_ARGUMENT = 6,
    /// The progress callback returned non-zero; no output was produced.
    CHUNKDELTA_ERR_CANCELLED = 7,
    /// A bug in the library: a caught panic. It never unwinds into C.
    CHUNKDELTA_ERR_INTERNAL = 8,
    /// Trust is configured and the patch does not meet it: unsigned, signed by no trusted key,
    /// expired, for another product, or below the minimum release. Nothing was decoded and no
    /// output exists; the message names the rule each signature failed.
    CHUNKDELTA_ERR_UNTRUSTED = 9,
    /// A container patch's members do not deflate on this machine to the bytes the patch
    /// records (or this build does not link the pinned zlib), or an executable patch's
    /// analysis of the old file (its pointer fields) differs from the one diff made: the
    /// patch cannot rebuild the file here, fetch the full new file instead. No output exists.
    CHUNKDELTA_ERR_REBUILD_MISMATCH = 10,
}

use chunkdelta_result::*;

impl From<ErrorKind> for chunkdelta_result {
    /// One code per kind; a kind added to the core after this code was written is `INTERNAL`
    /// until it gets its own code.
    fn from(kind: ErrorKind) -> Self {
        match kind {
            ErrorKind::Io => CHUNKDELTA_ERR_IO,
            ErrorKind::CorruptPatch => CHUNKDELTA_ERR_CORRUPT_PATCH,
            ErrorKind::UnsupportedVersion => CHUNKDELTA_ERR_UNSUPPORTED_VERSION,
            ErrorKind::SourceMismatch => CHUNKDELTA_ERR_SOURCE_MISMATCH,
            ErrorKind::LimitExceeded => CHUNKDELTA_ERR_LIMIT_EXCEEDED,
            ErrorKind::InvalidArgument => CHUNKDELTA_ERR_INVALID_ARGUMENT,
            ErrorKind::Cancelled => CHUNKDELTA_ERR_CANCELLED,
            ErrorKind::Untrusted => CHUNKDELTA_ERR_UNTRUSTED,
            ErrorKind::RebuildMismatch => CHUNKDELTA_ERR_REBUILD_MISMATCH,
            _ => CHUNKDELTA_ERR_INTERNAL,
        }
    }
}

impl chunkdelta_result {
    /// The name without its prefix: `OK`, `IO`, `SOURCE_MISMATCH`... A failure's name is its
    /// core kind's `ErrorKind::name` (checked by a test below).
    fn name(self) -> &'static CStr {
        match self {
            CHUNKDELTA_OK => c"OK",
            CHUNKDELTA_ERR_IO => c"IO",
            CHUNKDELTA_ERR_CORRUPT_PATCH => c"CORRUPT_PATCH",
            CHUNKDELTA_ERR_UNSUPPORTED_VERSION => c"UNSUPPORTED_VERSION",
            CHUNKDELTA_ERR_SOURCE_MISMATCH => c"SOURCE_MISMATCH",
            CHUNKDELTA_ERR_LIMIT_EXCEEDED => c"LIMIT_EXCEEDED",
            CHUNKDELTA_ERR_INVALID_ARGUMENT => c"INVALID_ARGUMENT",
            CHUNKDELTA_ERR_CANCELLED => c"CANCELLED",
            CHUNKDELTA_ERR_INTERNAL => c"INTERNAL",
            CHUNKDELTA_ERR_UNTRUSTED => c"UNTRUSTED",
            CHUNKDELTA_ERR_REBUILD_MISMATCH => c"REBUILD_MISMATCH",
        }
    }
}

/// The library version, such as `"0.1.0"`: a static string, never freed.
#[unsafe(no_mangle)]
pub extern "C" fn chunkdelta_version() -> *const c_char {
    const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");
    catch(c"".as_ptr(), || VERSION.as_ptr().cast())
}

/// The name of `r` without its prefix, such as `"SOURCE_MISMATCH"` or `"OK"`: a static
/// string, never freed. `r` must be one of the `chunkdelta_result` values.
#[unsafe(no_mangle)]
pub extern "C" fn chunkdelta_result_name(r: chunkdelta_result) -> *const c_char {
    catch(c"".as_ptr(), || r.name().as_ptr())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_the_core_kinds() {
        // In code order; INTERNAL (8) has no core kind.
        let kinds = [
            ErrorKind::Io,
            ErrorKind::CorruptPatch,
            ErrorKind::UnsupportedVersion,
            ErrorKind::SourceMismatch,
            ErrorKind::LimitExceeded,
            ErrorKind::InvalidArgument,
            ErrorKind::Cancelled,
        ];
        let later = [(9, ErrorKind::Untrusted), (10, ErrorKind::RebuildMismatch)];
        for (code, kind) in (1..).zip(kinds).chain(later) {
            let result = chunkdelta_result::from(kind);
            assert_eq!(result as i32, code, "{kind:?}");
            assert_eq!(result.name().to_str().unwrap(), kind.name());
        }
    }
}
