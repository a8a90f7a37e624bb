//! A bounded reader of zip archives (wheel, jar, apk, nupkg, docx...): where each deflated
//! member's bytes lie. It trusts nothing: every offset and length is checked against the file,
//! members must not overlap, and memory grows only with the entries actually present (each
//! central directory entry has at least 46 bytes, so a claimed count cannot outgrow the file).
//!
//! Only the central directory and the local headers are read; data descriptors need no
//! handling, since the central directory holds the sizes. zip64 sizes and offsets are read
//! from the zip64 end record and extra fields. Multi-disk archives are refused.

use super::expand::Member;

/// End of central directory record: signature and fixed length.
const EOCD_SIG: u32 = 0x0605_4b50;
const EOCD_LEN: usize = 22;
const ZIP64_LOCATOR_SIG: u32 = 0x0706_4b50;
const ZIP64_LOCATOR_LEN: usize = 20;
const ZIP64_EOCD_SIG: u32 = 0x0606_4b50;
const ZIP64_EOCD_LEN: usize = 56;
const CENTRAL_SIG: u32 = 0x0201_4b50;
const CENTRAL_LEN: usize = 46;
const LOCAL_SIG: u32 = 0x0403_4b50;
const LOCAL_LEN: usize = 30;
/// Compression method 8, deflate.
const DEFLATED: u16 = 8;
/// General-purpose flag bit 0: the member is encrypted.
const ENCRYPTED: u16 = 1;

/// Whether `file` starts like a zip archive (a local header, or the end record of an empty one).
pub(crate) fn is_zip(file: &[u8]) -> bool {
    file.starts_with(b"PK\x03\x04") || file.starts_with(b"PK\x05\x06")
}

/// The deflated, unencrypted members of the zip archive `file`, sorted by offset, or why it
/// is not a well-formed archive. Stored members and other methods are left out: they stay as
/// they are.
pub(crate) fn deflated_members(file: &[u8]) -> Result<Vec<Member>, String> {
    let directory = find_directory(file)?;
    let mut at = directory.offset;
    let mut entries = Vec::new();
    for index in 0..directory.entries {
        let entry =
            read_central(file, &mut at, directory.end).map_err(|why| format!("entry {index}: {why}"))?;
        entries.push(entry);
    }
    if at != directory.end {
        return Err("the central directory is longer than its entries".into());
    }
    entries.sort_by_key(|e| e.local_offset);
    let mut members = Vec::new();
    let mut previous_end = 0u64;
    for entry in &entries {
        let data = local_data(file, entry)?;
        if entry.local_offset < previous_end {
            return Err(format!("the member at {} overlaps the one before it", entry.local_offset));
        }
        if data.end > directory.offset {
            return Err(format!("the member at {} runs into the central directory", entry.local_offset));
        }
        previous_end = data.end;
        if entry.method == DEFLATED && entry.flags & ENCRYPTED == 0 {
            let packed_len = data.end - data.start;
            members.push(Member {
                offset: data.start,
                packed_len,
                raw_len: entry.raw_len,
                crc32: entry.crc32,
            });
        }
    }
    Ok(members)
}

/// Where the central directory lies.
struct Directory {
    offset: u64,
    end: u64,
    entries: u64,
}

fn find_directory(file: &[u8]) -> Result<Directory, String> {
    let eocd = find_eocd(file).ok_or("no end of central directory record")?;
    let record = &file[eocd..eocd + EOCD_LEN];
    if u16_at(record, 4) != 0 || u16_at(record, 6) != 0 {
        return Err("multi-disk archives are not supported".into());
    }
    let (mut entries, mut size, mut offset) =
        (u64::from(u16_at(record, 10)), u64::from(u32_at(record, 12)), u64::from(u32_at(record, 16)));
    let mut directory_limit = eocd as u64;
    if entries == 0xFFFF || size == 0xFFFF_FFFF || offset == 0xFFFF_FFFF {
        let zip64 = read_zip64_eocd(file, eocd)?;
        (entries, size, offset, directory_limit) = zip64;
    }
    let end = offset
        .checked_add(size)
        .filter(|&end| end <= directory_limit)
        .ok_or("the central directory lies outside the file")?;
    if entries > size / CENTRAL_LEN as u64 {
        return Err(format!("{entries} entries cannot fit in a central directory of {size} bytes"));
    }
    Ok(Directory { offset, end, entries })
}

