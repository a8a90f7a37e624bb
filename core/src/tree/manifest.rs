//! The manifest of a tree patch (`TREE-FORMAT.md`, "Manifest"): the old files the patch reads
//! and every entry of the new tree, with how each file is made. Decoding checks everything a
//! hostile patch could use to write outside the target: every path is relative, normalised and
//! under a directory entry of the patch, and nothing lies under a symlink.

use std::collections::HashSet;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Longest path, and longest symlink target, in bytes.
pub(crate) const MAX_PATH_LEN: usize = 4096;
/// Permission bits a tree patch carries: read, write and execute for owner, group and others.
pub(crate) const MODE_MASK: u32 = 0o777;

/// Bytes of an old file's blake3 that a version 2 manifest keeps, to name a changed file.
pub(crate) const CHECK_LEN: usize = 4;

/// One file of the old tree that a tree patch reads, with what it must hold.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct OldFile {
    /// Path relative to the old tree's root.
    pub path: PathBuf,
    /// Size in bytes.
    pub size: u64,
    /// What its content is checked against.
    pub check: OldCheck,
}

/// What an old file's content is checked against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum OldCheck {
    /// Tree format 1: its blake3.
    Blake3([u8; 32]),
    /// Tree format 2: the first [`CHECK_LEN`] bytes of its blake3, which name a changed file;
    /// the manifest's old digest covers every old file's whole hash.
    Blake3Prefix([u8; CHECK_LEN]),
}

impl OldCheck {
    /// Whether a file whose blake3 is `hash` passes this check.
    pub fn matches(&self, hash: &[u8; 32]) -> bool {
        match self {
            OldCheck::Blake3(expected) => expected == hash,
            OldCheck::Blake3Prefix(prefix) => hash.starts_with(prefix),
        }
    }

    /// The hash bytes the patch stores: 32, or [`CHECK_LEN`].
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            OldCheck::Blake3(hash) => hash,
            OldCheck::Blake3Prefix(prefix) => prefix,
        }
    }
}

/// How a file of the new tree is made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FileSource {
    /// A copy of old file `old` (an index into [`super::TreeInfo::old_files`]): unchanged,
    /// moved or duplicated content, no payload.
    Copy {
        /// The old file.
        old: usize,
    },
    /// Tree format 1: a chunkdelta file patch of `blob_len` bytes against old file `old`.
    Patch {
        /// The old file.
        old: usize,
        /// Size of the embedded file patch.
        blob_len: u64,
    },
    /// Tree format 1: a chunkdelta file patch of `blob_len` bytes against an empty old file.
    Literal {
        /// Size of the embedded file patch.
        blob_len: u64,
    },
    /// Tree format 2: bytes `offset .. offset + size` of the output of solid file patch
    /// `patch` ([`super::TreeInfo::solid`]).
    Solid {
        /// Which solid patch makes it.
        patch: usize,
        /// Where the file starts in that patch's output.
        offset: u64,
    },
}

impl FileSource {
    /// Size of this file's own embedded file patch: 0 for a copy and a solid file.
    pub fn blob_len(self) -> u64 {
        match self {
            FileSource::Copy { .. } | FileSource::Solid { .. } => 0,
            FileSource::Patch { blob_len, .. } | FileSource::Literal { blob_len } => blob_len,
        }
    }

    /// The old file read by this file alone, if any.
    pub fn old(self) -> Option<usize> {
        match self {
            FileSource::Copy { old } | FileSource::Patch { old, .. } => Some(old),
            FileSource::Literal { .. } | FileSource::Solid { .. } => None,
        }
    }
}

/// What an entry of the new tree is.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EntryKind {
    /// A regular file.
    File {
        /// Size in bytes.
        size: u64,
        /// blake3 of the content (tree format 1; format 2 checks content through the old files
        /// and the solid file patch's hashes instead).
        hash: Option<[u8; 32]>,
        /// How apply makes it.
        source: FileSource,
    },
    /// A directory (empty ones too).
    Dir,
    /// A symbolic link; its target bytes are stored, never followed.
    Symlink {
        /// The target, as `readlink` gives it.
        target: PathBuf,
    },
    /// Tree format 3: another name of a file entry (a hard link): it shares that file's
    /// content, mode and mtime.
    HardLink {
        /// The file entry, an index into the entries, earlier than this one.
        target: usize,
    },
}

/// A modification time: seconds since the Unix epoch (negative before it) and nanoseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mtime {
    /// Whole seconds since 1970-01-01 00:00:00 UTC.
    pub secs: i64,
    /// Nanoseconds, below 10^9.
    pub nanos: u32,
}

/// One entry of the new tree.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TreeEntry {
    /// Path relative to the tree's root: components separated by `/`, none empty, `.` or `..`.
    pub path: PathBuf,
    /// Permission bits (`0o777` at most); 0 for symlinks and hard links.
    pub mode: u32,
    /// What it is.
    pub kind: EntryKind,
    /// Tree format 3, when diff recorded modification times: this entry's (none for a hard
    /// link, which has its file's).
    pub mtime: Option<Mtime>,
}

/// One of tree format 2's solid file patches, which make every file that is not a copy: its
/// old file is the concatenation of `bases` (old files, in this order), its new file the
/// concatenation of its `files` [`FileSource::Solid`] files, in entry order.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SolidPatch {
    /// Indices into the old files.
    pub bases: Vec<usize>,
    /// How many files it makes: the next ones in entry order after the previous patch's.
    pub files: usize,
    /// Size of the file patch.
    pub len: u64,
}

