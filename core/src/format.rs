//! Formats v1 and v2: the byte layout of a patch. `FORMAT.md` is the normative description; each
//! constant here quotes its row.
//!
//! ```text
//! header (96 bytes) | chunk table (64 bytes x chunk_count) | table hash (32) | signature block | payloads
//! ```
//!
//! Everything is little endian. Every number read from a patch is checked here, before the
//! caller allocates anything from it.

use std::io::Read;

use crate::codec::Codec;
use crate::error::{Error, Result};

/// `magic`, offset 0, 4 bytes: the ASCII bytes `CDLT`.
pub const MAGIC: [u8; 4] = *b"CDLT";
/// `format_version`, offset 4, u16: the highest version this library reads. It writes the
/// lowest version that can express the patch: 1 for zstd, 2 for another [`Codec`].
pub const FORMAT_VERSION: u16 = 2;
/// Size of the fixed header.
pub(crate) const HEADER_LEN: usize = 96;
/// Size of one chunk table entry.
pub(crate) const ENTRY_LEN: usize = 64;
/// Size of the blake3 hash of header and chunk table that follows the table.
pub(crate) const TABLE_HASH_LEN: usize = 32;
/// Largest `new_len` of one chunk that format v1 allows (1 GiB).
pub const MAX_CHUNK_LEN: u64 = 1 << 30;
/// Largest `chunk_count` that format v1 allows.
pub const MAX_CHUNK_COUNT: u64 = 1 << 22;
/// Largest `signature_len` that format v1 allows (64 KiB).
pub const MAX_SIGNATURE_LEN: u64 = 1 << 16;
/// `control_raw_len` may exceed the chunk's `new_len` by at most this many bytes.
pub(crate) const CONTROL_SLACK: u64 = 32;

/// Everything a patch says about itself before its payloads: the header and chunk table.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PatchInfo {
    /// Format version of the patch.
    pub format_version: u16,
    /// How the chunk streams are compressed (always zstd in version 1).
    pub codec: Codec,
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
}

/// One chunk table entry: a range of the new file and the sizes of its three streams.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ChunkInfo {
    /// Offset of the chunk in the new file.
    pub new_offset: u64,
    /// Length of the chunk in the new file (at least 1).
    pub new_len: u64,
    /// Decompressed size of the control stream.
    pub control_raw_len: u64,
    /// Decompressed size of the extra stream; the diff stream holds the other
    /// `new_len - extra_raw_len` bytes.
    pub extra_raw_len: u64,
    /// Compressed size of the control stream (0 when its raw size is 0).
    pub control_len: u64,
    /// Compressed size of the diff stream.
    pub diff_len: u64,
    /// Compressed size of the extra stream.
    pub extra_len: u64,
    /// blake3 of the chunk's output bytes.
    pub hash: [u8; 32],
}

impl ChunkInfo {
    /// Decompressed size of the diff stream.
    pub fn diff_raw_len(&self) -> u64 {
        self.new_len - self.extra_raw_len
    }

    /// Total compressed bytes of this chunk's payload.
    pub fn payload_len(&self) -> u64 {
        self.control_len + self.diff_len + self.extra_len
    }

    fn encode(&self) -> [u8; ENTRY_LEN] {
        let mut out = [0u8; ENTRY_LEN];
        out[0..8].copy_from_slice(&self.new_offset.to_le_bytes());
        let small = [
            self.new_len,
            self.control_raw_len,
            self.extra_raw_len,
            self.control_len,
            self.diff_len,
            self.extra_len,
        ];
        for (i, value) in small.into_iter().enumerate() {
            let value = u32::try_from(value).expect("encoder keeps chunk fields below 4 GiB");
            out[8 + 4 * i..12 + 4 * i].copy_from_slice(&value.to_le_bytes());
        }
        out[32..64].copy_from_slice(&self.hash);
        out
    }

