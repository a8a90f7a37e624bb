//! The suffix array of `old`, built once per diff and shared read-only by every chunk scan.
//!
//! Construction uses libsais (OpenMP-parallel), chosen by measurement over divsufsort,
//! cdivsufsort and suffix_array: on the dev corpus with 2 threads it built the same array about
//! twice as fast as divsufsort, at the same memory (README, "Suffix-array builder").

use crate::error::{Error, Result};

/// Suffix array of `old` with the longest-match search the scan needs.
///
/// Memory: 4 bytes per byte of `old` below 2 GiB, 8 bytes per byte above.
pub(crate) struct SuffixIndex<'a> {
    old: &'a [u8],
    suffixes: Suffixes,
    /// `buckets[p]..buckets[p + 1]` is the range of suffixes whose first two bytes, read as a
    /// big-endian u16, are `p`; the one-byte suffix `b` sorts first in bucket `b << 8`.
    buckets: Vec<usize>,
}

enum Suffixes {
    Narrow(Vec<i32>),
    Wide(Vec<i64>),
}

impl<'a> SuffixIndex<'a> {
    /// Sorts the suffixes of `old`, with `i64` offsets only where `i32` cannot hold them.
    pub(crate) fn build(old: &'a [u8]) -> Result<Self> {
        Self::build_with_offsets(old, old.len() >= i32::MAX as usize)
    }

    fn build_with_offsets(old: &'a [u8], wide: bool) -> Result<Self> {
        let suffixes = if wide { Suffixes::Wide(sort(old)?) } else { Suffixes::Narrow(sort(old)?) };
        Ok(SuffixIndex { old, suffixes, buckets: bucket_starts(old) })
    }

    /// The range of suffixes that can share a prefix of more than one byte with `needle`
    /// (or, when none shares two bytes, all suffixes sharing its first byte).
    fn candidates(&self, needle: &[u8]) -> std::ops::Range<usize> {
        let first = usize::from(needle[0]) << 8;
        if let Some(&second) = needle.get(1) {
            let pair = first | usize::from(second);
            let range = self.buckets[pair]..self.buckets[pair + 1];
            if !range.is_empty() {
                return range;
            }
        }
        self.buckets[first]..self.buckets[first + 256]
    }

    /// The position in `old` and length of the longest prefix of `needle` found in `old`.
    /// Where several positions share that length, the one nearest `near` among the
    /// [`NEAR_PROBES`] either side in suffix order is returned: a nearer match costs fewer
    /// control bytes and tends to extend further.
    pub(crate) fn longest_match(&self, needle: &[u8], near: usize) -> (usize, usize) {
        if needle.is_empty() {
            return (0, 0);
        }
        let range = self.candidates(needle);
        match &self.suffixes {
            Suffixes::Narrow(sa) => Sorted { old: self.old, sa: &sa[range] }.longest_match(needle, near),
            Suffixes::Wide(sa) => Sorted { old: self.old, sa: &sa[range] }.longest_match(needle, near),
        }
    }
}

fn threads() -> libsais::ThreadCount {
    let threads = u16::try_from(rayon::current_num_threads()).unwrap_or(u16::MAX);
    libsais::ThreadCount::fixed(threads.max(1))
}

/// A zeroed vector, or an out-of-memory error instead of an abort.
fn zeroed<T: Copy + Default>(len: usize) -> Result<Vec<T>> {
    let mut buffer = Vec::new();
    buffer.try_reserve_exact(len).map_err(|_| {
        Error::io(
            format!("allocating {} bytes for the suffix array of old", len.saturating_mul(size_of::<T>())),
            std::io::ErrorKind::OutOfMemory.into(),
        )
    })?;
    buffer.resize(len, T::default());
    Ok(buffer)
}

fn sais_error(e: libsais::LibsaisError) -> Error {
    Error::io("building the suffix array", std::io::Error::other(format!("libsais: {e:?}")))
}

/// The suffix array of `old`, as `i32` or `i64` offsets.
fn sort<O: libsais::IsValidOutputFor<u8> + Default>(old: &[u8]) -> Result<Vec<O>> {
    let mut sa = zeroed(old.len())?;
    if !old.is_empty() {
        libsais::SuffixArrayConstruction::for_text(old)
            .in_borrowed_buffer(&mut sa)
            .multi_threaded(threads())
            .run()
            .map_err(sais_error)?;
    }
    Ok(sa)
}

/// Start of each two-byte bucket in the suffix array, plus a final end marker.
fn bucket_starts(old: &[u8]) -> Vec<usize> {
    let mut counts = vec![0usize; (1 << 16) + 1];
    for window in old.windows(2) {
        counts[usize::from(u16::from_be_bytes([window[0], window[1]]))] += 1;
    }
    if let Some(&last) = old.last() {
        counts[usize::from(last) << 8] += 1;
    }
    let mut start = 0;
    for count in counts.iter_mut() {
        let n = *count;
        *count = start;
        start += n;
    }
    counts
}

/// How many suffixes either side of the one found are compared with `near` (measured on the dev
/// pairs: 16 gains 1.1% on ruff over 0; more gains nothing measurable).
const NEAR_PROBES: usize = 16;

