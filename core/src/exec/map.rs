//! The address map: where a place in the old file went in the new one, as a list of pieces of
//! constant shift, read from the matched regions of the whole diff.
//!
//! Every chunk of the patch predicts pointers through the same map, which the patch carries
//! once (`FORMAT.md`, version 4), so that each chunk still decodes on its own.

use crate::control::{read_varint, unzigzag, write_varint, zigzag};

/// Matched regions shorter than this (after joining neighbours of equal shift) stay out of the
/// map: each piece costs about 3 bytes of map, and short regions predict little. Patch sizes
/// measured on ruff (x86-64 ELF) / ruff-win (PE) / ruff-mac (Mach-O arm64): 32 B 2,614,325 /
/// 2,546,174 / 2,404,113; 64 B 2,583,671 / 2,529,087 / 2,379,533; 96 B 2,571,248 / 2,522,633 /
/// 2,372,258; 160 B 2,570,128 / 2,520,931 / 2,390,283; 256 B 2,576,962 / 2,524,197 /
/// 2,408,497; 1 KiB 2,627,500 / 2,573,415 / 2,500,648; 4 KiB 2,690,267 / 2,630,053 / 2,575,740.
pub(crate) const MIN_REGION_LEN: u64 = 96;
/// Most pieces a patch's map may hold.
pub(crate) const MAX_PIECES: u64 = 1 << 24;

/// A matched region: `len` bytes at `old` in the old file became those at `new` in the new one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Region {
    pub(crate) old: u64,
    pub(crate) new: u64,
    pub(crate) len: u64,
}

impl Region {
    fn shift(&self) -> i64 {
        self.new.wrapping_sub(self.old) as i64
    }
}

/// From each piece's start in old up to the next piece's, old offset `x` maps to `x + shift`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct AddressMap {
    /// (start in old, shift), starts strictly increasing.
    pieces: Vec<(u64, i64)>,
}

impl AddressMap {
    /// The map of `regions`, given in the order of the new file: neighbours of equal shift are
    /// joined, short regions dropped, and where regions overlap in old the earlier-starting one
    /// holds until it ends.
    pub(crate) fn from_regions(regions: impl IntoIterator<Item = Region>) -> Self {
        let mut joined: Vec<Region> = Vec::new();
        for region in regions.into_iter().filter(|r| r.len > 0) {
            match joined.last_mut() {
                Some(last) if last.shift() == region.shift() && last.new + last.len == region.new => {
                    last.len += region.len;
                }
                _ => joined.push(region),
            }
        }
        joined.retain(|r| r.len >= MIN_REGION_LEN);
        joined.sort_by_key(|r| (r.old, std::cmp::Reverse(r.len), r.new));
        let mut pieces: Vec<(u64, i64)> = Vec::new();
        let mut covered_to = 0u64;
        for region in joined {
            let end = region.old + region.len;
            if end <= covered_to {
                continue;
            }
            let start = region.old.max(covered_to);
            if pieces.last().is_none_or(|&(_, shift)| shift != region.shift()) {
                pieces.push((start, region.shift()));
            }
            covered_to = end;
        }
        AddressMap { pieces }
    }

    /// Where old offset `x` went, or `None` before the first piece.
    pub(crate) fn map(&self, x: u64) -> Option<u64> {
        let at = self.pieces.partition_point(|&(start, _)| start <= x);
        let (_, shift) = self.pieces.get(at.checked_sub(1)?)?;
        Some(x.wrapping_add(*shift as u64))
    }

    pub(crate) fn len(&self) -> usize {
        self.pieces.len()
    }

    /// The map as stored: the piece count, then per piece its start's distance from the
    /// previous start (from 0 for the first) and its shift's zigzag difference from the
    /// previous shift (from 0), all LEB128 varints.
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        write_varint(self.pieces.len() as u64, &mut out);
        let (mut start, mut shift) = (0u64, 0i64);
        for &(piece_start, piece_shift) in &self.pieces {
            write_varint(piece_start - start, &mut out);
            write_varint(zigzag(piece_shift.wrapping_sub(shift)), &mut out);
            (start, shift) = (piece_start, piece_shift);
        }
        out
    }

    /// Reads [`AddressMap::encode`]'s bytes, all of them: starts must increase strictly (after
    /// the first, every distance is at least 1) without overflow, and at most [`MAX_PIECES`].
    pub(crate) fn decode(mut bytes: &[u8]) -> Result<Self, &'static str> {
        let count = read_varint(&mut bytes).ok_or("malformed piece count")?;
        if count > MAX_PIECES || count > bytes.len() as u64 / 2 {
            return Err("piece count beyond its bytes or the limit");
        }
        let mut pieces = Vec::with_capacity(count as usize);
        let (mut start, mut shift) = (0u64, 0i64);
        for i in 0..count {
            let distance = read_varint(&mut bytes).ok_or("malformed piece start")?;
            let delta = read_varint(&mut bytes).ok_or("malformed piece shift")?;
            if i > 0 && distance == 0 {
                return Err("piece starts do not increase");
            }
            start = start.checked_add(distance).ok_or("piece start overflows")?;
            shift = shift.wrapping_add(unzigzag(delta));
            pieces.push((start, shift));
        }
        if !bytes.is_empty() {
            return Err("bytes after the last piece");
        }
        Ok(AddressMap { pieces })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn region(old: u64, new: u64, len: u64) -> Region {
        Region { old, new, len }
    }

    #[test]
    fn joins_neighbours_drops_short_regions_and_lets_the_earlier_hold() {
        let map = AddressMap::from_regions([
            region(0, 100, 600),
            region(600, 700, 600),
            region(5000, 4000, 10),
            region(3000, 9000, 4000),
            region(3500, 20_000, 1024),
            region(6000, 30_000, 2048),
        ]);
        assert_eq!(map.pieces, [(0, 100), (3000, 6000), (7000, 24_000)]);
        assert_eq!(map.map(0), Some(100));
        assert_eq!(map.map(2999), Some(3099));
        assert_eq!(map.map(3600), Some(9600), "the earlier-starting region holds");
        assert_eq!(map.map(7000), Some(31_000));
        assert_eq!(AddressMap::from_regions([region(10, 0, 2000)]).map(9), None);
    }

    #[test]
    fn encodes_and_decodes() {
        let map = AddressMap { pieces: vec![(0, -5), (1, 1 << 40), (u64::MAX, i64::MIN)] };
        assert_eq!(AddressMap::decode(&map.encode()).unwrap(), map);
        assert_eq!(AddressMap::decode(&AddressMap::default().encode()).unwrap(), AddressMap::default());
    }

    #[test]
    fn rejects_malformed_maps() {
        let mut trailing = AddressMap { pieces: vec![(3, 1)] }.encode();
        trailing.push(0);
        let cases: [(&[u8], &str); 5] = [
            (&[], "malformed piece count"),
            (&[2, 0, 0, 0, 0], "piece starts do not increase"),
            (&[9, 0, 0], "piece count beyond its bytes or the limit"),
            (&trailing, "bytes after the last piece"),
            (
                &[2, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0, 1, 0],
                "piece start overflows",
            ),
        ];
        for (bytes, expected) in cases {
            assert_eq!(AddressMap::decode(bytes), Err(expected), "{bytes:?}");
        }
    }
}
