//! Upgrading a directory in place, atomically, with the old tree kept until commit.
//!
//! Everything lives in a state directory beside the target, `.NAME.cdtr` (never inside it:
//! that would break, for one, macOS code signatures): `tree/`, where the new tree is staged
//! and which holds the old tree after the swap, and `journal`, which names the patch, the
//! intent (apply or rollback) and the identities (device and inode) of the old and the staged
//! tree. The swap is one atomic exchange of the two directory names, so the target is at every
//! moment either the complete old tree or the complete new one, and which of the two it is can
//! always be read from its inode, whatever moment a kill or power cut chose.

use std::collections::HashSet;
use std::fs::{self, Permissions};
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::options::ApplyOptions;
use crate::tree::stage::{check_room, sync, with_job};
use crate::tree::walk::{FoundKind, walk};
use crate::tree::{TreeInfo, platform, read_tree_info_file};

/// What [`apply_tree_in_place`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct InPlaceReport {
    /// The patch's manifest.
    pub info: TreeInfo,
    /// Paths in the directory that the patch did not know (a user's files) and that were
    /// carried into the new tree.
    pub carried: Vec<PathBuf>,
    /// Whether an interrupted earlier run of the same patch was continued (or had already
    /// swapped the new tree in).
    pub resumed: bool,
}

/// What [`recover_tree`] found and did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Recovered {
    /// No update was pending.
    Nothing,
    /// An update had not swapped yet: the directory holds the old tree; the staging was removed.
    DiscardedStaging,
    /// An update had swapped: the directory holds the new tree; the old one is kept for
    /// [`commit_tree`] or [`rollback_tree`].
    Swapped,
    /// A rollback was under way; it is finished: the directory holds the old tree.
    RolledBack,
}

/// Upgrades the directory `dir` with the tree patch at `patch_path`, atomically.
///
/// The new tree is staged in `.NAME.cdtr/tree` beside `dir` (same filesystem), every file
/// checked, then exchanged with `dir` in one step (Linux: `renameat2(RENAME_EXCHANGE)`). Files
/// in `dir` that the patch does not know (neither read, nor removed, nor in the new tree: a
/// user's configuration, a plugin) are copied into the new tree first and listed in the
/// report. Trust and every old file are checked before the state directory is created, so a
/// refused patch leaves nothing behind. The old tree stays in `.NAME.cdtr/tree` until
/// [`commit_tree`] (which deletes it)
/// or [`rollback_tree`] (which swaps it back); another update is refused until then. Run again
/// after a kill, the same call resumes: what was staged and verified is kept, a half-written
/// file resumes chunk by chunk. Errors are those of [`crate::apply_tree`].
pub fn apply_tree_in_place(
    dir: impl AsRef<Path>,
    patch_path: impl AsRef<Path>,
    options: &ApplyOptions,
) -> Result<InPlaceReport> {
    let (dir, patch_path) = (dir.as_ref(), patch_path.as_ref());
    let state = State::of(dir)?;
    let resumed = match state.journal()? {
        Some(journal) => {
            let info = read_tree_info_file(patch_path)?;
            journal.expect_patch(&info, &state)?;
            if journal.holds_new(dir)? {
                return Ok(InPlaceReport { info, carried: Vec::new(), resumed: true });
            }
            true
        }
        None => false,
    };
    let mut carried = Vec::new();
    // `with_job` checks trust and every old file before this runs: a refused patch leaves no
    // state behind that would block the next update.
    let info = with_job(dir, patch_path, options, resumed, |job| {
        if !resumed {
            check_room(dir, job.info)?;
            state.begin(dir, job.info)?;
        }
        job.write_content(&state.tree)?;
        carried = carry_extras(dir, &state.tree, job.info)?;
        job.finish_dirs(&state.tree)
    })?;
    if options.durable {
        platform::sync_tree(&state.tree)?;
    }
    platform::exchange(dir, &state.tree)?;
    sync_parent(dir)?;
    Ok(InPlaceReport { info, carried, resumed })
}

/// Ends an in-place update that swapped: deletes the old tree and the state directory. An
/// update that has not swapped (or no update) is an [`crate::ErrorKind::InvalidArgument`].
pub fn commit_tree(dir: impl AsRef<Path>) -> Result<()> {
    let dir = dir.as_ref();
    let state = State::of(dir)?;
    match state.journal()? {
        Some(journal) if journal.intent == Intent::Apply && journal.holds_new(dir)? => state.remove(),
        _ => Err(Error::invalid(format!("{} has no swapped update to commit (see recover)", dir.display()))),
    }
}

