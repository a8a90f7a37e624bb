//! Formats v1 to v4: the byte layout of a patch. `FORMAT.md` is the normative description;
//! each constant here quotes its row.
//!
//! ```text
//! header (96 bytes) | chunk table (64 bytes (v1, v2), 96 (v3) or 112 (v4) x chunk_count)
//!     | exec block (v4) | table hash (32) | signature block | payloads
//! ```
//!
//! Everything is little endian. Every number read from a patch is checked here, before the
//! caller allocates anything from it. The encoder writes version 3, and version 4 for
//! executables (`crate::exec`).

use std::fmt;
use std::io::Read;
use std::ops::Range;

use crate::codec::{Codec, StreamCodec};
use crate::error::{Error, Result};
use crate::exec::{self, ExecInfo};
use crate::trust::{self, SignatureInfo};

/// `magic`, offset 0, 4 bytes: the ASCII bytes `CDLT`.
pub const MAGIC: [u8; 4] = *b"CDLT";
/// `format_version`, offset 4, u16: the highest version this library reads and writes (it
/// reads 1 to 4; it writes 3, and 4 for executables with their pointer fields masked).
pub const FORMAT_VERSION: u16 = 4;
/// The version of patches without an exec block.
pub(crate) const PLAIN_VERSION: u16 = 3;
/// Size of the fixed header.
pub(crate) const HEADER_LEN: usize = 96;
/// Size of one chunk table entry in versions 1 and 2.
const LEGACY_ENTRY_LEN: usize = 64;
/// Size of one chunk table entry in version 3.
const ENTRY_LEN: usize = 96;
/// Size of one chunk table entry in version 4: version 3's, then the corrections stream's
/// codec, raw and packed lengths.
const V4_ENTRY_LEN: usize = 112;
/// Offset of `signature_len` in the header.
const SIGNATURE_LEN_AT: usize = 92;
/// Size of the blake3 hash of header and chunk table that follows the table.
pub(crate) const TABLE_HASH_LEN: usize = 32;
/// Largest `new_len` of one chunk that the format allows (1 GiB).
pub const MAX_CHUNK_LEN: u64 = 1 << 30;
/// Largest `chunk_count` that the format allows.
pub const MAX_CHUNK_COUNT: u64 = 1 << 22;
/// Largest `signature_len` that the format allows (64 KiB).
pub const MAX_SIGNATURE_LEN: u64 = 1 << 16;
/// Largest `dict_len` of a version-3 entry (64 MiB).
pub const MAX_DICTIONARY_LEN: u64 = 1 << 26;
/// Largest sum over a version-3 group of its chunks' `diff_ctrl` raw lengths, and likewise of
/// their `diff_code` raw lengths (16 MiB): what a decoder holds of one group's streams.
pub const MAX_GROUP_RAW: u64 = 16 << 20;
/// A version-4 corrections stream holds at most this many bytes per byte of its chunk (fields
/// are at least 4 bytes wide, their varints at most 10 bytes long).
pub(crate) const MAX_CORRECTIONS_PER_BYTE: u64 = 3;
/// `control_raw_len` (and in v3 `diff_ctrl` raw length) may exceed its bound by this many bytes.
pub(crate) const CONTROL_SLACK: u64 = 32;

/// Everything a patch says about itself before its payloads: the header and chunk table.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PatchInfo {
    /// Format version of the patch: 1 to 4.
    pub format_version: u16,
    /// Versions 1 and 2: how every non-empty stream is compressed (always zstd in version 1).
    /// `None` in version 3, where each stream names its own codec ([`StreamInfo::codec`]).
    pub codec: Option<Codec>,
    /// Size in bytes of the old file the patch applies to.
    pub old_size: u64,
    /// blake3 of the old file.
    pub old_hash: [u8; 32],
    /// Size in bytes of the file the patch produces.
    pub new_size: u64,
    /// blake3 of the file the patch produces.
    pub new_hash: [u8; 32],
    /// Total size of the patch in bytes.
    pub patch_size: u64,
    /// blake3 of the header and chunk table, as stored after the table: it identifies the
    /// patch, and names the temporary output that a resumed apply picks up.
    pub table_hash: [u8; 32],
    /// One entry per chunk, in output order.
    pub chunks: Vec<ChunkInfo>,
    /// What every signature covers: blake3 of the header, with `signature_len` read as 0,
    /// and the chunk table. Adding a signature changes the table hash but not this.
    pub signing_digest: [u8; 32],
    /// The signatures in the signature block, in their order there; empty when unsigned.
    pub signatures: Vec<SignatureInfo>,
    /// For a container patch (`CONTAINER-FORMAT.md`): its container and views. The other
    /// fields then describe the whole patch (old and new file, size, signatures) except
    /// `format_version`, `codec`, `table_hash` and `chunks`, which are the inner patch's, over
    /// the new view. `None` for a file patch.
    pub container: Option<Box<crate::container::ContainerInfo>>,
    /// For a version-4 patch: its executable transform.
    pub exec: Option<Box<ExecInfo>>,
}

/// What one stream of a chunk holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StreamKind {
    /// Control ops (every version).
    Control,
    /// Versions 1 and 2: the bytewise differences over the ops' add regions.
    Diff,
    /// Version 3: the run-length items that encode the differences.
    DiffCtrl,
    /// Version 3: the literal and run bytes those items draw on.
    DiffCode,
    /// Literal bytes of the new file (every version).
    Extra,
    /// Version 4: one correction per pointer field that the chunk's matches carry over.
    Corrections,
}

