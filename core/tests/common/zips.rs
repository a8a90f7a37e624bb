//! Zip archives and gzip files for the container tests and vectors, deflated by real zlib (the
//! pinned static one, through flate2's zlib backend) or by miniz_oxide.

use std::io::Write;

/// How a test zip stores a member.
#[derive(Clone, Copy)]
pub(crate) enum Method {
    /// Raw deflate by zlib at this level (flate2's zlib backend: the pinned zlib).
    Zlib(u32),
    /// Raw deflate by miniz_oxide at this level.
    Miniz(u8),
    /// Raw deflate neither zlib nor the token method reproduces: one fixed block whose
    /// 258-byte matches are written as length code 284 with extra bits 31 (valid, but no
    /// encoder's shortest form). The data must be one byte repeated.
    Code284,
    Stored,
}

pub(crate) struct Entry<'a> {
    pub(crate) name: &'a str,
    pub(crate) data: Vec<u8>,
    pub(crate) method: Method,
    /// Sizes and CRC in a data descriptor after the data instead of the local header.
    pub(crate) descriptor: bool,
}

pub(crate) fn entry(name: &str, data: Vec<u8>, method: Method) -> Entry<'_> {
    Entry { name, data, method, descriptor: false }
}

fn deflated(data: &[u8], method: Method) -> Vec<u8> {
    match method {
        Method::Zlib(level) => {
            let mut encoder = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::new(level));
            encoder.write_all(data).unwrap();
            encoder.finish().unwrap()
        }
        Method::Miniz(level) => miniz_oxide::deflate::compress_to_vec(data, level),
        Method::Code284 => long_matches_as_code_284(data),
        Method::Stored => data.to_vec(),
    }
}

/// [`Method::Code284`]: a final fixed-Huffman block of the first byte as a literal, then
/// 258-byte matches at distance 1 as code 284 + 31, then the rest as literals.
fn long_matches_as_code_284(data: &[u8]) -> Vec<u8> {
    assert!(data.iter().all(|&b| b == data[0]) && data[0] < 144, "one byte below 144 repeated");
    // Fixed codes are defined most significant bit first: reversed for LSB-first packing.
    let fixed = |code: u32, len: u32| (code.reverse_bits() >> (32 - len), len);
    let mut fields = vec![(1, 1), (1, 2)];
    let mut left = data.len();
    if left > 0 {
        fields.push(fixed(0x30 + u32::from(data[0]), 8));
        left -= 1;
    }
    while left >= 258 {
        fields.extend([fixed(0xc0 + 284 - 280, 8), (31, 5), (0, 5)]);
        left -= 258;
    }
    fields.extend(std::iter::repeat_n(fixed(0x30 + u32::from(data[0]), 8), left));
    fields.push((0, 7));
    let (mut out, mut pending, mut bits) = (Vec::new(), 0u64, 0u32);
    for (value, count) in fields {
        pending |= u64::from(value) << bits;
        bits += count;
        while bits >= 8 {
            out.push(pending as u8);
            (pending, bits) = (pending >> 8, bits - 8);
        }
    }
    if bits > 0 {
        out.push(pending as u8);
    }
    out
}

/// A zip archive of `entries`, written the way zip tools do: local headers and data, then
/// the central directory and its end record.
pub(crate) fn zip(entries: &[Entry]) -> Vec<u8> {
    let (mut out, mut central) = (Vec::new(), Vec::new());
    for entry in entries {
        let packed = deflated(&entry.data, entry.method);
        let (method, flags) = (
            if matches!(entry.method, Method::Stored) { 0u16 } else { 8 },
            if entry.descriptor { 8u16 } else { 0 },
        );
        let crc = crc32fast::hash(&entry.data);
        let offset = out.len() as u32;
        let sizes = [crc, packed.len() as u32, entry.data.len() as u32];
        let fields = |sig: u32, out: &mut Vec<u8>, local: bool| {
            out.extend_from_slice(&sig.to_le_bytes());
            if !local {
                out.extend_from_slice(&20u16.to_le_bytes());
            }
            for v in [20u16, flags, method, 0, 0] {
                out.extend_from_slice(&v.to_le_bytes());
            }
            for v in if local && entry.descriptor { [0; 3] } else { sizes } {
                out.extend_from_slice(&v.to_le_bytes());
            }
            out.extend_from_slice(&(entry.name.len() as u16).to_le_bytes());
            out.extend_from_slice(&0u16.to_le_bytes());
        };
        fields(0x0403_4b50, &mut out, true);
        out.extend_from_slice(entry.name.as_bytes());
        out.extend_from_slice(&packed);
        if entry.descriptor {
            out.extend_from_slice(&0x0807_4b50u32.to_le_bytes());
            sizes.iter().for_each(|v| out.extend_from_slice(&v.to_le_bytes()));
        }
        fields(0x0201_4b50, &mut central, false);
        // Comment length, disk, internal and external attributes.
        central.extend_from_slice(&[0; 10]);
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(entry.name.as_bytes());
    }
    let at = out.len() as u32;
    out.extend_from_slice(&central);
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    let count = (entries.len() as u16).to_le_bytes();
    out.extend_from_slice(&[count, count].concat());
    out.extend_from_slice(&(central.len() as u32).to_le_bytes());
    out.extend_from_slice(&at.to_le_bytes());
    out.extend_from_slice(&[0; 2]);
    out
}

/// A gzip file of `data` (as `tar czf` or Python's tarfile write it), by zlib at level 9.
pub(crate) fn gzip(data: &[u8], name: &str) -> Vec<u8> {
    let mut encoder =
        flate2::GzBuilder::new().filename(name).mtime(1).write(Vec::new(), flate2::Compression::best());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}
