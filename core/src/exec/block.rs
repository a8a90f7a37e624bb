//! The exec block of a version-4 patch (`FORMAT.md`, "Version 4"): which analysis the patch
//! was made with, a digest of the old file's, the new file's layout, and the address map.

use std::io::Read;

use super::map::AddressMap;
use super::{Arch, EXTRACTOR_VERSION, Image, Segment};
use crate::codec::StreamCodec;
use crate::error::{Error, Result};
use crate::format::{PatchReader, compress_bound};

/// Size of the block's fixed part.
const HEAD_LEN: usize = 64;
/// Size of one segment record.
const SEGMENT_LEN: usize = 40;
/// Most segments the new file's layout may have.
pub(crate) const MAX_SEGMENTS: u64 = 4096;
/// Largest raw address map (64 MiB).
pub(crate) const MAX_MAP_RAW: u64 = 1 << 26;

/// What a version-4 patch records of its executable transform.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ExecInfo {
    /// The code's instruction set: `"x86-64"` or `"aarch64"`.
    pub arch: &'static str,
    /// The version of the analysis the patch was made with; apply needs the same.
    pub extractor_version: u16,
    /// How many pointer fields the analysis found in the old file.
    pub old_references: u64,
    /// Pieces of the address map (old to new offsets) the predictions use.
    pub map_pieces: u64,
    /// Bytes the block takes in the patch.
    pub block_len: u64,
    pub(crate) old_digest: [u8; 32],
    pub(crate) new_base: u64,
    pub(crate) new_segments: Vec<Segment>,
    pub(crate) map: AddressMap,
}

/// blake3 of an analysis: the extractor version, arch, image base, segments and references.
pub(crate) fn digest(image: &Image) -> [u8; 32] {
    let mut hasher = blake3::Hasher::new();
    hasher.update(&EXTRACTOR_VERSION.to_le_bytes()).update(&image.arch.id().to_le_bytes());
    hasher.update(&image.image_base.to_le_bytes());
    hasher.update(&(image.segments.len() as u64).to_le_bytes());
    for segment in &image.segments {
        hasher.update(&segment_bytes(segment));
    }
    hasher.update(&(image.references.len() as u64).to_le_bytes());
    // One buffer, hashed at once: an update per reference costs more than the analysis.
    let mut records = Vec::with_capacity(9 * image.references.len());
    for reference in &image.references {
        records.extend_from_slice(&reference.offset.to_le_bytes());
        records.push(reference.kind.code());
    }
    hasher.update(&records);
    *hasher.finalize().as_bytes()
}

fn segment_bytes(segment: &Segment) -> [u8; SEGMENT_LEN] {
    let mut out = [0u8; SEGMENT_LEN];
    for (i, value) in [segment.offset, segment.va, segment.file_len, segment.mem_len].into_iter().enumerate()
    {
        out[8 * i..8 * i + 8].copy_from_slice(&value.to_le_bytes());
    }
    out[32..36].copy_from_slice(&segment.space.to_le_bytes());
    out
}

/// The block for a patch from `old` to `new` (analyses of the same arch) predicting through
/// `map`, which is stored packed as `map_codec` (`map_packed` bytes).
pub(crate) fn encode(
    old: &Image,
    new: &Image,
    map_raw_len: usize,
    map_codec: StreamCodec,
    map_packed: &[u8],
) -> Vec<u8> {
    let mut out = vec![0u8; HEAD_LEN];
    out[0..2].copy_from_slice(&old.arch.id().to_le_bytes());
    out[2..4].copy_from_slice(&EXTRACTOR_VERSION.to_le_bytes());
    let segments = u16::try_from(new.segments.len()).expect("analysis caps the segment count");
    out[4..6].copy_from_slice(&segments.to_le_bytes());
    out[6] = map_codec.id();
    out[8..16].copy_from_slice(&new.image_base.to_le_bytes());
    let u32_of = |n: usize| u32::try_from(n).expect("maps stay below MAX_MAP_RAW").to_le_bytes();
    out[16..20].copy_from_slice(&u32_of(map_raw_len));
    out[20..24].copy_from_slice(&u32_of(map_packed.len()));
    out[24..32].copy_from_slice(&(old.references.len() as u64).to_le_bytes());
    out[32..64].copy_from_slice(&digest(old));
    for segment in &new.segments {
        out.extend_from_slice(&segment_bytes(segment));
    }
    out.extend_from_slice(map_packed);
    out
}