impl fmt::Display for StreamKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StreamKind::Control => "control",
            StreamKind::Diff => "diff",
            StreamKind::DiffCtrl => "diff-ctrl",
            StreamKind::DiffCode => "diff-code",
            StreamKind::Extra => "extra",
            StreamKind::Corrections => "corrections",
        })
    }
}

/// One stream of one chunk: its kind, how it is stored, and its sizes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct StreamInfo {
    /// What the stream holds.
    pub kind: StreamKind,
    /// How it is stored; an empty stream is always [`StreamCodec::Stored`].
    pub codec: StreamCodec,
    /// Size of the stream's content.
    pub raw_len: u64,
    /// Size of the stream in the patch (equal to `raw_len` when stored).
    pub packed_len: u64,
}

/// The streams of a version-3 chunk, in payload order.
const V3_STREAMS: [StreamKind; 4] =
    [StreamKind::Control, StreamKind::DiffCtrl, StreamKind::DiffCode, StreamKind::Extra];
/// The streams of a version-4 chunk, in payload order.
const V4_STREAMS: [StreamKind; 5] = [
    StreamKind::Control,
    StreamKind::DiffCtrl,
    StreamKind::DiffCode,
    StreamKind::Extra,
    StreamKind::Corrections,
];
/// The streams of a version-1 or version-2 chunk, in payload order.
const LEGACY_STREAMS: [StreamKind; 3] = [StreamKind::Control, StreamKind::Diff, StreamKind::Extra];

/// One chunk table entry: a range of the new file, its streams and its hash.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ChunkInfo {
    /// Offset of the chunk in the new file.
    pub new_offset: u64,
    /// Length of the chunk in the new file (at least 1).
    pub new_len: u64,
    /// The streams in payload order: control, diff and extra in versions 1 and 2; control,
    /// diff-ctrl, diff-code and extra in version 3; and corrections after them in version 4.
    pub streams: Vec<StreamInfo>,
    /// The range of the old file that the extra stream is compressed against (version 3),
    /// if any.
    pub dictionary: Option<Range<u64>>,
    /// blake3 of the chunk's output bytes.
    pub hash: [u8; 32],
    /// Version 3: 0 for a chunk outside any group or a member of one; n >= 2 for the first
    /// chunk (the leader) of a group of n chunks, whose diff streams it stores for all of them.
    pub group_len: u32,
}

impl ChunkInfo {
    /// The chunk's stream of `kind`, if its version has one.
    pub fn stream(&self, kind: StreamKind) -> Option<&StreamInfo> {
        self.streams.iter().find(|stream| stream.kind == kind)
    }

    /// Raw size of the stream of `kind`; 0 where there is none.
    pub(crate) fn raw_len(&self, kind: StreamKind) -> u64 {
        self.stream(kind).map_or(0, |stream| stream.raw_len)
    }

    /// Number of bytes the ops take from the differences: `new_len` less the extra stream.
    pub fn diff_raw_len(&self) -> u64 {
        self.new_len.saturating_sub(self.raw_len(StreamKind::Extra))
    }

    /// Total bytes of this chunk's payload.
    pub fn payload_len(&self) -> u64 {
        self.streams.iter().map(|stream| stream.packed_len).sum()
    }

    /// The version-3 entry, or the version-4 one when `streams` has the fifth, corrections.
    fn encode(&self) -> Vec<u8> {
        let mut out =
            vec![0u8; if self.streams.len() == V4_STREAMS.len() { V4_ENTRY_LEN } else { ENTRY_LEN }];
        let put_u32 = |out: &mut [u8], at: usize, value: u64| {
            let value = u32::try_from(value).expect("encoder keeps chunk fields below 4 GiB");
            out[at..at + 4].copy_from_slice(&value.to_le_bytes());
        };
        out[0..8].copy_from_slice(&self.new_offset.to_le_bytes());
        put_u32(&mut out, 8, self.new_len);
        for (i, stream) in self.streams.iter().take(V3_STREAMS.len()).enumerate() {
            debug_assert_eq!(stream.kind, V3_STREAMS[i]);
            out[12 + i] = stream.codec.id();
            put_u32(&mut out, 16 + 4 * i, stream.raw_len);
            put_u32(&mut out, 32 + 4 * i, stream.packed_len);
        }
        if let Some(corrections) = self.streams.get(V3_STREAMS.len()) {
            out[96] = corrections.codec.id();
            put_u32(&mut out, 100, corrections.raw_len);
            put_u32(&mut out, 104, corrections.packed_len);
        }
        let dictionary = self.dictionary.clone().unwrap_or(0..0);
        out[48..56].copy_from_slice(&dictionary.start.to_le_bytes());
        put_u32(&mut out, 56, dictionary.end - dictionary.start);
        put_u32(&mut out, 60, u64::from(self.group_len));
        out[64..96].copy_from_slice(&self.hash);
        out
    }