/// The decoded manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Manifest {
    pub(crate) old_files: Vec<OldFile>,
    pub(crate) entries: Vec<TreeEntry>,
    /// Paths of the old tree that the new tree does not have, sorted: with the old files and
    /// the entries, every path of the old tree, so that an in-place apply can tell the files a
    /// user added (which it carries over) from the ones the release removed.
    pub(crate) removed: Vec<PathBuf>,
    /// Tree format 2: blake3 of the old files' blake3 hashes, in order.
    pub(crate) old_digest: Option<[u8; 32]>,
    /// Tree format 2: the solid file patches, in payload order.
    pub(crate) solid: Vec<SolidPatch>,
}

/// Tree format 3's `features` bit: every entry but hard links carries an mtime.
const FEATURE_MTIMES: u8 = 1;
/// Nanoseconds in a second: an mtime's `nanos` is below it.
const NANOS_PER_SEC: u32 = 1_000_000_000;

const KIND_FILE: u8 = 0;
const KIND_DIR: u8 = 1;
const KIND_SYMLINK: u8 = 2;
const KIND_HARD_LINK: u8 = 3;
// Format 1 sources.
const SOURCE_COPY: u8 = 0;
const SOURCE_PATCH: u8 = 1;
const SOURCE_LITERAL: u8 = 2;
// Format 2 sources.
const SOURCE_KEEP: u8 = 0;
const SOURCE_COPY_2: u8 = 1;
const SOURCE_SOLID: u8 = 2;
/// Fewest bytes a record takes, to bound counts by the input: format 1's old file (path of 1
/// byte) and entry, format 2's old file and entry (prefix-coded paths).
const MIN_OLD_LEN: usize = 2 + 1 + 8 + 32;
const MIN_ENTRY_LEN: usize = 2 + 1 + 1 + 4;
const MIN_OLD_LEN_2: usize = 4 + 1 + 8 + CHECK_LEN;
const MIN_ENTRY_LEN_2: usize = 4 + 1 + 1 + 4;
const MIN_SOLID_LEN: usize = 4 + 4 + 8;

impl Manifest {
    /// The tree format this manifest needs: 3 with hard links or mtimes, else 2 (which every
    /// earlier decoder of format 2 reads).
    pub(crate) fn format_version(&self) -> u16 {
        let needs_3 =
            self.mtimes() || self.entries.iter().any(|e| matches!(e.kind, EntryKind::HardLink { .. }));
        if needs_3 { 3 } else { 2 }
    }

    fn mtimes(&self) -> bool {
        self.entries.iter().any(|entry| entry.mtime.is_some())
    }

    /// The manifest of [`Self::format_version`] (`TREE-FORMAT.md`, "Manifest"). Old files
    /// that a keep entry (a copy of the old file at its own path) implies are not listed again.
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        if self.format_version() == 3 {
            out.push(if self.mtimes() { FEATURE_MTIMES } else { 0 });
        }
        out.extend_from_slice(&self.old_digest.unwrap_or_default());
        let kept = self.kept();
        let listed: Vec<&OldFile> =
            self.old_files.iter().enumerate().filter(|(i, _)| !kept.contains(i)).map(|(_, f)| f).collect();
        out.extend_from_slice(&(listed.len() as u32).to_le_bytes());
        let mut previous = Vec::new();
        for old in listed {
            put_prefixed(&mut out, &old.path, &mut previous);
            out.extend_from_slice(&old.size.to_le_bytes());
            out.extend_from_slice(&old.check.as_bytes()[..CHECK_LEN]);
        }
        out.extend_from_slice(&(self.entries.len() as u32).to_le_bytes());
        let mut previous = Vec::new();
        let mtimes = self.mtimes();
        for entry in &self.entries {
            put_prefixed(&mut out, &entry.path, &mut previous);
            self.put_entry(&mut out, entry);
            if mtimes && !matches!(entry.kind, EntryKind::HardLink { .. }) {
                let mtime = entry.mtime.unwrap_or(Mtime { secs: 0, nanos: 0 });
                out.extend_from_slice(&mtime.secs.to_le_bytes());
                out.extend_from_slice(&mtime.nanos.to_le_bytes());
            }
        }
        out.extend_from_slice(&(self.solid.len() as u32).to_le_bytes());
        for patch in &self.solid {
            out.extend_from_slice(&(patch.bases.len() as u32).to_le_bytes());
            patch.bases.iter().for_each(|&i| out.extend_from_slice(&(i as u32).to_le_bytes()));
            out.extend_from_slice(&(patch.files as u32).to_le_bytes());
            out.extend_from_slice(&patch.len.to_le_bytes());
        }
        out.extend_from_slice(&(self.removed.len() as u32).to_le_bytes());
        let mut previous = Vec::new();
        for path in &self.removed {
            put_prefixed(&mut out, path, &mut previous);
        }
        out
    }

    /// Indices of the old files that keep entries imply.
    fn kept(&self) -> HashSet<usize> {
        self.entries.iter().filter_map(|entry| self.keeps(entry)).collect()
    }

    /// The old file `entry` keeps: a copy of the old file at the entry's own path.
    fn keeps(&self, entry: &TreeEntry) -> Option<usize> {
        match entry.kind {
            EntryKind::File { source: FileSource::Copy { old }, .. }
                if self.old_files[old].path == entry.path =>
            {
                Some(old)
            }
            _ => None,
        }
    }

    fn put_entry(&self, out: &mut Vec<u8>, entry: &TreeEntry) {
        match &entry.kind {
            EntryKind::File { size, source, .. } => {
                out.push(KIND_FILE);
                out.extend_from_slice(&entry.mode.to_le_bytes());
                out.extend_from_slice(&size.to_le_bytes());
                match (*source, self.keeps(entry)) {
                    (_, Some(old)) => {
                        out.push(SOURCE_KEEP);
                        out.extend_from_slice(&self.old_files[old].check.as_bytes()[..CHECK_LEN]);
                    }
                    (FileSource::Copy { old }, None) => {
                        out.push(SOURCE_COPY_2);
                        out.extend_from_slice(&(old as u32).to_le_bytes());
                    }
                    _ => out.push(SOURCE_SOLID),
                }
            }
            EntryKind::Dir => {
                out.push(KIND_DIR);
                out.extend_from_slice(&entry.mode.to_le_bytes());
            }
            EntryKind::Symlink { target } => {
                out.push(KIND_SYMLINK);
                out.extend_from_slice(&0u32.to_le_bytes());
                put_path(out, target);
            }
            EntryKind::HardLink { target } => {
                out.push(KIND_HARD_LINK);
                out.extend_from_slice(&0u32.to_le_bytes());
                out.extend_from_slice(&(*target as u32).to_le_bytes());
            }
        }
    }

    /// Parses and validates a manifest of tree format `version` (1, 2 or 3); any deviation is
    /// a corrupt patch.
    pub(crate) fn decode(version: u16, bytes: &[u8]) -> Result<Self> {
        let manifest = match version {
            1 => decode_v1(bytes)?,
            2 => decode_v2(Input(bytes), Extensions::NONE)?,
            _ => decode_v3(bytes)?,
        };
        check_sorted(manifest.old_files.iter().map(|f| &f.path), "old files")?;
        check_sorted(manifest.removed.iter(), "removed paths")?;
        check_tree(&manifest.entries)?;
        Ok(manifest)
    }
}

