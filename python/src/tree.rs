//! Release trees: `diff_tree`, `apply_tree`, `verify_tree`, `apply_tree_in_place`,
//! `commit_tree`, `rollback_tree`, `recover_tree` and `tree_info`, with the classes they return
//! (`TreeInfo`, `TreeEntry`, `OldFile`, `InPlaceReport`). Paths in results are `str`, relative
//! to the tree's root, decoded as `os.fsdecode` does (undecodable bytes as surrogates).

use std::ffi::{OsStr, OsString};
use std::path::PathBuf;

use chunkdelta::{EntryKind, FileSource, Recovered};
use pyo3::prelude::*;

use crate::args::PatchSource;
use crate::patch_info::{Signature, hex};
use crate::run::{DiffArgs, Job};
use crate::trust::{Metadata, Password, TrustArgs, require_trust, sign_while_diffing};

/// One file of the old tree that a tree patch reads; apply checks its size and hash first.
#[pyclass(frozen, eq, get_all, module = "chunkdelta", name = "OldFile")]
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct OldFile {
    /// Path relative to the old tree's root.
    path: OsString,
    /// Size in bytes.
    size: u64,
    /// blake3 of the content, hex.
    hash: String,
}

/// `path` quoted for a `__repr__`, as Python quotes a plain `str`.
fn quoted(path: &OsStr) -> String {
    format!("'{}'", path.to_string_lossy())
}

#[pymethods]
impl OldFile {
    fn __repr__(&self) -> String {
        format!("OldFile(path={}, size={}, hash='{}')", quoted(&self.path), self.size, self.hash)
    }
}

/// One entry of the new tree and how apply makes it.
///
/// ``kind`` is ``"file"``, ``"dir"`` or ``"symlink"``. For a file, ``size`` and ``hash``
/// (blake3, hex) describe its content and ``op`` says how it is made: ``"copy"`` of the old
/// file ``old`` (no payload: unchanged, moved or duplicated content), ``"solid"`` (tree format
/// 2: made by the tree's solid file patches, ``TreeInfo.solid_len`` bytes in all against
/// ``TreeInfo.solid_bases``; ``hash`` is None), or in tree format 1 ``"patch"`` against the
/// old file ``old`` with an embedded file patch of ``blob_len`` bytes, or ``"literal"`` (a
/// file patch of ``blob_len`` bytes against an empty file). For a symlink, ``target`` is what
/// it points to. Fields that do not apply are None.
#[pyclass(frozen, eq, get_all, module = "chunkdelta", name = "TreeEntry")]
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TreeEntry {
    /// Path relative to the new tree's root.
    path: OsString,
    /// "file", "dir", "symlink" or "hardlink" (tree format 3: another name of a file entry).
    kind: &'static str,
    /// Permission bits (0o777 at most); 0 for symlinks and hard links.
    mode: u32,
    /// A file's size in bytes.
    size: Option<u64>,
    /// A file's blake3, hex (tree format 1 only).
    hash: Option<String>,
    /// How a file is made: "copy", "solid", or in tree format 1 "patch" or "literal".
    op: Option<&'static str>,
    /// The old file a copy or patch reads, as a path of the old tree.
    old: Option<OsString>,
    /// Size of a patched or literal file's embedded file patch (0 for a copy).
    blob_len: Option<u64>,
    /// A symlink's target, or the path of the file entry a hard link names.
    target: Option<OsString>,
    /// Tree format 3, when the patch records modification times: this entry's, in
    /// nanoseconds since the epoch (as ``os.stat``'s ``st_mtime_ns``).
    mtime_ns: Option<i128>,
}

#[pymethods]
impl TreeEntry {
    fn __repr__(&self) -> String {
        let mut text =
            format!("TreeEntry(path={}, kind='{}', mode={:#o}", quoted(&self.path), self.kind, self.mode);
        if let (Some(size), Some(op)) = (self.size, self.op) {
            text += &format!(", size={size}, op='{op}'");
        }
        if let Some(old) = &self.old {
            text += &format!(", old={}", quoted(old));
        }
        if let Some(target) = &self.target {
            text += &format!(", target={}", quoted(target));
        }
        if let Some(mtime_ns) = self.mtime_ns {
            text += &format!(", mtime_ns={mtime_ns}");
        }
        text + ")"
    }
}