    /// A version-1 or version-2 entry of a patch whose header names `codec`.
    fn decode_legacy(bytes: &[u8], codec: Codec) -> Self {
        let u32_at = |at: usize| u64::from(u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()));
        let new_len = u32_at(8);
        let raw = [u32_at(12), new_len.saturating_sub(u32_at(16)), u32_at(16)];
        let packed = [u32_at(20), u32_at(24), u32_at(28)];
        let streams = (0..3)
            .map(|i| StreamInfo {
                kind: LEGACY_STREAMS[i],
                codec: if raw[i] == 0 { StreamCodec::Stored } else { codec.legacy_stream_codec() },
                raw_len: raw[i],
                packed_len: packed[i],
            })
            .collect();
        ChunkInfo {
            new_offset: u64::from_le_bytes(bytes[0..8].try_into().unwrap()),
            new_len,
            streams,
            dictionary: None,
            hash: bytes[32..64].try_into().unwrap(),
            group_len: 0,
        }
    }

    /// A version-3 entry, or a version-4 one (`bytes` of [`V4_ENTRY_LEN`]): fails on an
    /// unknown codec byte, a set reserved byte or a dictionary range that overflows.
    fn decode_v3(bytes: &[u8], index: usize) -> Result<Self> {
        let bad = |what: String| Err(Error::corrupt(format!("chunk {index}: {what}")));
        let u32_at = |at: usize| u64::from(u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()));
        let kinds = if bytes.len() == V4_ENTRY_LEN { &V4_STREAMS[..] } else { &V3_STREAMS[..] };
        let mut streams = Vec::with_capacity(kinds.len());
        for (i, &kind) in kinds.iter().enumerate() {
            let (codec_at, raw_at, packed_at) =
                if i < 4 { (12 + i, 16 + 4 * i, 32 + 4 * i) } else { (96, 100, 104) };
            let Some(codec) = StreamCodec::from_id(bytes[codec_at]) else {
                return bad(format!("unknown codec {} for the {kind} stream", bytes[codec_at]));
            };
            streams.push(StreamInfo { kind, codec, raw_len: u32_at(raw_at), packed_len: u32_at(packed_at) });
        }
        if bytes.len() == V4_ENTRY_LEN && (bytes[97..100] != [0; 3] || bytes[108..112] != [0; 4]) {
            return bad("reserved bytes are set".into());
        }
        let (dict_offset, dict_len) = (u64::from_le_bytes(bytes[48..56].try_into().unwrap()), u32_at(56));
        let dictionary = match (dict_offset, dict_len) {
            (0, 0) => None,
            (_, 0) => return bad("a dictionary offset without a dictionary".into()),
            _ => match dict_offset.checked_add(dict_len) {
                Some(end) => Some(dict_offset..end),
                None => return bad("the dictionary range overflows".into()),
            },
        };
        Ok(ChunkInfo {
            new_offset: u64::from_le_bytes(bytes[0..8].try_into().unwrap()),
            new_len: u32_at(8),
            streams,
            dictionary,
            hash: bytes[64..96].try_into().unwrap(),
            group_len: u32_at(60) as u32,
        })
    }

    /// Checks one entry against the format's rules and the caller's limit, `expected_offset`
    /// being where the previous chunk ended.
    fn validate(&self, index: u64, expected_offset: u64, header: &Header, max_chunk_len: u64) -> Result<()> {
        let bad = |what: &str| Err(Error::corrupt(format!("chunk {index}: {what}")));
        if self.new_offset != expected_offset {
            return bad(&format!(
                "starts at {} but the previous chunk ended at {expected_offset}",
                self.new_offset
            ));
        }
        if self.new_len == 0 {
            return bad("is empty");
        }
        if self.new_len > max_chunk_len {
            return Err(Error::limit(format!("length of chunk {index}"), self.new_len, max_chunk_len));
        }
        if self.new_len > header.new_size - self.new_offset {
            return bad("extends past the end of the new file");
        }
        self.validate_lengths().or_else(|what| bad(&what))?;
        // A leader's diff streams describe its group's: `validate_groups` checks them.
        for stream in self.streams.iter().filter(|s| self.group_len == 0 || !s.kind.is_diff()) {
            stream.validate().or_else(|what| bad(&what))?;
        }
        self.validate_dictionary(header.old_size).or_else(bad)
    }

    /// The bounds on raw stream sizes that the chunk's length sets.
    fn validate_lengths(&self) -> std::result::Result<(), String> {
        let raw = |kind| self.raw_len(kind);
        if raw(StreamKind::Extra) > self.new_len {
            return Err("extra stream is longer than the chunk".into());
        }
        if !(1..=self.new_len + CONTROL_SLACK).contains(&raw(StreamKind::Control)) {
            return Err("control stream size is out of range".into());
        }
        if raw(StreamKind::Corrections) > MAX_CORRECTIONS_PER_BYTE * self.new_len {
            return Err("corrections stream is longer than the chunk's fields can need".into());
        }
        let diff = self.diff_raw_len();
        if self.stream(StreamKind::DiffCtrl).is_some() {
            if raw(StreamKind::DiffCode) > diff {
                return Err("diff code stream is longer than the diff".into());
            }
            let ctrl = raw(StreamKind::DiffCtrl);
            if ctrl > diff + CONTROL_SLACK || (ctrl == 0) != (diff == 0) {
                return Err(format!("diff control stream of {ctrl} bytes for a diff of {diff}"));
            }
        }
        Ok(())
    }

    /// A dictionary lies within the old file, within [`MAX_DICTIONARY_LEN`], and only under
    /// a compressed extra stream.
    fn validate_dictionary(&self, old_size: u64) -> std::result::Result<(), &'static str> {
        let Some(dictionary) = &self.dictionary else { return Ok(()) };
        if dictionary.end - dictionary.start > MAX_DICTIONARY_LEN {
            return Err("dictionary is longer than the format allows");
        }
        if dictionary.end > old_size {
            return Err("dictionary extends past the end of the old file");
        }
        match self.stream(StreamKind::Extra) {
            Some(extra) if extra.codec != StreamCodec::Stored => Ok(()),
            _ => Err("dictionary without a compressed extra stream"),
        }
    }
}

impl StreamKind {
    /// Whether the stream is one of version 3's two diff streams, which groups share.
    pub(crate) fn is_diff(self) -> bool {
        matches!(self, StreamKind::DiffCtrl | StreamKind::DiffCode)
    }
}