/// Undoes an in-place update: swaps the old tree back (if the update had swapped) and removes
/// the new one and the state directory. Safe to rerun after a kill.
pub fn rollback_tree(dir: impl AsRef<Path>) -> Result<()> {
    let dir = dir.as_ref();
    let state = State::of(dir)?;
    let Some(mut journal) = state.journal()? else {
        return Err(Error::invalid(format!("{} has no update to roll back", dir.display())));
    };
    if journal.holds_new(dir)? {
        journal.intent = Intent::Rollback;
        state.write_journal(&journal)?;
        platform::exchange(dir, &state.tree)?;
        sync_parent(dir)?;
    }
    state.remove()
}

/// Brings `dir` and its state directory to a consistent state after a kill, without the
/// patch: an update that had not swapped is discarded, a rollback under way is finished, and
/// a swapped update is kept (for [`commit_tree`] or [`rollback_tree`]).
pub fn recover_tree(dir: impl AsRef<Path>) -> Result<Recovered> {
    let dir = dir.as_ref();
    let state = State::of(dir)?;
    let Some(journal) = state.journal()? else {
        if state.root.exists() {
            state.remove()?;
        }
        return Ok(Recovered::Nothing);
    };
    match (journal.intent, journal.holds_new(dir)?) {
        (Intent::Apply, true) => Ok(Recovered::Swapped),
        (Intent::Apply, false) => state.remove().map(|()| Recovered::DiscardedStaging),
        (Intent::Rollback, _) => rollback_tree(dir).map(|()| Recovered::RolledBack),
    }
}

/// The state directory of a target directory.
struct State {
    root: PathBuf,
    tree: PathBuf,
    journal: PathBuf,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Intent {
    Apply,
    Rollback,
}

/// What the journal records.
struct Journal {
    patch: String,
    old: (u64, u64),
    new: (u64, u64),
    intent: Intent,
}

const JOURNAL_HEADER: &str = "chunkdelta tree journal 1";

impl State {
    fn of(dir: &Path) -> Result<Self> {
        let meta =
            fs::symlink_metadata(dir).map_err(|e| Error::io(format!("reading {}", dir.display()), e))?;
        if !meta.is_dir() {
            return Err(Error::invalid(format!(
                "{} is not a directory (symlinks are not followed)",
                dir.display()
            )));
        }
        let name = dir.file_name().ok_or_else(|| Error::invalid(format!("{} has no name", dir.display())))?;
        let parent = dir.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let root = parent.join(format!(".{}.cdtr", name.to_string_lossy()));
        Ok(State { tree: root.join("tree"), journal: root.join("journal"), root })
    }

    /// Creates the state directory and staging tree afresh, then the journal.
    fn begin(&self, dir: &Path, info: &TreeInfo) -> Result<()> {
        if self.root.exists() {
            self.remove()?;
        }
        for path in [&self.root, &self.tree] {
            fs::create_dir(path).map_err(|e| Error::io(format!("creating {}", path.display()), e))?;
        }
        let journal = Journal {
            patch: patch_id(info),
            old: platform::identity(dir)?,
            new: platform::identity(&self.tree)?,
            intent: Intent::Apply,
        };
        self.write_journal(&journal)
    }

    fn journal(&self) -> Result<Option<Journal>> {
        match fs::read_to_string(&self.journal) {
            Ok(text) => Journal::parse(&text).map(Some).ok_or_else(|| {
                Error::corrupt(format!("{} is not a chunkdelta tree journal", self.journal.display()))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(format!("reading {}", self.journal.display()), e)),
        }
    }

    /// Replaces the journal atomically and durably.
    fn write_journal(&self, journal: &Journal) -> Result<()> {
        let temp = self.root.join("journal.tmp");
        let context = |what: &str| format!("{what} {}", temp.display());
        let mut file = fs::File::create(&temp).map_err(|e| Error::io(context("creating"), e))?;
        file.write_all(journal.text().as_bytes()).map_err(|e| Error::io(context("writing"), e))?;
        file.sync_all().map_err(|e| Error::io(context("syncing"), e))?;
        fs::rename(&temp, &self.journal).map_err(|e| Error::io(format!("renaming {}", temp.display()), e))?;
        sync(&self.root)
    }

    /// Deletes the state directory, the tree it holds included.
    fn remove(&self) -> Result<()> {
        remove_tree(&self.root)
    }
}

impl Journal {
    fn text(&self) -> String {
        let intent = if self.intent == Intent::Apply { "apply" } else { "rollback" };
        format!(
            "{JOURNAL_HEADER}\npatch {}\nold {} {}\nnew {} {}\nintent {intent}\n",
            self.patch, self.old.0, self.old.1, self.new.0, self.new.1
        )
    }

    fn parse(text: &str) -> Option<Self> {
        let mut lines = text.lines();
        (lines.next()? == JOURNAL_HEADER).then_some(())?;
        let mut field = |name: &str| lines.next()?.strip_prefix(name)?.strip_prefix(' ').map(str::to_owned);
        let identity = |text: String| -> Option<(u64, u64)> {
            let (dev, ino) = text.split_once(' ')?;
            Some((dev.parse().ok()?, ino.parse().ok()?))
        };
        let patch = field("patch")?;
        let old = identity(field("old")?)?;
        let new = identity(field("new")?)?;
        let intent = match field("intent")?.as_str() {
            "apply" => Intent::Apply,
            "rollback" => Intent::Rollback,
            _ => return None,
        };
        Some(Journal { patch, old, new, intent })
    }