fn decode_v1(bytes: &[u8]) -> Result<Manifest> {
    let mut input = Input(bytes);
    let old_count = input.u32()? as usize;
    let mut old_files = Vec::with_capacity(old_count.min(bytes.len() / MIN_OLD_LEN));
    for _ in 0..old_count {
        let path = input.path()?;
        old_files.push(OldFile { path, size: input.u64()?, check: OldCheck::Blake3(input.hash()?) });
    }
    let entry_count = input.u32()? as usize;
    let mut entries = Vec::with_capacity(entry_count.min(bytes.len() / MIN_ENTRY_LEN));
    for _ in 0..entry_count {
        let path = input.path()?;
        entries.push(input.entry_v1(path, old_files.len())?);
    }
    let removed_count = input.u32()? as usize;
    let mut removed = Vec::with_capacity(removed_count.min(bytes.len() / 3));
    for _ in 0..removed_count {
        removed.push(input.path()?);
    }
    input.end()?;
    Ok(Manifest { old_files, entries, removed, old_digest: None, solid: Vec::new() })
}

/// A format 2 entry before the old files are merged: a keep's check, or a copy's raw index.
enum Pending {
    Keep([u8; CHECK_LEN]),
    Copy(usize),
    Other,
}

/// What tree format 3 adds to a format 2 manifest.
#[derive(Clone, Copy)]
struct Extensions {
    hard_links: bool,
    mtimes: bool,
}

impl Extensions {
    const NONE: Extensions = Extensions { hard_links: false, mtimes: false };
}

/// Format 3: a `features` byte, then a format 2 manifest whose entries may be hard links and,
/// with [`FEATURE_MTIMES`], carry mtimes.
fn decode_v3(bytes: &[u8]) -> Result<Manifest> {
    let mut input = Input(bytes);
    let features = input.u8()?;
    if features & !FEATURE_MTIMES != 0 {
        return Err(corrupt(format!("unknown features {features:#x}")));
    }
    decode_v2(input, Extensions { hard_links: true, mtimes: features & FEATURE_MTIMES != 0 })
}

fn decode_v2(mut input: Input, extensions: Extensions) -> Result<Manifest> {
    let bytes = input.0;
    let old_digest = Some(input.hash()?);
    let listed_count = input.u32()? as usize;
    let mut listed = Vec::with_capacity(listed_count.min(bytes.len() / MIN_OLD_LEN_2));
    let mut previous = Vec::new();
    for _ in 0..listed_count {
        let path = input.prefixed_path(&mut previous)?;
        let size = input.u64()?;
        listed.push(OldFile { path, size, check: OldCheck::Blake3Prefix(input.check()?) });
    }
    let entry_count = input.u32()? as usize;
    let mut entries = Vec::with_capacity(entry_count.min(bytes.len() / MIN_ENTRY_LEN_2));
    let mut pending = Vec::with_capacity(entries.capacity());
    let mut previous = Vec::new();
    for _ in 0..entry_count {
        let path = input.prefixed_path(&mut previous)?;
        let (mut entry, how) = input.entry_v2(path, extensions.hard_links)?;
        check_link(&entry, &entries)?;
        if extensions.mtimes && !matches!(entry.kind, EntryKind::HardLink { .. }) {
            entry.mtime =
                Some(input.mtime().map_err(|why| corrupt(format!("entry {}: {why}", entry.path.display())))?);
        }
        entries.push(entry);
        pending.push(how);
    }
    let old_files = merge_old_files(listed, &entries, &pending)?;
    resolve_sources(&mut entries, &pending, &old_files)?;
    let solid = input.solid_patches(old_files.len())?;
    place_solid_files(&mut entries, &solid)?;
    let removed_count = input.u32()? as usize;
    let mut removed = Vec::with_capacity(removed_count.min(bytes.len() / 5));
    let mut previous = Vec::new();
    for _ in 0..removed_count {
        removed.push(input.prefixed_path(&mut previous)?);
    }
    input.end()?;
    Ok(Manifest { old_files, entries, removed, old_digest, solid })
}

