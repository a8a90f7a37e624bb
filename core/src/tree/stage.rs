//! The apply side of tree patches: check the old files, build the new tree in a staging
//! directory beside the destination, and rename it into place only once every file is
//! written and verified.

use std::fs::{self, File, OpenOptions, Permissions};
use std::io::Write;
use std::ops::Range;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::hash::hash;
use crate::io::{MappedFile, map_file, map_opened, read_opened};
use crate::options::{ApplyOptions, Callback};
use crate::parallel::{Progress, Workers};
use crate::tree::build::old_digest;
use crate::tree::manifest::{EntryKind, FileSource, OldFile, SolidPatch, TreeEntry};
use crate::tree::{TreeInfo, parse, platform, solid};

/// Applies the tree patch at `patch_path` to the directory `old_dir`, creating the directory
/// `out_dir`, which must not exist. `old_dir` is only read.
///
/// Before anything is created, the patch's signatures are checked against
/// [`ApplyOptions::trust`] (if set), and every old file the patch reads is checked (size and
/// blake3; no symlink on its path): a difference is a [`crate::ErrorKind::SourceMismatch`]
/// that names the file. The new tree is then built in a staging directory beside `out_dir`
/// (`.NAME.cdtr-ID`), every file verified by its hash as it is written, symlinks created last
/// (so nothing is ever written through one), and the staging directory renamed to `out_dir`
/// (refusing to replace anything that appeared there meanwhile). The filesystem must have room
/// for the new tree's files before staging starts (a full-disk [`crate::ErrorKind::Io`]
/// otherwise). On failure it is removed:
/// `out_dir` exists only complete. Regular files get their permission bits (`0o777` at most),
/// directories theirs; owners, times and extended attributes are not carried.
pub fn apply_tree(
    old_dir: impl AsRef<Path>,
    patch_path: impl AsRef<Path>,
    out_dir: impl AsRef<Path>,
    options: &ApplyOptions,
) -> Result<TreeInfo> {
    let out_dir = out_dir.as_ref();
    if fs::symlink_metadata(out_dir).is_ok() {
        return Err(Error::invalid(format!(
            "{} exists: a tree apply creates a new directory",
            out_dir.display()
        )));
    }
    run(old_dir.as_ref(), patch_path.as_ref(), Some(out_dir), options)
}

/// Does everything [`apply_tree`] does, every file patch decoded and checked, without
/// writing anything.
pub fn verify_tree(
    old_dir: impl AsRef<Path>,
    patch_path: impl AsRef<Path>,
    options: &ApplyOptions,
) -> Result<TreeInfo> {
    run(old_dir.as_ref(), patch_path.as_ref(), None, options)
}

fn run(
    old_dir: &Path,
    patch_path: &Path,
    out_dir: Option<&Path>,
    options: &ApplyOptions,
) -> Result<TreeInfo> {
    with_job(old_dir, patch_path, options, false, |job| match out_dir {
        None => job.files(None),
        Some(out_dir) => {
            check_room(out_dir, job.info)?;
            let staging = Staging::create(out_dir)?;
            job.write(&staging.root)?;
            staging.commit(out_dir, options.durable)
        }
    })
}

