//! bsdiff-style approximate matching of one chunk of `new` against all of `old`.
//!
//! The scan walks the chunk, looks up the longest exact match of the remaining bytes in the
//! suffix array, and accepts it once it beats the current alignment by more than 8 bytes, plus
//! 3 bytes for each 7 bits of distance from that alignment.
//! Each accepted match is then extended forwards and backwards while at least half the bytes
//! agree, so the diff stream (new minus old, bytewise) is mostly zeros even where code moved
//! and its embedded addresses shifted.

use crate::index::SuffixIndex;

/// A region of the chunk: `add_len` bytes diffed against `old[old_pos..]`, then `extra_len`
/// literal bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Segment {
    pub(crate) old_pos: usize,
    pub(crate) add_len: usize,
    pub(crate) extra_len: usize,
}

/// A better match must beat the current alignment by more than this many bytes...
const MIN_GAIN: isize = 8;
/// ...plus this many for each 7 bits of its distance from the current alignment, which is a
/// varint byte of seek in the control stream. Short far matches cost more control bytes than
/// their literals would. Measured (with the nearest-match choice) against a flat gain of 8 on
/// the dev pairs: ruff -5.5%, cmake-tar -1.5%, pydantic-core -0.8%, but synth +7% (its text
/// segments share short words that pay as matches); 2 and 4 did worse on ruff.
const GAIN_PER_SEEK_BYTE: isize = 3;

/// The gain a match `distance` bytes away from the current alignment must exceed.
fn required_gain(distance: usize) -> isize {
    MIN_GAIN + GAIN_PER_SEEK_BYTE * ((usize::BITS - distance.leading_zeros()) / 7) as isize
}

/// Covers `new` (one chunk) with segments, in order. Empty segments are never returned.
pub(crate) fn scan(old: &[u8], index: &SuffixIndex, new: &[u8]) -> Vec<Segment> {
    Scanner { old, new, segments: Vec::new() }.run(index)
}

struct Scanner<'a> {
    old: &'a [u8],
    new: &'a [u8],
    segments: Vec<Segment>,
}

impl Scanner<'_> {
    /// True when `old[old_at] == new[new_at]`, treating out-of-range `old_at` as a mismatch.
    fn agrees(&self, old_at: isize, new_at: isize) -> bool {
        usize::try_from(old_at)
            .ok()
            .and_then(|o| self.old.get(o))
            .is_some_and(|&b| b == self.new[new_at as usize])
    }

    fn run(mut self, index: &SuffixIndex) -> Vec<Segment> {
        let new_len = self.new.len() as isize;
        let (mut scan, mut len, mut pos) = (0isize, 0isize, 0isize);
        let (mut last_scan, mut last_pos, mut last_offset) = (0isize, 0isize, 0isize);
        while scan < new_len {
            let mut old_score = 0isize;
            scan += len;
            let mut scored_to = scan;
            while scan < new_len {
                let aligned = (scan + last_offset).max(0) as usize;
                let (found_pos, found_len) = index.longest_match(&self.new[scan as usize..], aligned);
                (pos, len) = (found_pos as isize, found_len as isize);
                while scored_to < scan + len {
                    old_score += isize::from(self.agrees(scored_to + last_offset, scored_to));
                    scored_to += 1;
                }
                let gain = required_gain(found_pos.abs_diff(aligned));
                if (len == old_score && len != 0) || len > old_score + gain {
                    break;
                }
                old_score -= isize::from(self.agrees(scan + last_offset, scan));
                scan += 1;
            }
            if len != old_score || scan == new_len {
                let (lenf, lenb) = self.extensions(last_scan, last_pos, scan, pos);
                self.push(last_pos, lenf, (scan - lenb) - (last_scan + lenf));
                last_scan = scan - lenb;
                last_pos = pos - lenb;
                last_offset = pos - scan;
            }
        }
        self.segments
    }

    /// Lengths of the forward extension of the previous match (from `last_scan`/`last_pos`)
    /// and the backward extension of the new one (ending at `scan`/`pos`), with any overlap
    /// split where it loses the fewest agreeing bytes.
    fn extensions(&self, last_scan: isize, last_pos: isize, scan: isize, pos: isize) -> (isize, isize) {
        let old_len = self.old.len() as isize;
        let new_len = self.new.len() as isize;
        let (mut score, mut best, mut lenf) = (0isize, 0isize, 0isize);
        let mut i = 0;
        while last_scan + i < scan && last_pos + i < old_len {
            score += isize::from(self.agrees(last_pos + i, last_scan + i));
            i += 1;
            if score * 2 - i > best * 2 - lenf {
                (best, lenf) = (score, i);
            }
        }
        let mut lenb = 0;
        if scan < new_len {
            let (mut score, mut best) = (0isize, 0isize);
            let mut i = 1;
            while scan >= last_scan + i && pos >= i {
                score += isize::from(self.agrees(pos - i, scan - i));
                if score * 2 - i > best * 2 - lenb {
                    (best, lenb) = (score, i);
                }
                i += 1;
            }
        }
        if last_scan + lenf > scan - lenb {
            let overlap = (last_scan + lenf) - (scan - lenb);
            let (mut score, mut best, mut split) = (0isize, 0isize, 0isize);
            for i in 0..overlap {
                score +=
                    isize::from(self.agrees(last_pos + lenf - overlap + i, last_scan + lenf - overlap + i));
                score -= isize::from(self.agrees(pos - lenb + i, scan - lenb + i));
                if score > best {
                    (best, split) = (score, i + 1);
                }
            }
            lenf += split - overlap;
            lenb -= split;
        }
        (lenf, lenb)
    }

    fn push(&mut self, old_pos: isize, add_len: isize, extra_len: isize) {
        if add_len > 0 || extra_len > 0 {
            self.segments.push(Segment {
                old_pos: old_pos as usize,
                add_len: add_len as usize,
                extra_len: extra_len as usize,
            });
        }
    }
}
