//! `chunkdelta.blake3`: the hash patches name their old and new files by, and
//! `chunkdelta.index_memory`: the memory diff's index of an old file takes. Both serve
//! schedulers and catalogues (`chunkdelta.farm`) that must know these before diffing.

use pyo3::prelude::*;

use crate::args::{self, PatchSource};
use crate::errors;

/// blake3 of ``data`` as lower-case hex: of the bytes when bytes-like, of the file's content
/// when a path (str or os.PathLike). For a file it equals ``PatchInfo.old_hash`` or
/// ``new_hash`` of a patch made from or to it.
#[pyfunction]
#[pyo3(name = "blake3")]
fn hash(py: Python<'_>, data: PatchSource<'_>) -> PyResult<String> {
    let hex = |hasher: &mut blake3::Hasher| hasher.finalize().to_hex().to_string();
    match &data {
        PatchSource::Bytes(bytes) => {
            let bytes = bytes.as_bytes();
            Ok(py.detach(|| hex(blake3::Hasher::new().update(bytes))))
        }
        PatchSource::Path(path) => {
            // One thread: rayon's global pool is not usable in a forked child.
            let hashed = py.detach(|| blake3::Hasher::new().update_mmap(path).map(hex));
            hashed.map_err(|source| {
                let error = chunkdelta::Error::Io { context: format!("hashing {}", path.display()), source };
                errors::to_pyerr(py, error, &[path])
            })
        }
    }
}

/// The most memory, in bytes, that diff takes to build the index of an ``old_size``-byte old
/// file under the budget ``memory`` (bytes; default 2 GiB): the full suffix index when it fits,
/// else the densest sampled one that does (README, "Bounded-memory diff"). Raises
/// ``ValueError`` when the budget is below 16 MiB or too small for even the sparsest index.
#[pyfunction]
#[pyo3(signature = (old_size, *, memory=None))]
fn index_memory(py: Python<'_>, old_size: u64, memory: Option<i64>) -> PyResult<u64> {
    let mut options = chunkdelta::DiffOptions::new();
    if let Some(bytes) = args::unsigned("memory", memory)? {
        options = options.memory(bytes);
    }
    let plan = options.index_plan(old_size).map_err(|error| errors::to_pyerr(py, error, &[]))?;
    Ok(plan.peak_bytes)
}

/// Adds this module's functions to the native module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(hash, m)?)?;
    m.add_function(wrap_pyfunction!(index_memory, m)?)
}
