//! Format version 3's diff stream: the bytewise `new - old` differences, which are mostly runs
//! of 0x00 (and 0xFF where values shrank), as two streams (HDiffPatch's ctrl/code split).
//!
//! `diff_ctrl` is a sequence of items, each one LEB128 varint `v` (the control stream's rules):
//! tag `v & 3`, length `n = v >> 2` (at least 1). Tag 0: `n` zero bytes; tag 1: `n` bytes
//! 0xFF; tag 2: `n` copies of the next byte of `diff_code`; tag 3: the next `n` bytes of
//! `diff_code`, copied.

use crate::control::{read_varint, write_varint};

/// Runs of 0x00 or 0xFF at least this long become tag 0 or 1 items. Measured on the diff
/// streams of the dev pair `ruff` at zstd level 19 (README, "Format version 3"): 1 packs
/// 0.6% smaller than 2, 1.4% than 3 and 2.1% than 4.
pub(crate) const MIN_ZERO_RUN: usize = 1;
/// Runs of any other byte at least this long become tag 2 items. Measured like
/// [`MIN_ZERO_RUN`]: 2 to 8 and never pack within 0.2% of each other; 3 it is.
pub(crate) const MIN_BYTE_RUN: usize = 3;

const TAG_ZERO: u64 = 0;
const TAG_FF: u64 = 1;
const TAG_RUN: u64 = 2;
const TAG_LITERAL: u64 = 3;

/// The two streams of an encoded diff stream.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Rle {
    pub(crate) ctrl: Vec<u8>,
    pub(crate) code: Vec<u8>,
}

/// Encodes `diff`: runs at least [`MIN_ZERO_RUN`] / [`MIN_BYTE_RUN`] long become run items,
/// everything between them one literal item. `ctrl` is never longer than `diff`.
pub(crate) fn encode(diff: &[u8]) -> Rle {
    let mut rle = Rle::default();
    let (mut at, mut literal_from) = (0, 0);
    while at < diff.len() {
        let byte = diff[at];
        let run = diff[at..].iter().take_while(|&&b| b == byte).count();
        let min = if byte == 0 || byte == 0xFF { MIN_ZERO_RUN } else { MIN_BYTE_RUN };
        if run < min {
            at += run;
            continue;
        }
        rle.literal(&diff[literal_from..at]);
        let tag = match byte {
            0 => TAG_ZERO,
            0xFF => TAG_FF,
            _ => {
                rle.code.push(byte);
                TAG_RUN
            }
        };
        rle.item(tag, run);
        at += run;
        literal_from = at;
    }
    rle.literal(&diff[literal_from..]);
    rle
}

/// The `ctrl` stream of a `len`-byte diff as one literal item, whose `code` stream is the diff
/// itself: the plain differences, which some compressors pack smaller than the run-length split.
pub(crate) fn literal_ctrl(len: usize) -> Vec<u8> {
    let mut rle = Rle::default();
    if len > 0 {
        rle.item(TAG_LITERAL, len);
    }
    rle.ctrl
}

impl Rle {
    fn item(&mut self, tag: u64, len: usize) {
        write_varint(((len as u64) << 2) | tag, &mut self.ctrl);
    }

    fn literal(&mut self, bytes: &[u8]) {
        if !bytes.is_empty() {
            self.item(TAG_LITERAL, bytes.len());
            self.code.extend_from_slice(bytes);
        }
    }
}

