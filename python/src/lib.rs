//! The native module `chunkdelta._chunkdelta`, re-exported by the Python package `chunkdelta`.
//!
//! Each function extracts its arguments while attached to the interpreter, then runs the core
//! with the GIL released (module `run`). Bytes-like inputs are borrowed when they are `bytes`
//! and copied once otherwise (module `args`). Core errors become the exceptions defined in
//! `chunkdelta`'s `__init__.py` or standard `OSError`s (module `errors`). Keys, signing and
//! the trust keywords are in module `trust`; release trees in module `tree`; hashing and index
//! memory estimates in module `hashing`.

mod args;
mod errors;
mod hashing;
mod patch_info;
mod run;
mod tree;
mod trust;

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::args::{BytesLike, PatchSource};
use crate::patch_info::PatchInfo;
use crate::run::{DiffArgs, Job};
use crate::trust::{Metadata, Password, TrustArgs, require_trust, sign_while_diffing};

/// Builds a patch that turns ``old`` into ``new`` and returns it.
///
/// ``old`` and ``new`` are bytes-like (bytes, bytearray, memoryview, mmap...). ``level`` is the
/// compression level (default 19), ``threads`` the number of worker threads (default: one per core,
/// or ``RAYON_NUM_THREADS``), ``chunk_size`` the bytes of ``new`` per chunk (default 4 MiB),
/// ``memory`` the budget in bytes for the index of ``old`` (default 2 GiB, at least 16 MiB):
/// when a full index (4 bytes per byte of ``old``) does not fit, only every 4th, 8th, ... 256th
/// position of ``old`` is indexed, for somewhat larger patches. ``codec`` names the
/// compressors tried on each chunk stream, which keeps the smallest result or is stored raw:
/// ``"xz"`` (LZMA2, the default), ``"zstd"`` (larger patches, faster to diff and apply) or
/// ``"auto"`` (both, whichever is smaller per stream).
///
/// ``containers=False`` diffs zip archives (wheel, jar...) and gzip files as plain bytes; by
/// default, where the pinned zlib rebuilds their changed members, the patch diffs those
/// members inflated (much smaller patches; apply deflates them again and raises
/// ``RebuildMismatchError`` on a machine where that gives other bytes: fetch the full file).
///
/// ``exec=False`` always makes a format version 3 patch; by default, when ``old`` and ``new``
/// are both ELF, PE or Mach-O executables of x86-64 or AArch64 code, the patch is format
/// version 4: diff masks their pointer fields and codes each one as a correction to a
/// prediction (much smaller patches of rebuilt programs; ``PatchInfo.exec`` describes it).
/// Apply raises ``RebuildMismatchError`` where its analysis of ``old`` differs from diff's.
///
/// ``sign_key`` (a minisign secret key file; ``key_password`` decrypts an encrypted one) signs
/// the patch as it is made, with the signature metadata ``expires`` (Unix seconds),
/// ``product`` and ``release`` of ``sign``.
#[pyfunction]
#[pyo3(signature = (old, new, *, level=None, threads=None, chunk_size=None, memory=None, codec=None, containers=true, exec=true, sign_key=None, key_password=None, expires=None, product=None, release=None))]
#[allow(clippy::too_many_arguments)] // the Python signature, keyword-only options included
fn diff<'py>(
    py: Python<'py>,
    old: BytesLike<'py>,
    new: BytesLike<'py>,
    level: Option<i64>,
    threads: Option<i64>,
    chunk_size: Option<i64>,
    memory: Option<i64>,
    codec: Option<&str>,
    containers: bool,
    exec: bool,
    sign_key: Option<PathBuf>,
    key_password: Option<Password>,
    expires: Option<i64>,
    product: Option<String>,
    release: Option<i64>,
) -> PyResult<Bound<'py, PyBytes>> {
    let job = Job::new(None)?;
    let options = job
        .diff_options(&DiffArgs { codec, level, threads, chunk_size, memory })?
        .containers(containers)
        .exec(exec);
    let metadata = Metadata { created: None, expires, product, release };
    let options = sign_while_diffing(py, options, sign_key.as_deref(), key_password.as_ref(), metadata)?;
    let (old, new) = (old.as_bytes(), new.as_bytes());
    let patch = job.run(py, &[], || chunkdelta::diff(old, new, &options))?;
    Ok(PyBytes::new(py, &patch))
}

