//! The diff side of tree patches: which old file each new file is made from, and its file
//! patch.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::error::Result;
use crate::hash::hash;
use crate::io::{MappedFile, map_file};
use crate::options::{Callback, DiffOptions};
use crate::parallel::{Progress, Workers};
use crate::tree::manifest::{EntryKind, FileSource, Manifest, OldFile, TreeEntry};
use crate::tree::similar::SimilarityIndex;
use crate::tree::walk::{Found, FoundKind, check_case_collisions, walk};

/// A file of either tree, mapped, with its hash.
struct Content {
    path: PathBuf,
    data: MappedFile,
    hash: [u8; 32],
}

/// Smallest size ratio (smaller / larger) at which a same-named file elsewhere in old is
/// tried as the basis of a new file (Sparkle's rule for renamed files).
const SIMILAR_SIZE_RATIO: f64 = 0.6;

/// How a new file will be made, before the old files are numbered.
#[derive(Clone, Copy)]
enum Basis {
    Copy(usize),
    Patch(usize),
    Literal,
}

/// The manifest and the file patches, in entry order, for `old_dir` to `new_dir`.
pub(crate) fn build(
    old_dir: &Path,
    new_dir: &Path,
    options: &DiffOptions,
) -> Result<(Manifest, Vec<Vec<u8>>)> {
    let (old, new) = (walk(old_dir)?, walk(new_dir)?);
    check_case_collisions(&new)?;
    let workers = Workers::new(options.threads)?;
    workers.run(|| {
        let old_files = read_files(old_dir, &old)?;
        let new_files = read_files(new_dir, &new)?;
        let bases = choose_bases(&old_files, &new_files);
        let made = file_patches(&old_files, &new_files, &bases, options)?;
        let (mut manifest, blobs) = assemble(&new, &old_files, &new_files, made);
        manifest.removed = removed(&old, &new);
        Ok((manifest, blobs))
    })
}

/// Maps and hashes the regular files of a walk, in parallel.
fn read_files(root: &Path, found: &[Found]) -> Result<Vec<Content>> {
    found
        .par_iter()
        .filter(|entry| matches!(entry.kind, FoundKind::File { .. }))
        .map(|entry| {
            let data = map_file(&root.join(&entry.path))?;
            Ok(Content { path: entry.path.clone(), hash: hash(&data), data })
        })
        .collect()
}

/// Each new file's basis: [`OldLookup::basis`], else the old file sharing the most content
/// ([`SimilarityIndex`], built only when some file needs it), else [`OldLookup::by_name`].
fn choose_bases(old: &[Content], new: &[Content]) -> Vec<Basis> {
    let lookup = OldLookup::new(old);
    let known: Vec<Option<Basis>> = new.iter().map(|file| lookup.basis(file, old)).collect();
    let index = known.iter().any(Option::is_none).then(|| {
        let data: Vec<&[u8]> = old.iter().map(|file| &file.data[..]).collect();
        SimilarityIndex::new(&data)
    });
    new.par_iter()
        .zip(known)
        .map(|(file, known)| {
            known.unwrap_or_else(|| {
                let similar = index.as_ref().and_then(|index| index.best(&file.data));
                similar.or_else(|| lookup.by_name(file, old)).map_or(Basis::Literal, Basis::Patch)
            })
        })
        .collect()
}

/// The old files by path, by content and by file name.
struct OldLookup<'a> {
    by_path: HashMap<&'a Path, usize>,
    by_hash: HashMap<[u8; 32], usize>,
    by_name: HashMap<&'a OsStr, Vec<usize>>,
}

impl<'a> OldLookup<'a> {
    fn new(old: &'a [Content]) -> Self {
        let mut lookup =
            OldLookup { by_path: HashMap::new(), by_hash: HashMap::new(), by_name: HashMap::new() };
        for (index, file) in old.iter().enumerate() {
            lookup.by_path.insert(&file.path, index);
            lookup.by_hash.entry(file.hash).or_insert(index);
            if let Some(name) = file.path.file_name() {
                lookup.by_name.entry(name).or_default().push(index);
            }
        }
        lookup
    }

    /// The same content anywhere in old (the same path first); else the old file at the same
    /// path; else nothing.
    fn basis(&self, file: &Content, old: &[Content]) -> Option<Basis> {
        let same_path = self.by_path.get(file.path.as_path()).copied();
        if let Some(index) = same_path.filter(|&i| old[i].hash == file.hash) {
            return Some(Basis::Copy(index));
        }
        if let Some(&index) = self.by_hash.get(&file.hash) {
            return Some(Basis::Copy(index));
        }
        same_path.map(Basis::Patch)
    }

