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

/// One file of the old tree that a tree patch reads, with what it must hold.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct OldFile {
    /// Path relative to the old tree's root.
    pub path: PathBuf,
    /// Size in bytes.
    pub size: u64,
    /// blake3 of the content.
    pub hash: [u8; 32],
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
    /// A chunkdelta file patch of `blob_len` bytes against old file `old`.
    Patch {
        /// The old file.
        old: usize,
        /// Size of the embedded file patch.
        blob_len: u64,
    },
    /// A chunkdelta file patch of `blob_len` bytes against an empty old file.
    Literal {
        /// Size of the embedded file patch.
        blob_len: u64,
    },
}

impl FileSource {
    /// Size of the embedded file patch, 0 for a copy.
    pub fn blob_len(self) -> u64 {
        match self {
            FileSource::Copy { .. } => 0,
            FileSource::Patch { blob_len, .. } | FileSource::Literal { blob_len } => blob_len,
        }
    }

    /// The old file read, if any.
    pub fn old(self) -> Option<usize> {
        match self {
            FileSource::Copy { old } | FileSource::Patch { old, .. } => Some(old),
            FileSource::Literal { .. } => None,
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
        /// blake3 of the content.
        hash: [u8; 32],
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
}

/// One entry of the new tree.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TreeEntry {
    /// Path relative to the tree's root: components separated by `/`, none empty, `.` or `..`.
    pub path: PathBuf,
    /// Permission bits (`0o777` at most); 0 for symlinks.
    pub mode: u32,
    /// What it is.
    pub kind: EntryKind,
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
}

const KIND_FILE: u8 = 0;
const KIND_DIR: u8 = 1;
const KIND_SYMLINK: u8 = 2;
const SOURCE_COPY: u8 = 0;
const SOURCE_PATCH: u8 = 1;
const SOURCE_LITERAL: u8 = 2;
/// Fewest bytes an old file (path of 1 byte) and an entry take, to bound counts by the input.
const MIN_OLD_LEN: usize = 2 + 1 + 8 + 32;
const MIN_ENTRY_LEN: usize = 2 + 1 + 1 + 4;

impl Manifest {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&(self.old_files.len() as u32).to_le_bytes());
        for old in &self.old_files {
            put_path(&mut out, &old.path);
            out.extend_from_slice(&old.size.to_le_bytes());
            out.extend_from_slice(&old.hash);
        }
        out.extend_from_slice(&(self.entries.len() as u32).to_le_bytes());
        for entry in &self.entries {
            put_path(&mut out, &entry.path);
            match &entry.kind {
                EntryKind::File { size, hash, source } => {
                    out.push(KIND_FILE);
                    out.extend_from_slice(&entry.mode.to_le_bytes());
                    out.extend_from_slice(&size.to_le_bytes());
                    out.extend_from_slice(hash);
                    put_source(&mut out, *source);
                }
                EntryKind::Dir => {
                    out.push(KIND_DIR);
                    out.extend_from_slice(&entry.mode.to_le_bytes());
                }
                EntryKind::Symlink { target } => {
                    out.push(KIND_SYMLINK);
                    out.extend_from_slice(&0u32.to_le_bytes());
                    put_path(&mut out, target);
                }
            }
        }
        out.extend_from_slice(&(self.removed.len() as u32).to_le_bytes());
        for path in &self.removed {
            put_path(&mut out, path);
        }
        out
    }

    /// Parses and validates a manifest; any deviation is a corrupt patch.
    pub(crate) fn decode(bytes: &[u8]) -> Result<Self> {
        let mut input = Input(bytes);
        let old_count = input.u32()? as usize;
        let mut old_files = Vec::with_capacity(old_count.min(bytes.len() / MIN_OLD_LEN));
        for _ in 0..old_count {
            let path = input.path()?;
            old_files.push(OldFile { path, size: input.u64()?, hash: input.hash()? });
        }
        let entry_count = input.u32()? as usize;
        let mut entries = Vec::with_capacity(entry_count.min(bytes.len() / MIN_ENTRY_LEN));
        for _ in 0..entry_count {
            entries.push(input.entry(old_files.len())?);
        }
        let removed_count = input.u32()? as usize;
        let mut removed = Vec::with_capacity(removed_count.min(bytes.len() / 3));
        for _ in 0..removed_count {
            removed.push(input.path()?);
        }
        if !input.0.is_empty() {
            return Err(corrupt(format!("{} bytes follow the last entry", input.0.len())));
        }
        check_sorted(old_files.iter().map(|f| &f.path), "old files")?;
        check_sorted(removed.iter(), "removed paths")?;
        check_tree(&entries)?;
        Ok(Manifest { old_files, entries, removed })
    }
}

