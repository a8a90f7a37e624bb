//! Approximate matching of one chunk of `new` against all of `old`: a greedy search for exact
//! matches that jumps over what it has covered, then bsdiff-style extension of each match.
//!
//! The search keeps a current alignment (the diagonal `old - new` of the last accepted match).
//! At each position it first measures how far the alignment matches exactly and jumps past
//! that without any search; only where the alignment breaks does it ask the suffix array for
//! the longest match, after a gram filter has ruled out positions whose next 8 bytes occur
//! nowhere in `old`. A match replaces the alignment only when it beats it by more than 8 bytes,
//! plus 3 bytes for each 7 bits of distance from it (a varint byte of seek). Accepted matches
//! are then extended forwards and backwards while at least half the bytes agree, so the diff
//! stream (new minus old, bytewise) is mostly zeros even where code moved and its embedded
//! addresses shifted.
//!
//! Cost: one search per position where the alignment breaks and the gram filter passes, each
//! capped at [`MAX_SEARCH`] bytes of comparison, and a jump of at least one byte after it; the
//! exact and approximate extensions are linear in the chunk. On `ruff` (24.5 MB) this does
//! about a tenth of the searches of bsdiff's loop, which searched at every byte the alignment
//! did not cover exactly.

use crate::index::{GRAM, SuffixIndex, common_prefix};

/// A region of the chunk: `add_len` bytes diffed against `old[old_pos..]`, then `extra_len`
/// literal bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Segment {
    pub(crate) old_pos: usize,
    pub(crate) add_len: usize,
    pub(crate) extra_len: usize,
}

/// A better match must beat the current alignment by more than a minimum gain: the first of
/// these for chunks that old matches well, the second for chunks whose literals are compressed
/// against a window of old, where LZ matching in that window codes a short match for less than
/// a control op. Measured with xz on `ruff-jump` (all chunks with a dictionary): gain 8
/// 7,195,379 bytes, 16 6,996,069, 32 6,795,490, 64 6,768,042, 128 6,765,780; on `ruff` (no
/// dictionary) 8 is best (3,289,133; 16 +0.6%, 32 +2.8%), though chunk by chunk 64 wins on 4 of
/// its 6 chunks and loses up to 28% on the other two, which no cheap predictor told apart...
pub(crate) const MIN_GAINS: [usize; 2] = [8, 48];
/// ...plus this many for each 7 bits of its distance from the current alignment, which is a
/// varint byte of seek in the control stream. Short far matches cost more control bytes than
/// their literals would. Measured (with the nearest-match choice) against a flat gain of 8 on
/// the dev pairs: ruff -5.5%, cmake-tar -1.5%, pydantic-core -0.8%, but synth +7% (its text
/// segments share short words that pay as matches); 2 and 4 did worse on ruff.
const GAIN_PER_SEEK_BYTE: usize = 3;

/// The longest prefix a suffix-array search compares. A longer match is found in pieces: the
/// next search starts on its diagonal, where the exact-alignment jump takes the rest. This
/// bounds a search on highly repetitive input, where every comparison would run long.
const MAX_SEARCH: usize = 1 << 16;

/// Far from the last match, the search tries every `1 + distance / 2^SKIP_LOG`-th position, at
/// most every [`MAX_SKIP`]-th (LZ4's and zstd's acceleration): long stretches of new code cost
/// fewer searches, and a match that starts at a skipped position is still found inside it and
/// extended backwards. Measured on `ruff-jump`: 25% fewer searches, 29% less search time,
/// +0.07% patch size at level 1.
const SKIP_LOG: usize = 8;
const MAX_SKIP: usize = 8;

/// The gain a match `distance` bytes away from the current alignment must exceed.
fn required_gain(min_gain: usize, distance: usize) -> usize {
    min_gain + GAIN_PER_SEEK_BYTE * ((usize::BITS - distance.leading_zeros()) / 7) as usize
}

/// Covers `new` (one chunk) with segments, in order. `hint` is the position of `old` the chunk
/// most likely starts at (its proportional place), where the alignment starts. Empty segments
/// are never returned.
pub(crate) fn scan(
    old: &[u8],
    index: &SuffixIndex,
    new: &[u8],
    hint: usize,
    min_gain: usize,
) -> Vec<Segment> {
    let scanner = Scanner { old, new, segments: Vec::new() };
    let anchors = scanner.anchors(index, hint.min(old.len()), min_gain);
    scanner.extend(hint.min(old.len()), &anchors)
}

/// The start of an accepted exact match: `new[new_at..]` against `old[old_at..]`.
#[derive(Clone, Copy, Debug)]
struct Anchor {
    new_at: usize,
    old_at: usize,
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

    /// Bytes from `new_at` on that the alignment `offset` (old position minus new position)
    /// matches exactly.
    fn aligned_run(&self, new_at: usize, offset: isize) -> usize {
        match usize::try_from(new_at as isize + offset) {
            Ok(old_at) if old_at < self.old.len() => common_prefix(&self.old[old_at..], &self.new[new_at..]),
            _ => 0,
        }
    }

    /// Bytes of `new[new_at..new_at + len]` that the alignment `offset` matches.
    fn aligned_score(&self, new_at: usize, len: usize, offset: isize) -> usize {
        (new_at..new_at + len).filter(|&at| self.agrees(at as isize + offset, at as isize)).count()
    }

