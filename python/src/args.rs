//! Argument conversion: bytes-like objects, patch sources, and option values.
//!
//! Wrong types raise `TypeError` (with pyo3's "argument 'name': ..." prefix); values out of
//! range raise `ValueError`.

use std::path::PathBuf;

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyMemoryView, PyString};

/// The bytes of a bytes-like argument, readable with the GIL released.
///
/// A `bytes` object is borrowed: it is immutable, and this value keeps it alive. Any other
/// object with the buffer protocol (bytearray, memoryview, mmap, array...) is copied once into
/// a new `bytes`: the limited API of Python 3.9 has no way to borrow a buffer, and a writable
/// buffer could change under the released GIL.
pub(crate) struct BytesLike<'py>(Bound<'py, PyBytes>);

impl BytesLike<'_> {
    /// The bytes, valid for as long as `self` lives.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl<'a, 'py> FromPyObject<'a, 'py> for BytesLike<'py> {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        if let Ok(bytes) = obj.cast::<PyBytes>() {
            return Ok(BytesLike(bytes.to_owned()));
        }
        // memoryview() accepts exactly the objects with the buffer protocol; tobytes() copies
        // the data in C order, whatever the view's layout.
        let view = PyMemoryView::from(&obj).map_err(|_| {
            let type_name = obj.get_type().name().map_or_else(|_| "?".to_owned(), |name| name.to_string());
            PyTypeError::new_err(format!("a bytes-like object is required, not '{type_name}'"))
        })?;
        Ok(BytesLike(view.call_method0(pyo3::intern!(obj.py(), "tobytes"))?.cast_into::<PyBytes>()?))
    }
}

/// A patch given either as a path (str or os.PathLike) or as bytes-like data.
pub(crate) enum PatchSource<'py> {
    /// A file to read the patch from.
    Path(PathBuf),
    /// The patch itself.
    Bytes(BytesLike<'py>),
}

impl<'a, 'py> FromPyObject<'a, 'py> for PatchSource<'py> {
    type Error = PyErr;

    /// `str` and objects with `__fspath__` are paths; everything else must be bytes-like
    /// (so `bytes` is always patch data, never a path).
    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        if obj.is_instance_of::<PyString>() || obj.hasattr(pyo3::intern!(obj.py(), "__fspath__"))? {
            return Ok(PatchSource::Path(obj.extract()?));
        }
        Ok(PatchSource::Bytes(obj.extract()?))
    }
}

/// The worker-thread count for `threads=`: a positive count as given; `None` or 0 means
/// `RAYON_NUM_THREADS` if set to a positive number, else one per core.
///
/// The result is always positive, so the core runs each call on a private pool and never
/// touches rayon's global pool, which a forked child could not use.
pub(crate) fn threads(threads: Option<i64>) -> PyResult<usize> {
    let requested = threads.unwrap_or(0);
    let requested = usize::try_from(requested)
        .map_err(|_| PyValueError::new_err(format!("threads must be 0 or more, not {requested}")))?;
    if requested > 0 {
        return Ok(requested);
    }
    let from_env = std::env::var("RAYON_NUM_THREADS").ok().and_then(|v| v.trim().parse().ok());
    Ok(from_env
        .filter(|&n: &usize| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())))
}

/// The zstd level for `level=`, if given; the core checks its range.
pub(crate) fn level(level: Option<i64>) -> PyResult<Option<i32>> {
    level
        .map(|l| i32::try_from(l).map_err(|_| PyValueError::new_err(format!("level {l} is out of range"))))
        .transpose()
}

/// The codec named by `codec=`: "xz" (the default), "zstd" or "auto".
pub(crate) fn codec(codec: Option<&str>) -> PyResult<chunkdelta::Codec> {
    match codec {
        Some("zstd") => Ok(chunkdelta::Codec::Zstd),
        None | Some("xz") => Ok(chunkdelta::Codec::Xz),
        Some("auto") => Ok(chunkdelta::Codec::Auto),
        Some(other) => {
            Err(PyValueError::new_err(format!("codec must be 'zstd', 'xz' or 'auto', not {other:?}")))
        }
    }
}

/// A count for the keyword `name=` (`chunk_size`, `memory`, `release`...), if given: 0 or more;
/// the core checks its range.
pub(crate) fn unsigned(name: &str, value: Option<i64>) -> PyResult<Option<u64>> {
    value
        .map(|v| {
            u64::try_from(v).map_err(|_| PyValueError::new_err(format!("{name} must be 0 or more, not {v}")))
        })
        .transpose()
}
