//! `chunkdelta info`: a patch's header and chunk table as text or JSON.

use std::fmt::Write as _;

use chunkdelta::{ChunkInfo, PatchInfo, SignatureInfo, StreamKind};

use crate::hex;
use crate::size::{format_percent, format_size};
use crate::trust::format_time;

/// The summary, then with `with_chunks` one row per chunk: its streams' packed sizes and codecs.
pub(crate) fn text(info: &PatchInfo, with_chunks: bool) -> String {
    let mut text = String::new();
    let size = |bytes| format!("{bytes} bytes ({})", format_size(bytes));
    let codec = info.codec.map_or_else(|| "per stream".to_string(), |codec| codec.to_string());
    let _ = writeln!(text, "format version  {}", info.format_version);
    let _ = writeln!(text, "codec           {codec}");
    let _ = writeln!(text, "old size        {}", size(info.old_size));
    let _ = writeln!(text, "old blake3      {}", hex(&info.old_hash));
    let _ = writeln!(text, "new size        {}", size(info.new_size));
    let _ = writeln!(text, "new blake3      {}", hex(&info.new_hash));
    let _ = writeln!(
        text,
        "patch size      {}, {} of new",
        size(info.patch_size),
        format_percent(info.patch_size, info.new_size)
    );
    let _ = writeln!(text, "chunks          {}", info.chunks.len());
    let _ = writeln!(text, "table blake3    {}", hex(&info.table_hash));
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
        let _ = writeln!(text, " {dictionary:>21} {:>5}  {}", chunk.group_len, hex(&chunk.hash));
    }
}

/// The JSON form of `info`, written by hand: every value is a number, a string or null.
/// Keys keep the order of the text form; chunks take one line each.
pub(crate) fn json(info: &PatchInfo) -> String {
    let mut json = String::from("{\n");
    let codec = info.codec.map_or_else(|| "null".to_string(), |codec| format!("\"{codec}\""));
    let _ = writeln!(json, "  \"format_version\": {},", info.format_version);
    let _ = writeln!(json, "  \"codec\": {codec},");
    let _ = writeln!(json, "  \"old_size\": {},", info.old_size);
    let _ = writeln!(json, "  \"old_hash\": \"{}\",", hex(&info.old_hash));
    let _ = writeln!(json, "  \"new_size\": {},", info.new_size);
    let _ = writeln!(json, "  \"new_hash\": \"{}\",", hex(&info.new_hash));
    let _ = writeln!(json, "  \"patch_size\": {},", info.patch_size);
    let _ = writeln!(json, "  \"chunk_count\": {},", info.chunks.len());
    let _ = writeln!(json, "  \"table_hash\": \"{}\",", hex(&info.table_hash));
    let _ = writeln!(json, "  \"signing_digest\": \"{}\",", hex(&info.signing_digest));
    let signatures: Vec<String> = info.signatures.iter().map(signature_json).collect();
    let _ = writeln!(json, "  \"signatures\": [{}],", signatures.join(", "));
    json.push_str("  \"chunks\": [");
    for (index, chunk) in info.chunks.iter().enumerate() {
        let separator = if index == 0 { "" } else { "," };
        let _ = write!(json, "{separator}\n    {}", chunk_json(index, chunk));
    }
    json.push_str(if info.chunks.is_empty() { "]\n}\n" } else { "\n  ]\n}\n" });
    json
}

fn signature_json(signature: &SignatureInfo) -> String {
    let or_null = |value: Option<String>| value.unwrap_or_else(|| "null".into());
    let product = signature.product.as_ref().map(|p| serde_json::to_string(p).expect("strings serialise"));
    format!(
        "{{\"key_id\": \"{}\", \"created\": {}, \"expires\": {}, \"product\": {}, \"release\": {}}}",
        signature.key_id,
        signature.created,
        or_null(signature.expires.map(|t| t.to_string())),
        or_null(product),
        or_null(signature.release.map(|r| r.to_string())),
    )
}

fn chunk_json(index: usize, chunk: &ChunkInfo) -> String {
    let streams: Vec<String> = chunk
        .streams
        .iter()
        .map(|s| {
            format!(
                "{{\"kind\": \"{}\", \"codec\": \"{}\", \"raw_len\": {}, \"packed_len\": {}}}",
                s.kind, s.codec, s.raw_len, s.packed_len
            )
        })
        .collect();
    let dictionary = chunk
        .dictionary
        .as_ref()
        .map_or("null".to_string(), |d| format!("{{\"offset\": {}, \"len\": {}}}", d.start, d.end - d.start));
    format!(
        "{{\"index\": {index}, \"new_offset\": {}, \"new_len\": {}, \"payload_len\": {}, \
         \"streams\": [{}], \"dictionary\": {dictionary}, \"group_len\": {}, \"hash\": \"{}\"}}",
        chunk.new_offset,
        chunk.new_len,
        chunk.payload_len(),
        streams.join(", "),
        chunk.group_len,
        hex(&chunk.hash),
    )
}