    /// The greedy search: the starts of the matches that replace the current alignment, in
    /// order of `new`.
    fn anchors(&self, index: &SuffixIndex, hint: usize, min_gain: usize) -> Vec<Anchor> {
        let mut anchors = Vec::new();
        let mut offset = hint as isize;
        let (mut at, mut last_hit) = (0, 0);
        while at < self.new.len() {
            let run = self.aligned_run(at, offset);
            if run >= GRAM {
                at += run;
                last_hit = at;
                continue;
            }
            let step = run.max(1 + ((at - last_hit) >> SKIP_LOG).min(MAX_SKIP - 1));
            let needle = &self.new[at..self.new.len().min(at + MAX_SEARCH)];
            if !index.may_match(needle) {
                at += step;
                continue;
            }
            let aligned = (at as isize + offset).max(0) as usize;
            let (pos, len) = index.longest_match(needle, aligned);
            let score = self.aligned_score(at, len, offset);
            if len > score + required_gain(min_gain, pos.abs_diff(aligned)) {
                anchors.push(Anchor { new_at: at, old_at: pos });
                offset = pos as isize - at as isize;
                at += len;
                last_hit = at;
            } else {
                at += step;
            }
        }
        anchors
    }

    /// Turns anchors into segments: each match is extended backwards towards the previous one
    /// and the previous one forwards towards it, bsdiff's way, and what neither covers is
    /// literal.
    fn extend(mut self, hint: usize, anchors: &[Anchor]) -> Vec<Segment> {
        let (mut last_scan, mut last_pos) = (0isize, hint as isize);
        let end = Anchor { new_at: self.new.len(), old_at: 0 };
        for anchor in anchors.iter().chain([&end]) {
            let (scan, pos) = (anchor.new_at as isize, anchor.old_at as isize);
            let (lenf, lenb) = self.extensions(last_scan, last_pos, scan, pos);
            self.push(last_pos, lenf, (scan - lenb) - (last_scan + lenf));
            last_scan = scan - lenb;
            last_pos = pos - lenb;
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

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::diff::tests::noise;

    /// Segments of `new` against `old`, checked to cover `new` exactly and stay inside `old`.
    fn segments(old: &[u8], new: &[u8], hint: usize, min_gain: usize) -> Vec<Segment> {
        let index = SuffixIndex::build(
            crate::index::Text::Borrowed(old),
            1,
            &crate::parallel::Progress::new(None, 0),
        )
        .unwrap();
        let segments = scan(old, &index, new, hint, min_gain);
        let covered: usize = segments.iter().map(|s| s.add_len + s.extra_len).sum();
        assert_eq!(covered, new.len());
        for s in &segments {
            assert!(s.old_pos + s.add_len <= old.len(), "{s:?}");
            assert!(s.add_len + s.extra_len > 0, "empty segment");
        }
        segments
    }

    /// Bytes of `new` the segments copy from old unchanged.
    fn exact_bytes(old: &[u8], new: &[u8], segments: &[Segment]) -> usize {
        let mut at = 0;
        let mut exact = 0;
        for s in segments {
            exact += (0..s.add_len).filter(|&i| old[s.old_pos + i] == new[at + i]).count();
            at += s.add_len + s.extra_len;
        }
        exact
    }

    #[test]
    fn an_unchanged_chunk_is_one_segment_from_its_hint() {
        let old = noise(1, 100_000);
        let new = &old[40_000..70_000];
        assert_eq!(
            segments(&old, new, 40_000, MIN_GAINS[0]),
            [Segment { old_pos: 40_000, add_len: 30_000, extra_len: 0 }]
        );
    }

    #[test]
    fn moved_blocks_are_found_and_new_bytes_are_literal() {
        let old = noise(2, 200_000);
        let mut new = old[150_000..160_000].to_vec();
        // Seed 6: `noise` sets the seed's low bit, so seed 3 would repeat old's bytes.
        new.extend_from_slice(&noise(6, 500));
        new.extend_from_slice(&old[10_000..30_000]);
        for gain in MIN_GAINS {
            let found = segments(&old, &new, 0, gain);
            assert_eq!(exact_bytes(&old, &new, &found), 30_000, "gain {gain}: {found:?}");
            let literal: usize = found.iter().map(|s| s.extra_len).sum();
            assert!((500..600).contains(&literal), "gain {gain}: {literal} literal bytes");
        }
    }

    #[test]
    fn sparse_changes_stay_on_one_alignment() {
        let old = noise(4, 300_000);
        let mut new = old.clone();
        for at in (100..new.len()).step_by(1000) {
            new[at] ^= 0x55;
        }
        let found = segments(&old, &new, 0, MIN_GAINS[0]);
        assert_eq!(found.len(), 1, "{found:?}");
    }

    #[test]
    fn the_sparing_gain_drops_short_far_matches() {
        // Short pieces of old, 20 bytes each from far apart, between fresh bytes.
        let old = noise(5, 1 << 20);
        let mut new = Vec::new();
        for i in 0..200 {
            new.extend_from_slice(&old[i * 5000..i * 5000 + 20]);
            new.extend_from_slice(&noise(i as u64 + 10, 30));
        }
        let eager = segments(&old, &new, 0, MIN_GAINS[0]);
        let sparing = segments(&old, &new, 0, MIN_GAINS[1]);
        assert!(eager.len() > 100, "{} segments", eager.len());
        assert!(sparing.len() < 5, "{} segments", sparing.len());
    }

    proptest! {
        #[test]
        fn segments_cover_any_input(
            old in prop::collection::vec(prop::sample::select(b"ab\0\xffxyz".to_vec()), 0..2000),
            new in prop::collection::vec(prop::sample::select(b"ab\0\xffxyz".to_vec()), 0..2000),
            hint in 0usize..3000,
            gain in prop::sample::select(MIN_GAINS.to_vec()),
        ) {
            segments(&old, &new, hint, gain);
        }
    }
}