/// A hard link must name an earlier entry that is a file.
fn check_link(entry: &TreeEntry, earlier: &[TreeEntry]) -> Result<()> {
    let EntryKind::HardLink { target } = entry.kind else { return Ok(()) };
    match earlier.get(target) {
        Some(TreeEntry { kind: EntryKind::File { .. }, .. }) => Ok(()),
        _ => Err(corrupt(format!(
            "entry {}: hard link to {target}, not an earlier file",
            entry.path.display()
        ))),
    }
}

/// The listed old files and those the keep entries imply, in path order; a path in both is
/// corrupt (the sort check that follows finds it).
fn merge_old_files(listed: Vec<OldFile>, entries: &[TreeEntry], pending: &[Pending]) -> Result<Vec<OldFile>> {
    let mut all = listed;
    for (entry, how) in entries.iter().zip(pending) {
        if let (Pending::Keep(check), EntryKind::File { size, .. }) = (how, &entry.kind) {
            all.push(OldFile {
                path: entry.path.clone(),
                size: *size,
                check: OldCheck::Blake3Prefix(*check),
            });
        }
    }
    all.sort_by(|a, b| a.path.as_os_str().as_bytes().cmp(b.path.as_os_str().as_bytes()));
    Ok(all)
}

/// Sets each format 2 keep's and copy's source to its old file.
fn resolve_sources(entries: &mut [TreeEntry], pending: &[Pending], old: &[OldFile]) -> Result<()> {
    for (entry, how) in entries.iter_mut().zip(pending) {
        let EntryKind::File { source, .. } = &mut entry.kind else { continue };
        *source = match *how {
            Pending::Keep(_) => {
                let found = old.binary_search_by(|f| {
                    f.path.as_os_str().as_bytes().cmp(entry.path.as_os_str().as_bytes())
                });
                FileSource::Copy { old: found.expect("merged from this entry") }
            }
            Pending::Copy(index) if index < old.len() => FileSource::Copy { old: index },
            Pending::Copy(index) => {
                return Err(corrupt(format!(
                    "entry {}: old file {index} of {}",
                    entry.path.display(),
                    old.len()
                )));
            }
            Pending::Other => continue,
        };
    }
    Ok(())
}

/// Gives each solid file its patch and offset: the patches take the solid files in entry
/// order, each as many as it says, which must be all of them.
fn place_solid_files(entries: &mut [TreeEntry], patches: &[SolidPatch]) -> Result<()> {
    let mut owners = patches.iter().enumerate().flat_map(|(i, p)| std::iter::repeat_n(i, p.files));
    let (mut current, mut offset) = (0, 0u64);
    for entry in entries.iter_mut() {
        let EntryKind::File { size, source: source @ FileSource::Solid { .. }, .. } = &mut entry.kind else {
            continue;
        };
        let patch =
            owners.next().ok_or_else(|| corrupt("more solid files than the solid patches make".into()))?;
        if patch != current {
            (current, offset) = (patch, 0);
        }
        *source = FileSource::Solid { patch, offset };
        offset = offset.checked_add(*size).ok_or_else(|| corrupt("solid files overflow".into()))?;
    }
    if owners.next().is_some() {
        return Err(corrupt("the solid patches make more files than there are".into()));
    }
    Ok(())
}

fn put_path(out: &mut Vec<u8>, path: &Path) {
    let bytes = path.as_os_str().as_bytes();
    out.extend_from_slice(&(bytes.len() as u16).to_le_bytes());
    out.extend_from_slice(bytes);
}

/// `path` as the length of the prefix it shares with `previous` (u16), then the rest as a
/// path of its own (u16 length, bytes); `previous` becomes `path`.
fn put_prefixed(out: &mut Vec<u8>, path: &Path, previous: &mut Vec<u8>) {
    let bytes = path.as_os_str().as_bytes();
    let shared = bytes.iter().zip(previous.iter()).take_while(|(a, b)| a == b).count();
    out.extend_from_slice(&(shared as u16).to_le_bytes());
    out.extend_from_slice(&((bytes.len() - shared) as u16).to_le_bytes());
    out.extend_from_slice(&bytes[shared..]);
    *previous = bytes.to_vec();
}