impl TreeEntry {
    fn new(entry: &chunkdelta::TreeEntry, info: &chunkdelta::TreeInfo) -> Self {
        let old_files = &info.old_files;
        let mut out = TreeEntry {
            path: entry.path.clone().into_os_string(),
            kind: "unknown",
            mode: entry.mode,
            size: None,
            hash: None,
            op: None,
            old: None,
            blob_len: None,
            target: None,
            mtime_ns: entry.mtime.map(|m| i128::from(m.secs) * 1_000_000_000 + i128::from(m.nanos)),
        };
        match &entry.kind {
            EntryKind::File { size, hash, source } => {
                out.kind = "file";
                out.size = Some(*size);
                out.hash = hash.as_ref().map(hex);
                out.blob_len = Some(source.blob_len());
                out.old =
                    source.old().and_then(|i| old_files.get(i)).map(|old| old.path.clone().into_os_string());
                out.op = Some(match source {
                    FileSource::Copy { .. } => "copy",
                    FileSource::Patch { .. } => "patch",
                    FileSource::Literal { .. } => "literal",
                    FileSource::Solid { .. } => "solid",
                    // A way of making a file added to the core after this binding.
                    _ => "unknown",
                });
            }
            EntryKind::Dir => out.kind = "dir",
            EntryKind::Symlink { target } => {
                out.kind = "symlink";
                out.target = Some(target.clone().into_os_string());
            }
            EntryKind::HardLink { target } => {
                out.kind = "hardlink";
                out.target = info.entries.get(*target).map(|file| file.path.clone().into_os_string());
            }
            // An entry kind added to the core after this binding keeps kind "unknown".
            _ => {}
        }
        out
    }
}

/// What a tree patch says about itself: every entry of the new tree (sorted by path, so a
/// directory precedes its content), the old files it reads, the old paths it removes, and its
/// signatures. Hashes are blake3, as lower-case hex.
#[pyclass(frozen, eq, get_all, module = "chunkdelta", name = "TreeInfo")]
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TreeInfo {
    /// The tree format version.
    format_version: u16,
    /// Every entry of the new tree.
    entries: Vec<TreeEntry>,
    /// The old files the patch reads, sorted by path.
    old_files: Vec<OldFile>,
    /// Tree format 2: total size of the solid file patches that make every file not copied.
    solid_len: Option<u64>,
    /// Tree format 2: the old files the solid file patches are made against, patch by patch.
    solid_bases: Vec<OsString>,
    /// Paths of the old tree that the new one does not have.
    removed: Vec<OsString>,
    /// Size of the whole patch in bytes.
    patch_size: u64,
    /// blake3 of the decompressed manifest, hex.
    manifest_hash: String,
    /// What every signature covers, hex; adding a signature leaves it unchanged.
    signing_digest: String,
    /// The patch's signatures; empty when unsigned.
    signatures: Vec<Signature>,
}

#[pymethods]
impl TreeInfo {
    fn __repr__(&self) -> String {
        format!(
            "TreeInfo(format_version={}, entries=<{}>, old_files=<{}>, removed=<{}>, patch_size={}, \
             signatures=[{}])",
            self.format_version,
            self.entries.len(),
            self.old_files.len(),
            self.removed.len(),
            self.patch_size,
            self.signatures.iter().map(Signature::__repr__).collect::<Vec<_>>().join(", ")
        )
    }
}

impl From<&chunkdelta::TreeInfo> for TreeInfo {
    fn from(info: &chunkdelta::TreeInfo) -> Self {
        TreeInfo {
            format_version: info.format_version,
            entries: info.entries.iter().map(|entry| TreeEntry::new(entry, info)).collect(),
            old_files: info
                .old_files
                .iter()
                .map(|old| OldFile {
                    path: old.path.clone().into_os_string(),
                    size: old.size,
                    hash: old.check.as_bytes().iter().map(|b| format!("{b:02x}")).collect(),
                })
                .collect(),
            solid_len: (!info.solid.is_empty()).then(|| info.solid.iter().map(|solid| solid.len).sum()),
            solid_bases: info
                .solid
                .iter()
                .flat_map(|solid| &solid.bases)
                .map(|&i| info.old_files[i].path.clone().into_os_string())
                .collect(),
            removed: info.removed.iter().map(|path| path.clone().into_os_string()).collect(),
            patch_size: info.patch_size,
            manifest_hash: hex(&info.manifest_hash),
            signing_digest: hex(&info.signing_digest),
            signatures: info.signatures.iter().map(Signature::from).collect(),
        }
    }
}

