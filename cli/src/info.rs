//! `chunkdelta info`: a patch's header and chunk table (or a bsdiff patch's header) as text or
//! JSON.

use std::fmt::Write as _;

use chunkdelta::{
    BsdiffInfo, ChunkInfo, ContainerInfo, ExecInfo, PatchFormat, PatchHead, PatchInfo, SignatureInfo,
    StreamKind,
};
use serde::Serialize;

use crate::size::{format_percent, format_size};
use crate::summary::to_json;
use crate::trust::format_time;

/// The summary, then with `with_chunks` one row per chunk: its streams' packed sizes and codecs.
pub(crate) fn text(info: &PatchInfo, with_chunks: bool) -> String {
    let mut text = String::new();
    let size = |bytes| format!("{bytes} bytes ({})", format_size(bytes));
    let codec = info.codec.map_or_else(|| "per stream".to_string(), |codec| codec.to_string());
    let _ = writeln!(text, "format version  {}", info.format_version);
    let _ = writeln!(text, "codec           {codec}");
    let _ = writeln!(text, "old size        {}", size(info.old_size));
    let _ = writeln!(text, "old blake3      {}", hex::encode(info.old_hash));
    let _ = writeln!(text, "new size        {}", size(info.new_size));
    let _ = writeln!(text, "new blake3      {}", hex::encode(info.new_hash));
    let _ = writeln!(
        text,
        "patch size      {}, {} of new",
        size(info.patch_size),
        format_percent(info.patch_size, info.new_size)
    );
    if let Some(container) = &info.container {
        container_text(container, &mut text);
    }
    if let Some(exec) = &info.exec {
        let _ = writeln!(
            text,
            "exec            {} (analysis {}), {} pointer fields in old, map of {} pieces ({})",
            exec.arch,
            exec.extractor_version,
            exec.old_references,
            exec.map_pieces,
            format_size(exec.block_len)
        );
    }
    let _ = writeln!(text, "chunks          {}", info.chunks.len());
    let _ = writeln!(text, "table blake3    {}", hex::encode(info.table_hash));
    signatures_text(info, &mut text);
    for total in stream_totals(info) {
        let _ = writeln!(
            text,
            "{:<15} {} raw, {} packed ({})",
            total.kind.to_string(),
            total.raw,
            total.packed,
            total.codecs.join(", ")
        );
    }
    let dictionaries = info.chunks.iter().filter(|chunk| chunk.dictionary.is_some()).count();
    let _ = writeln!(text, "dictionaries    {dictionaries} of {} chunks", info.chunks.len());
    if with_chunks && !info.chunks.is_empty() {
        chunk_table(info, &mut text);
    }
    text
}

/// A container patch's lines: its container and what apply inflates and deflates.
fn container_text(container: &ContainerInfo, text: &mut String) {
    let _ = writeln!(
        text,
        "container       {} (format {}), rebuilt by {}",
        container.kind.name(),
        container.format_version,
        container.rebuild_method
    );
    let _ = writeln!(
        text,
        "expanded        {} old members, {} inflated",
        container.members_expanded,
        format_size(container.expanded_len)
    );
    let _ = writeln!(
        text,
        "rebuilt         {} new members ({} by zlib, {} by tokens), {} to deflate",
        container.members_rebuilt,
        container.members_rebuilt - container.members_rebuilt_by_tokens,
        container.members_rebuilt_by_tokens,
        format_size(container.rebuilt_len)
    );
    if container.members_rebuilt_by_tokens > 0 {
        let _ = writeln!(text, "structures      {} in the new view", format_size(container.structure_len));
    }
    let _ = writeln!(
        text,
        "views           old {}, new {}",
        format_size(container.old_view_size),
        format_size(container.new_view_size)
    );
}

/// The signatures, one line each, or "none". They are shown, not checked: `verify
/// --trusted-key` checks them.
fn signatures_text(info: &PatchInfo, text: &mut String) {
    if info.signatures.is_empty() {
        let _ = writeln!(text, "signatures      none");
        return;
    }
    let _ = writeln!(
        text,
        "signatures      {} (not checked here: use verify --trusted-key)",
        info.signatures.len()
    );
    for signature in &info.signatures {
        let _ = write!(text, "  key {}  created {}", signature.key_id, format_time(signature.created));
        let _ = write!(text, "  expires {}", signature.expires.map_or("never".into(), format_time));
        if let Some(product) = &signature.product {
            let _ = write!(text, "  product {product:?}");
        }
        if let Some(release) = signature.release {
            let _ = write!(text, "  release {release}");
        }
        text.push('\n');
    }
}

/// One stream kind's sizes summed over the chunks, and how many chunks store it with each codec.
struct StreamTotal {
    kind: StreamKind,
    raw: u64,
    packed: u64,
    /// "zstd x3" and so on, in order of first use.
    codecs: Vec<String>,
}