fn put_path(out: &mut Vec<u8>, path: &Path) {
    let bytes = path.as_os_str().as_bytes();
    out.extend_from_slice(&(bytes.len() as u16).to_le_bytes());
    out.extend_from_slice(bytes);
}

fn put_source(out: &mut Vec<u8>, source: FileSource) {
    match source {
        FileSource::Copy { old } => {
            out.push(SOURCE_COPY);
            out.extend_from_slice(&(old as u32).to_le_bytes());
        }
        FileSource::Patch { old, blob_len } => {
            out.push(SOURCE_PATCH);
            out.extend_from_slice(&(old as u32).to_le_bytes());
            out.extend_from_slice(&blob_len.to_le_bytes());
        }
        FileSource::Literal { blob_len } => {
            out.push(SOURCE_LITERAL);
            out.extend_from_slice(&blob_len.to_le_bytes());
        }
    }
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

    fn entry(&mut self, old_count: usize) -> Result<TreeEntry> {
        let path = self.path()?;
        let kind = self.u8()?;
        let mode = self.u32()?;
        let bad = |why: &str| corrupt(format!("entry {}: {why}", path.display()));
        let mode_ok = if kind == KIND_SYMLINK { mode == 0 } else { mode & !MODE_MASK == 0 };
        if !mode_ok {
            return Err(bad(&format!("mode {mode:#o} has bits a tree patch does not carry")));
        }
        let kind = match kind {
            KIND_FILE => {
                let (size, hash) = (self.u64()?, self.hash()?);
                EntryKind::File { size, hash, source: self.source(old_count).map_err(|why| bad(&why))? }
            }
            KIND_DIR => EntryKind::Dir,
            KIND_SYMLINK => {
                let target = self.bytes()?;
                if target.is_empty() || target.len() > MAX_PATH_LEN || target.contains(&0) {
                    return Err(bad("the symlink target is empty, too long or holds a NUL byte"));
                }
                EntryKind::Symlink { target: PathBuf::from(OsStr::from_bytes(target)) }
            }
            other => return Err(bad(&format!("unknown kind {other}"))),
        };
        Ok(TreeEntry { path, mode, kind })
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
            mode: if matches!(kind, EntryKind::Symlink { .. }) { 0 } else { 0o755 },
            kind,
        }
    }

    fn sample() -> Manifest {
        let old = OldFile { path: "lib/a.so".into(), size: 10, hash: [1; 32] };
        let file = |source| EntryKind::File { size: 12, hash: [2; 32], source };
        Manifest {
            old_files: vec![old],
            entries: vec![
                entry("bin", EntryKind::Dir),
                entry("bin/app", file(FileSource::Patch { old: 0, blob_len: 99 })),
                entry("bin/copy", file(FileSource::Copy { old: 0 })),
                entry("bin/link", EntryKind::Symlink { target: "../lib/a.so".into() }),
                entry("data", file(FileSource::Literal { blob_len: 40 })),
            ],
            removed: vec!["bin/old-tool".into(), "lib/b.so".into()],
        }
    }

    #[test]
    fn manifest_round_trips_and_every_truncation_is_corrupt() {
        let bytes = sample().encode();
        assert_eq!(Manifest::decode(&bytes).unwrap(), sample());
        for len in 0..bytes.len() {
            assert!(Manifest::decode(&bytes[..len]).is_err(), "cut at {len}");
        }
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
            EntryKind::File { size: 1, hash: [0; 32], source: FileSource::Literal { blob_len: 1 } },
        );
        for entries in [vec![link, under.clone()], vec![under.clone()], vec![under.clone(), under]] {
            let manifest = Manifest { old_files: vec![], entries, removed: vec![] };
            assert!(Manifest::decode(&manifest.encode()).is_err());
        }
    }
}