impl StreamInfo {
    /// Sizes agree with the codec: empty exactly when packed is empty, and then stored; stored
    /// bytes are the raw bytes; compressed ones within [`compress_bound`]; an in-group stream
    /// takes no bytes (`validate_groups` checks where it may appear).
    fn validate(&self) -> std::result::Result<(), String> {
        let (kind, raw, packed) = (self.kind, self.raw_len, self.packed_len);
        if self.codec == StreamCodec::InGroup {
            return match (kind.is_diff(), packed) {
                (false, _) => Err(format!("in-group codec for the {kind} stream")),
                (true, 0) => Ok(()),
                (true, _) => Err(format!("in-group {kind} stream takes {packed} bytes")),
            };
        }
        if (raw == 0) != (packed == 0) || (raw == 0 && self.codec != StreamCodec::Stored) {
            return Err(format!("{kind} stream sizes disagree ({raw} raw, {packed} packed, {})", self.codec));
        }
        if self.codec == StreamCodec::Stored && packed != raw {
            return Err(format!("stored {kind} stream of {raw} bytes takes {packed}"));
        }
        if packed > compress_bound(raw) {
            return Err(format!("{kind} stream is larger than a codec can produce from {raw} bytes"));
        }
        Ok(())
    }
}

/// Checks the groups of a version-3 table whose entries each passed [`ChunkInfo::validate`]:
/// a leader's `group_len - 1` members follow it, each with group length 0 and both diff
/// streams in-group, which appear nowhere else; per diff stream, the group's raw lengths sum
/// to at most [`MAX_GROUP_RAW`] and the leader's codec and packed length are valid for that
/// sum.
fn validate_groups(chunks: &[ChunkInfo]) -> Result<()> {
    let mut at = 0;
    while at < chunks.len() {
        let n = (chunks[at].group_len as usize).max(1);
        validate_group(chunks, at, n).map_err(|what| Error::corrupt(format!("chunk {at}: {what}")))?;
        at += n;
    }
    Ok(())
}

/// [`validate_groups`] for the `n` chunks from `at` (`n` = 1: a chunk outside any group).
fn validate_group(chunks: &[ChunkInfo], at: usize, n: usize) -> std::result::Result<(), String> {
    let in_group =
        |chunk: &ChunkInfo, kind| chunk.stream(kind).is_some_and(|s| s.codec == StreamCodec::InGroup);
    let diff_kinds = [StreamKind::DiffCtrl, StreamKind::DiffCode];
    let leader = &chunks[at];
    if leader.group_len == 1 {
        return Err("group of 1 chunk".into());
    }
    if diff_kinds.iter().any(|&kind| in_group(leader, kind)) {
        return Err("in-group stream outside a group's members".into());
    }
    if n > chunks.len() - at {
        return Err(format!("group of {n} chunks runs past the last chunk"));
    }
    let members = &chunks[at + 1..at + n];
    if let Some(i) =
        members.iter().position(|m| m.group_len != 0 || !diff_kinds.iter().all(|&k| in_group(m, k)))
    {
        return Err(format!(
            "chunk {} in the group is not a member (group length 0, in-group diff streams)",
            at + 1 + i
        ));
    }
    for kind in diff_kinds.into_iter().filter(|_| n > 1) {
        let total: u64 = chunks[at..at + n].iter().map(|c| c.raw_len(kind)).sum();
        if total > MAX_GROUP_RAW {
            return Err(format!("group's {kind} stream of {total} bytes exceeds {MAX_GROUP_RAW}"));
        }
        let stream = leader.stream(kind).expect("version 3 has diff streams");
        StreamInfo { raw_len: total, ..*stream }.validate().map_err(|what| format!("group's {what}"))?;
    }
    Ok(())
}

/// The largest zstd frame a compressor may produce from `raw` bytes (`ZSTD_compressBound`),
/// which is also above the largest raw LZMA2 stream (`raw` plus 3 bytes per 64 KiB, plus 1).
pub(crate) fn compress_bound(raw: u64) -> u64 {
    const SMALL: u64 = 128 << 10;
    let margin = if raw < SMALL { (SMALL - raw) >> 11 } else { 0 };
    raw + (raw >> 8) + margin
}

/// Header fields, as written at offsets 0..96.
struct Header {
    version: u16,
    /// Versions 1 and 2 only.
    codec: Option<Codec>,
    old_size: u64,
    old_hash: [u8; 32],
    new_size: u64,
    new_hash: [u8; 32],
    chunk_count: u32,
    signature_len: u32,
}

impl Header {
    /// The version-3 or version-4 header.
    fn encode(&self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        out[0..4].copy_from_slice(&MAGIC);
        out[4..6].copy_from_slice(&self.version.to_le_bytes());
        // 6..8: flags, reserved and zero in v3 and v4.
        out[8..16].copy_from_slice(&self.old_size.to_le_bytes());
        out[16..48].copy_from_slice(&self.old_hash);
        out[48..56].copy_from_slice(&self.new_size.to_le_bytes());
        out[56..88].copy_from_slice(&self.new_hash);
        out[88..92].copy_from_slice(&self.chunk_count.to_le_bytes());
        out[92..96].copy_from_slice(&self.signature_len.to_le_bytes());
        out
    }