/// The manifest bytes not read yet.
struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn take(&mut self, len: usize) -> Result<&[u8]> {
        if self.0.len() < len {
            return Err(corrupt("truncated".into()));
        }
        let (head, rest) = self.0.split_at(len);
        self.0 = rest;
        Ok(head)
    }

    fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }

    fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().expect("4 bytes")))
    }

    fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().expect("8 bytes")))
    }

    fn hash(&mut self) -> Result<[u8; 32]> {
        Ok(self.take(32)?.try_into().expect("32 bytes"))
    }

    fn bytes(&mut self) -> Result<&[u8]> {
        let len = u16::from_le_bytes(self.take(2)?.try_into().expect("2 bytes"));
        self.take(usize::from(len))
    }

    /// A path of the tree, checked by [`check_path`].
    fn path(&mut self) -> Result<PathBuf> {
        let bytes = self.bytes()?;
        check_path(bytes)
            .map_err(|why| corrupt(format!("path {:?}: {why}", String::from_utf8_lossy(bytes))))?;
        Ok(PathBuf::from(OsStr::from_bytes(bytes)))
    }

    fn check(&mut self) -> Result<[u8; CHECK_LEN]> {
        Ok(self.take(CHECK_LEN)?.try_into().expect("CHECK_LEN bytes"))
    }

    fn end(&self) -> Result<()> {
        if !self.0.is_empty() {
            return Err(corrupt(format!("{} bytes follow the last record", self.0.len())));
        }
        Ok(())
    }

    /// A format 2 path: the length shared with `previous`, then the rest; checked by
    /// [`check_path`]. `previous` becomes the path.
    fn prefixed_path(&mut self, previous: &mut Vec<u8>) -> Result<PathBuf> {
        let shared = usize::from(u16::from_le_bytes(self.take(2)?.try_into().expect("2 bytes")));
        if shared > previous.len() {
            return Err(corrupt(format!("a path shares {shared} bytes of a {}-byte one", previous.len())));
        }
        previous.truncate(shared);
        previous.extend_from_slice(self.bytes()?);
        check_path(previous)
            .map_err(|why| corrupt(format!("path {:?}: {why}", String::from_utf8_lossy(previous))))?;
        Ok(PathBuf::from(OsStr::from_bytes(previous)))
    }

    /// An entry's kind and mode, then, for a file, its size and what `file` reads after it;
    /// for a hard link (with `hard_links`), its target.
    fn entry_with(
        &mut self,
        path: PathBuf,
        hard_links: bool,
        file: impl FnOnce(&mut Self) -> std::result::Result<(Option<[u8; 32]>, FileSource), String>,
    ) -> Result<TreeEntry> {
        let kind = self.u8()?;
        let mode = self.u32()?;
        let bad = |why: &str| corrupt(format!("entry {}: {why}", path.display()));
        let mode_ok = match kind {
            KIND_SYMLINK | KIND_HARD_LINK => mode == 0,
            _ => mode & !MODE_MASK == 0,
        };
        if !mode_ok {
            return Err(bad(&format!("mode {mode:#o} has bits a tree patch does not carry")));
        }
        let kind = match kind {
            KIND_FILE => {
                let size = self.u64()?;
                let (hash, source) = file(self).map_err(|why| bad(&why))?;
                EntryKind::File { size, hash, source }
            }
            KIND_DIR => EntryKind::Dir,
            KIND_SYMLINK => {
                let target = self.bytes()?;
                if target.is_empty() || target.len() > MAX_PATH_LEN || target.contains(&0) {
                    return Err(bad("the symlink target is empty, too long or holds a NUL byte"));
                }
                EntryKind::Symlink { target: PathBuf::from(OsStr::from_bytes(target)) }
            }
            KIND_HARD_LINK if hard_links => EntryKind::HardLink { target: self.u32()? as usize },
            other => return Err(bad(&format!("unknown kind {other}"))),
        };
        Ok(TreeEntry { path, mode, kind, mtime: None })
    }

    /// A format 3 mtime: seconds (i64), then nanoseconds (u32, below 10^9).
    fn mtime(&mut self) -> std::result::Result<Mtime, String> {
        let secs = self.u64().map_err(|e| e.to_string())? as i64;
        let nanos = self.u32().map_err(|e| e.to_string())?;
        if nanos >= NANOS_PER_SEC {
            return Err(format!("mtime nanoseconds {nanos}"));
        }
        Ok(Mtime { secs, nanos })
    }

    fn entry_v1(&mut self, path: PathBuf, old_count: usize) -> Result<TreeEntry> {
        self.entry_with(path, false, |input| {
            let hash = input.hash().map_err(|e| e.to_string())?;
            Ok((Some(hash), input.source(old_count)?))
        })
    }

    /// A format 2 entry (or 3, with `hard_links`), its source to be resolved once the old
    /// files are merged.
    fn entry_v2(&mut self, path: PathBuf, hard_links: bool) -> Result<(TreeEntry, Pending)> {
        let mut how = Pending::Other;
        let entry = self.entry_with(path, hard_links, |input| {
            how = match input.u8().map_err(|e| e.to_string())? {
                SOURCE_KEEP => Pending::Keep(input.check().map_err(|e| e.to_string())?),
                SOURCE_COPY_2 => Pending::Copy(input.u32().map_err(|e| e.to_string())? as usize),
                SOURCE_SOLID => Pending::Other,
                other => return Err(format!("unknown source {other}")),
            };
            Ok((None, FileSource::Solid { patch: 0, offset: 0 }))
        })?;
        Ok((entry, how))
    }

    /// The solid file patches: each with its bases (in range, none twice), at least one
    /// file and at least one byte.
    fn solid_patches(&mut self, old_count: usize) -> Result<Vec<SolidPatch>> {
        let count = self.u32()? as usize;
        let mut patches = Vec::with_capacity(count.min(self.0.len() / MIN_SOLID_LEN));
        for _ in 0..count {
            let base_count = self.u32()? as usize;
            let mut bases = Vec::with_capacity(base_count.min(self.0.len() / 4));
            let mut seen = HashSet::new();
            for _ in 0..base_count {
                let index = self.u32()? as usize;
                if index >= old_count || !seen.insert(index) {
                    return Err(corrupt(format!("solid basis {index}: out of range or repeated")));
                }
                bases.push(index);
            }
            let (files, len) = (self.u32()? as usize, self.u64()?);
            if files == 0 || len == 0 {
                return Err(corrupt("a solid patch makes no file or has no bytes".into()));
            }
            patches.push(SolidPatch { bases, files, len });
        }
        Ok(patches)
    }

    fn source(&mut self, old_count: usize) -> std::result::Result<FileSource, String> {
        let tag = self.u8().map_err(|e| e.to_string())?;
        let mut old = || -> std::result::Result<usize, String> {
            let index = self.u32().map_err(|e| e.to_string())? as usize;
            if index >= old_count {
                return Err(format!("old file {index} of {old_count}"));
            }
            Ok(index)
        };
        let source = match tag {
            SOURCE_COPY => FileSource::Copy { old: old()? },
            SOURCE_PATCH => {
                let old = old()?;
                FileSource::Patch { old, blob_len: self.u64().map_err(|e| e.to_string())? }
            }
            SOURCE_LITERAL => FileSource::Literal { blob_len: self.u64().map_err(|e| e.to_string())? },
            other => return Err(format!("unknown source {other}")),
        };
        Ok(source)
    }
}