/// Applies ``patch`` to ``old`` and returns the new bytes; both are bytes-like.
///
/// Raises ``SourceMismatchError`` if ``old`` is not the data the patch was made for, and
/// ``CorruptPatchError`` if the patch or the result fails a check.
///
/// ``trusted_keys`` (a list of minisign public key files) makes it refuse, with
/// ``UntrustedPatchError`` and before decoding anything, a patch unless one of its signatures
/// verifies under one of the keys, has not expired, names ``product`` (if given) and a
/// release of at least ``min_release`` (if given). ``trust_dir`` (a directory) trusts every
/// ``*.pub`` key file in it, besides ``trusted_keys``. An empty list alone refuses every patch;
/// ``product`` or ``min_release`` without ``trusted_keys`` or ``trust_dir`` is a ``ValueError``.
#[pyfunction]
#[pyo3(signature = (old, patch, *, threads=None, trusted_keys=None, trust_dir=None, product=None, min_release=None))]
#[allow(clippy::too_many_arguments)] // the Python signature, keyword-only options included
fn apply<'py>(
    py: Python<'py>,
    old: BytesLike<'py>,
    patch: BytesLike<'py>,
    threads: Option<i64>,
    trusted_keys: Option<Vec<PathBuf>>,
    trust_dir: Option<PathBuf>,
    product: Option<String>,
    min_release: Option<i64>,
) -> PyResult<Bound<'py, PyBytes>> {
    let job = Job::new(None)?;
    let trust = TrustArgs { trusted_keys, trust_dir, product, min_release };
    let options = require_trust(py, job.apply_options(threads, true)?, trust)?;
    let (old, patch) = (old.as_bytes(), patch.as_bytes());
    let new = job.run(py, &[], || chunkdelta::apply(old, patch, &options))?;
    Ok(PyBytes::new(py, &new))
}

/// Diffs the files ``old_path`` and ``new_path`` into ``patch_path`` and describes the patch.
///
/// The inputs are memory-mapped; the patch appears at ``patch_path`` only once complete.
/// ``progress(done, total)`` is called as work advances; returning ``False`` cancels
/// (``CancelledError``) and an exception it raises cancels and propagates. The other options
/// are those of ``diff``, signing included.
#[pyfunction]
#[pyo3(signature = (old_path, new_path, patch_path, *, level=None, threads=None, chunk_size=None, memory=None, codec=None, containers=true, exec=true, progress=None, sign_key=None, key_password=None, expires=None, product=None, release=None))]
#[allow(clippy::too_many_arguments)] // the Python signature, keyword-only options included
fn diff_file(
    py: Python<'_>,
    old_path: PathBuf,
    new_path: PathBuf,
    patch_path: PathBuf,
    level: Option<i64>,
    threads: Option<i64>,
    chunk_size: Option<i64>,
    memory: Option<i64>,
    codec: Option<&str>,
    containers: bool,
    exec: bool,
    progress: Option<Bound<'_, PyAny>>,
    sign_key: Option<PathBuf>,
    key_password: Option<Password>,
    expires: Option<i64>,
    product: Option<String>,
    release: Option<i64>,
) -> PyResult<PatchInfo> {
    let job = Job::new(progress)?;
    let options = job
        .diff_options(&DiffArgs { codec, level, threads, chunk_size, memory })?
        .containers(containers)
        .exec(exec);
    let metadata = Metadata { created: None, expires, product, release };
    let options = sign_while_diffing(py, options, sign_key.as_deref(), key_password.as_ref(), metadata)?;
    let paths = [old_path.as_path(), &new_path, &patch_path];
    let info = job.run(py, &paths, || chunkdelta::diff_file(&old_path, &new_path, &patch_path, &options))?;
    Ok(PatchInfo::from(&info))
}