/// What ``apply_tree_in_place`` did: ``info`` of the patch, ``carried`` (the paths of the
/// directory that the patch did not know, such as a user's files, carried into the new tree)
/// and ``resumed`` (whether an interrupted earlier run of the same patch was continued, or had
/// already swapped).
#[pyclass(frozen, eq, get_all, module = "chunkdelta", name = "InPlaceReport")]
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct InPlaceReport {
    /// The patch's description.
    info: TreeInfo,
    /// Paths carried over from the directory into the new tree.
    carried: Vec<OsString>,
    /// Whether an earlier, interrupted run was continued.
    resumed: bool,
}

#[pymethods]
impl InPlaceReport {
    fn __repr__(&self) -> String {
        let carried = self.carried.iter().map(|path| quoted(path)).collect::<Vec<_>>().join(", ");
        let resumed = if self.resumed { "True" } else { "False" };
        format!("InPlaceReport(info={}, carried=[{carried}], resumed={resumed})", self.info.__repr__())
    }
}

/// Diffs the directory ``old_dir`` into ``new_dir``, writes a tree patch to ``patch_path``
/// (which appears only once complete) and describes it.
///
/// Regular files (bytes and permission bits), directories (empty ones too) and symlinks
/// (their targets, never followed) are recorded. Content found anywhere in the old tree costs
/// no payload (moves, copies); a changed file is diffed against the old file that shares most
/// of its content. Devices, fifos, sockets and names that differ only in case raise
/// ``ValueError``. ``hard_links=True`` keeps files that are one file under several names so
/// (as rsync ``-H``; else each name is a copy of its own) and ``mtimes=True`` records every
/// entry's modification time, which apply sets (as rsync ``-t``); either makes a tree format
/// 3 patch when it records something. ``progress(done, total)`` counts bytes of the new
/// tree's files. The other options are those of ``diff_file``, applied to each file's patch;
/// ``sign_key`` signs the tree patch.
#[pyfunction]
#[pyo3(signature = (old_dir, new_dir, patch_path, *, level=None, threads=None, chunk_size=None, memory=None, codec=None, hard_links=false, mtimes=false, progress=None, sign_key=None, key_password=None, expires=None, product=None, release=None))]
#[allow(clippy::too_many_arguments)] // the Python signature, keyword-only options included
fn diff_tree(
    py: Python<'_>,
    old_dir: PathBuf,
    new_dir: PathBuf,
    patch_path: PathBuf,
    level: Option<i64>,
    threads: Option<i64>,
    chunk_size: Option<i64>,
    memory: Option<i64>,
    codec: Option<&str>,
    hard_links: bool,
    mtimes: bool,
    progress: Option<Bound<'_, PyAny>>,
    sign_key: Option<PathBuf>,
    key_password: Option<Password>,
    expires: Option<i64>,
    product: Option<String>,
    release: Option<i64>,
) -> PyResult<TreeInfo> {
    let job = Job::new(progress)?;
    let options = job.diff_options(&DiffArgs { codec, level, threads, chunk_size, memory })?;
    let options = options.hard_links(hard_links).mtimes(mtimes);
    let metadata = Metadata { created: None, expires, product, release };
    let options = sign_while_diffing(py, options, sign_key.as_deref(), key_password.as_ref(), metadata)?;
    let paths = [old_dir.as_path(), &new_dir, &patch_path];
    let info = job.run(py, &paths, || chunkdelta::diff_tree(&old_dir, &new_dir, &patch_path, &options))?;
    Ok(TreeInfo::from(&info))
}