/// A path is relative and normalised: 1 to [`MAX_PATH_LEN`] bytes, no NUL, components
/// separated by single `/`, none empty, `.` or `..` (so neither absolute nor escaping).
pub(crate) fn check_path(bytes: &[u8]) -> std::result::Result<(), &'static str> {
    if bytes.is_empty() || bytes.len() > MAX_PATH_LEN {
        return Err("empty or too long");
    }
    if bytes.contains(&0) {
        return Err("holds a NUL byte");
    }
    if bytes.split(|&b| b == b'/').any(|c| c.is_empty() || c == b"." || c == b"..") {
        return Err("absolute, or with an empty, `.` or `..` component");
    }
    Ok(())
}

fn check_sorted<'a>(paths: impl Iterator<Item = &'a PathBuf>, what: &str) -> Result<()> {
    let bytes: Vec<&[u8]> = paths.map(|p| p.as_os_str().as_bytes()).collect();
    if !bytes.windows(2).all(|w| w[0] < w[1]) {
        return Err(corrupt(format!("the {what} are not sorted by path, or repeat one")));
    }
    Ok(())
}

/// Entries are sorted by path bytes without repeats, and each one's parent is a directory
/// entry (or the root): so a parent comes first, and nothing lies under a file or a symlink.
fn check_tree(entries: &[TreeEntry]) -> Result<()> {
    let mut dirs: HashSet<&Path> = HashSet::new();
    let mut previous: Option<&[u8]> = None;
    for entry in entries {
        let bytes = entry.path.as_os_str().as_bytes();
        if previous.is_some_and(|p| p >= bytes) {
            return Err(corrupt(format!("entry {} is out of order or repeated", entry.path.display())));
        }
        previous = Some(bytes);
        if let Some(parent) = entry.path.parent().filter(|p| !p.as_os_str().is_empty())
            && !dirs.contains(parent)
        {
            return Err(corrupt(format!("entry {} is not under a directory entry", entry.path.display())));
        }
        if entry.kind == EntryKind::Dir {
            dirs.insert(&entry.path);
        }
    }
    Ok(())
}