/// The offset of the end record: the last signature whose comment length reaches exactly to
/// the end of the file.
fn find_eocd(file: &[u8]) -> Option<usize> {
    let last = file.len().checked_sub(EOCD_LEN)?;
    let first = last.saturating_sub(usize::from(u16::MAX));
    (first..=last).rev().find(|&at| {
        u32_at(file, at) == EOCD_SIG && usize::from(u16_at(file, at + 20)) == file.len() - at - EOCD_LEN
    })
}

/// (entries, directory size, directory offset, end of the space the directory may use) from
/// the zip64 end record that the locator before `eocd` points to.
fn read_zip64_eocd(file: &[u8], eocd: usize) -> Result<(u64, u64, u64, u64), String> {
    let locator = eocd.checked_sub(ZIP64_LOCATOR_LEN).ok_or("no zip64 locator")?;
    if u32_at(file, locator) != ZIP64_LOCATOR_SIG {
        return Err("a zip64 archive without its zip64 locator".into());
    }
    let record = usize::try_from(u64_at(file, locator + 8)).map_err(|_| "zip64 record offset overflows")?;
    if record.checked_add(ZIP64_EOCD_LEN).is_none_or(|end| end > locator)
        || u32_at(file, record) != ZIP64_EOCD_SIG
    {
        return Err("the zip64 end record is missing or outside the file".into());
    }
    if u32_at(file, record + 16) != 0 || u32_at(file, record + 20) != 0 {
        return Err("multi-disk archives are not supported".into());
    }
    Ok((u64_at(file, record + 32), u64_at(file, record + 40), u64_at(file, record + 48), record as u64))
}

/// One central directory entry's fields that locate its data.
struct Central {
    flags: u16,
    method: u16,
    crc32: u32,
    packed_len: u64,
    raw_len: u64,
    local_offset: u64,
}

/// Reads the central directory entry at `*at`, which must end by `end`, and moves past it.
fn read_central(file: &[u8], at: &mut u64, end: u64) -> Result<Central, String> {
    let start = usize::try_from(*at).map_err(|_| "offset overflows")?;
    let fixed = file
        .get(start..start + CENTRAL_LEN)
        .filter(|_| *at + CENTRAL_LEN as u64 <= end)
        .ok_or("truncated")?;
    if u32_at(fixed, 0) != CENTRAL_SIG {
        return Err("bad central directory signature".into());
    }
    let (name_len, extra_len, comment_len) =
        (usize::from(u16_at(fixed, 28)), usize::from(u16_at(fixed, 30)), usize::from(u16_at(fixed, 32)));
    let total = CENTRAL_LEN + name_len + extra_len + comment_len;
    if *at + total as u64 > end {
        return Err("runs past the end of the central directory".into());
    }
    let extra = &file[start + CENTRAL_LEN + name_len..start + CENTRAL_LEN + name_len + extra_len];
    let mut entry = Central {
        flags: u16_at(fixed, 8),
        method: u16_at(fixed, 10),
        crc32: u32_at(fixed, 16),
        packed_len: u64::from(u32_at(fixed, 20)),
        raw_len: u64::from(u32_at(fixed, 24)),
        local_offset: u64::from(u32_at(fixed, 42)),
    };
    apply_zip64_extra(extra, &mut entry)?;
    *at += total as u64;
    Ok(entry)
}