fn stream_totals(info: &PatchInfo) -> Vec<StreamTotal> {
    let kinds =
        info.chunks.first().map_or(Vec::new(), |chunk| chunk.streams.iter().map(|s| s.kind).collect());
    kinds
        .into_iter()
        .map(|kind| {
            let streams: Vec<_> = info.chunks.iter().filter_map(|chunk| chunk.stream(kind)).collect();
            let mut codecs: Vec<(String, usize)> = Vec::new();
            for stream in &streams {
                let name = stream.codec.to_string();
                match codecs.iter_mut().find(|(known, _)| *known == name) {
                    Some((_, count)) => *count += 1,
                    None => codecs.push((name, 1)),
                }
            }
            StreamTotal {
                kind,
                raw: streams.iter().map(|s| s.raw_len).sum(),
                packed: streams.iter().map(|s| s.packed_len).sum(),
                codecs: codecs.into_iter().map(|(name, count)| format!("{name} x{count}")).collect(),
            }
        })
        .collect()
}

/// A blank line, a heading, and per chunk its place, payload, each stream's packed size and
/// codec, its dictionary and its hash.
fn chunk_table(info: &PatchInfo, text: &mut String) {
    let _ = write!(text, "\n{:>7} {:>14} {:>10} {:>10}", "chunk", "offset", "length", "payload");
    for stream in &info.chunks[0].streams {
        let _ = write!(text, " {:>17}", stream.kind.to_string());
    }
    let _ = writeln!(text, " {:>21} {:>5}  blake3", "dictionary", "group");
    for (index, chunk) in info.chunks.iter().enumerate() {
        let _ = write!(
            text,
            "{index:>7} {:>14} {:>10} {:>10}",
            chunk.new_offset,
            chunk.new_len,
            chunk.payload_len()
        );
        for stream in &chunk.streams {
            let _ = write!(text, " {:>10} {:<6}", stream.packed_len, stream.codec.to_string());
        }
        let dictionary =
            chunk.dictionary.as_ref().map_or("-".to_string(), |d| format!("{}+{}", d.start, d.end - d.start));
        let _ = writeln!(text, " {dictionary:>21} {:>5}  {}", chunk.group_len, hex::encode(chunk.hash));
    }
}

/// The JSON form of `info` for a chunkdelta patch (schema in the README). Fields are added,
/// never renamed or removed.
#[derive(Serialize)]
pub(crate) struct InfoJson {
    format: String,
    has_hashes: bool,
    format_version: u16,
    codec: Option<String>,
    old_size: u64,
    old_hash: String,
    new_size: u64,
    new_hash: String,
    patch_size: u64,
    chunk_count: usize,
    table_hash: String,
    signing_digest: String,
    signatures: Vec<SignatureJson>,
    /// A container patch's container; absent for a file patch.
    #[serde(skip_serializing_if = "Option::is_none")]
    container: Option<ContainerJson>,
    /// A version-4 patch's executable transform; absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    exec: Option<ExecJson>,
    chunks: Vec<ChunkJson>,
}

/// [`ExecInfo`] as JSON.
#[derive(Serialize)]
struct ExecJson {
    arch: &'static str,
    extractor_version: u16,
    old_references: u64,
    map_pieces: u64,
    block_len: u64,
}

impl From<&ExecInfo> for ExecJson {
    fn from(e: &ExecInfo) -> Self {
        ExecJson {
            arch: e.arch,
            extractor_version: e.extractor_version,
            old_references: e.old_references,
            map_pieces: e.map_pieces,
            block_len: e.block_len,
        }
    }
}

/// [`ContainerInfo`] as JSON.
#[derive(Serialize)]
struct ContainerJson {
    kind: &'static str,
    format_version: u16,
    rebuild_method: &'static str,
    members_expanded: u64,
    expanded_len: u64,
    members_rebuilt: u64,
    members_rebuilt_by_zlib: u64,
    members_rebuilt_by_tokens: u64,
    rebuilt_len: u64,
    structure_len: u64,
    old_view_size: u64,
    new_view_size: u64,
}

impl From<&ContainerInfo> for ContainerJson {
    fn from(c: &ContainerInfo) -> Self {
        ContainerJson {
            kind: c.kind.name(),
            format_version: c.format_version,
            rebuild_method: c.rebuild_method,
            members_expanded: c.members_expanded,
            expanded_len: c.expanded_len,
            members_rebuilt: c.members_rebuilt,
            members_rebuilt_by_zlib: c.members_rebuilt - c.members_rebuilt_by_tokens,
            members_rebuilt_by_tokens: c.members_rebuilt_by_tokens,
            rebuilt_len: c.rebuilt_len,
            structure_len: c.structure_len,
            old_view_size: c.old_view_size,
            new_view_size: c.new_view_size,
        }
    }
}

/// One signature: shown, not checked (`verify --trusted-key` checks).
#[derive(Serialize)]
struct SignatureJson {
    key_id: String,
    created: u64,
    expires: Option<u64>,
    product: Option<String>,
    release: Option<u64>,
}