/// Applies the tree patch ``patch_path`` to the directory ``old_dir``, creating the directory
/// ``out_dir`` (which must not exist: ``ValueError``), and describes the patch. ``old_dir`` is
/// only read.
///
/// Before anything is created, the signatures are checked when ``trusted_keys`` or
/// ``trust_dir`` is given (as in ``apply``: ``UntrustedPatchError``), and every old file the
/// patch reads is checked, size and blake3: a difference raises ``SourceMismatchError``
/// naming the file. The new tree is built beside ``out_dir`` and renamed to it once complete
/// and verified, so on any failure ``out_dir`` does not exist. ``durable=False`` skips the
/// fsyncs; ``progress`` works as in ``apply_file``.
#[pyfunction]
#[pyo3(signature = (old_dir, patch_path, out_dir, *, threads=None, durable=true, progress=None, trusted_keys=None, trust_dir=None, product=None, min_release=None))]
#[allow(clippy::too_many_arguments)] // the Python signature, keyword-only options included
fn apply_tree(
    py: Python<'_>,
    old_dir: PathBuf,
    patch_path: PathBuf,
    out_dir: PathBuf,
    threads: Option<i64>,
    durable: bool,
    progress: Option<Bound<'_, PyAny>>,
    trusted_keys: Option<Vec<PathBuf>>,
    trust_dir: Option<PathBuf>,
    product: Option<String>,
    min_release: Option<i64>,
) -> PyResult<TreeInfo> {
    let job = Job::new(progress)?;
    let trust = TrustArgs { trusted_keys, trust_dir, product, min_release };
    let options = require_trust(py, job.apply_options(threads, durable)?, trust)?;
    let paths = [old_dir.as_path(), &patch_path, &out_dir];
    let info = job.run(py, &paths, || chunkdelta::apply_tree(&old_dir, &patch_path, &out_dir, &options))?;
    Ok(TreeInfo::from(&info))
}

/// Checks everything ``apply_tree`` checks, every file patch decoded, without writing
/// anything, and describes the patch; raises on any problem.
#[pyfunction]
#[pyo3(signature = (old_dir, patch_path, *, threads=None, progress=None, trusted_keys=None, trust_dir=None, product=None, min_release=None))]
#[allow(clippy::too_many_arguments)] // the Python signature, keyword-only options included
fn verify_tree(
    py: Python<'_>,
    old_dir: PathBuf,
    patch_path: PathBuf,
    threads: Option<i64>,
    progress: Option<Bound<'_, PyAny>>,
    trusted_keys: Option<Vec<PathBuf>>,
    trust_dir: Option<PathBuf>,
    product: Option<String>,
    min_release: Option<i64>,
) -> PyResult<TreeInfo> {
    let job = Job::new(progress)?;
    let trust = TrustArgs { trusted_keys, trust_dir, product, min_release };
    let options = require_trust(py, job.apply_options(threads, true)?, trust)?;
    let paths = [old_dir.as_path(), &patch_path];
    let info = job.run(py, &paths, || chunkdelta::verify_tree(&old_dir, &patch_path, &options))?;
    Ok(TreeInfo::from(&info))
}

/// Upgrades the directory ``dir`` with the tree patch ``patch_path`` so that at every moment,
/// even after a kill or a power cut, ``dir`` is the complete old tree or the complete new one.
///
/// The new tree is staged in ``.NAME.cdtr`` beside ``dir`` (same filesystem), checked as
/// ``apply_tree`` checks, then swapped with ``dir`` in one atomic exchange. Files in ``dir``
/// that the patch does not know (a user's configuration, a plugin) are carried into the new
/// tree and listed in the report. The old tree is kept until ``commit_tree`` or
/// ``rollback_tree``; another update is refused until then. Called again with the same patch
/// after a kill, it resumes. The keywords are those of ``apply_tree``.
///
/// A refused patch (signature, changed old file) leaves ``dir`` unchanged and nothing beside
/// it. A later failure before the swap (cancellation, a full disk) leaves the state directory
/// beside it: rerunning the same call resumes, and ``recover_tree`` removes it
/// (``"discarded-staging"``); until one of the two, another patch is refused.
#[pyfunction]
#[pyo3(signature = (dir, patch_path, *, threads=None, durable=true, progress=None, trusted_keys=None, trust_dir=None, product=None, min_release=None))]
#[allow(clippy::too_many_arguments)] // the Python signature, keyword-only options included
fn apply_tree_in_place(
    py: Python<'_>,
    dir: PathBuf,
    patch_path: PathBuf,
    threads: Option<i64>,
    durable: bool,
    progress: Option<Bound<'_, PyAny>>,
    trusted_keys: Option<Vec<PathBuf>>,
    trust_dir: Option<PathBuf>,
    product: Option<String>,
    min_release: Option<i64>,
) -> PyResult<InPlaceReport> {
    let job = Job::new(progress)?;
    let trust = TrustArgs { trusted_keys, trust_dir, product, min_release };
    let options = require_trust(py, job.apply_options(threads, durable)?, trust)?;
    let paths = [dir.as_path(), &patch_path];
    let report = job.run(py, &paths, || chunkdelta::apply_tree_in_place(&dir, &patch_path, &options))?;
    Ok(InPlaceReport {
        info: TreeInfo::from(&report.info),
        carried: report.carried.into_iter().map(PathBuf::into_os_string).collect(),
        resumed: report.resumed,
    })
}