    /// Checks magic, then version, then the flags or codec field. The other fields are
    /// checked by [`Header::validate`] once the table hash has confirmed them.
    fn decode(bytes: &[u8; HEADER_LEN]) -> Result<Self> {
        if crate::tree::is_tree_patch(bytes) {
            return Err(Error::invalid(
                "this is a tree patch: give its file (not standard input) and directories",
            ));
        }
        if bytes[0..4] != MAGIC {
            return Err(Error::corrupt("not a chunkdelta patch (bad magic)"));
        }
        let version = u16::from_le_bytes([bytes[4], bytes[5]]);
        let field = u16::from_le_bytes([bytes[6], bytes[7]]);
        let codec = match version {
            1 | 3 | 4 if field != 0 => {
                return Err(Error::corrupt(format!("reserved header flags are set ({field:#06x})")));
            }
            1 => Some(Codec::Zstd),
            2 => Some(
                Codec::from_v2_id(field).ok_or_else(|| Error::corrupt(format!("unknown codec {field}")))?,
            ),
            3 | 4 => None,
            _ => return Err(Error::UnsupportedVersion { found: version, supported: FORMAT_VERSION }),
        };
        let header = Header {
            version,
            codec,
            old_size: u64::from_le_bytes(bytes[8..16].try_into().unwrap()),
            old_hash: bytes[16..48].try_into().unwrap(),
            new_size: u64::from_le_bytes(bytes[48..56].try_into().unwrap()),
            new_hash: bytes[56..88].try_into().unwrap(),
            chunk_count: u32::from_le_bytes(bytes[88..92].try_into().unwrap()),
            signature_len: u32::from_le_bytes(bytes[92..96].try_into().unwrap()),
        };
        Ok(header)
    }

    fn entry_len(&self) -> usize {
        match self.version {
            3 => ENTRY_LEN,
            4 => V4_ENTRY_LEN,
            _ => LEGACY_ENTRY_LEN,
        }
    }

    fn decode_entry(&self, bytes: &[u8], index: usize) -> Result<ChunkInfo> {
        match self.codec {
            Some(codec) => Ok(ChunkInfo::decode_legacy(bytes, codec)),
            None => ChunkInfo::decode_v3(bytes, index),
        }
    }

    fn validate(&self) -> Result<()> {
        let count = u64::from(self.chunk_count);
        if count > self.new_size || (self.new_size > 0 && count == 0) {
            return Err(Error::corrupt(format!(
                "{count} chunks cannot cover a new file of {} bytes",
                self.new_size
            )));
        }
        if count.saturating_mul(MAX_CHUNK_LEN) < self.new_size {
            return Err(Error::limit("new file size", self.new_size, count * MAX_CHUNK_LEN));
        }
        if u64::from(self.signature_len) > MAX_SIGNATURE_LEN {
            return Err(Error::corrupt(format!("signature block of {} bytes", self.signature_len)));
        }
        Ok(())
    }
}

/// Serialises a version-3 header, chunk table and table hash: everything before the payloads;
/// version 4 with `exec_block` (whose chunks then have five streams).
pub(crate) fn encode_head(
    old_size: u64,
    old_hash: [u8; 32],
    new_size: u64,
    new_hash: [u8; 32],
    chunks: &[ChunkInfo],
    exec_block: Option<&[u8]>,
) -> Vec<u8> {
    let header = Header {
        version: if exec_block.is_some() { FORMAT_VERSION } else { PLAIN_VERSION },
        codec: None,
        old_size,
        old_hash,
        new_size,
        new_hash,
        chunk_count: u32::try_from(chunks.len()).expect("diff caps the chunk count"),
        signature_len: 0,
    };
    let mut out = Vec::with_capacity(HEADER_LEN + ENTRY_LEN * chunks.len() + TABLE_HASH_LEN);
    out.extend_from_slice(&header.encode());
    for chunk in chunks {
        out.extend_from_slice(&chunk.encode());
    }
    out.extend_from_slice(exec_block.unwrap_or_default());
    let table_hash = blake3::hash(&out);
    out.extend_from_slice(table_hash.as_bytes());
    out
}

/// A reader that knows its offset and turns a short read into a "truncated" corrupt-patch error.
pub(crate) struct PatchReader<R> {
    inner: R,
    offset: u64,
}

impl<R: Read> PatchReader<R> {
    pub(crate) fn new(inner: R) -> Self {
        PatchReader { inner, offset: 0 }
    }

    /// The stream, positioned after what was read.
    pub(crate) fn into_inner(self) -> R {
        self.inner
    }

    /// Fills `buf` completely; `what` names the structure being read for the error message.
    pub(crate) fn read_exact(&mut self, buf: &mut [u8], what: &str) -> Result<()> {
        let mut filled = 0;
        while filled < buf.len() {
            match self.inner.read(&mut buf[filled..]) {
                Ok(0) => {
                    return Err(Error::corrupt(format!(
                        "truncated: the patch ends at byte {} inside the {what}",
                        self.offset + filled as u64
                    )));
                }
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Error::io("reading the patch", e)),
            }
        }
        self.offset += buf.len() as u64;
        Ok(())
    }

    /// Reads `len` bytes into a new vector, which grows only as bytes arrive, so a length
    /// claimed by a truncated patch is never allocated up front.
    pub(crate) fn read_vec(&mut self, len: u64, what: &str) -> Result<Vec<u8>> {
        let mut buf = Vec::new();
        let read = loop {
            match self.inner.by_ref().take(len).read_to_end(&mut buf) {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                other => break other,
            }
        };
        read.map_err(|e| Error::io("reading the patch", e))?;
        self.offset += buf.len() as u64;
        if (buf.len() as u64) < len {
            return Err(Error::corrupt(format!(
                "truncated: the patch ends at byte {} inside the {what}",
                self.offset
            )));
        }
        Ok(buf)
    }

    /// Bytes read so far.
    pub(crate) fn offset(&self) -> u64 {
        self.offset
    }

    /// Copies the next `len` bytes to `to`; fewer is a "truncated" corrupt-patch error.
    pub(crate) fn copy_exact(&mut self, len: u64, to: &mut impl std::io::Write, what: &str) -> Result<()> {
        let copied = std::io::copy(&mut self.inner.by_ref().take(len), to)
            .map_err(|e| Error::io(format!("copying the {what}"), e))?;
        self.offset += copied;
        if copied < len {
            return Err(Error::corrupt(format!(
                "truncated: the patch ends at byte {} inside the {what}",
                self.offset
            )));
        }
        Ok(())
    }

    /// Succeeds only if the stream has no bytes left.
    pub(crate) fn expect_end(&mut self) -> Result<()> {
        let mut byte = [0u8; 1];
        loop {
            match self.inner.read(&mut byte) {
                Ok(0) => return Ok(()),
                Ok(_) => {
                    return Err(Error::corrupt(format!(
                        "unexpected bytes after the last chunk, at byte {}",
                        self.offset
                    )));
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Error::io("reading the patch", e)),
            }
        }
    }
}