impl From<&SignatureInfo> for SignatureJson {
    fn from(signature: &SignatureInfo) -> Self {
        SignatureJson {
            key_id: signature.key_id.to_string(),
            created: signature.created,
            expires: signature.expires,
            product: signature.product.clone(),
            release: signature.release,
        }
    }
}

#[derive(Serialize)]
struct ChunkJson {
    index: usize,
    new_offset: u64,
    new_len: u64,
    payload_len: u64,
    streams: Vec<StreamJson>,
    dictionary: Option<DictionaryJson>,
    group_len: u32,
    hash: String,
}

#[derive(Serialize)]
struct StreamJson {
    kind: String,
    codec: String,
    raw_len: u64,
    packed_len: u64,
}

#[derive(Serialize)]
struct DictionaryJson {
    offset: u64,
    len: u64,
}

impl From<&PatchInfo> for InfoJson {
    fn from(info: &PatchInfo) -> Self {
        InfoJson {
            format: PatchFormat::Chunkdelta.to_string(),
            has_hashes: true,
            format_version: info.format_version,
            codec: info.codec.map(|codec| codec.to_string()),
            old_size: info.old_size,
            old_hash: hex::encode(info.old_hash),
            new_size: info.new_size,
            new_hash: hex::encode(info.new_hash),
            patch_size: info.patch_size,
            chunk_count: info.chunks.len(),
            table_hash: hex::encode(info.table_hash),
            signing_digest: hex::encode(info.signing_digest),
            signatures: info.signatures.iter().map(SignatureJson::from).collect(),
            container: info.container.as_deref().map(ContainerJson::from),
            exec: info.exec.as_deref().map(ExecJson::from),
            chunks: info.chunks.iter().enumerate().map(ChunkJson::from).collect(),
        }
    }
}

impl From<(usize, &ChunkInfo)> for ChunkJson {
    fn from((index, chunk): (usize, &ChunkInfo)) -> Self {
        let streams = chunk
            .streams
            .iter()
            .map(|s| StreamJson {
                kind: s.kind.to_string(),
                codec: s.codec.to_string(),
                raw_len: s.raw_len,
                packed_len: s.packed_len,
            })
            .collect();
        ChunkJson {
            index,
            new_offset: chunk.new_offset,
            new_len: chunk.new_len,
            payload_len: chunk.payload_len(),
            streams,
            dictionary: chunk
                .dictionary
                .as_ref()
                .map(|d| DictionaryJson { offset: d.start, len: d.end - d.start }),
            group_len: chunk.group_len,
            hash: hex::encode(chunk.hash),
        }
    }
}

/// The JSON form of `info` for a bsdiff patch, which has neither hashes nor chunks.
#[derive(Serialize)]
struct BsdiffJson {
    format: String,
    has_hashes: bool,
    new_size: u64,
    patch_size: u64,
    /// BSDIFF40's compressed block sizes; null for BSDIFF43.
    blocks: Option<BlocksJson>,
}

#[derive(Serialize)]
struct BlocksJson {
    control: u64,
    diff: u64,
    extra: u64,
}

impl From<&BsdiffInfo> for BsdiffJson {
    fn from(info: &BsdiffInfo) -> Self {
        BsdiffJson {
            format: info.format.to_string(),
            has_hashes: false,
            new_size: info.new_size,
            patch_size: info.patch_size,
            blocks: info.blocks.map(|[control, diff, extra]| BlocksJson { control, diff, extra }),
        }
    }
}

/// `info --json`: one pretty-printed JSON object and a newline.
pub(crate) fn json(head: &PatchHead) -> String {
    match head {
        PatchHead::Bsdiff(info) => to_json(&BsdiffJson::from(info)),
        PatchHead::Chunkdelta(info) => to_json(&InfoJson::from(info)),
    }
}

/// `info` of a bsdiff patch as text: what its header says, and that it has no hashes.
pub(crate) fn bsdiff_text(info: &BsdiffInfo) -> String {
    let mut text = String::new();
    let size = |bytes| format!("{bytes} bytes ({})", format_size(bytes));
    let _ = writeln!(text, "format          {} (bsdiff, bzip2)", info.format);
    let _ = writeln!(
        text,
        "hashes          none: this patch records no hash of the old or new file, so apply cannot \
         tell a wrong old file; it checks only that the patch is well formed"
    );
    let _ = writeln!(text, "new size        {}", size(info.new_size));
    let _ = writeln!(
        text,
        "patch size      {}, {} of new",
        size(info.patch_size),
        format_percent(info.patch_size, info.new_size)
    );
    if let Some(blocks) = info.blocks {
        for (name, len) in ["control", "diff", "extra"].iter().zip(blocks) {
            let _ = writeln!(text, "{:<15} {len} bytes, bzip2", format!("{name} block"));
        }
    }
    text
}
