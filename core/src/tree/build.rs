//! The diff side of tree patches: which old file each new file is made from, and its file
//! patch.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::error::Result;
use crate::hash::hash;
use crate::io::{MappedFile, map_file};
use crate::options::DiffOptions;
use crate::parallel::Workers;
use crate::tree::manifest::{
    CHECK_LEN, EntryKind, FileSource, Manifest, OldCheck, OldFile, SolidPatch, TreeEntry,
};
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

/// The manifest and the solid file patches, back to back (empty when every file is a copy),
/// for `old_dir` to `new_dir`.
pub(crate) fn build(old_dir: &Path, new_dir: &Path, options: &DiffOptions) -> Result<(Manifest, Vec<u8>)> {
    let (old, new) = (walk(old_dir)?, walk(new_dir)?);
    check_case_collisions(&new)?;
    let links = if options.hard_links { hard_links(&new) } else { HashMap::new() };
    let workers = Workers::new(options.threads)?;
    workers.run(|| {
        let old_files = read_files(old_dir, &old)?;
        let named: Vec<Found> = new.iter().filter(|f| !links.contains_key(&f.path)).cloned().collect();
        let new_files = read_files(new_dir, &named)?;
        let bases = choose_bases(&old_files, &new_files);
        let patches = solid_patches(&old_files, &new_files, &bases, options)?;
        let solid = patches.iter().map(|p| (p.bases.clone(), p.files, p.blob.len() as u64)).collect();
        let mut manifest = assemble(&new, &links, &old_files, &new_files, &bases, solid);
        if options.mtimes {
            for (entry, found) in manifest.entries.iter_mut().zip(&new) {
                entry.mtime = (!matches!(entry.kind, EntryKind::HardLink { .. })).then_some(found.mtime);
            }
        }
        manifest.removed = removed(&old, &new);
        Ok((manifest, patches.into_iter().flat_map(|p| p.blob).collect()))
    })
}