/// A run of the suffix array, all of whose suffixes start with the same two bytes.
struct Sorted<'a, T> {
    old: &'a [u8],
    sa: &'a [T],
}

impl<T: Copy + TryInto<usize>> Sorted<'_, T> {
    fn at(&self, i: usize) -> usize {
        self.sa[i].try_into().unwrap_or(0)
    }

    /// Binary search. The common prefix of the needle with both ends of the range is shared by
    /// every suffix between them, so each probe compares only past it.
    fn longest_match(&self, needle: &[u8], near: usize) -> (usize, usize) {
        if self.sa.is_empty() {
            return (0, 0);
        }
        let (mut lo, mut hi) = (0, self.sa.len() - 1);
        let mut lo_len = common_prefix(&self.old[self.at(lo)..], needle);
        let mut hi_len = common_prefix(&self.old[self.at(hi)..], needle);
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            let suffix = &self.old[self.at(mid)..];
            let skip = lo_len.min(hi_len);
            let len = skip + common_prefix(&suffix[skip..], &needle[skip..]);
            if len == needle.len() {
                return self.nearest(mid, &needle[..len], near);
            }
            if len == suffix.len() || suffix[len] < needle[len] {
                (lo, lo_len) = (mid, len);
            } else {
                (hi, hi_len) = (mid, len);
            }
        }
        if lo_len >= hi_len {
            self.nearest(lo, &needle[..lo_len], near)
        } else {
            self.nearest(hi, &needle[..hi_len], near)
        }
    }

    /// The position nearest `near` among the suffixes around index `found` that start with
    /// `matched`, with the match length.
    fn nearest(&self, found: usize, matched: &[u8], near: usize) -> (usize, usize) {
        let starts_with_match = |i: &usize| self.old[self.at(*i)..].starts_with(matched);
        let before = (found.saturating_sub(NEAR_PROBES)..found).rev().take_while(starts_with_match);
        let after = (found + 1..self.sa.len().min(found + 1 + NEAR_PROBES)).take_while(starts_with_match);
        let best = before.chain(after).map(|i| self.at(i)).fold(self.at(found), |best, pos| {
            if pos.abs_diff(near) < best.abs_diff(near) { pos } else { best }
        });
        (best, matched.len())
    }
}

/// Length of the common prefix of `a` and `b`, eight bytes at a time.
pub(crate) fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    let n = a.len().min(b.len());
    let mut i = 0;
    while i + 8 <= n {
        let x = u64::from_le_bytes(a[i..i + 8].try_into().unwrap());
        let y = u64::from_le_bytes(b[i..i + 8].try_into().unwrap());
        if x != y {
            return i + ((x ^ y).trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while i < n && a[i] == b[i] {
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive_longest(old: &[u8], needle: &[u8]) -> usize {
        (0..old.len()).map(|p| common_prefix(&old[p..], needle)).max().unwrap_or(0)
    }

    /// Both offset widths: the `i64` one is otherwise reached only by inputs of 2 GiB or more.
    fn indexes(old: &[u8]) -> [SuffixIndex<'_>; 2] {
        [false, true].map(|wide| SuffixIndex::build_with_offsets(old, wide).unwrap())
    }

    #[test]
    fn finds_the_longest_match() {
        let old = b"the quick brown fox jumps over the lazy dog; the quick red fox".as_slice();
        for index in indexes(old) {
            for needle in [&b"the quick red"[..], b"fox jumps", b"zzz", b"dog; thx", b"the", b"g", b""] {
                let (pos, len) = index.longest_match(needle, 0);
                assert_eq!(len, naive_longest(old, needle), "needle {:?}", String::from_utf8_lossy(needle));
                assert_eq!(&old[pos..pos + len], &needle[..len]);
            }
        }
    }

    #[test]
    fn sorts_repetitive_input() {
        let old: Vec<u8> = (0..5000u32).map(|i| (i % 7) as u8 * (i % 3) as u8).collect();
        for index in indexes(&old) {
            for start in [0, 17, 1000, 4990] {
                let needle = &old[start..];
                assert_eq!(index.longest_match(needle, 0).1, needle.len());
            }
        }
    }

    #[test]
    fn prefers_the_match_nearest_the_hint() {
        let old = b"abcX abcY abcZ abcW".as_slice();
        for index in indexes(old) {
            for (near, expected) in [(0, 0), (6, 5), (9, 10), (100, 15)] {
                assert_eq!(index.longest_match(b"abc", near), (expected, 3), "near {near}");
            }
        }
    }

    #[test]
    fn empty_old_matches_nothing() {
        let index = SuffixIndex::build(&[]).unwrap();
        assert_eq!(index.longest_match(b"abc", 0), (0, 0));
    }

    #[test]
    fn common_prefix_counts_across_word_boundaries() {
        assert_eq!(common_prefix(b"abcdefghij", b"abcdefghiX"), 9);
        assert_eq!(common_prefix(b"abcdefgh", b"abcdefgh"), 8);
        assert_eq!(common_prefix(b"", b"a"), 0);
    }
}
