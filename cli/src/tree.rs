//! Tree patches on the command line: `diff` of two directories, and `apply`, `verify` and
//! `info` of a patch that starts with the tree magic.

use std::fmt::Write as _;
use std::io::Read;
use std::path::Path;

use chunkdelta::{EntryKind, Error, FileSource, Recovered, TreeInfo};
use serde_json::{Value, json};

use crate::size::{format_duration, format_size};
use crate::trust::format_time;
use crate::{Progress, Ui};

/// Whether the patch file at `path` is a tree patch (standard input never is: tree patches
/// are read from files).
pub(crate) fn is_tree_patch_file(path: &Path) -> bool {
    let mut magic = [0u8; 4];
    std::fs::File::open(path).and_then(|mut file| file.read_exact(&mut magic)).is_ok()
        && chunkdelta::is_tree_patch(&magic)
}

/// What an apply or diff of a tree did, in one line.
pub(crate) fn summary(info: &TreeInfo) -> String {
    let counts = Counts::of(info);
    let made = if info.format_version == 1 {
        format!("{} patched, {} literal", counts.patched, counts.files - counts.copied - counts.patched)
    } else {
        format!("{} from the solid patch", counts.files - counts.copied)
    };
    let hard_links = match counts.hard_links {
        0 => String::new(),
        n => format!(", {n} hard links"),
    };
    format!(
        "{} files ({} copied, {made}), {} directories, {} symlinks{hard_links}; patch {}",
        counts.files,
        counts.copied,
        counts.dirs,
        counts.links,
        format_size(info.patch_size)
    )
}

#[derive(Default)]
struct Counts {
    files: usize,
    copied: usize,
    patched: usize,
    dirs: usize,
    links: usize,
    hard_links: usize,
}

impl Counts {
    fn of(info: &TreeInfo) -> Self {
        let mut counts = Counts::default();
        for entry in &info.entries {
            match &entry.kind {
                EntryKind::File { source, .. } => {
                    counts.files += 1;
                    match source {
                        FileSource::Copy { .. } => counts.copied += 1,
                        FileSource::Patch { .. } => counts.patched += 1,
                        _ => {}
                    }
                }
                EntryKind::Dir => counts.dirs += 1,
                EntryKind::Symlink { .. } => counts.links += 1,
                EntryKind::HardLink { .. } => counts.hard_links += 1,
                _ => {}
            }
        }
        counts
    }
}

/// `info` of a tree patch: the summary, the signatures, then one line per entry.
pub(crate) fn text(info: &TreeInfo) -> String {
    let mut text = String::new();
    let _ = writeln!(text, "tree format     {}", info.format_version);
    let _ = writeln!(text, "patch size      {} bytes ({})", info.patch_size, format_size(info.patch_size));
    let _ = writeln!(text, "entries         {}", summary(info));
    let _ = writeln!(text, "old files read  {}", info.old_files.len());
    for (index, solid) in info.solid.iter().enumerate() {
        let (len, files, bases) = (solid.len, solid.files, solid.bases.len());
        let _ =
            writeln!(text, "solid patch {index:<3} {len} bytes, {files} files, against {bases} old files");
    }
    let _ = writeln!(text, "manifest blake3 {}", hex::encode(info.manifest_hash));
    let _ = writeln!(text, "signatures      {}", info.signatures.len());
    for signature in &info.signatures {
        let expires = signature.expires.map_or("never".into(), format_time);
        let _ = writeln!(
            text,
            "  key {}  created {}  expires {expires}",
            signature.key_id,
            format_time(signature.created)
        );
    }
    text.push('\n');
    for entry in &info.entries {
        let path = entry.path.display();
        let _ = match &entry.kind {
            EntryKind::File { size, source, .. } => {
                let (op, detail) = operation(info, entry, *source);
                writeln!(text, "{op:<8} {:o} {path} ({size} bytes){detail}", entry.mode)
            }
            EntryKind::Dir => writeln!(text, "dir      {:o} {path}", entry.mode),
            EntryKind::Symlink { target } => writeln!(text, "symlink      {path} -> {}", target.display()),
            EntryKind::HardLink { target } => {
                writeln!(text, "hardlink     {path} = {}", info.entries[*target].path.display())
            }
            _ => Ok(()),
        };
    }
    for path in &info.removed {
        let _ = writeln!(text, "removed      {}", path.display());
    }
    text
}

/// The operation's name and what it reads: `keep` is a copy of the same path (unchanged).
fn operation(info: &TreeInfo, entry: &chunkdelta::TreeEntry, source: FileSource) -> (&'static str, String) {
    let old = |index: usize| info.old_files[index].path.display().to_string();
    match source {
        FileSource::Copy { old: index } if info.old_files[index].path == entry.path => {
            ("keep", String::new())
        }
        FileSource::Copy { old: index } => ("copy", format!(" from {}", old(index))),
        FileSource::Patch { old: index, blob_len } => {
            ("patch", format!(" against {}, {blob_len} bytes", old(index)))
        }
        FileSource::Literal { blob_len } => ("literal", format!(", {blob_len} bytes")),
        FileSource::Solid { .. } => ("solid", String::new()),
        _ => ("unknown", String::new()),
    }
}