/// Reads the block's bytes onto `table`, bounding each length before reading what it counts.
/// Its contents are checked by [`decode`], once the table hash has confirmed them.
pub(crate) fn read<R: Read>(reader: &mut PatchReader<R>, table: &mut Vec<u8>) -> Result<()> {
    let mut head = [0u8; HEAD_LEN];
    reader.read_exact(&mut head, "exec block")?;
    let segments = u64::from(u16::from_le_bytes([head[4], head[5]]));
    let (raw, packed) = (u32_at(&head, 16), u32_at(&head, 20));
    if segments > MAX_SEGMENTS {
        return Err(Error::corrupt(format!("exec block: {segments} segments")));
    }
    if raw > MAX_MAP_RAW || packed > compress_bound(raw) {
        return Err(Error::corrupt(format!("exec block: map of {raw} raw, {packed} packed bytes")));
    }
    table.extend_from_slice(&head);
    let rest = reader.read_vec(segments * SEGMENT_LEN as u64 + packed, "exec block")?;
    table.extend_from_slice(&rest);
    Ok(())
}

fn u32_at(bytes: &[u8], at: usize) -> u64 {
    u64::from(u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()))
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap())
}

/// Decodes and checks a block that [`read`] read (`bytes`, exactly its length).
pub(crate) fn decode(bytes: &[u8]) -> Result<ExecInfo> {
    decode_checked(bytes).map_err(|what| Error::corrupt(format!("exec block: {what}")))
}

fn decode_checked(bytes: &[u8]) -> std::result::Result<ExecInfo, String> {
    let arch = Arch::from_id(u16::from_le_bytes([bytes[0], bytes[1]])).ok_or("unknown arch")?;
    let codec =
        StreamCodec::from_id(bytes[6]).filter(|c| *c != StreamCodec::InGroup).ok_or("unknown map codec")?;
    if bytes[7] != 0 {
        return Err("reserved byte is set".into());
    }
    let segment_count = usize::from(u16::from_le_bytes([bytes[4], bytes[5]]));
    let (raw, packed) = (u32_at(bytes, 16) as usize, u32_at(bytes, 20) as usize);
    let new_segments =
        bytes[HEAD_LEN..HEAD_LEN + segment_count * SEGMENT_LEN].chunks_exact(SEGMENT_LEN).map(decode_segment);
    let new_segments = new_segments.collect::<std::result::Result<Vec<_>, _>>()?;
    if new_segments.windows(2).any(|pair| pair[0].offset > pair[1].offset) {
        return Err("segments are not sorted by offset".into());
    }
    let map_packed = &bytes[HEAD_LEN + segment_count * SEGMENT_LEN..];
    if (raw == 0) != (packed == 0) || (codec == StreamCodec::Stored && raw != packed) {
        return Err(format!("map sizes disagree ({raw} raw, {packed} packed, {codec})"));
    }
    let mut map_raw = vec![0u8; raw];
    codec.decompress_exact(map_packed, &mut map_raw, &[]).map_err(|e| format!("map: {e}"))?;
    let map = AddressMap::decode(&map_raw)?;
    Ok(ExecInfo {
        arch: arch.name(),
        extractor_version: u16::from_le_bytes([bytes[2], bytes[3]]),
        old_references: u64_at(bytes, 24),
        map_pieces: map.len() as u64,
        block_len: bytes.len() as u64,
        old_digest: bytes[32..64].try_into().unwrap(),
        new_base: u64_at(bytes, 8),
        new_segments,
        map,
    })
}

/// One segment record: offset and address ranges must not overflow, memory covers the file
/// bytes, and the reserved word is 0.
fn decode_segment(bytes: &[u8]) -> std::result::Result<Segment, String> {
    let [offset, va, file_len, mem_len] = [0, 8, 16, 24].map(|at| u64_at(bytes, at));
    let space = u32::from_le_bytes(bytes[32..36].try_into().unwrap());
    if u32_at(bytes, 36) != 0 {
        return Err("a segment's reserved word is set".into());
    }
    if offset.checked_add(file_len).is_none() || va.checked_add(mem_len).is_none() || file_len > mem_len {
        return Err(format!("segment at {offset} of {file_len} file and {mem_len} memory bytes"));
    }
    Ok(Segment { offset, va, file_len, mem_len, space })
}