    /// Whether `dir` now holds the staged (new) tree; an error if it holds neither tree.
    fn holds_new(&self, dir: &Path) -> Result<bool> {
        let now = platform::identity(dir)?;
        if now != self.old && now != self.new {
            return Err(Error::invalid(format!(
                "{} was replaced while an update was pending: remove its state directory by hand",
                dir.display()
            )));
        }
        Ok(now == self.new)
    }

    fn expect_patch(&self, info: &TreeInfo, state: &State) -> Result<()> {
        if self.patch != patch_id(info) || self.intent != Intent::Apply {
            return Err(Error::invalid(format!(
                "another update is pending in {}: commit, roll back or recover it first",
                state.root.display()
            )));
        }
        Ok(())
    }
}

/// A tree patch's identity in the journal: its manifest hash.
fn patch_id(info: &TreeInfo) -> String {
    info.manifest_hash.iter().map(|b| format!("{b:02x}")).collect()
}

/// Copies into `tree` every path of `dir` that `info` does not know; returns them. A path
/// that would land under a file or symlink of the new tree is an
/// [`crate::ErrorKind::InvalidArgument`]: it is never written through, and never dropped.
fn carry_extras(dir: &Path, tree: &Path, info: &TreeInfo) -> Result<Vec<PathBuf>> {
    let mut known: HashSet<&Path> = info.entries.iter().map(|e| e.path.as_path()).collect();
    known.extend(info.old_files.iter().map(|f| f.path.as_path()));
    known.extend(info.removed.iter().map(PathBuf::as_path));
    let mut carried = Vec::new();
    for found in walk(dir)? {
        if known.contains(found.path.as_path()) || carried.iter().any(|c: &PathBuf| found.path.starts_with(c))
        {
            continue;
        }
        let dest = tree.join(&found.path);
        make_parents(tree, &found.path)?;
        let (source, context) =
            (dir.join(&found.path), format!("carrying {} into the new tree", found.path.display()));
        let copied = match &found.kind {
            FoundKind::File { .. } => fs::copy(&source, &dest).map(drop),
            FoundKind::Symlink { target } => std::os::unix::fs::symlink(target, &dest),
            FoundKind::Dir => copy_dir(&source, &dest),
        };
        copied.map_err(|e| Error::io(context, e))?;
        carried.push(found.path);
    }
    Ok(carried)
}

/// Creates the missing parents of `relative` under `tree`, refusing any that is not a real
/// directory.
fn make_parents(tree: &Path, relative: &Path) -> Result<()> {
    let mut path = tree.to_path_buf();
    for component in relative.parent().into_iter().flat_map(Path::components) {
        path.push(component);
        match fs::symlink_metadata(&path) {
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => {
                return Err(Error::invalid(format!(
                    "{} cannot be carried into the new tree: {} is not a directory there",
                    relative.display(),
                    path.display()
                )));
            }
            Err(_) => {
                fs::create_dir(&path).map_err(|e| Error::io(format!("creating {}", path.display()), e))?
            }
        }
    }
    Ok(())
}

/// Copies a directory of user files, symlinks not followed.
fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    fs::create_dir(to)?;
    for item in fs::read_dir(from)? {
        let item = item?;
        let (source, dest) = (item.path(), to.join(item.file_name()));
        let kind = item.file_type()?;
        if kind.is_dir() {
            copy_dir(&source, &dest)?;
        } else if kind.is_symlink() {
            std::os::unix::fs::symlink(fs::read_link(&source)?, &dest)?;
        } else {
            fs::copy(&source, &dest)?;
        }
    }
    fs::set_permissions(to, fs::metadata(from)?.permissions())
}

/// Deletes a directory tree, first making each directory writable (a tree may hold
/// read-only directories); symlinks are removed, not followed.
fn remove_tree(path: &Path) -> Result<()> {
    let context = || format!("removing {}", path.display());
    let meta = fs::symlink_metadata(path).map_err(|e| Error::io(context(), e))?;
    if !meta.is_dir() {
        return fs::remove_file(path).map_err(|e| Error::io(context(), e));
    }
    fs::set_permissions(path, Permissions::from_mode(0o700)).map_err(|e| Error::io(context(), e))?;
    for item in fs::read_dir(path).map_err(|e| Error::io(context(), e))? {
        remove_tree(&item.map_err(|e| Error::io(context(), e))?.path())?;
    }
    fs::remove_dir(path).map_err(|e| Error::io(context(), e))
}

fn sync_parent(dir: &Path) -> Result<()> {
    match dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(parent) => sync(parent),
        None => sync(Path::new(".")),
    }
}
