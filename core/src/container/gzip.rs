//! gzip files (`.gz`, `.tar.gz`, `.tgz`): the deflate stream of the first member, between its
//! header (RFC 1952: 10 bytes, then the optional extra field, name, comment and header CRC)
//! and its 8-byte trailer. Anything after the first member stays as it is.

use super::deflate;
use super::expand::Member;

const FHCRC: u8 = 2;
const FEXTRA: u8 = 4;
const FNAME: u8 = 8;
const FCOMMENT: u8 = 16;
const TRAILER_LEN: usize = 8;

/// Whether `file` starts like a gzip file with deflate compression.
pub(crate) fn is_gzip(file: &[u8]) -> bool {
    file.starts_with(&[0x1f, 0x8b, 8])
}

/// The first member's deflate stream, inflated to at most `limit` bytes, or why there is none:
/// a bad header, a stream that does not inflate within `limit`, or a trailer whose CRC or size
/// disagrees. Returns the member and its inflated bytes.
pub(crate) fn deflated_member(file: &[u8], limit: u64) -> Result<(Member, Vec<u8>), String> {
    let start = header_len(file)?;
    let (raw, packed_len) = deflate::inflate_prefix(&file[start..], limit)
        .ok_or("the deflate stream is malformed or inflates beyond the limit")?;
    let trailer =
        file.get(start + packed_len..start + packed_len + TRAILER_LEN).ok_or("truncated trailer")?;
    let crc32 = u32::from_le_bytes(trailer[..4].try_into().expect("4 bytes"));
    let size = u32::from_le_bytes(trailer[4..].try_into().expect("4 bytes"));
    if crc32 != crc32fast::hash(&raw) || size != raw.len() as u32 {
        return Err("the trailer's CRC or size does not match the inflated data".into());
    }
    let member =
        Member { offset: start as u64, packed_len: packed_len as u64, raw_len: raw.len() as u64, crc32 };
    Ok((member, raw))
}

/// The length of the header at the start of `file`.
fn header_len(file: &[u8]) -> Result<usize, String> {
    if !is_gzip(file) || file.len() < 10 {
        return Err("not a gzip file".into());
    }
    let flags = file[3];
    if flags & 0xE0 != 0 {
        return Err("reserved gzip flags are set".into());
    }
    let mut at = 10usize;
    if flags & FEXTRA != 0 {
        let len = file.get(at..at + 2).ok_or("truncated extra field")?;
        at += 2 + usize::from(u16::from_le_bytes([len[0], len[1]]));
    }
    for flag in [FNAME, FCOMMENT] {
        if flags & flag != 0 {
            let text = file.get(at..).ok_or("truncated header")?;
            at += 1 + text.iter().position(|&b| b == 0).ok_or("unterminated name or comment")?;
        }
    }
    if flags & FHCRC != 0 {
        at += 2;
    }
    if at > file.len() {
        return Err("truncated header".into());
    }
    Ok(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_member_with_every_optional_field() {
        let raw = b"hello gzip ".repeat(500);
        let mut encoder = flate2::GzBuilder::new()
            .filename("a.tar")
            .comment("c")
            .extra(vec![1, 2, 3])
            .write(Vec::new(), flate2::Compression::default());
        std::io::Write::write_all(&mut encoder, &raw).unwrap();
        let file = encoder.finish().unwrap();
        let (member, inflated) = deflated_member(&file, u64::MAX).unwrap();
        assert_eq!(inflated, raw);
        assert_eq!(member.offset as usize + member.packed_len as usize + TRAILER_LEN, file.len());
        assert!(deflated_member(&file, raw.len() as u64 - 1).is_err(), "the limit bounds inflation");
        for cut in [3, 12, file.len() - 3] {
            assert!(deflated_member(&file[..cut], u64::MAX).is_err(), "cut at {cut}");
        }
        let mut bad_crc = file.clone();
        let at = bad_crc.len() - 8;
        bad_crc[at] ^= 1;
        assert!(deflated_member(&bad_crc, u64::MAX).is_err());
    }
}