/// Ends an in-place update that swapped: deletes the old tree and the state directory beside
/// ``dir``, which then holds exactly the new tree and the carried files. Without a swapped
/// update it raises ``ValueError``.
#[pyfunction]
fn commit_tree(py: Python<'_>, dir: PathBuf) -> PyResult<()> {
    Job::new(None)?.run(py, &[&dir], || chunkdelta::commit_tree(&dir))
}

/// Undoes an in-place update of ``dir``: swaps the old tree back if the update had swapped and
/// removes the new one and the state directory. Safe to rerun after a kill; with no update
/// pending it raises ``ValueError``.
#[pyfunction]
fn rollback_tree(py: Python<'_>, dir: PathBuf) -> PyResult<()> {
    Job::new(None)?.run(py, &[&dir], || chunkdelta::rollback_tree(&dir))
}

/// Brings ``dir`` and its state directory to a consistent state after a kill, without the
/// patch, and says what it found: ``"nothing"`` (no update pending), ``"discarded-staging"``
/// (the update had not swapped: ``dir`` holds the old tree), ``"swapped"`` (``dir`` holds the
/// new tree, awaiting ``commit_tree`` or ``rollback_tree``) or ``"rolled-back"`` (a rollback
/// under way was finished).
#[pyfunction]
fn recover_tree(py: Python<'_>, dir: PathBuf) -> PyResult<&'static str> {
    Ok(match Job::new(None)?.run(py, &[&dir], || chunkdelta::recover_tree(&dir))? {
        Recovered::Nothing => "nothing",
        Recovered::DiscardedStaging => "discarded-staging",
        Recovered::Swapped => "swapped",
        Recovered::RolledBack => "rolled-back",
        // A state added to the core after this binding: `dir` is consistent, whatever it is.
        _ => "unknown",
    })
}

/// Reads a tree patch (a path as str or os.PathLike, or the patch as bytes-like) and checks
/// its structure: header, signature block, manifest, and that the file patches fill the rest
/// exactly (they are not decoded). Anything but a tree patch raises ``CorruptPatchError``.
#[pyfunction]
fn tree_info(py: Python<'_>, patch: PatchSource<'_>) -> PyResult<TreeInfo> {
    let job = Job::new(None)?;
    let info = match &patch {
        PatchSource::Path(path) => job.run(py, &[path], || chunkdelta::read_tree_info_file(path))?,
        PatchSource::Bytes(bytes) => {
            let bytes = bytes.as_bytes();
            job.run(py, &[], || chunkdelta::read_tree_info(bytes))?
        }
    };
    Ok(TreeInfo::from(&info))
}

/// Adds the classes and functions of this module to the native module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<TreeInfo>()?;
    m.add_class::<TreeEntry>()?;
    m.add_class::<OldFile>()?;
    m.add_class::<InPlaceReport>()?;
    m.add_function(wrap_pyfunction!(diff_tree, m)?)?;
    m.add_function(wrap_pyfunction!(apply_tree, m)?)?;
    m.add_function(wrap_pyfunction!(verify_tree, m)?)?;
    m.add_function(wrap_pyfunction!(apply_tree_in_place, m)?)?;
    m.add_function(wrap_pyfunction!(commit_tree, m)?)?;
    m.add_function(wrap_pyfunction!(rollback_tree, m)?)?;
    m.add_function(wrap_pyfunction!(recover_tree, m)?)?;
    m.add_function(wrap_pyfunction!(tree_info, m)?)?;
    Ok(())
}
