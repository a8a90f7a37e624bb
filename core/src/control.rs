//! The control stream: one op per covered region of a chunk, three LEB128 varints each.
//!
//! An op says: move the old cursor by `seek` (zigzag-encoded, signed), then emit `add_len` bytes
//! of `old[cursor..] + diff` (bytewise, wrapping), advancing the cursor, then emit `extra_len`
//! literal bytes from the extra stream. The cursor starts at 0 in every chunk.

use crate::error::{Error, Result};

/// One control op, as stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Op {
    pub(crate) seek: i64,
    pub(crate) add_len: u64,
    pub(crate) extra_len: u64,
}

/// Appends `op` to `out`.
pub(crate) fn encode_op(op: Op, out: &mut Vec<u8>) {
    for value in [zigzag(op.seek), op.add_len, op.extra_len] {
        write_varint(value, out);
    }
}

/// `n` zigzag-encoded: `(n << 1) ^ (n >> 63)`, so that small magnitudes give small numbers.
pub(crate) fn zigzag(n: i64) -> u64 {
    ((n << 1) ^ (n >> 63)) as u64
}

/// The inverse of [`zigzag`].
pub(crate) fn unzigzag(z: u64) -> i64 {
    ((z >> 1) as i64) ^ -((z & 1) as i64)
}

/// Appends `value` as a LEB128 varint: 7 bits per byte, low groups first.
pub(crate) fn write_varint(mut value: u64, out: &mut Vec<u8>) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// Iterates over the ops of a decompressed control stream, rejecting malformed varints.
pub(crate) struct OpReader<'a> {
    bytes: &'a [u8],
}

impl<'a> OpReader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        OpReader { bytes }
    }

    fn varint(&mut self) -> Result<u64> {
        read_varint(&mut self.bytes).ok_or_else(|| Error::corrupt("malformed varint in a control stream"))
    }
}

impl Iterator for OpReader<'_> {
    type Item = Result<Op>;

    fn next(&mut self) -> Option<Result<Op>> {
        if self.bytes.is_empty() {
            return None;
        }
        let op = (|| {
            let seek = unzigzag(self.varint()?);
            Ok(Op { seek, add_len: self.varint()?, extra_len: self.varint()? })
        })();
        if op.is_err() {
            self.bytes = &[];
        }
        Some(op)
    }
}

/// Reads one LEB128 varint off the front of `bytes`: at most 10 bytes, the 10th at most `0x01`
/// (`FORMAT.md`). `None`, leaving `bytes` as it was, when it is truncated or overlong.
pub(crate) fn read_varint(bytes: &mut &[u8]) -> Option<u64> {
    let mut value = 0u64;
    for (i, &byte) in bytes.iter().enumerate().take(10) {
        if i == 9 && byte > 1 {
            return None;
        }
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            *bytes = &bytes[i + 1..];
            return Some(value);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ops_round_trip_including_extremes() {
        let ops = [
            Op { seek: 0, add_len: 0, extra_len: 1 },
            Op { seek: -1, add_len: 127, extra_len: 128 },
            Op { seek: i64::MIN, add_len: u64::MAX, extra_len: 0 },
            Op { seek: i64::MAX, add_len: 1 << 35, extra_len: 300 },
        ];
        let mut bytes = Vec::new();
        for op in ops {
            encode_op(op, &mut bytes);
        }
        let decoded: Vec<Op> = OpReader::new(&bytes).collect::<Result<_>>().unwrap();
        assert_eq!(decoded, ops);
    }

    #[test]
    fn truncated_and_overlong_varints_are_corrupt() {
        let mut bytes = Vec::new();
        encode_op(Op { seek: 5, add_len: 1 << 40, extra_len: 2 }, &mut bytes);
        for cut in 0..bytes.len() {
            let result: Result<Vec<Op>> = OpReader::new(&bytes[..cut]).collect();
            assert!(cut == 0 || result.is_err(), "cut at {cut}");
        }
        let overlong = [0xffu8; 11];
        assert!(OpReader::new(&overlong).next().unwrap().is_err());
    }
}
