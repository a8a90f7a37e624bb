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
    pub(crate) fn longest_match(&self, needle: &[u8]) -> (usize, usize) {
        if needle.is_empty() {
            return (0, 0);
        }
        let range = self.candidates(needle);
        match &self.suffixes {
            Suffixes::Narrow(sa) => search(self.old, &sa[range], needle),
            Suffixes::Wide(sa) => search(self.old, &sa[range], needle),
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

/// Binary search over sorted suffixes. The common prefix of the needle with both ends of the
/// range is shared by every suffix between them, so each probe compares only past it.
fn search<T: Copy + TryInto<usize>>(old: &[u8], sa: &[T], needle: &[u8]) -> (usize, usize) {
    let at = |i: usize| -> usize { sa[i].try_into().unwrap_or(0) };
    if sa.is_empty() || needle.is_empty() {
        return (0, 0);
    }
    let (mut lo, mut hi) = (0, sa.len() - 1);
    let mut lo_len = common_prefix(&old[at(lo)..], needle);
    let mut hi_len = common_prefix(&old[at(hi)..], needle);
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        let suffix = &old[at(mid)..];
        let skip = lo_len.min(hi_len);
        let len = skip + common_prefix(&suffix[skip..], &needle[skip..]);
        if len == needle.len() {
            return (at(mid), len);
        }
        if len == suffix.len() || suffix[len] < needle[len] {
            (lo, lo_len) = (mid, len);
        } else {
            (hi, hi_len) = (mid, len);
        }
    }
    if lo_len >= hi_len { (at(lo), lo_len) } else { (at(hi), hi_len) }
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
                let (pos, len) = index.longest_match(needle);
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
                assert_eq!(index.longest_match(needle).1, needle.len());
            }
        }
    }

    #[test]
    fn empty_old_matches_nothing() {
        let index = SuffixIndex::build(&[]).unwrap();
        assert_eq!(index.longest_match(b"abc"), (0, 0));
    }

    #[test]
    fn common_prefix_counts_across_word_boundaries() {
        assert_eq!(common_prefix(b"abcdefghij", b"abcdefghiX"), 9);
        assert_eq!(common_prefix(b"abcdefgh", b"abcdefgh"), 8);
        assert_eq!(common_prefix(b"", b"a"), 0);
    }
}
