//! The `--json` summaries of `diff`, `apply` and `verify`: one JSON object on stdout, for build
//! systems. The schema is in the README; fields are added, never renamed or removed.

use std::path::Path;
use std::time::Duration;

use chunkdelta::{ApplyReport, PatchFormat, PatchInfo};
use serde::Serialize;

/// A file the command read or wrote. `blake3` is null where no hash is known.
#[derive(Serialize)]
pub(crate) struct FileJson {
    path: String,
    size: u64,
    blake3: Option<String>,
}

impl FileJson {
    fn new(path: &Path, size: u64, blake3: Option<[u8; 32]>) -> Self {
        FileJson { path: path.display().to_string(), size, blake3: blake3.map(hex::encode) }
    }
}

/// What `diff --json` prints.
#[derive(Serialize)]
pub(crate) struct DiffSummary {
    command: &'static str,
    format: String,
    old: FileJson,
    new: FileJson,
    patch: FileJson,
    /// Patch size over new size; null for an empty new file.
    ratio: Option<f64>,
    seconds: f64,
    chunk_count: usize,
    /// 1 when every position of old was indexed; else the sampling step.
    index_step: u64,
}

impl DiffSummary {
    pub(crate) fn new(paths: [&Path; 3], info: &PatchInfo, elapsed: Duration, index_step: u64) -> Self {
        DiffSummary {
            command: "diff",
            format: PatchFormat::Chunkdelta.to_string(),
            old: FileJson::new(paths[0], info.old_size, Some(info.old_hash)),
            new: FileJson::new(paths[1], info.new_size, Some(info.new_hash)),
            patch: FileJson::new(paths[2], info.patch_size, None),
            ratio: ratio(info.patch_size, info.new_size),
            seconds: elapsed.as_secs_f64(),
            chunk_count: info.chunks.len(),
            index_step,
        }
    }
}

/// What `apply --json` and `verify --json` print.
#[derive(Serialize)]
pub(crate) struct ApplySummary {
    command: &'static str,
    format: String,
    /// Whether the patch's hashes of old and new were checked: false for bsdiff patches,
    /// which have none.
    hashes_checked: bool,
    /// `blake3` is the hash the patch records for old, null for a bsdiff patch.
    old: FileJson,
    /// `path` is `-` for standard input; `blake3` is null.
    patch: FileJson,
    /// `path` is the output for `apply`, null for `verify`; `blake3` is the new file's.
    new: NewJson,
    ratio: Option<f64>,
    seconds: f64,
    chunks_resumed: u64,
}

/// The new file: written by `apply`, only computed by `verify`.
#[derive(Serialize)]
pub(crate) struct NewJson {
    path: Option<String>,
    size: u64,
    blake3: String,
}

impl ApplySummary {
    /// `output` is `apply`'s destination, `None` for `verify`.
    pub(crate) fn new(
        command: &'static str,
        [old, patch]: [&Path; 2],
        output: Option<&Path>,
        report: &ApplyReport,
        elapsed: Duration,
    ) -> Self {
        let head = &report.head;
        let old_size = std::fs::metadata(old).map_or(0, |m| m.len());
        let old_hash = head.chunkdelta().map(|info| info.old_hash);
        ApplySummary {
            command,
            format: head.format().to_string(),
            hashes_checked: head.format().has_hashes(),
            old: FileJson::new(old, old_size, old_hash),
            patch: FileJson::new(patch, head.patch_size(), None),
            new: NewJson {
                path: output.map(|p| p.display().to_string()),
                size: head.new_size(),
                blake3: hex::encode(report.new_hash),
            },
            ratio: ratio(head.patch_size(), head.new_size()),
            seconds: elapsed.as_secs_f64(),
            chunks_resumed: report.chunks_resumed,
        }
    }
}

fn ratio(patch: u64, new: u64) -> Option<f64> {
    (new > 0).then(|| patch as f64 / new as f64)
}

/// `value` as pretty-printed JSON and a newline.
pub(crate) fn to_json(value: &impl Serialize) -> String {
    serde_json::to_string_pretty(value).expect("plain structs of numbers and strings serialise") + "\n"
}