fn corrupt(why: String) -> Error {
    Error::corrupt(format!("tree manifest: {why}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str, kind: EntryKind) -> TreeEntry {
        TreeEntry {
            path: path.into(),
            mode: if matches!(kind, EntryKind::Symlink { .. } | EntryKind::HardLink { .. }) {
                0
            } else {
                0o755
            },
            kind,
            mtime: None,
        }
    }

    fn sample() -> Manifest {
        let old = |path: &str, byte| OldFile {
            path: path.into(),
            size: 10,
            check: OldCheck::Blake3Prefix([byte; 4]),
        };
        let file = |source| EntryKind::File { size: 10, hash: None, source };
        Manifest {
            old_files: vec![old("bin/app", 1), old("lib/a.so", 2)],
            entries: vec![
                entry("bin", EntryKind::Dir),
                entry("bin/app", file(FileSource::Copy { old: 0 })),
                entry("bin/copy", file(FileSource::Copy { old: 1 })),
                entry("bin/link", EntryKind::Symlink { target: "../lib/a.so".into() }),
                entry("bin/new", file(FileSource::Solid { patch: 0, offset: 0 })),
                entry("data", file(FileSource::Solid { patch: 1, offset: 0 })),
            ],
            removed: vec!["bin/old-tool".into(), "lib/b.so".into()],
            old_digest: Some([7; 32]),
            solid: vec![
                SolidPatch { bases: vec![1], files: 1, len: 99 },
                SolidPatch { bases: vec![], files: 1, len: 9 },
            ],
        }
    }

    #[test]
    fn manifest_round_trips_and_every_truncation_is_corrupt() {
        let bytes = sample().encode();
        assert_eq!(Manifest::decode(2, &bytes).unwrap(), sample());
        for len in 0..bytes.len() {
            assert!(Manifest::decode(2, &bytes[..len]).is_err(), "cut at {len}");
        }
    }

    #[test]
    fn a_keep_is_written_once_and_solid_entries_need_the_solid_patch() {
        let mut lone = sample();
        lone.solid.pop();
        assert!(Manifest::decode(2, &lone.encode()).is_err(), "solid entries without a solid patch");
        let mut both = sample();
        both.old_files[0].path = "bin/app".into();
        let bytes = both.encode();
        // bin/app is kept: the listed old files hold lib/a.so only.
        assert_eq!(u32::from_le_bytes(bytes[32..36].try_into().unwrap()), 1);
    }

    #[test]
    fn hostile_paths_are_refused() {
        for path in ["/etc/passwd", "../x", "a/../../x", "a//b", "a/./b", "", "a/", "a\0b"] {
            assert!(check_path(path.as_bytes()).is_err(), "{path:?}");
        }
        assert!(check_path(b"a/b.c/..d").is_ok());
    }

    #[test]
    fn entries_under_files_symlinks_or_missing_dirs_are_refused() {
        let link = entry("a", EntryKind::Symlink { target: "/etc".into() });
        let under = entry(
            "a/passwd",
            EntryKind::File { size: 1, hash: None, source: FileSource::Solid { patch: 0, offset: 0 } },
        );
        for entries in [vec![link, under.clone()], vec![under.clone()], vec![under.clone(), under]] {
            let solid = vec![SolidPatch { bases: vec![], files: 1, len: 1 }];
            let manifest = Manifest { old_files: vec![], entries, removed: vec![], old_digest: None, solid };
            assert!(Manifest::decode(2, &manifest.encode()).is_err());
        }
    }

    /// A raw format 2 manifest, field by field.
    #[derive(Default)]
    struct Raw(Vec<u8>);

    impl Raw {
        fn u32(mut self, value: u32) -> Self {
            self.0.extend_from_slice(&value.to_le_bytes());
            self
        }
        fn u64(mut self, value: u64) -> Self {
            self.0.extend_from_slice(&value.to_le_bytes());
            self
        }
        fn bytes(mut self, bytes: &[u8]) -> Self {
            self.0.extend_from_slice(bytes);
            self
        }
        /// A prefix-coded path: `shared` bytes of the previous one, then `rest`.
        fn path(self, shared: u16, rest: &[u8]) -> Self {
            let this = self.bytes(&shared.to_le_bytes()).bytes(&(rest.len() as u16).to_le_bytes());
            this.bytes(rest)
        }
        /// A file entry of `size` bytes whose source is `source` (tag, then its fields).
        fn file(self, shared: u16, rest: &[u8], size: u64, source: &[u8]) -> Self {
            self.path(shared, rest).bytes(&[KIND_FILE]).u32(0o644).u64(size).bytes(source)
        }
        fn header(listed: &[(&[u8], u64)]) -> Self {
            let mut raw = Raw::default().bytes(&[0; 32]).u32(listed.len() as u32);
            for (path, size) in listed {
                raw = raw.path(0, path).u64(*size).bytes(&[0; CHECK_LEN]);
            }
            raw
        }
        /// After the entries: solid patches of (bases, file count, length), no removed path.
        fn tail(self, patches: &[(&[u32], u32, u64)]) -> Self {
            let mut raw = self.u32(patches.len() as u32);
            for (bases, files, len) in patches {
                raw = raw.u32(bases.len() as u32);
                for base in *bases {
                    raw = raw.u32(*base);
                }
                raw = raw.u32(*files).u64(*len);
            }
            raw.u32(0)
        }
    }

    fn decodes(raw: Raw) -> Result<Manifest> {
        Manifest::decode(2, &raw.0)
    }

    #[test]
    fn a_crafted_format_2_manifest_decodes() {
        let keep = [&[SOURCE_KEEP][..], &[1; CHECK_LEN]].concat();
        let raw = Raw::header(&[(b"z", 3)])
            .u32(3)
            .file(0, b"a", 5, &keep)
            .file(0, b"b", 3, &[SOURCE_COPY_2, 1, 0, 0, 0])
            .file(0, b"c", 9, &[SOURCE_SOLID])
            .tail(&[(&[1, 0], 1, 40)]);
        let manifest = decodes(raw).unwrap();
        let paths: Vec<_> = manifest.old_files.iter().map(|f| f.path.clone()).collect();
        assert_eq!(paths, [PathBuf::from("a"), PathBuf::from("z")], "listed and implied, merged");
        assert_eq!(manifest.solid, [SolidPatch { bases: vec![1, 0], files: 1, len: 40 }]);
    }

    #[test]
    fn crafted_format_2_manifests_that_break_a_rule_are_corrupt() {
        let keep = [&[SOURCE_KEEP][..], &[1; CHECK_LEN]].concat();
        let solid = [SOURCE_SOLID];
        let one: &[(&[u32], u32, u64)] = &[(&[], 1, 9)];
        let cases: Vec<(&str, Raw)> = vec![
            (
                "a path both listed and kept",
                Raw::header(&[(b"a", 5)]).u32(1).file(0, b"a", 5, &keep).tail(&[]),
            ),
            (
                "a copy of no old file",
                Raw::header(&[]).u32(1).file(0, b"a", 5, &[SOURCE_COPY_2, 0, 0, 0, 0]).tail(&[]),
            ),
            ("solid files and no solid patch", Raw::header(&[]).u32(1).file(0, b"a", 5, &solid).tail(&[])),
            ("a solid patch and no solid files", Raw::header(&[]).u32(0).tail(one)),
            (
                "a solid patch of no files",
                Raw::header(&[]).u32(1).file(0, b"a", 1, &solid).tail(&[(&[], 0, 9), (&[], 1, 9)]),
            ),
            ("an empty solid patch", Raw::header(&[]).u32(1).file(0, b"a", 1, &solid).tail(&[(&[], 1, 0)])),
            (
                "patches claiming more files",
                Raw::header(&[]).u32(1).file(0, b"a", 1, &solid).tail(&[(&[], 2, 9)]),
            ),
            (
                "a basis out of range",
                Raw::header(&[(b"a", 1)]).u32(1).file(0, b"b", 1, &solid).tail(&[(&[1], 1, 9)]),
            ),
            (
                "a repeated basis",
                Raw::header(&[(b"a", 1)]).u32(1).file(0, b"b", 1, &solid).tail(&[(&[0, 0], 1, 9)]),
            ),
            ("an unknown source", Raw::header(&[]).u32(1).file(0, b"a", 1, &[7]).tail(&[])),
            (
                "a prefix longer than the last path",
                Raw::header(&[]).u32(1).file(2, b"a", 1, &solid).tail(one),
            ),
            (
                "traversal through a prefix",
                Raw::header(&[])
                    .u32(2)
                    .path(0, b"a")
                    .bytes(&[KIND_DIR])
                    .u32(0o755)
                    .file(1, b"/../x", 1, &solid)
                    .tail(one),
            ),
            ("a huge count", Raw::header(&[]).u32(u32::MAX)),
            ("a huge solid count", Raw::header(&[]).u32(0).u32(u32::MAX)),
            ("bytes after the end", Raw::header(&[]).u32(0).tail(&[]).bytes(&[0])),
        ];

        for (what, raw) in cases {
            let err = decodes(raw).expect_err(what);
            assert_eq!(err.kind(), crate::ErrorKind::CorruptPatch, "{what}: {err}");
        }
    }

    /// The sample with a hard link to `bin/app`, mtimes on every other entry.
    fn sample_v3() -> Manifest {
        let mut manifest = sample();
        let link = entry("bin/other-name", EntryKind::HardLink { target: 1 });
        manifest.entries.insert(5, link);
        for (i, entry) in manifest.entries.iter_mut().enumerate() {
            if !matches!(entry.kind, EntryKind::HardLink { .. }) {
                entry.mtime = Some(Mtime { secs: 1_700_000_000 - i as i64 * 86_400, nanos: 999_999_999 });
            }
        }
        manifest.entries[0].mtime = Some(Mtime { secs: -1, nanos: 0 });
        manifest
    }

    #[test]
    fn format_3_carries_hard_links_and_mtimes_and_every_truncation_is_corrupt() {
        assert_eq!(sample().format_version(), 2);
        let manifest = sample_v3();
        assert_eq!(manifest.format_version(), 3);
        let bytes = manifest.encode();
        assert_eq!(bytes[0], FEATURE_MTIMES);
        assert_eq!(Manifest::decode(3, &bytes).unwrap(), manifest);
        for len in 0..bytes.len() {
            assert!(Manifest::decode(3, &bytes[..len]).is_err(), "cut at {len}");
        }
        let mut links_only = sample_v3();
        links_only.entries.iter_mut().for_each(|entry| entry.mtime = None);
        let bytes = links_only.encode();
        assert_eq!((links_only.format_version(), bytes[0]), (3, 0));
        assert_eq!(Manifest::decode(3, &bytes).unwrap(), links_only);
    }

    #[test]
    fn hostile_hard_links_and_mtimes_are_corrupt() {
        let link_to = |target: usize| {
            let mut manifest = sample_v3();
            manifest.entries[5].kind = EntryKind::HardLink { target };
            manifest.encode()
        };
        let with_byte = |at: usize, value: u8| {
            let mut bytes = sample_v3().encode();
            bytes[at] = value;
            bytes
        };
        let bytes = sample_v3().encode();
        let nanos = bytes.windows(4).position(|w| w == 999_999_999u32.to_le_bytes()).unwrap();
        let mut over = bytes.clone();
        over[nanos..nanos + 4].copy_from_slice(&NANOS_PER_SEC.to_le_bytes());
        let mut without_mtimes = sample_v3();
        without_mtimes.entries.iter_mut().for_each(|entry| entry.mtime = None);
        let links_only = without_mtimes.encode();
        let cases = [
            ("a link to a directory", Manifest::decode(3, &link_to(0))),
            ("a link to a symlink", Manifest::decode(3, &link_to(3))),
            ("a link to itself", Manifest::decode(3, &link_to(5))),
            ("a link to a later entry", Manifest::decode(3, &link_to(6))),
            ("a link past the entries", Manifest::decode(3, &link_to(99))),
            ("unknown features", Manifest::decode(3, &with_byte(0, 2))),
            ("nanoseconds of a whole second", Manifest::decode(3, &over)),
            ("a hard link in format 2", Manifest::decode(2, &links_only[1..])),
        ];
        for (what, result) in cases {
            let err = result.expect_err(what);
            assert_eq!(err.kind(), crate::ErrorKind::CorruptPatch, "{what}: {err}");
        }
    }
}