/// Reads and checks the patch and the old files it needs, then runs `work` with them on the
/// options' workers. `resume` lets [`Job::write`] keep what an interrupted run staged.
pub(super) fn with_job(
    old_dir: &Path,
    patch_path: &Path,
    options: &ApplyOptions,
    resume: bool,
    work: impl FnOnce(&Job<'_>) -> Result<()> + Send,
) -> Result<TreeInfo> {
    let patch = map_file(patch_path)?;
    let (info, parsed) = parse(&patch, options.trust.as_ref())?;
    let workers = Workers::new(options.threads)?;
    workers.run(|| {
        let (old, old_hashes) = read_old_files(old_dir, &info)?;
        let blobs = &patch[parsed.blobs_at..];
        let progress = Progress::new(options.progress.get(), new_bytes(&info));
        work(&Job {
            info: &info,
            old: &old,
            old_hashes: &old_hashes,
            blobs,
            options,
            progress: &progress,
            resume,
        })
    })?;
    Ok(info)
}

/// Fails with a full-disk error, before anything is staged, unless the filesystem that will
/// hold `dest` has room for the new tree's files.
pub(super) fn check_room(dest: &Path, info: &TreeInfo) -> Result<()> {
    let parent = dest.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    platform::check_free_space(parent, new_bytes(info))
}

fn new_bytes(info: &TreeInfo) -> u64 {
    info.entries.iter().map(|e| if let EntryKind::File { size, .. } = e.kind { size } else { 0 }).sum()
}

/// Maps every old file the patch reads and checks its size and hash, in parallel, then (tree
/// format 2) the old digest over all their hashes. Returns the files and their blake3 hashes.
fn read_old_files(root: &Path, info: &TreeInfo) -> Result<(Vec<MappedFile>, Vec<[u8; 32]>)> {
    check_old_dirs(root, &info.old_files)?;
    let small_files = SmallFiles::new();
    let read: Vec<(MappedFile, [u8; 32])> = info
        .old_files
        .par_iter()
        .map(|file| read_old_file(root, file, &small_files))
        .collect::<Result<_>>()?;
    let (files, hashes): (Vec<_>, Vec<_>) = read.into_iter().unzip();
    if let Some(expected) = info.old_digest
        && old_digest(&hashes.iter().collect::<Vec<_>>()) != expected
    {
        return Err(Error::TreeSourceMismatch {
            path: PathBuf::from("."),
            reason: "the old files' hashes together differ from the patch's old digest".into(),
        });
    }
    Ok((files, hashes))
}

/// Which old files are read into memory rather than mapped: those of at most 64 KiB, until
/// they hold 64 MiB together, so a tree of many small files costs one `read` each instead of
/// a map, its page faults and an unmap. On cmake-tree (4,148 of its 4,168 old files are that
/// small, 8.7 MB together) this cut the apply's system calls from 42,647 to 35,385
/// (`strace -f -c`); the wall time could not be told apart on the loaded 2-core machine.
struct SmallFiles {
    left: AtomicU64,
}

impl SmallFiles {
    const MAX_FILE_LEN: u64 = 64 << 10;
    const BUDGET: u64 = 64 << 20;

    fn new() -> Self {
        SmallFiles { left: AtomicU64::new(Self::BUDGET) }
    }

    /// Whether a file of `len` bytes is read; if so, its bytes are taken from the budget.
    fn take(&self, len: u64) -> bool {
        len <= Self::MAX_FILE_LEN
            && self
                .left
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| left.checked_sub(len))
                .is_ok()
    }
}

/// Every directory above an old file, each checked once: a directory, not a symlink. So a
/// patch reads only what is inside the old tree.
fn check_old_dirs(root: &Path, files: &[OldFile]) -> Result<()> {
    let mut dirs = std::collections::BTreeSet::new();
    for file in files {
        for dir in file.path.ancestors().skip(1).take_while(|d| !d.as_os_str().is_empty()) {
            if !dirs.insert(dir) {
                break; // and every directory above it
            }
        }
    }
    for dir in dirs {
        let path = root.join(dir);
        let mismatch = |reason: String| Error::TreeSourceMismatch { path: dir.to_path_buf(), reason };
        match fs::symlink_metadata(&path) {
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => return Err(mismatch(format!("{} is not a directory", path.display()))),
            Err(e) => return Err(mismatch(format!("cannot read it: {e}"))),
        }
    }
    Ok(())
}

/// Reads (see [`SmallFiles`]) or maps one old file, opened without following a symlink, and
/// checks it.
fn read_old_file(root: &Path, file: &OldFile, small_files: &SmallFiles) -> Result<(MappedFile, [u8; 32])> {
    let path = root.join(&file.path);
    let mismatch = |reason: String| Error::TreeSourceMismatch { path: file.path.clone(), reason };
    let opened = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&path)
        .map_err(|e| mismatch(format!("cannot read it (a symlink is never followed): {e}")))?;
    let meta = opened.metadata().map_err(|e| mismatch(format!("cannot read it: {e}")))?;
    if !meta.is_file() {
        return Err(mismatch(format!("{} is not a regular file", path.display())));
    }
    if meta.len() != file.size {
        return Err(mismatch(format!("{} bytes, expected {}", meta.len(), file.size)));
    }
    let data = if small_files.take(meta.len()) {
        read_opened(&opened, meta.len(), &path)?
    } else {
        map_opened(&opened, meta.len(), &path)?
    };
    let found = hash(&data);
    if !file.check.matches(&found) {
        return Err(mismatch("its blake3 differs".into()));
    }
    Ok((data, found))
}