impl<R: Read> Read for PatchReader<R> {
    /// Reads on from the patch, counting the bytes; the end of the patch reads as 0 bytes.
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.offset += n as u64;
        Ok(n)
    }
}

/// Reads and checks everything before the payloads: header, chunk table, table hash and
/// signature block. Chunks longer than `max_chunk_len` are a [`Error::LimitExceeded`].
///
/// Memory grows with the entries actually present in the stream (64 or 96 bytes each), never
/// with the counts the header claims.
pub(crate) fn read_head<R: Read>(reader: &mut PatchReader<R>, max_chunk_len: u64) -> Result<PatchInfo> {
    read_head_raw(reader, max_chunk_len).map(|head| head.info)
}

/// A patch's decoded head, with the header and chunk table bytes as read.
pub(crate) struct Head {
    pub(crate) info: PatchInfo,
    /// The header and chunk table, from byte 0 to the table hash.
    pub(crate) table: Vec<u8>,
}

/// [`read_head`], also returning the header and chunk table bytes.
pub(crate) fn read_head_raw<R: Read>(reader: &mut PatchReader<R>, max_chunk_len: u64) -> Result<Head> {
    let mut header_bytes = [0u8; HEADER_LEN];
    reader.read_exact(&mut header_bytes, "header")?;
    let header = Header::decode(&header_bytes)?;

    // Entries are hash-checked before they are interpreted, so a flipped byte reads as
    // corruption; only the count is bounded first, so an endless stream cannot grow the table.
    let count = u64::from(header.chunk_count);
    if count > MAX_CHUNK_COUNT {
        return Err(Error::limit("chunk count", count, MAX_CHUNK_COUNT));
    }
    let entry_len = header.entry_len();
    let mut table = header_bytes.to_vec();
    for _ in 0..count {
        let mut entry = [0u8; V4_ENTRY_LEN];
        reader.read_exact(&mut entry[..entry_len], "chunk table")?;
        table.extend_from_slice(&entry[..entry_len]);
    }
    let exec_at = table.len();
    if header.version == 4 {
        exec::read_block(reader, &mut table)?;
    }
    let mut table_hash = [0u8; TABLE_HASH_LEN];
    reader.read_exact(&mut table_hash, "table hash")?;
    if table_hash != *blake3::hash(&table).as_bytes() {
        return Err(Error::corrupt("the header or chunk table does not match its hash"));
    }
    header.validate()?;
    let exec =
        (header.version == 4).then(|| exec::decode_block(&table[exec_at..]).map(Box::new)).transpose()?;
    let entries = table[HEADER_LEN..exec_at].chunks_exact(entry_len).enumerate();
    let chunks =
        entries.map(|(index, bytes)| header.decode_entry(bytes, index)).collect::<Result<Vec<_>>>()?;
    let mut offset = 0u64;
    let mut payload_total = 0u64;
    for (index, chunk) in chunks.iter().enumerate() {
        chunk.validate(index as u64, offset, &header, max_chunk_len)?;
        offset += chunk.new_len;
        payload_total += chunk.payload_len();
    }
    if offset != header.new_size {
        return Err(Error::corrupt(format!(
            "the chunks cover {offset} bytes but the new file has {}",
            header.new_size
        )));
    }
    validate_groups(&chunks)?;
    let block = reader.read_vec(u64::from(header.signature_len), "signature block")?;
    let signatures = trust::decode_block(&block)?;

    let head_len = (table.len() + TABLE_HASH_LEN) as u64 + u64::from(header.signature_len);
    let info = PatchInfo {
        format_version: header.version,
        codec: header.codec,
        old_size: header.old_size,
        old_hash: header.old_hash,
        new_size: header.new_size,
        new_hash: header.new_hash,
        patch_size: head_len + payload_total,
        table_hash,
        chunks,
        signing_digest: signing_digest(&table),
        signatures,
        container: None,
        exec,
    };
    Ok(Head { info, table })
}

/// blake3 of `table` (header and chunk table) with the header's `signature_len` read as 0.
fn signing_digest(table: &[u8]) -> [u8; 32] {
    let mut hasher = blake3::Hasher::new();
    hasher.update(&table[..SIGNATURE_LEN_AT]).update(&[0; 4]).update(&table[SIGNATURE_LEN_AT + 4..]);
    *hasher.finalize().as_bytes()
}