    fn decode(bytes: &[u8; ENTRY_LEN]) -> Self {
        let u32_at = |at: usize| u64::from(u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()));
        ChunkInfo {
            new_offset: u64::from_le_bytes(bytes[0..8].try_into().unwrap()),
            new_len: u32_at(8),
            control_raw_len: u32_at(12),
            extra_raw_len: u32_at(16),
            control_len: u32_at(20),
            diff_len: u32_at(24),
            extra_len: u32_at(28),
            hash: bytes[32..64].try_into().unwrap(),
        }
    }

    /// Checks one entry against the format's rules and the caller's limit, `expected_offset`
    /// being where the previous chunk ended.
    fn validate(&self, index: u64, expected_offset: u64, new_size: u64, max_chunk_len: u64) -> Result<()> {
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
        if self.new_len > new_size - self.new_offset {
            return bad("extends past the end of the new file");
        }
        if self.extra_raw_len > self.new_len {
            return bad("extra stream is longer than the chunk");
        }
        if self.control_raw_len == 0 || self.control_raw_len > self.new_len + CONTROL_SLACK {
            return bad("control stream size is out of range");
        }
        let streams = [
            ("control", self.control_raw_len, self.control_len),
            ("diff", self.diff_raw_len(), self.diff_len),
            ("extra", self.extra_raw_len, self.extra_len),
        ];
        for (name, raw, compressed) in streams {
            if (raw == 0) != (compressed == 0) {
                return bad(&format!("{name} stream sizes disagree ({raw} raw, {compressed} compressed)"));
            }
            if compressed > compress_bound(raw) {
                return bad(&format!("{name} stream is larger than a codec can produce from {raw} bytes"));
            }
        }
        Ok(())
    }
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
    codec: Codec,
    old_size: u64,
    old_hash: [u8; 32],
    new_size: u64,
    new_hash: [u8; 32],
    chunk_count: u32,
    signature_len: u32,
}

impl Header {
    fn encode(&self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        out[0..4].copy_from_slice(&MAGIC);
        let version: u16 = if self.codec == Codec::Zstd { 1 } else { 2 };
        out[4..6].copy_from_slice(&version.to_le_bytes());
        // 6..8: flags, reserved and zero in v1; the codec in v2.
        out[6..8].copy_from_slice(&self.codec.id().to_le_bytes());
        out[8..16].copy_from_slice(&self.old_size.to_le_bytes());
        out[16..48].copy_from_slice(&self.old_hash);
        out[48..56].copy_from_slice(&self.new_size.to_le_bytes());
        out[56..88].copy_from_slice(&self.new_hash);
        out[88..92].copy_from_slice(&self.chunk_count.to_le_bytes());
        out[92..96].copy_from_slice(&self.signature_len.to_le_bytes());
        out
    }