/// One apply or verify: the patch, the checked old files and the options.
pub(super) struct Job<'a> {
    pub(super) info: &'a TreeInfo,
    old: &'a [MappedFile],
    /// The old files' blake3 hashes, checked.
    old_hashes: &'a [[u8; 32]],
    blobs: &'a [u8],
    options: &'a ApplyOptions,
    progress: &'a Progress<'a>,
    /// Whether the staging directory may hold what an interrupted run wrote: intact entries
    /// are kept, others replaced.
    resume: bool,
}

impl Job<'_> {
    /// Directories, then files in parallel, then symlinks and hard links, then mtimes and
    /// directory modes.
    pub(super) fn write(&self, root: &Path) -> Result<()> {
        self.write_content(root)?;
        self.finish_dirs(root)
    }

    /// Directories, then files in parallel, then symlinks and hard links.
    pub(super) fn write_content(&self, root: &Path) -> Result<()> {
        for entry in self.info.entries.iter().filter(|e| e.kind == EntryKind::Dir) {
            let path = root.join(&entry.path);
            if self.resume && fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir()) {
                // An interrupted run may have set its final, perhaps read-only, mode.
                fs::set_permissions(&path, Permissions::from_mode(0o700))
                    .map_err(|e| Error::io(format!("setting permissions of {}", path.display()), e))?;
                continue;
            }
            let path = self.target(root, entry)?;
            fs::create_dir(&path).map_err(|e| creating(&path, e))?;
        }
        self.files(Some(root))?;
        for entry in &self.info.entries {
            match &entry.kind {
                EntryKind::Symlink { target } => {
                    let path = self.target(root, entry)?;
                    std::os::unix::fs::symlink(target, &path).map_err(|e| creating(&path, e))?;
                }
                EntryKind::HardLink { target } => {
                    let path = self.target(root, entry)?;
                    fs::hard_link(root.join(&self.info.entries[*target].path), &path)
                        .map_err(|e| creating(&path, e))?;
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// The mtimes of files and symlinks, then the directories' modes and mtimes, deepest
    /// first (so that nothing created or changed later moves a directory's mtime).
    pub(super) fn finish_dirs(&self, root: &Path) -> Result<()> {
        for entry in self.info.entries.iter().filter(|e| e.kind != EntryKind::Dir) {
            if let Some(mtime) = entry.mtime {
                platform::set_mtime(&root.join(&entry.path), mtime)?;
            }
        }
        for entry in self.info.entries.iter().rev().filter(|e| e.kind == EntryKind::Dir) {
            let path = root.join(&entry.path);
            fs::set_permissions(&path, Permissions::from_mode(entry.mode))
                .map_err(|e| Error::io(format!("setting permissions of {}", path.display()), e))?;
            if let Some(mtime) = entry.mtime {
                platform::set_mtime(&path, mtime)?;
            }
        }
        Ok(())
    }

    /// Makes (under `root`) or checks (without) every file: copies and tree format 1's own
    /// file patches in parallel, then the solid files. Nothing is synced here: a durable
    /// apply syncs the whole staged tree once, before it is renamed into place.
    pub(super) fn files(&self, root: Option<&Path>) -> Result<()> {
        let mut at = 0u64;
        let mut jobs = Vec::new();
        for entry in &self.info.entries {
            if let EntryKind::File { source, .. } = entry.kind
                && !matches!(source, FileSource::Solid { .. })
            {
                let len = source.blob_len();
                jobs.push((entry, at as usize..(at + len) as usize));
                at += len;
            }
        }
        let inner = self.inner_options();
        jobs.par_iter().try_for_each(|(entry, blob)| {
            self.progress.check()?;
            self.file(entry, blob.clone(), root, &inner)?;
            let EntryKind::File { size, .. } = entry.kind else { unreachable!("files only") };
            self.progress.advance(size)
        })?;
        self.solid_files(&self.blobs[at as usize..], root)
    }

    /// Options for the embedded file patches: no trust (the tree patch's signatures cover
    /// them), no progress of their own, no syncs.
    fn inner_options(&self) -> ApplyOptions {
        ApplyOptions { trust: None, progress: Callback::default(), durable: false, ..self.options.clone() }
    }

    /// Makes or checks the solid files from the solid file patches, the rest of the payload,
    /// one patch after the other.
    fn solid_files(&self, blobs: &[u8], root: Option<&Path>) -> Result<()> {
        let mut at = 0;
        for (index, patch) in self.info.solid.iter().enumerate() {
            let blob = &blobs[at..at + patch.len as usize];
            at += patch.len as usize;
            self.solid_patch(index, patch, blob, root)?;
        }
        Ok(())
    }

    /// Makes or checks the files of solid patch `index`. Memory: its bases, concatenated
    /// (none copied when it has one base).
    fn solid_patch(&self, index: usize, patch: &SolidPatch, blob: &[u8], root: Option<&Path>) -> Result<()> {
        let bases: Vec<&[u8]> = patch.bases.iter().map(|&i| &self.old[i][..]).collect();
        let joined;
        let old: &[u8] = match bases[..] {
            [] => &[],
            [only] => only,
            _ => {
                joined = solid::concatenate(&bases)?;
                &joined
            }
        };
        let inner = self.inner_options();
        let container = crate::container::is_container_patch(blob);
        if container && patch.files != 1 {
            return Err(Error::corrupt("a container patch makes more than one solid file"));
        }
        let made = match root {
            None => crate::apply::verify_own(old, blob, &inner),
            Some(root) if container => self.container_file(index, old, blob, root, &inner),
            Some(root) => {
                let mut output = solid::SolidOutput::create(self.solid_pieces(index, root), self.resume)?;
                let made = crate::apply::apply_to_output(old, blob, &mut output, &inner)?;
                output.finish()?;
                Ok(made)
            }
        };
        let made = made.map_err(|e| match e.kind() {
            crate::ErrorKind::SourceMismatch => {
                Error::corrupt("the solid file patch is not made for its bases")
            }
            _ => e,
        })?;
        self.progress.advance(made.head.new_size())
    }

    /// The one file of solid patch `index` when that patch is a container patch
    /// (`CONTAINER-FORMAT.md`): written, rebuilt and verified by the container apply.
    fn container_file(
        &self,
        index: usize,
        old: &[u8],
        blob: &[u8],
        root: &Path,
        inner: &ApplyOptions,
    ) -> Result<crate::ApplyReport> {
        let [piece] = &self.solid_pieces(index, root)[..] else { unreachable!("checked: one file") };
        let permissions = Some(Permissions::from_mode(piece.mode));
        let made = crate::apply::apply_to_file(old, blob, &piece.path, permissions, inner)?;
        if made.head.new_size() != piece.size {
            return Err(Error::corrupt(format!(
                "the container patch of {} makes another size",
                piece.path.display()
            )));
        }
        Ok(made)
    }

    /// The place of each file of solid patch `index` in its output and in the staged tree.
    fn solid_pieces(&self, index: usize, root: &Path) -> Vec<solid::Piece> {
        let mut pieces = Vec::new();
        for entry in &self.info.entries {
            if let EntryKind::File { size, source: FileSource::Solid { patch, offset }, .. } = entry.kind
                && patch == index
            {
                let path = root.join(&entry.path);
                pieces.push(solid::Piece { path, offset, size, mode: entry.mode });
            }
        }
        pieces
    }

    /// The blake3 a file must have: its entry's (tree format 1), or a copy's old file's.
    fn expected_hash(&self, entry_hash: Option<[u8; 32]>, source: FileSource) -> Option<[u8; 32]> {
        entry_hash.or_else(|| source.old().map(|old| self.old_hashes[old]))
    }

    fn file(
        &self,
        entry: &TreeEntry,
        blob: Range<usize>,
        root: Option<&Path>,
        inner: &ApplyOptions,
    ) -> Result<()> {
        let EntryKind::File { size, hash: entry_hash, source } = entry.kind else {
            unreachable!("files only")
        };
        let old: &[u8] = source.old().map_or(&[], |index| &self.old[index]);
        let blob = &self.blobs[blob];
        let expected = self.expected_hash(entry_hash, source);
        if let (Some(root), Some(expected)) = (root.filter(|_| self.resume), expected)
            && staged_intact(&root.join(&entry.path), size, &expected)
        {
            return Ok(());
        }
        let made = match (source, root) {
            (FileSource::Copy { .. }, None) => return Ok(()),
            (FileSource::Copy { .. }, Some(root)) => {
                return write_copy(&self.target(root, entry)?, old, entry.mode);
            }
            (_, None) => crate::apply::verify_own(old, blob, inner)?,
            (_, Some(root)) => {
                let permissions = Some(Permissions::from_mode(entry.mode));
                let path = absent(self.target(root, entry)?)?;
                crate::apply::apply_to_file(old, blob, &path, permissions, inner)?
            }
        };
        if (made.head.new_size(), Some(made.new_hash)) != (size, expected) {
            return Err(Error::corrupt(format!(
                "the file patch of {} makes other content than its entry",
                entry.path.display()
            )));
        }
        Ok(())
    }
}

impl Job<'_> {
    /// `root/entry`, to be created exclusively (see [`creating`]). When resuming, what an
    /// interrupted run left there is removed first.
    fn target(&self, root: &Path, entry: &TreeEntry) -> Result<PathBuf> {
        let path = root.join(&entry.path);
        if self.resume && fs::symlink_metadata(&path).is_ok_and(|m| !m.is_dir()) {
            fs::remove_file(&path).map_err(|e| Error::io(format!("removing {}", path.display()), e))?;
        }
        Ok(path)
    }
}

/// Whether `path` is a regular file with this size and hash: a file an interrupted run
/// finished.
fn staged_intact(path: &Path, size: u64, expected: &[u8; 32]) -> bool {
    let is_file = fs::symlink_metadata(path).is_ok_and(|m| m.is_file() && m.len() == size);
    is_file && map_file(path).is_ok_and(|data| hash(&data) == *expected)
}

/// `path`, which must not exist yet (for a file that is renamed into place rather than
/// created exclusively).
fn absent(path: PathBuf) -> Result<PathBuf> {
    if fs::symlink_metadata(&path).is_ok() {
        return Err(creating(&path, std::io::ErrorKind::AlreadyExists.into()));
    }
    Ok(path)
}

/// The error of creating an entry at `path`. Entries are created exclusively (`O_EXCL`,
/// `mkdir`, `symlink`), so one that exists already is found here: on a case-insensitive
/// filesystem, two entries that differ only in case name one file, and the second is refused.
pub(super) fn creating(path: &Path, error: std::io::Error) -> Error {
    if error.kind() == std::io::ErrorKind::AlreadyExists {
        let context =
            format!("creating {} (another entry names the same file on this filesystem)", path.display());
        return Error::io(context, error);
    }
    Error::io(format!("creating {}", path.display()), error)
}

fn write_copy(path: &Path, content: &[u8], mode: u32) -> Result<()> {
    let context = |what: &str| format!("{what} {}", path.display());
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(|e| creating(path, e))?;
    file.write_all(content).map_err(|e| Error::io(context("writing"), e))?;
    file.set_permissions(Permissions::from_mode(mode))
        .map_err(|e| Error::io(context("setting permissions of"), e))
}

pub(super) fn sync(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|dir| dir.sync_all())
        .map_err(|e| Error::io(format!("syncing {}", dir.display()), e))
}

/// The directory a new tree is built in, beside its destination; removed unless committed.
struct Staging {
    root: PathBuf,
    committed: bool,
}

impl Staging {
    fn create(dest: &Path) -> Result<Self> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let name = dest
            .file_name()
            .ok_or_else(|| Error::invalid(format!("output path {} has no name", dest.display())))?;
        let tag = format!("{}-{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed));
        let parent = dest.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let root = parent.join(format!(".{}.cdtr-{tag}", name.to_string_lossy()));
        fs::create_dir(&root).map_err(|e| Error::io(format!("creating {}", root.display()), e))?;
        Ok(Staging { root, committed: false })
    }

    fn commit(mut self, dest: &Path, durable: bool) -> Result<()> {
        if durable {
            platform::sync_tree(&self.root)?;
        }
        platform::rename_no_replace(&self.root, dest)?;
        self.committed = true;
        if let Some(parent) = dest.parent().filter(|p| !p.as_os_str().is_empty() && durable) {
            sync(parent)?;
        }
        Ok(())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_dir_all(&self.root);
        }
    }
}