/// Replaces the sizes and offset saturated at 0xFFFFFFFF by those of the zip64 extra field
/// (id 1), which lists only the saturated ones, in this order.
fn apply_zip64_extra(mut extra: &[u8], entry: &mut Central) -> Result<(), String> {
    let saturated = [entry.raw_len, entry.packed_len, entry.local_offset].map(|v| v == 0xFFFF_FFFF);
    if !saturated.contains(&true) {
        return Ok(());
    }
    while extra.len() >= 4 {
        let (id, len) = (u16_at(extra, 0), usize::from(u16_at(extra, 2)));
        let body = extra.get(4..4 + len).ok_or("truncated extra field")?;
        if id == 1 {
            let mut values = body.chunks_exact(8).map(|v| u64_at(v, 0));
            for (field, is_saturated) in [&mut entry.raw_len, &mut entry.packed_len, &mut entry.local_offset]
                .into_iter()
                .zip(saturated)
            {
                if is_saturated {
                    *field = values.next().ok_or("zip64 extra field too short")?;
                }
            }
            return Ok(());
        }
        extra = &extra[4 + len..];
    }
    Err("sizes saturated at 0xFFFFFFFF without a zip64 extra field".into())
}

/// The byte range of `entry`'s data, after its local header.
fn local_data(file: &[u8], entry: &Central) -> Result<std::ops::Range<u64>, String> {
    let here = format!("the local header at {}", entry.local_offset);
    let start = usize::try_from(entry.local_offset).map_err(|_| format!("{here} overflows"))?;
    let fixed = file
        .get(start..)
        .and_then(|rest| rest.get(..LOCAL_LEN))
        .ok_or_else(|| format!("{here} is outside the file"))?;
    if u32_at(fixed, 0) != LOCAL_SIG {
        return Err(format!("{here} has a bad signature"));
    }
    let header_len = (LOCAL_LEN + usize::from(u16_at(fixed, 26)) + usize::from(u16_at(fixed, 28))) as u64;
    let data_start = entry.local_offset + header_len;
    let data_end = data_start.checked_add(entry.packed_len).filter(|&end| end <= file.len() as u64);
    let data_end = data_end.ok_or_else(|| format!("the data after {here} runs past the end of the file"))?;
    Ok(data_start..data_end)
}