/// Every file of `found` that is another name of an earlier one (the same device and inode),
/// with that earlier one's path.
fn hard_links(found: &[Found]) -> HashMap<PathBuf, PathBuf> {
    let mut first: HashMap<(u64, u64), &Path> = HashMap::new();
    let mut links = HashMap::new();
    for entry in found {
        if let Some(inode) = entry.linked {
            let leader = *first.entry(inode).or_insert(&entry.path);
            if leader != entry.path {
                links.insert(entry.path.clone(), leader.to_path_buf());
            }
        }
    }
    links
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

/// Most bytes of bases plus new files that one solid patch takes (unless one file alone is
/// more): what bounds the bases apply holds in memory, and diff's index, per patch.
pub(crate) const SOLID_PATCH_BYTES: u64 = 256 << 20;

/// A solid patch made: its bases (old file numbers, in order), how many files it makes, and
/// the file patch.
struct MadePatch {
    bases: Vec<usize>,
    files: usize,
    blob: Vec<u8>,
}

/// A solid patch being made: its bases (old file numbers, each once, in order of first use),
/// its new files (indices into the new files) and their bytes.
#[derive(Default)]
struct Group {
    bases: Vec<usize>,
    files: Vec<usize>,
    bytes: u64,
}

/// The solid file patches (`TREE-FORMAT.md`, "Solid file patches") of every new file that is
/// not a copy, in entry order, each against the concatenation of its bases: with each one's
/// bases and file count. One patch for many files rather than one per file: shared new content
/// compresses once, and small files cost no per-patch overhead. Executables and containers
/// each get a patch of their own ([`needs_own_patch`]): on `cmake-tree`, whose three binaries
/// share statically linked code, the transform that then applies beat the shared compression
/// 755,156 bytes to 1,824,043. A patch is closed before it passes [`SOLID_PATCH_BYTES`].
fn solid_patches(
    old: &[Content],
    new: &[Content],
    bases: &[Basis],
    options: &DiffOptions,
) -> Result<Vec<MadePatch>> {
    let sizes = |files: &[Content]| files.iter().map(|file| file.data.len() as u64).collect::<Vec<_>>();
    let alone: Vec<bool> = new.iter().map(|file| needs_own_patch(&file.data, options)).collect();
    let groups = group_solid_files(&sizes(old), &sizes(new), bases, &alone, SOLID_PATCH_BYTES);
    let total: u64 = new.iter().map(|file| file.data.len() as u64).sum();
    let mut done =
        total - groups.iter().flat_map(|g| &g.files).map(|&i| new[i].data.len() as u64).sum::<u64>();
    let mut patches = Vec::with_capacity(groups.len());
    for group in groups {
        let old_bytes: Vec<u8> = group.bases.iter().flat_map(|&i| old[i].data.iter().copied()).collect();
        let new_bytes: Vec<u8> = group.files.iter().flat_map(|&i| new[i].data.iter().copied()).collect();
        let progress = options.progress.part(done, new_bytes.len() as u64, total);
        done += new_bytes.len() as u64;
        // Only a patch of one file may be a container patch (apply rebuilds it into that file).
        let containers = options.containers && group.files.len() == 1;
        let blob_options = DiffOptions { signers: Vec::new(), progress, containers, ..options.clone() };
        let blob = crate::diff(&old_bytes, &new_bytes, &blob_options)?;
        patches.push(MadePatch { bases: group.bases, files: group.files.len(), blob });
    }
    if let Some(progress) = options.progress.get().filter(|_| patches.is_empty()) {
        let _ = progress(total, total);
    }
    Ok(patches)
}

/// Whether a new file gets a solid patch of its own: a container, whose patch may then be a
/// container patch, and (with [`DiffOptions::exec`]) an executable, whose patch may then use
/// the executable transform, which reads the file's headers at its start. Measured on
/// `pydantic-core-tree` (`benches/trees.py`): 116,082 bytes when its `.so` shared a patch with
/// the other changed files, against bsdiff's 113,978 on the tars.
fn needs_own_patch(data: &[u8], options: &DiffOptions) -> bool {
    crate::container::starts_like_container(data) || (options.exec && crate::exec::looks_executable(data))
}

/// The files that are not copies, in entry order, cut into groups of at most `limit` new and
/// base bytes (a bigger file is a group of its own, as is each file marked `alone`: see
/// [`needs_own_patch`]), given the files' sizes.
fn group_solid_files(old: &[u64], new: &[u64], bases: &[Basis], alone: &[bool], limit: u64) -> Vec<Group> {
    let mut groups = vec![Group::default()];
    for (index, basis) in bases.iter().enumerate() {
        let base = match *basis {
            Basis::Copy(_) => continue,
            Basis::Patch(base) => Some(base),
            Basis::Literal => None,
        };
        let mut group = groups.last_mut().expect("one group at least");
        let base_bytes = base.filter(|b| !group.bases.contains(b)).map_or(0, |b| old[b]);
        let bytes = new[index] + base_bytes;
        let last_alone = group.files.last().is_some_and(|&last| alone[last]);
        if !group.files.is_empty() && (group.bytes + bytes > limit || alone[index] || last_alone) {
            groups.push(Group::default());
            group = groups.last_mut().expect("just pushed");
        }
        if let Some(base) = base.filter(|b| !group.bases.contains(b)) {
            group.bases.push(base);
        }
        group.files.push(index);
        group.bytes += bytes;
    }
    groups.retain(|group| !group.files.is_empty());
    groups
}

/// The manifest: the old files read (numbered in path byte order, checked by their hash's
/// first bytes and, all together, by the old digest), and the new tree's entries, in which
/// the files `links` names are hard links to the earlier names it gives. Removed paths are
/// left to the caller.
fn assemble(
    new: &[Found],
    links: &HashMap<PathBuf, PathBuf>,
    old_files: &[Content],
    new_files: &[Content],
    bases: &[Basis],
    solid: Vec<(Vec<usize>, usize, u64)>,
) -> Manifest {
    let mut used: Vec<usize> = bases
        .iter()
        .filter_map(|basis| match *basis {
            Basis::Copy(i) | Basis::Patch(i) => Some(i),
            Basis::Literal => None,
        })
        .collect();
    used.sort_by(|&a, &b| path_bytes(&old_files[a].path).cmp(path_bytes(&old_files[b].path)));
    used.dedup();
    let number: HashMap<usize, usize> = used.iter().enumerate().map(|(n, &i)| (i, n)).collect();
    let by_path: HashMap<&Path, usize> =
        new_files.iter().enumerate().map(|(i, f)| (f.path.as_path(), i)).collect();
    let position: HashMap<&Path, usize> =
        new.iter().enumerate().map(|(i, f)| (f.path.as_path(), i)).collect();
    let mut owners =
        solid.iter().enumerate().flat_map(|(patch, (_, files, _))| std::iter::repeat_n(patch, *files));
    let (mut current, mut offset) = (0, 0);
    let entries = new
        .iter()
        .map(|found| {
            let kind = match &found.kind {
                FoundKind::Dir => EntryKind::Dir,
                FoundKind::Symlink { target } => EntryKind::Symlink { target: target.clone() },
                FoundKind::File { .. } if links.contains_key(&found.path) => {
                    EntryKind::HardLink { target: position[links[&found.path].as_path()] }
                }
                FoundKind::File { .. } => {
                    let i = by_path[found.path.as_path()];
                    let size = new_files[i].data.len() as u64;
                    let source = match bases[i] {
                        Basis::Copy(o) => FileSource::Copy { old: number[&o] },
                        Basis::Patch(_) | Basis::Literal => {
                            let patch = owners.next().expect("a solid patch for every solid file");
                            if patch != current {
                                (current, offset) = (patch, 0);
                            }
                            offset += size;
                            FileSource::Solid { patch, offset: offset - size }
                        }
                    };
                    EntryKind::File { size, hash: None, source }
                }
            };
            let mode = if matches!(kind, EntryKind::HardLink { .. }) { 0 } else { found.mode };
            TreeEntry { path: found.path.clone(), mode, kind, mtime: None }
        })
        .collect();
    let old = used
        .iter()
        .map(|&i| OldFile {
            path: old_files[i].path.clone(),
            size: old_files[i].data.len() as u64,
            check: OldCheck::Blake3Prefix(old_files[i].hash[..CHECK_LEN].try_into().expect("CHECK_LEN")),
        })
        .collect();
    let hashes: Vec<&[u8; 32]> = used.iter().map(|&i| &old_files[i].hash).collect();
    let solid = solid
        .into_iter()
        .map(|(bases, files, len)| SolidPatch {
            bases: bases.iter().map(|i| number[i]).collect(),
            files,
            len,
        })
        .collect();
    Manifest { old_files: old, entries, removed: Vec::new(), old_digest: Some(old_digest(&hashes)), solid }
}

/// blake3 of the old files' blake3 hashes, in order: what a format 2 apply checks the old
/// tree against, beside each file's size and hash prefix.
pub(crate) fn old_digest(hashes: &[&[u8; 32]]) -> [u8; 32] {
    let mut hasher = blake3::Hasher::new();
    hashes.iter().for_each(|hash| {
        hasher.update(*hash);
    });
    *hasher.finalize().as_bytes()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solid_groups_stay_under_the_limit_and_keep_entry_order() {
        let old = [60, 30];
        let new = [50, 10, 40, 200, 5];
        let bases = [Basis::Patch(0), Basis::Copy(1), Basis::Patch(1), Basis::Literal, Basis::Patch(0)];
        let groups = group_solid_files(&old, &new, &bases, &[false; 5], 150);
        let seen: Vec<_> = groups.iter().map(|g| (g.bases.clone(), g.files.clone(), g.bytes)).collect();
        // 50 + 60, then 40 + 30 would pass 150: a new group; 200 alone; 5 + 60.
        assert_eq!(
            seen,
            [(vec![0], vec![0], 110), (vec![1], vec![2], 70), (vec![], vec![3], 200), (vec![0], vec![4], 65)]
        );
    }
}