    /// Checks magic, then version, then reserved bits. The fields are checked by
    /// [`Header::validate`] once the table hash has confirmed them.
    fn decode(bytes: &[u8; HEADER_LEN]) -> Result<Self> {
        if bytes[0..4] != MAGIC {
            return Err(Error::corrupt("not a chunkdelta patch (bad magic)"));
        }
        let version = u16::from_le_bytes([bytes[4], bytes[5]]);
        let field = u16::from_le_bytes([bytes[6], bytes[7]]);
        let codec = match version {
            1 if field != 0 => {
                return Err(Error::corrupt(format!("reserved header flags are set ({field:#06x})")));
            }
            1 => Codec::Zstd,
            2 => Codec::from_id(field).ok_or_else(|| Error::corrupt(format!("unknown codec {field}")))?,
            _ => return Err(Error::UnsupportedVersion { found: version, supported: FORMAT_VERSION }),
        };
        let header = Header {
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

/// Serialises header, chunk table and table hash: everything before the payloads.
pub(crate) fn encode_head(
    codec: Codec,
    old_size: u64,
    old_hash: [u8; 32],
    new_size: u64,
    new_hash: [u8; 32],
    chunks: &[ChunkInfo],
) -> Vec<u8> {
    let header = Header {
        codec,
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

/// Reads and checks everything before the payloads: header, chunk table, table hash and
/// signature block. Chunks longer than `max_chunk_len` are a [`Error::LimitExceeded`].
///
/// Memory grows with the entries actually present in the stream (64 bytes each), never with
/// the counts the header claims.
pub(crate) fn read_head<R: Read>(reader: &mut PatchReader<R>, max_chunk_len: u64) -> Result<PatchInfo> {
    let mut header_bytes = [0u8; HEADER_LEN];
    reader.read_exact(&mut header_bytes, "header")?;
    let header = Header::decode(&header_bytes)?;
    let mut table_hasher = blake3::Hasher::new();
    table_hasher.update(&header_bytes);

    // Entries are hash-checked before they are interpreted, so a flipped byte reads as
    // corruption; only the count is bounded first, so an endless stream cannot grow the table.
    let count = u64::from(header.chunk_count);
    if count > MAX_CHUNK_COUNT {
        return Err(Error::limit("chunk count", count, MAX_CHUNK_COUNT));
    }
    let mut chunks = Vec::new();
    for _ in 0..count {
        let mut entry_bytes = [0u8; ENTRY_LEN];
        reader.read_exact(&mut entry_bytes, "chunk table")?;
        table_hasher.update(&entry_bytes);
        chunks.push(ChunkInfo::decode(&entry_bytes));
    }
    let mut table_hash = [0u8; TABLE_HASH_LEN];
    reader.read_exact(&mut table_hash, "table hash")?;
    if table_hash != *table_hasher.finalize().as_bytes() {
        return Err(Error::corrupt("the header or chunk table does not match its hash"));
    }
    header.validate()?;
    let mut offset = 0u64;
    let mut payload_total = 0u64;
    for (index, chunk) in chunks.iter().enumerate() {
        chunk.validate(index as u64, offset, header.new_size, max_chunk_len)?;
        offset += chunk.new_len;
        payload_total += chunk.payload_len();
    }
    if offset != header.new_size {
        return Err(Error::corrupt(format!(
            "the chunks cover {offset} bytes but the new file has {}",
            header.new_size
        )));
    }
    // Format v1 reserves the signature block and skips its content.
    reader.read_vec(u64::from(header.signature_len), "signature block")?;

    let head_len = (HEADER_LEN + TABLE_HASH_LEN) as u64
        + ENTRY_LEN as u64 * u64::from(header.chunk_count)
        + u64::from(header.signature_len);
    Ok(PatchInfo {
        format_version: if header.codec == Codec::Zstd { 1 } else { 2 },
        codec: header.codec,
        old_size: header.old_size,
        old_hash: header.old_hash,
        new_size: header.new_size,
        new_hash: header.new_hash,
        patch_size: head_len + payload_total,
        table_hash,
        chunks,
    })
}

/// Reads the header and chunk table of a patch, then reads through the payloads without
/// decoding them, to check that the patch holds exactly the bytes its table accounts for.
pub fn read_info(patch: impl Read) -> Result<PatchInfo> {
    let mut reader = PatchReader::new(patch);
    let info = read_head(&mut reader, MAX_CHUNK_LEN)?;
    let mut rest = reader.inner.by_ref().take(info.patch_size - reader.offset);
    let copied =
        std::io::copy(&mut rest, &mut std::io::sink()).map_err(|e| Error::io("reading the patch", e))?;
    reader.offset += copied;
    if reader.offset < info.patch_size {
        return Err(Error::corrupt(format!(
            "truncated: the patch has {} bytes but its chunk table accounts for {}",
            reader.offset, info.patch_size
        )));
    }
    reader.expect_end()?;
    Ok(info)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_chunk(offset: u64) -> ChunkInfo {
        ChunkInfo {
            new_offset: offset,
            new_len: 100,
            control_raw_len: 3,
            extra_raw_len: 100,
            control_len: 12,
            diff_len: 0,
            extra_len: 109,
            hash: [7; 32],
        }
    }

    #[test]
    fn head_round_trips() {
        let chunks = vec![sample_chunk(0), sample_chunk(100)];
        let mut patch = encode_head(Codec::Zstd, 5, [1; 32], 200, [2; 32], &chunks);
        let head_len = patch.len() as u64;
        patch.resize(patch.len() + 2 * (12 + 109), 0);
        let info = read_info(&patch[..]).unwrap();
        assert_eq!(info.chunks, chunks);
        assert_eq!((info.old_size, info.new_size, info.old_hash, info.new_hash), (5, 200, [1; 32], [2; 32]));
        assert_eq!(info.patch_size, head_len + 2 * (12 + 109));
        assert!(read_info(&patch[..patch.len() - 1]).is_err());
    }

    #[test]
    fn compress_bound_matches_zstd() {
        for n in [0u64, 1, 100, 4096, 128 << 10, 1 << 20, 1 << 30] {
            assert_eq!(compress_bound(n), zstd::zstd_safe::compress_bound(n as usize) as u64, "n = {n}");
        }
    }
}