/// Little-endian readers for offsets the caller has bounds-checked; out of bounds reads 0,
/// which no signature or length check accepts by accident.
fn u16_at(bytes: &[u8], at: usize) -> u16 {
    bytes.get(at..at + 2).map_or(0, |b| u16::from_le_bytes([b[0], b[1]]))
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    bytes.get(at..at + 4).map_or(0, |b| u32::from_le_bytes(b.try_into().expect("4 bytes")))
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    bytes.get(at..at + 8).map_or(0, |b| u64::from_le_bytes(b.try_into().expect("8 bytes")))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A one-member archive whose member claims method 8 over `data` (the reader does not
    /// inflate). With `zip64`, the central directory saturates sizes, offset and count, and a
    /// zip64 extra field, end record and locator hold the real values.
    fn archive(data: &[u8], zip64: bool) -> Vec<u8> {
        let mut out = Vec::new();
        let le16 = |out: &mut Vec<u8>, v: u16| out.extend_from_slice(&v.to_le_bytes());
        let le32 = |out: &mut Vec<u8>, v: u32| out.extend_from_slice(&v.to_le_bytes());
        le32(&mut out, LOCAL_SIG);
        [20, 0, DEFLATED, 0, 0].iter().for_each(|&v| le16(&mut out, v));
        [7, data.len() as u32, 1000].iter().for_each(|&v| le32(&mut out, v));
        [1, 0].iter().for_each(|&v| le16(&mut out, v));
        out.push(b'a');
        out.extend_from_slice(data);
        let directory = out.len();
        let saturate = |v: u32| if zip64 { u32::MAX } else { v };
        le32(&mut out, CENTRAL_SIG);
        [20, 20, 0, DEFLATED, 0, 0].iter().for_each(|&v| le16(&mut out, v));
        [7, saturate(data.len() as u32), saturate(1000)].iter().for_each(|&v| le32(&mut out, v));
        [1, if zip64 { 28 } else { 0 }, 0, 0, 0].iter().for_each(|&v| le16(&mut out, v));
        [0, saturate(0)].iter().for_each(|&v| le32(&mut out, v));
        out.push(b'a');
        if zip64 {
            [1, 24].iter().for_each(|&v| le16(&mut out, v));
            [1000u64, data.len() as u64, 0].iter().for_each(|v| out.extend_from_slice(&v.to_le_bytes()));
        }
        let directory_len = (out.len() - directory) as u64;
        if zip64 {
            let record = out.len() as u64;
            le32(&mut out, ZIP64_EOCD_SIG);
            out.extend_from_slice(&44u64.to_le_bytes());
            [45, 45].iter().for_each(|&v| le16(&mut out, v));
            [0, 0].iter().for_each(|&v| le32(&mut out, v));
            [1, 1, directory_len, directory as u64]
                .iter()
                .for_each(|v| out.extend_from_slice(&v.to_le_bytes()));
            le32(&mut out, ZIP64_LOCATOR_SIG);
            le32(&mut out, 0);
            out.extend_from_slice(&record.to_le_bytes());
            le32(&mut out, 1);
        }
        le32(&mut out, EOCD_SIG);
        [0, 0, saturate(1) as u16, saturate(1) as u16].iter().for_each(|&v| le16(&mut out, v));
        [saturate(directory_len as u32), saturate(directory as u32)].iter().for_each(|&v| le32(&mut out, v));
        le16(&mut out, 0);
        out
    }

    #[test]
    fn reads_plain_and_zip64_archives_alike() {
        let data = [9u8; 40];
        for zip64 in [false, true] {
            let members = deflated_members(&archive(&data, zip64)).unwrap();
            assert_eq!(
                members,
                [Member { offset: 31, packed_len: 40, raw_len: 1000, crc32: 7 }],
                "zip64 {zip64}"
            );
        }
    }

    #[test]
    fn each_broken_structure_is_an_error() {
        let good = archive(&[9u8; 40], true);
        let directory = 31 + 40;
        let broken = |at: usize, bytes: &[u8]| {
            let mut bad = good.clone();
            bad[at..at + bytes.len()].copy_from_slice(bytes);
            deflated_members(&bad)
        };
        assert!(broken(0, b"XX").is_err(), "local header signature");
        assert!(broken(directory, b"XX").is_err(), "central directory signature");
        // The zip64 extra field's compressed size (its second value) past the file's end.
        assert!(broken(directory + 47 + 4 + 8, &u64::MAX.to_le_bytes()).is_err(), "member past the end");
        assert!(broken(directory + 47 + 4 + 8, &60u64.to_le_bytes()).is_err(), "member over the directory");
        let locator = good.len() - EOCD_LEN - ZIP64_LOCATOR_LEN;
        assert!(broken(locator + 8, &u64::MAX.to_le_bytes()).is_err(), "zip64 record outside the file");
        assert!(broken(locator, b"XX").is_err(), "zip64 locator signature");
        for cut in [0, 10, directory, good.len() - 1] {
            assert!(deflated_members(&good[..cut]).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn overlapping_entries_are_an_error() {
        let mut doubled = archive(&[9u8; 40], false);
        // Two central entries for the one member: a second copy of the entry, and counts of 2.
        let directory = 31 + 40;
        let entry = doubled[directory..directory + CENTRAL_LEN + 1].to_vec();
        doubled.splice(directory..directory, entry);
        let eocd = doubled.len() - EOCD_LEN;
        doubled[eocd + 8..eocd + 12].copy_from_slice(&[2, 0, 2, 0]);
        let size = 2 * (CENTRAL_LEN as u32 + 1);
        doubled[eocd + 12..eocd + 16].copy_from_slice(&size.to_le_bytes());
        let err = deflated_members(&doubled).unwrap_err();
        assert!(err.contains("overlaps"), "{err}");
    }
}