/// Applies the patch file ``patch_path`` to ``old_path`` and writes the result to ``out_path``.
///
/// The output appears only once complete and verified; ``out_path`` may be ``old_path`` to
/// replace it. ``progress`` works as in ``diff_file``. ``durable=False`` skips the fsync of
/// the output and its folder: still atomic and verified, but a power cut soon after may leave
/// ``out_path`` empty or as it was. ``trusted_keys``, ``trust_dir``, ``product`` and
/// ``min_release`` work as in ``apply``: an untrusted patch leaves ``out_path`` as it was.
#[pyfunction]
#[pyo3(signature = (old_path, patch_path, out_path, *, threads=None, durable=true, progress=None, trusted_keys=None, trust_dir=None, product=None, min_release=None))]
#[allow(clippy::too_many_arguments)] // the Python signature, keyword-only options included
fn apply_file(
    py: Python<'_>,
    old_path: PathBuf,
    patch_path: PathBuf,
    out_path: PathBuf,
    threads: Option<i64>,
    durable: bool,
    progress: Option<Bound<'_, PyAny>>,
    trusted_keys: Option<Vec<PathBuf>>,
    trust_dir: Option<PathBuf>,
    product: Option<String>,
    min_release: Option<i64>,
) -> PyResult<()> {
    let job = Job::new(progress)?;
    let trust = TrustArgs { trusted_keys, trust_dir, product, min_release };
    let options = require_trust(py, job.apply_options(threads, durable)?, trust)?;
    let paths = [old_path.as_path(), &patch_path, &out_path];
    job.run(py, &paths, || {
        chunkdelta::apply_file(&old_path, open_patch(&patch_path)?, &out_path, &options).map(drop)
    })
}

/// Checks everything ``apply_file`` checks, signatures included when ``trusted_keys`` or
/// ``trust_dir`` is given, without writing anything; raises on any problem.
#[pyfunction]
#[pyo3(signature = (old_path, patch_path, *, threads=None, progress=None, trusted_keys=None, trust_dir=None, product=None, min_release=None))]
#[allow(clippy::too_many_arguments)] // the Python signature, keyword-only options included
fn verify_file(
    py: Python<'_>,
    old_path: PathBuf,
    patch_path: PathBuf,
    threads: Option<i64>,
    progress: Option<Bound<'_, PyAny>>,
    trusted_keys: Option<Vec<PathBuf>>,
    trust_dir: Option<PathBuf>,
    product: Option<String>,
    min_release: Option<i64>,
) -> PyResult<()> {
    let job = Job::new(progress)?;
    let trust = TrustArgs { trusted_keys, trust_dir, product, min_release };
    let options = require_trust(py, job.apply_options(threads, true)?, trust)?;
    let paths = [old_path.as_path(), &patch_path];
    job.run(py, &paths, || chunkdelta::verify_file(&old_path, open_patch(&patch_path)?, &options).map(drop))
}

/// Reads the header and chunk table of ``patch`` (bytes-like, or a path as str or os.PathLike)
/// and checks that the patch holds exactly the bytes its table accounts for.
#[pyfunction]
fn info(py: Python<'_>, patch: PatchSource<'_>) -> PyResult<PatchInfo> {
    let job = Job::new(None)?;
    let info = match &patch {
        PatchSource::Path(path) => job.run(py, &[path], || chunkdelta::read_info(open_patch(path)?))?,
        PatchSource::Bytes(bytes) => {
            let bytes = bytes.as_bytes();
            job.run(py, &[], || chunkdelta::read_info(bytes))?
        }
    };
    Ok(PatchInfo::from(&info))
}

/// Opens a patch file for one forward pass.
fn open_patch(path: &Path) -> chunkdelta::Result<BufReader<File>> {
    File::open(path)
        .map(|file| BufReader::with_capacity(1 << 20, file))
        .map_err(|source| chunkdelta::Error::Io { context: format!("opening {}", path.display()), source })
}

#[pymodule]
fn _chunkdelta(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<PatchInfo>()?;
    m.add_class::<patch_info::Signature>()?;
    m.add_class::<patch_info::ExecInfo>()?;
    m.add_function(wrap_pyfunction!(diff, m)?)?;
    m.add_function(wrap_pyfunction!(apply, m)?)?;
    m.add_function(wrap_pyfunction!(diff_file, m)?)?;
    m.add_function(wrap_pyfunction!(apply_file, m)?)?;
    m.add_function(wrap_pyfunction!(verify_file, m)?)?;
    m.add_function(wrap_pyfunction!(info, m)?)?;
    m.add_function(wrap_pyfunction!(trust::keygen, m)?)?;
    m.add_function(wrap_pyfunction!(trust::sign, m)?)?;
    m.add_function(wrap_pyfunction!(trust::sign_file, m)?)?;
    tree::register(m)?;
    hashing::register(m)?;
    Ok(())
}