/// Decodes `ctrl` and `code` into exactly `out.len()` bytes. Fails on a malformed or empty
/// item, an item that runs past `out` or `code`, or streams not consumed exactly.
pub(crate) fn decode(mut ctrl: &[u8], code: &[u8], out: &mut [u8]) -> Result<(), &'static str> {
    let (mut written, mut read) = (0usize, 0usize);
    while !ctrl.is_empty() {
        let item = read_varint(&mut ctrl).ok_or("malformed varint in the diff control stream")?;
        let len = usize::try_from(item >> 2).map_err(|_| "diff item runs past the diff stream")?;
        if len == 0 {
            return Err("empty diff item");
        }
        if len > out.len() - written {
            return Err("diff item runs past the diff stream");
        }
        let target = &mut out[written..written + len];
        read += match item & 3 {
            TAG_ZERO => {
                target.fill(0);
                0
            }
            TAG_FF => {
                target.fill(0xFF);
                0
            }
            TAG_RUN => {
                target.fill(*code.get(read).ok_or("diff run past the end of the diff code stream")?);
                1
            }
            _ => {
                let literal = code.get(read..read + len);
                target.copy_from_slice(literal.ok_or("diff literal past the end of the diff code stream")?);
                len
            }
        };
        written += len;
    }
    if written != out.len() || read != code.len() {
        return Err("diff streams do not cover the diff exactly");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn decoded(rle: &Rle, len: usize) -> Result<Vec<u8>, &'static str> {
        let mut out = vec![0x55; len];
        decode(&rle.ctrl, &rle.code, &mut out).map(|()| out)
    }

    #[test]
    fn encodes_runs_and_merges_literals() {
        let diff = [0, 0, 0, 5, 0, 7, 7, 6, 0xFF, 0xFF, 9, 9, 9, 9, 1];
        let rle = encode(&diff);
        // 3 zeros | literal 5 | 1 zero | literal 7 7 6 | 2 x 0xFF | 4 x 9 | literal 1
        let items = [3 << 2, (1 << 2) | 3, 1 << 2, (3 << 2) | 3, (2 << 2) | 1, (4 << 2) | 2, (1 << 2) | 3];
        assert_eq!(rle.ctrl, items);
        assert_eq!(rle.code, [5, 7, 7, 6, 9, 1]);
        assert_eq!(decoded(&rle, diff.len()).unwrap(), diff);
        assert_eq!(encode(&[]), Rle::default());
        let one = Rle { ctrl: literal_ctrl(diff.len()), code: diff.to_vec() };
        assert_eq!(one.ctrl, [((diff.len() as u8) << 2) | 3]);
        assert_eq!(decoded(&one, diff.len()).unwrap(), diff);
        assert!(literal_ctrl(0).is_empty());
    }

    #[test]
    fn long_runs_take_multi_byte_varints() {
        let diff = vec![0u8; 1 << 20];
        let rle = encode(&diff);
        assert_eq!((rle.ctrl.len(), rle.code.len()), (4, 0));
        assert_eq!(decoded(&rle, diff.len()).unwrap(), diff);
    }

    #[test]
    fn rejects_every_malformed_stream() {
        let cases: [(&[u8], &[u8], usize, &str); 9] = [
            (&[0x80], &[], 1, "malformed varint in the diff control stream"),
            (&[0xff; 11], &[], 1, "malformed varint in the diff control stream"),
            (&[0], &[], 1, "empty diff item"),
            (&[3], &[1], 1, "empty diff item"),
            (&[2 << 2], &[], 1, "diff item runs past the diff stream"),
            (&[(2 << 2) | 3], &[1], 2, "diff literal past the end of the diff code stream"),
            (&[(2 << 2) | 2], &[], 2, "diff run past the end of the diff code stream"),
            (&[1 << 2], &[9], 1, "diff streams do not cover the diff exactly"),
            (&[1 << 2], &[], 2, "diff streams do not cover the diff exactly"),
        ];
        for (ctrl, code, len, expected) in cases {
            let mut out = vec![0u8; len];
            assert_eq!(decode(ctrl, code, &mut out), Err(expected), "ctrl {ctrl:?}, code {code:?}");
        }
        // The largest length a varint can hold, on every tag.
        for tag in 0..4u64 {
            let mut ctrl = Vec::new();
            write_varint(u64::MAX - 3 + tag, &mut ctrl);
            assert_eq!(decode(&ctrl, &[1], &mut [0; 4]), Err("diff item runs past the diff stream"));
        }
    }

    proptest! {
        #[test]
        fn round_trips(diff in prop::collection::vec(prop::sample::select(vec![0u8, 0, 0, 0xFF, 1, 2, 200]), 0..2000)) {
            let rle = encode(&diff);
            prop_assert!(rle.ctrl.len() <= diff.len());
            prop_assert!(rle.code.len() <= diff.len());
            prop_assert_eq!(decoded(&rle, diff.len()).unwrap(), diff);
        }

        #[test]
        fn arbitrary_streams_decode_or_fail_cleanly(
            ctrl in prop::collection::vec(any::<u8>(), 0..40),
            code in prop::collection::vec(any::<u8>(), 0..40),
            len in 0usize..200,
        ) {
            let mut out = vec![0u8; len];
            if decode(&ctrl, &code, &mut out).is_ok() {
                let again = encode(&out);
                prop_assert_eq!(decoded(&again, len).unwrap(), out);
            }
        }
    }
}
