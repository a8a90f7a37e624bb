//! Core errors as Python exceptions.
//!
//! | `ErrorKind` | Python |
//! |---|---|
//! | `Io` | the `OSError` subclass of the errno (`FileNotFoundError`, ...), or of the I/O error kind |
//! | `InvalidArgument` | `ValueError` |
//! | `CorruptPatch` | `chunkdelta.CorruptPatchError` |
//! | `UnsupportedVersion` | `chunkdelta.UnsupportedVersionError` |
//! | `SourceMismatch` | `chunkdelta.SourceMismatchError` |
//! | `LimitExceeded` | `chunkdelta.LimitExceededError` |
//! | `Cancelled` | `chunkdelta.CancelledError` |
//! | `Untrusted` | `chunkdelta.UntrustedPatchError` |
//! | `RebuildMismatch` | `chunkdelta.RebuildMismatchError` |
//! | any later kind | `chunkdelta.Error` |
//!
//! The classes are defined in Python, in `chunkdelta`'s `__init__.py`.

use std::io;
use std::path::Path;

use chunkdelta::{Error, ErrorKind};
use pyo3::exceptions::{PyOSError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyType;

/// The Python exception for `error`. `paths` are the paths the caller passed: an `OSError`
/// gets as `filename` the longest one that ends its message (core messages name the path last).
pub(crate) fn to_pyerr(py: Python<'_>, error: Error, paths: &[&Path]) -> PyErr {
    let class = match error.kind() {
        ErrorKind::InvalidArgument => return PyValueError::new_err(error.to_string()),
        ErrorKind::CorruptPatch => "CorruptPatchError",
        ErrorKind::UnsupportedVersion => "UnsupportedVersionError",
        ErrorKind::SourceMismatch => "SourceMismatchError",
        ErrorKind::LimitExceeded => "LimitExceededError",
        ErrorKind::Cancelled => "CancelledError",
        ErrorKind::Untrusted => "UntrustedPatchError",
        ErrorKind::RebuildMismatch => "RebuildMismatchError",
        _ => match error {
            Error::Io { context, source } => return os_error(&context, &source, paths),
            _ => "Error",
        },
    };
    match chunkdelta_error_class(py, class) {
        Ok(class) => PyErr::from_type(class, error.to_string()),
        Err(import_failed) => import_failed,
    }
}

fn chunkdelta_error_class<'py>(py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyType>> {
    Ok(py.import("chunkdelta")?.getattr(name)?.cast_into::<PyType>()?)
}

/// `OSError(errno, "context: description", filename)`, which Python turns into the subclass
/// of the errno; without an errno, pyo3's subclass for the I/O error kind.
fn os_error(context: &str, source: &io::Error, paths: &[&Path]) -> PyErr {
    let Some(errno) = source.raw_os_error() else {
        return io::Error::new(source.kind(), format!("{context}: {source}")).into();
    };
    // Rust appends " (os error N)" to the system's description; Python shows "[Errno N]".
    let description = source.to_string();
    let description = description.strip_suffix(&format!(" (os error {errno})")).unwrap_or(&description);
    let filename = paths
        .iter()
        .map(|path| path.display().to_string())
        .filter(|path| !path.is_empty() && context.ends_with(path.as_str()))
        .max_by_key(String::len);
    PyOSError::new_err((errno, format!("{context}: {description}"), filename))
}