/// `info --json` of a tree patch.
pub(crate) fn json(info: &TreeInfo) -> String {
    let entries: Vec<Value> = info.entries.iter().map(|entry| entry_json(info, entry)).collect();
    let old_files: Vec<Value> = info
        .old_files
        .iter()
        .map(|f| json!({"path": f.path.to_string_lossy(), "size": f.size, "hash": hex::encode(f.check.as_bytes())}))
        .collect();
    let solid: Vec<Value> = info
        .solid
        .iter()
        .map(|solid| {
            let bases: Vec<_> =
                solid.bases.iter().map(|&i| info.old_files[i].path.to_string_lossy()).collect();
            json!({"len": solid.len, "files": solid.files, "bases": bases})
        })
        .collect();
    let signatures: Vec<Value> = info
        .signatures
        .iter()
        .map(|s| {
            json!({"key_id": s.key_id.to_string(), "created": s.created, "expires": s.expires,
                   "product": s.product, "release": s.release})
        })
        .collect();
    let value = json!({
        "kind": "tree",
        "format_version": info.format_version,
        "patch_size": info.patch_size,
        "manifest_hash": hex::encode(info.manifest_hash),
        "signing_digest": hex::encode(info.signing_digest),
        "signatures": signatures,
        "old_files": old_files,
        "old_digest": info.old_digest.map(hex::encode),
        "solid": solid,
        "entries": entries,
        "removed": info.removed.iter().map(|p| p.to_string_lossy()).collect::<Vec<_>>(),
    });
    serde_json::to_string_pretty(&value).expect("JSON values serialise") + "\n"
}

fn entry_json(info: &TreeInfo, entry: &chunkdelta::TreeEntry) -> Value {
    let mut value = entry_kind_json(info, entry);
    if let Some(mtime) = entry.mtime {
        value["mtime"] = json!({"secs": mtime.secs, "nanos": mtime.nanos});
    }
    value
}

fn entry_kind_json(info: &TreeInfo, entry: &chunkdelta::TreeEntry) -> Value {
    let path = entry.path.to_string_lossy();
    match &entry.kind {
        EntryKind::File { size, hash, source } => {
            let (op, _) = operation(info, entry, *source);
            let old = source.old().map(|index| info.old_files[index].path.to_string_lossy());
            json!({"path": path, "kind": "file", "mode": entry.mode, "size": size, "hash": hash.map(hex::encode),
                   "op": op, "old": old, "blob_len": source.blob_len()})
        }
        EntryKind::Dir => json!({"path": path, "kind": "dir", "mode": entry.mode}),
        EntryKind::Symlink { target } => {
            json!({"path": path, "kind": "symlink", "target": target.to_string_lossy()})
        }
        EntryKind::HardLink { target } => {
            json!({"path": path, "kind": "hardlink", "target": info.entries[*target].path.to_string_lossy()})
        }
        _ => json!({"path": path, "kind": "unknown"}),
    }
}

/// `apply` of a tree patch: into a new directory `output`, or in place (`output` `None`).
pub(crate) fn apply(
    old: &Path,
    patch: &Path,
    output: Option<&Path>,
    options: &chunkdelta::ApplyOptions,
    ui: Ui,
    progress: Progress,
) -> Result<(), Error> {
    let started = std::time::Instant::now();
    let Some(output) = output else {
        let report = chunkdelta::apply_tree_in_place(old, patch, options)?;
        drop(progress);
        let took = format_duration(started.elapsed());
        ui.say(format_args!(
            "upgraded {} in place: {}, blake3 verified, in {took}",
            old.display(),
            summary(&report.info)
        ));
        for path in &report.carried {
            ui.say(format_args!("kept {} (not in the patch: carried into the new tree)", path.display()));
        }
        ui.say(format_args!(
            "the old tree is kept until `chunkdelta commit {0}`; `chunkdelta rollback {0}` restores it",
            old.display()
        ));
        return Ok(());
    };
    let info = chunkdelta::apply_tree(old, patch, output, options)?;
    drop(progress);
    let took = format_duration(started.elapsed());
    ui.say(format_args!("wrote {}: {}, blake3 verified, in {took}", output.display(), summary(&info)));
    Ok(())
}

pub(crate) fn commit(dir: &Path, ui: Ui) -> Result<(), Error> {
    chunkdelta::commit_tree(dir)?;
    ui.say(format_args!("committed {}: the old tree is deleted", dir.display()));
    Ok(())
}

pub(crate) fn rollback(dir: &Path, ui: Ui) -> Result<(), Error> {
    chunkdelta::rollback_tree(dir)?;
    ui.say(format_args!("rolled back {}: it holds the old tree again", dir.display()));
    Ok(())
}

pub(crate) fn recover(dir: &Path, ui: Ui) -> Result<(), Error> {
    let said = match chunkdelta::recover_tree(dir)? {
        Recovered::Nothing => "no update was pending",
        Recovered::DiscardedStaging => {
            "an update had not swapped: it holds the old tree; the staging is removed"
        }
        Recovered::Swapped => "an update had swapped: it holds the new tree (commit or rollback next)",
        Recovered::RolledBack => "a rollback was under way: it holds the old tree again",
        _ => "recovered",
    };
    ui.say(format_args!("{}: {said}", dir.display()));
    Ok(())
}