/// The head of a patch whose header and chunk table are `table` and whose signature block is
/// `block`: the table with `signature_len` set, its new table hash, and the block.
pub(crate) fn head_with_block(table: &[u8], block: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(table.len() + TABLE_HASH_LEN + block.len());
    out.extend_from_slice(table);
    let len = u32::try_from(block.len()).expect("blocks are bounded by MAX_SIGNATURE_LEN");
    out[SIGNATURE_LEN_AT..SIGNATURE_LEN_AT + 4].copy_from_slice(&len.to_le_bytes());
    let table_hash = blake3::hash(&out);
    out.extend_from_slice(table_hash.as_bytes());
    out.extend_from_slice(block);
    out
}

/// Reads the header and chunk table of a patch, then reads through the payloads without
/// decoding them, to check that the patch holds exactly the bytes its table accounts for.
///
/// A container patch is read likewise, its inner patch included ([`PatchInfo::container`]).
pub fn read_info(patch: impl Read) -> Result<PatchInfo> {
    let (_, patch) = crate::compat::sniff(patch)?;
    if crate::container::is_container_patch(patch.get_ref().0.get_ref()) {
        return crate::container::read_info(patch);
    }
    read_file_info(patch)
}

/// [`read_info`] of a file patch only.
pub(crate) fn read_file_info(patch: impl Read) -> Result<PatchInfo> {
    let mut reader = PatchReader::new(patch);
    let info = read_head(&mut reader, MAX_CHUNK_LEN)?;
    reader.copy_exact(info.patch_size - reader.offset, &mut std::io::sink(), "chunk payloads")?;
    reader.expect_end()?;
    Ok(info)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 100-byte chunk: 3 bytes of zstd control, no diff, 100 stored bytes of extra.
    fn sample_chunk(offset: u64) -> ChunkInfo {
        let stream = |kind, codec, raw_len, packed_len| StreamInfo { kind, codec, raw_len, packed_len };
        ChunkInfo {
            new_offset: offset,
            new_len: 100,
            streams: vec![
                stream(StreamKind::Control, StreamCodec::Zstd, 3, 12),
                stream(StreamKind::DiffCtrl, StreamCodec::Stored, 0, 0),
                stream(StreamKind::DiffCode, StreamCodec::Stored, 0, 0),
                stream(StreamKind::Extra, StreamCodec::Stored, 100, 100),
            ],
            dictionary: None,
            hash: [7; 32],
            group_len: 0,
        }
    }

    fn patch_of(chunks: &[ChunkInfo], old_size: u64) -> Vec<u8> {
        let new_size = chunks.iter().map(|c| c.new_len).sum();
        let mut patch = encode_head(old_size, [1; 32], new_size, [2; 32], chunks, None);
        let payloads: u64 = chunks.iter().map(ChunkInfo::payload_len).sum();
        patch.resize(patch.len() + payloads as usize, 0);
        patch
    }

    #[test]
    fn head_round_trips() {
        let mut chunks = vec![sample_chunk(0), sample_chunk(100)];
        chunks[1].streams[3].codec = StreamCodec::Lzma2;
        chunks[1].streams[3].packed_len = 50;
        chunks[1].dictionary = Some(2..5);
        let patch = patch_of(&chunks, 5);
        let info = read_info(&patch[..]).unwrap();
        assert_eq!(info.chunks, chunks);
        assert_eq!((info.format_version, info.codec), (3, None));
        assert_eq!((info.old_size, info.new_size, info.old_hash, info.new_hash), (5, 200, [1; 32], [2; 32]));
        assert_eq!(info.patch_size, patch.len() as u64);
        assert!(read_info(&patch[..patch.len() - 1]).is_err());
    }

    /// Each way a version-3 entry can break a rule, as (what to change, expected message part).
    #[test]
    fn v3_entries_that_break_a_rule_are_corrupt() {
        type Change = fn(&mut ChunkInfo);
        let cases: [(Change, &str); 14] = [
            (|c| c.streams[0].codec = StreamCodec::Stored, "stored control stream of 3 bytes takes 12"),
            (|c| c.streams[0].raw_len = 133, "control stream size is out of range"),
            (|c| c.streams[3].packed_len = 99, "stored extra stream of 100 bytes takes 99"),
            (|c| c.streams[3].raw_len = 101, "extra stream is longer than the chunk"),
            (|c| c.streams[0].packed_len = 0, "control stream sizes disagree"),
            (|c| c.streams[0].packed_len = 200, "control stream is larger than a codec can produce"),
            (|c| c.streams[1].codec = StreamCodec::Zstd, "diff-ctrl stream sizes disagree"),
            (|c| c.dictionary = Some(0..1), "dictionary without a compressed extra stream"),
            (
                |c| {
                    (c.streams[3].raw_len, c.streams[3].packed_len) = (90, 90);
                    (c.streams[2].raw_len, c.streams[2].packed_len) = (11, 11);
                    (c.streams[1].raw_len, c.streams[1].packed_len) = (1, 1);
                },
                "diff code stream is longer than the diff",
            ),
            (
                |c| (c.streams[3].raw_len, c.streams[3].packed_len) = (90, 90),
                "diff control stream of 0 bytes for a diff of 10",
            ),
            (
                |c| {
                    (c.streams[3].raw_len, c.streams[3].packed_len) = (90, 90);
                    (c.streams[1].raw_len, c.streams[1].packed_len) = (43, 43);
                },
                "diff control stream of 43 bytes for a diff of 10",
            ),
            (
                |c| c.streams[1] = StreamInfo { raw_len: 1, packed_len: 1, ..c.streams[1] },
                "diff control stream of 1",
            ),
            (
                |c| {
                    c.streams[3].codec = StreamCodec::Zstd;
                    c.dictionary = Some(4..6);
                },
                "dictionary extends past the end of the old file",
            ),
            (
                |c| {
                    c.streams[3].codec = StreamCodec::Zstd;
                    c.dictionary = Some(0..(1 << 26) + 1);
                },
                "dictionary is longer than the format allows",
            ),
        ];
        for (change, expected) in cases {
            let mut chunk = sample_chunk(0);
            change(&mut chunk);
            let err = read_info(&patch_of(&[chunk], 5)[..]).unwrap_err();
            assert_eq!(err.kind(), crate::ErrorKind::CorruptPatch, "{err}");
            assert!(err.to_string().contains(expected), "{err} lacks {expected:?}");
        }
    }

    /// A group of three chunks of 100 bytes, each with 10 diff bytes in 2 + 5 bytes of
    /// run-length streams; the leader holds the group's streams as zstd of 7 and 9 bytes.
    fn sample_group() -> Vec<ChunkInfo> {
        let mut chunks: Vec<ChunkInfo> = (0..3).map(|i| sample_chunk(100 * i)).collect();
        for (i, chunk) in chunks.iter_mut().enumerate() {
            let (codec, packed) =
                if i == 0 { (StreamCodec::Zstd, [7, 9]) } else { (StreamCodec::InGroup, [0, 0]) };
            (chunk.streams[3].raw_len, chunk.streams[3].packed_len) = (90, 90);
            chunk.streams[1] = StreamInfo { codec, raw_len: 2, packed_len: packed[0], ..chunk.streams[1] };
            chunk.streams[2] = StreamInfo { codec, raw_len: 5, packed_len: packed[1], ..chunk.streams[2] };
        }
        chunks[0].group_len = 3;
        chunks
    }

    /// Sets each chunk's offset to the end of the one before.
    fn contiguous(chunks: &mut [ChunkInfo]) {
        let mut offset = 0;
        for chunk in chunks {
            chunk.new_offset = offset;
            offset += chunk.new_len;
        }
    }

    #[test]
    fn grouped_heads_round_trip() {
        let mut chunks = sample_group();
        chunks.push(sample_chunk(300));
        let patch = patch_of(&chunks, 5);
        let info = read_info(&patch[..]).unwrap();
        assert_eq!(info.chunks, chunks);
        assert_eq!(info.patch_size, patch.len() as u64);
    }

    /// Each way a group can break a rule, as (what to change, expected message part).
    #[test]
    fn groups_that_break_a_rule_are_corrupt() {
        type Change = fn(&mut Vec<ChunkInfo>);
        let cases: [(Change, &str); 10] = [
            (|c| c[0].group_len = 1, "chunk 0: group of 1 chunk"),
            (|c| c[0].group_len = 4, "chunk 0: group of 4 chunks runs past the last chunk"),
            (|c| c[0].group_len = 2, "chunk 2: in-group stream outside a group's members"),
            (|c| c[2].group_len = 2, "chunk 2 in the group is not a member"),
            (
                |c| {
                    c[1].streams[2] =
                        StreamInfo { codec: StreamCodec::Stored, packed_len: 5, ..c[1].streams[2] }
                },
                "chunk 1 in the group is not a member",
            ),
            (|c| c[1].streams[0].codec = StreamCodec::InGroup, "in-group codec for the control stream"),
            (|c| c[1].streams[2].packed_len = 1, "in-group diff-code stream takes 1 bytes"),
            (|c| c[0].streams[1].codec = StreamCodec::InGroup, "chunk 0: in-group stream outside a group's"),
            (
                |c| c[0].streams[1].packed_len = 1000,
                "group's diff-ctrl stream is larger than a codec can produce",
            ),
            (
                |c| {
                    c[1].new_len = MAX_GROUP_RAW + 100;
                    c[1].streams[2].raw_len = MAX_GROUP_RAW;
                    contiguous(c);
                },
                "group's diff-code stream of 16777226 bytes exceeds 16777216",
            ),
        ];
        for (change, expected) in cases {
            let mut chunks = sample_group();
            change(&mut chunks);
            let err = read_info(&patch_of(&chunks, 5)[..]).unwrap_err();
            assert_eq!(err.kind(), crate::ErrorKind::CorruptPatch, "{err}");
            assert!(err.to_string().contains(expected), "{err} lacks {expected:?}");
        }
    }

    #[test]
    fn v3_entry_bytes_that_break_a_rule_are_corrupt() {
        let head_len = HEADER_LEN + ENTRY_LEN;
        let cases: [(usize, u8, &str); 5] = [
            (12, 3, "in-group codec for the control stream"),
            (12, 4, "unknown codec 4 for the control stream"),
            (15, 0xFF, "unknown codec 255 for the extra stream"),
            (60, 1, "group of 1 chunk"),
            (48, 1, "a dictionary offset without a dictionary"),
        ];
        for (at, value, expected) in cases {
            let mut patch = patch_of(&[sample_chunk(0)], 5);
            patch[at + HEADER_LEN] = value;
            let hash = blake3::hash(&patch[..head_len]);
            patch[head_len..head_len + TABLE_HASH_LEN].copy_from_slice(hash.as_bytes());
            let err = read_info(&patch[..]).unwrap_err();
            assert!(err.to_string().contains(expected), "{err} lacks {expected:?}");
        }
        let mut flagged = patch_of(&[sample_chunk(0)], 5);
        flagged[6] = 1;
        assert!(read_info(&flagged[..]).unwrap_err().to_string().contains("reserved header flags"));
    }

    #[test]
    fn compress_bound_matches_zstd() {
        for n in [0u64, 1, 100, 4096, 128 << 10, 1 << 20, 1 << 30] {
            assert_eq!(compress_bound(n), zstd::zstd_safe::compress_bound(n as usize) as u64, "n = {n}");
        }
    }
}