    /// An old file with the same name and the most similar size, at least
    /// [`SIMILAR_SIZE_RATIO`]: for files too small to share content-defined chunks.
    fn by_name(&self, file: &Content, old: &[Content]) -> Option<usize> {
        let ratio = |o: &Content| {
            let (a, b) = (o.data.len().max(1) as f64, file.data.len().max(1) as f64);
            a.min(b) / a.max(b)
        };
        let named = file.path.file_name().and_then(|name| self.by_name.get(name)).into_iter().flatten();
        named
            .copied()
            .filter(|&i| ratio(&old[i]) >= SIMILAR_SIZE_RATIO)
            .max_by(|&a, &b| ratio(&old[a]).total_cmp(&ratio(&old[b])))
    }
}

/// Each new file's final basis and patch (empty for copies), in parallel; a patch against an
/// old file that is not smaller than the literal (a patch against nothing) gives way to it.
fn file_patches(
    old: &[Content],
    new: &[Content],
    bases: &[Basis],
    options: &DiffOptions,
) -> Result<Vec<(Basis, Vec<u8>)>> {
    let blob_options = DiffOptions { signers: Vec::new(), progress: Callback::default(), ..options.clone() };
    let total = new.iter().map(|f| f.data.len() as u64).sum();
    let progress = Progress::new(options.progress.get(), total);
    new.par_iter()
        .zip(bases)
        .map(|(file, &basis)| {
            progress.check()?;
            let made = match basis {
                Basis::Copy(_) => (basis, Vec::new()),
                Basis::Patch(index) => {
                    let patch = crate::diff(&old[index].data, &file.data, &blob_options)?;
                    literal_if_smaller(basis, patch, &file.data, &blob_options)?
                }
                Basis::Literal => (basis, crate::diff(&[], &file.data, &blob_options)?),
            };
            progress.advance(file.data.len() as u64)?;
            Ok(made)
        })
        .collect()
}

/// `patch`, or the literal patch of `new` when that is smaller. The literal is only tried
/// when the patch is over half of `new`: below that it cannot win by much.
fn literal_if_smaller(
    basis: Basis,
    patch: Vec<u8>,
    new: &[u8],
    options: &DiffOptions,
) -> Result<(Basis, Vec<u8>)> {
    if patch.len() <= new.len() / 2 {
        return Ok((basis, patch));
    }
    let literal = crate::diff(&[], new, options)?;
    Ok(if literal.len() < patch.len() { (Basis::Literal, literal) } else { (basis, patch) })
}

/// The manifest: the old files read (numbered in path byte order), and the new tree's entries.
fn assemble(
    new: &[Found],
    old_files: &[Content],
    new_files: &[Content],
    made: Vec<(Basis, Vec<u8>)>,
) -> (Manifest, Vec<Vec<u8>>) {
    let mut used: Vec<usize> = made
        .iter()
        .filter_map(|(basis, _)| match *basis {
            Basis::Copy(i) | Basis::Patch(i) => Some(i),
            Basis::Literal => None,
        })
        .collect();
    used.sort_by(|&a, &b| path_bytes(&old_files[a].path).cmp(path_bytes(&old_files[b].path)));
    used.dedup();
    let number: HashMap<usize, usize> = used.iter().enumerate().map(|(n, &i)| (i, n)).collect();
    let by_path: HashMap<&Path, usize> =
        new_files.iter().enumerate().map(|(i, f)| (f.path.as_path(), i)).collect();
    let entries = new
        .iter()
        .map(|found| {
            let kind = match &found.kind {
                FoundKind::Dir => EntryKind::Dir,
                FoundKind::Symlink { target } => EntryKind::Symlink { target: target.clone() },
                FoundKind::File { .. } => {
                    let i = by_path[found.path.as_path()];
                    let (basis, blob) = &made[i];
                    let blob_len = blob.len() as u64;
                    let source = match *basis {
                        Basis::Copy(o) => FileSource::Copy { old: number[&o] },
                        Basis::Patch(o) => FileSource::Patch { old: number[&o], blob_len },
                        Basis::Literal => FileSource::Literal { blob_len },
                    };
                    EntryKind::File { size: new_files[i].data.len() as u64, hash: new_files[i].hash, source }
                }
            };
            TreeEntry { path: found.path.clone(), mode: found.mode, kind }
        })
        .collect();
    let old = used
        .iter()
        .map(|&i| OldFile {
            path: old_files[i].path.clone(),
            size: old_files[i].data.len() as u64,
            hash: old_files[i].hash,
        })
        .collect();
    // File patches go in entry order, which is the new files' order.
    let blobs = made.into_iter().map(|(_, blob)| blob).collect();
    (Manifest { old_files: old, entries, removed: Vec::new() }, blobs)
}

/// The paths of `old` that `new` does not have, in path byte order.
fn removed(old: &[Found], new: &[Found]) -> Vec<PathBuf> {
    let kept: std::collections::HashSet<&Path> = new.iter().map(|f| f.path.as_path()).collect();
    old.iter().map(|f| &f.path).filter(|p| !kept.contains(p.as_path())).cloned().collect()
}

fn path_bytes(path: &Path) -> &[u8] {
    use std::os::unix::ffi::OsStrExt;
    path.as_os_str().as_bytes()
}
