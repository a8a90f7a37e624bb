//! The suffix array of `old`, or of every `step`-th position of it, built once per diff and
//! shared read-only by every chunk scan.
//!
//! Construction uses libsais, chosen by measurement over divsufsort, cdivsufsort and
//! suffix_array: it built the same array 1.3-1.9 times faster, at the same memory (README,
//! "Suffix-array builder"). It runs on one thread, beside the hashing of both files: libsais's
//! OpenMP threads spin while they wait, and with another process on the machine a 2-thread
//! build ran 8-37 times slower than a 1-thread one (benches/MICRO.md).
//!
//! libsais cannot be interrupted. When a progress callback could cancel the diff, the sort
//! runs on a thread of its own over data it owns (a copy of `old` for the full index, the gram
//! ranks for a sampled one), while the caller's thread keeps calling the callback: a
//! cancellation returns within [`crate::parallel::HEARTBEAT`] and the sort ends on its thread.
//!
//! A sampled index (step `k` > 1) sorts only the suffixes starting at multiples of `k`. Its
//! construction groups the samples by their first two bytes, sorts each group by the sample's
//! `k`-byte gram, replaces every gram by its rank, and lets libsais sort the suffixes of that
//! integer string, which are in the same order as the sampled suffixes of `old`. A match of
//! `new` against any position of `old` is still found by the scan at the new position where the
//! old position is a multiple of `k`; the scan's backward extension recovers the bytes before.

use std::sync::Arc;

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::io::MappedFile;
use crate::parallel::Progress;

/// The sparsest index diff builds: one suffix per this many bytes of `old`.
pub(crate) const MAX_STEP: usize = 256;

/// Bytes of the two-byte bucket table (and of its copy while the samples are grouped).
const BUCKET_TABLE_BYTES: u64 = ((1 << 16) + 1) * size_of::<usize>() as u64;

/// Suffix array of `old`, or of its positions that are multiples of `step`, with the
/// longest-match search the scan needs.
///
/// Memory: [`peak_memory`] while it is built; afterwards 4 bytes per indexed position (8 from
/// 2^31 positions on), plus the 512 KiB bucket table and the gram filter (at most 1 byte per
/// indexed position).
pub(crate) struct SuffixIndex<'a> {
    old: &'a [u8],
    /// Distance between indexed positions: an entry `s` of `suffixes` stands for the suffix
    /// of `old` at `s * step`.
    step: usize,
    suffixes: Suffixes,
    /// `buckets[p]..buckets[p + 1]` is the range of suffixes whose first two bytes, read as a
    /// big-endian u16, are `p`; the one-byte suffix `b` sorts first in bucket `b << 8`.
    buckets: Vec<usize>,
    /// The [`GRAM`]-byte grams at the indexed positions, for [`SuffixIndex::may_match`].
    grams: GramFilter,
}

enum Suffixes {
    Narrow(Vec<i32>),
    Wide(Vec<i64>),
}

/// Number of indexed positions of an `old_len`-byte file at `step`.
fn sample_count(old_len: u64, step: u64) -> u64 {
    old_len.div_ceil(step)
}

/// True when the index needs `i64` offsets: `i32` holds at most `i32::MAX - 1` positions.
fn needs_wide_offsets(samples: u64) -> bool {
    samples >= i32::MAX as u64
}

/// The most memory building the index of an `old_len`-byte file at `step` takes, in bytes.
///
/// Per indexed position, with `w` the offset width (4 bytes, 8 from 2^31 positions on): the
/// full index (step 1) needs `w + 1`, its suffix array (libsais sorts bytes within it) and the
/// copy of `old` that it sorts when a callback can cancel (counted always, so that the step
/// does not depend on the callback); a sampled
/// one needs `3 w`: the suffix array, the gram ranks, and libsais's buckets for the rank
/// alphabet, which it allocates when there are as many distinct grams as samples (the worst
/// case, reached by incompressible data). Both add the bucket table and its copy (1 MiB), and
/// the gram filter (at most 1 byte per indexed position).
pub(crate) fn peak_memory(old_len: u64, step: u64) -> u64 {
    let samples = sample_count(old_len, step);
    let width = if needs_wide_offsets(samples) { 8 } else { 4 };
    let per_sample = if step == 1 { width + 1 } else { 3 * width };
    samples
        .saturating_mul(per_sample)
        .saturating_add(2 * BUCKET_TABLE_BYTES)
        .saturating_add(GramFilter::bytes(samples))
}

/// The smallest power-of-two step up to [`MAX_STEP`] whose index of an `old_len`-byte file
/// is built within `budget` bytes ([`peak_memory`]).
pub(crate) fn choose_step(old_len: u64, budget: u64) -> Result<usize> {
    let mut step = 1;
    while peak_memory(old_len, step as u64) > budget {
        if step == MAX_STEP {
            return Err(Error::invalid(format!(
                "a memory budget of {budget} bytes is too small for a {old_len}-byte old file: its \
                 sparsest index (one position in {MAX_STEP}) needs {} bytes",
                peak_memory(old_len, MAX_STEP as u64)
            )));
        }
        step *= 2;
    }
    Ok(step)
}

impl<'a> SuffixIndex<'a> {
    /// Sorts the suffixes of `old` at multiples of `step` (a power of two), with `i64` offsets
    /// only where `i32` cannot hold them. `progress`'s callback, if any, is called while the
    /// sort runs, and can cancel it; the sort counts old's length, on an estimate of its time
    /// while it runs ([`Progress::run_uninterruptible`]). A cancellable sort of a large `old`
    /// runs on a thread that shares `old` where [`Text`] lets it, and otherwise sorts a copy.
    pub(crate) fn build(old: Text<'a>, step: usize, progress: &Progress) -> Result<Self> {
        let wide = needs_wide_offsets(sample_count(old.bytes().len() as u64, step as u64));
        Self::build_with_offsets(old, step, wide, progress)
    }

    fn build_with_offsets(text: Text<'a>, step: usize, wide: bool, progress: &Progress) -> Result<Self> {
        let old = text.bytes();
        let buckets = bucket_starts(old, step);
        let (suffixes, grams) = rayon::join(
            || {
                Ok(match (step, wide) {
                    (1, false) => Suffixes::Narrow(sort(text, progress)?),
                    (1, true) => Suffixes::Wide(sort(text, progress)?),
                    (_, false) => Suffixes::Narrow(sort_sampled(old, step, &buckets, progress)?),
                    (_, true) => Suffixes::Wide(sort_sampled(old, step, &buckets, progress)?),
                })
            },
            || GramFilter::build(old, step, progress),
        );
        Ok(SuffixIndex { old, step, suffixes: suffixes?, buckets, grams: grams? })
    }

    /// False when no indexed position of `old` starts with the first [`GRAM`] bytes of
    /// `needle`, so that [`SuffixIndex::longest_match`] would find fewer than [`GRAM`] bytes;
    /// true when one may (about 1 in 5 false positives at its size), or `needle` is shorter.
    pub(crate) fn may_match(&self, needle: &[u8]) -> bool {
        needle.first_chunk::<GRAM>().is_none_or(|gram| self.grams.may_contain(gram))
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

    /// The position in `old` and length of the longest prefix of `needle` found at an indexed
    /// position of `old` (a multiple of the step). Where several positions share that length,
    /// the one nearest `near` among the [`NEAR_PROBES`] either side in suffix order is returned:
    /// a nearer match costs fewer control bytes and tends to extend further.
    pub(crate) fn longest_match(&self, needle: &[u8], near: usize) -> (usize, usize) {
        if needle.is_empty() {
            return (0, 0);
        }
        let range = self.candidates(needle);
        let (old, step) = (self.old, self.step);
        match &self.suffixes {
            Suffixes::Narrow(sa) => Sorted { old, step, sa: &sa[range] }.longest_match(needle, near),
            Suffixes::Wide(sa) => Sorted { old, step, sa: &sa[range] }.longest_match(needle, near),
        }
    }
}

/// Length of the grams in the [`GramFilter`].
pub(crate) const GRAM: usize = 8;

/// A one-hash Bloom filter of the [`GRAM`]-byte grams at the indexed positions of `old`:
/// 4 bits per position (about 1 in 5 false positives once full). It lets the scan skip the
/// suffix-array search at positions of `new` whose gram `old` does not hold, which are most
/// positions of new code.
struct GramFilter {
    words: Vec<u64>,
}

impl GramFilter {
    const BITS_PER_POSITION: u64 = 4;
    const MIN_BITS: u64 = 1 << 12;
    const MAX_BITS: u64 = 1 << 36;

    /// Whole words: a size that is not a power of two spends no bits on rounding up (cmake-tar's
    /// filter went from 64 to 40 MiB).
    fn bits(samples: u64) -> u64 {
        samples
            .saturating_mul(Self::BITS_PER_POSITION)
            .next_multiple_of(64)
            .clamp(Self::MIN_BITS, Self::MAX_BITS)
    }

    /// Memory of the filter of `samples` indexed positions.
    fn bytes(samples: u64) -> u64 {
        Self::bits(samples) / 8
    }

    /// The gram's bit: Fibonacci hashing, whose high bits mix every byte of the gram, scaled
    /// to the filter's size by the high half of a product.
    fn slot(&self, gram: &[u8; GRAM]) -> usize {
        let hash = u64::from_le_bytes(*gram).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        ((u128::from(hash) * (self.words.len() as u128 * 64)) >> 64) as usize
    }

    /// Sets the bit of the gram at every indexed position (sequentially: it runs beside the
    /// one-thread suffix sort, and takes a small fraction of its time). Stops early, every
    /// 2^20 positions, once `progress` is cancelled: a cancelled sort returns when this does.
    fn build(old: &[u8], step: usize, progress: &Progress) -> Result<Self> {
        let bits = Self::bits(sample_count(old.len() as u64, step as u64));
        let mut filter = GramFilter { words: zeroed((bits / 64) as usize)? };
        for (i, gram) in old.windows(GRAM).step_by(step).enumerate() {
            if i % (1 << 20) == 0 {
                progress.check()?;
            }
            let slot = filter.slot(gram.try_into().unwrap());
            filter.words[slot / 64] |= 1 << (slot % 64);
        }
        Ok(filter)
    }

    fn may_contain(&self, gram: &[u8; GRAM]) -> bool {
        let slot = self.slot(gram);
        self.words[slot / 64] & (1 << (slot % 64)) != 0
    }
}

/// An offset in a suffix array: `i32`, or `i64` for 2^31 positions and more.
trait Offset: Copy + Default + Send + Sync + 'static {
    /// `value` as an offset; the caller has checked that it fits.
    fn from_usize(value: usize) -> Self;
    fn to_usize(self) -> usize;
    /// Replaces `suffixes` with the suffix array of the integer string `ranks` (restored after).
    fn sort_rank_suffixes(ranks: &mut [Self], suffixes: &mut [Self]) -> Result<()>;
}

macro_rules! impl_offset {
    ($type:ty) => {
        impl Offset for $type {
            fn from_usize(value: usize) -> Self {
                value as $type
            }

            fn to_usize(self) -> usize {
                self as usize
            }

            fn sort_rank_suffixes(ranks: &mut [Self], suffixes: &mut [Self]) -> Result<()> {
                libsais::SuffixArrayConstruction::for_text_mut(ranks)
                    .in_borrowed_buffer(suffixes)
                    .single_threaded()
                    .run()
                    .map(drop)
                    .map_err(sais_error)
            }
        }
    };
}

impl_offset!(i32);
impl_offset!(i64);

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

/// Sorts of fewer positions run on the calling thread even when a callback could cancel them:
/// they end within about one [`crate::parallel::HEARTBEAT`] (the whole diff of a 1 MiB old
/// file of random bytes took 0.15 s on one thread here, 48 MiB took 4 s), and a tree's
/// thousands of small files would each start a thread.
const THREADED_SORT_MIN: usize = 1 << 20;

/// An input of diff (the bytes an index is built over, or new), and how a thread holds it.
#[derive(Clone, Copy)]
pub(crate) enum Text<'a> {
    /// Bytes only the caller owns: the thread sorts a copy.
    Borrowed(&'a [u8]),
    /// Bytes the thread shares (an executable's masked view).
    Shared(&'a Arc<[u8]>),
    /// A mapped file the thread shares ([`crate::diff_file`]'s inputs).
    Mapped(&'a Arc<MappedFile>),
}

impl<'a> Text<'a> {
    pub(crate) fn bytes(self) -> &'a [u8] {
        match self {
            Text::Borrowed(bytes) => bytes,
            Text::Shared(shared) => shared,
            Text::Mapped(mapped) => mapped,
        }
    }

    /// Releases a mapped file's resident pages ([`MappedFile::release_pages`]): for an input
    /// read in full once and not again for a while. Nothing for bytes in memory.
    pub(crate) fn release_pages(self) {
        if let Text::Mapped(mapped) = self {
            mapped.release_pages();
        }
    }

    /// The bytes, owned for a thread: shared, or a copy.
    fn to_owned(self) -> Result<OwnedText> {
        let bytes = match self {
            Text::Shared(shared) => return Ok(OwnedText::Shared(Arc::clone(shared))),
            Text::Mapped(mapped) => return Ok(OwnedText::Mapped(Arc::clone(mapped))),
            Text::Borrowed(bytes) => bytes,
        };
        let mut copy = Vec::new();
        copy.try_reserve_exact(bytes.len()).map_err(|_| {
            Error::io(
                format!("copying {} bytes of old to sort", bytes.len()),
                std::io::ErrorKind::OutOfMemory.into(),
            )
        })?;
        copy.extend_from_slice(bytes);
        Ok(OwnedText::Copied(copy))
    }
}

/// [`Text`] as a sort's thread owns it.
enum OwnedText {
    Copied(Vec<u8>),
    Shared(Arc<[u8]>),
    Mapped(Arc<MappedFile>),
}

impl OwnedText {
    fn bytes(&self) -> &[u8] {
        match self {
            OwnedText::Copied(bytes) => bytes,
            OwnedText::Shared(shared) => shared,
            OwnedText::Mapped(mapped) => mapped,
        }
    }
}

/// The suffix array of `old`, as `i32` or `i64` offsets: sorted here, or, when `progress` can
/// cancel, on a thread of its own that owns the text ([`Text::to_owned`]). Counts old's length.
fn sort<O>(old: Text, progress: &Progress) -> Result<Vec<O>>
where
    O: libsais::IsValidOutputFor<u8> + Default + Send + 'static,
{
    let len = old.bytes().len();
    if !progress.can_cancel() || len < THREADED_SORT_MIN {
        let suffixes = sort_text(old.bytes())?;
        progress.advance(len as u64)?;
        return Ok(suffixes);
    }
    let text = old.to_owned()?;
    progress.run_uninterruptible("suffix sort", sort_estimate(len, len), move || sort_text(text.bytes()))
}

/// About how many positions libsais sorts per second on one thread, for the progress shown
/// during a sort. Measured here: 34 MB/s on cmake-tar's 80 MB, 12 MB/s on 48 MiB of random
/// bytes (its worst case); a wrong rate only moves the bar faster or slower, never past the
/// sort's share before it ends.
const SORT_RATE: f64 = 25e6;

/// The progress of a sort of `positions` suffixes of an `old_len`-byte file: old's length,
/// over the sort's expected time.
fn sort_estimate(old_len: usize, positions: usize) -> (u64, std::time::Duration) {
    (old_len as u64, std::time::Duration::from_secs_f64(positions as f64 / SORT_RATE))
}

fn sort_text<O: libsais::IsValidOutputFor<u8> + Default>(old: &[u8]) -> Result<Vec<O>> {
    let mut sa = zeroed(old.len())?;
    if !old.is_empty() {
        libsais::SuffixArrayConstruction::for_text(old)
            .in_borrowed_buffer(&mut sa)
            .single_threaded()
            .run()
            .map_err(sais_error)?;
    }
    Ok(sa)
}

/// The sorted suffixes of `old` at multiples of `step`, as sample numbers (position / step).
/// `buckets` must be [`bucket_starts`] of the same `old` and `step`. `progress` can cancel
/// between the steps and during the final sort.
fn sort_sampled<O: Offset>(
    old: &[u8],
    step: usize,
    buckets: &[usize],
    progress: &Progress,
) -> Result<Vec<O>> {
    let mut suffixes = zeroed(sample_count(old.len() as u64, step as u64) as usize)?;
    group_by_bucket(old, step, buckets, &mut suffixes);
    progress.heartbeat()?;
    sort_buckets_by_gram(old, step, buckets, &mut suffixes);
    progress.heartbeat()?;
    let mut ranks = zeroed(suffixes.len())?;
    rank_grams(old, step, &suffixes, &mut ranks);
    let ranks_len = ranks.len();
    let sort = move || {
        O::sort_rank_suffixes(&mut ranks, &mut suffixes)?;
        Ok(suffixes)
    };
    if ranks_len < THREADED_SORT_MIN {
        let suffixes = sort()?;
        progress.advance(old.len() as u64)?;
        return Ok(suffixes);
    }
    progress.run_uninterruptible("suffix sort", sort_estimate(old.len(), ranks_len), sort)
}

/// The `step` bytes of `old` from sample `sample`'s position (fewer at the end of `old`).
fn gram(old: &[u8], step: usize, sample: usize) -> &[u8] {
    let start = sample * step;
    &old[start..old.len().min(start + step)]
}

/// The two-byte bucket of the suffix at `position`: its first two bytes as a big-endian u16,
/// or `b << 8` for the one-byte suffix `b`.
fn bucket_of(old: &[u8], position: usize) -> usize {
    let second = old.get(position + 1).copied().unwrap_or(0);
    usize::from(u16::from_be_bytes([old[position], second]))
}

/// Writes every sample number into its two-byte bucket, in increasing order within each.
fn group_by_bucket<O: Offset>(old: &[u8], step: usize, buckets: &[usize], suffixes: &mut [O]) {
    let mut next = buckets.to_vec();
    for (sample, position) in (0..old.len()).step_by(step).enumerate() {
        let bucket = &mut next[bucket_of(old, position)];
        suffixes[*bucket] = O::from_usize(sample);
        *bucket += 1;
    }
}

/// Sorts each bucket's samples by their gram; a gram that is a prefix of another sorts first.
fn sort_buckets_by_gram<O: Offset>(old: &[u8], step: usize, buckets: &[usize], suffixes: &mut [O]) {
    let mut rest = suffixes;
    let mut groups = Vec::with_capacity(buckets.len() - 1);
    for bounds in buckets.windows(2) {
        let (group, tail) = rest.split_at_mut(bounds[1] - bounds[0]);
        groups.push(group);
        rest = tail;
    }
    groups.into_par_iter().for_each(|group| {
        group.par_sort_unstable_by(|a, b| gram(old, step, a.to_usize()).cmp(gram(old, step, b.to_usize())));
    });
}

/// `ranks[sample]` = the rank of the sample's gram among the distinct grams, from 0; `sorted`
/// holds the samples ordered by gram.
fn rank_grams<O: Offset>(old: &[u8], step: usize, sorted: &[O], ranks: &mut [O]) {
    let mut rank = 0;
    let mut previous: Option<&[u8]> = None;
    for sample in sorted.iter().map(|s| s.to_usize()) {
        let current = gram(old, step, sample);
        if previous.is_some_and(|p| p != current) {
            rank += 1;
        }
        ranks[sample] = O::from_usize(rank);
        previous = Some(current);
    }
}

/// Start of each two-byte bucket among the suffixes at multiples of `step`, plus a final end
/// marker.
fn bucket_starts(old: &[u8], step: usize) -> Vec<usize> {
    let mut counts = vec![0usize; (1 << 16) + 1];
    for position in (0..old.len()).step_by(step) {
        counts[bucket_of(old, position)] += 1;
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

/// A run of the suffix array whose suffixes all start with the same two bytes. Entries are
/// sample numbers: the suffix of entry `s` starts at `s * step`.
struct Sorted<'a, O> {
    old: &'a [u8],
    step: usize,
    sa: &'a [O],
}

impl<O: Offset> Sorted<'_, O> {
    fn at(&self, i: usize) -> usize {
        self.sa[i].to_usize() * self.step
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
        let mut mid = lo + (hi - lo) / 2;
        let mut mid_at = self.at(mid);
        while hi - lo > 1 {
            // The next probe is the middle of one half or the other: both entries are read
            // before this probe's comparison, so that their cache misses overlap its own.
            // Measured (diff --level 1 --codec zstd, one thread, user CPU, three runs each, the
            // same patches): ruff-jump 20.1-23.7 -> 15.9-18.9 s, ruff 4.4-4.7 -> 4.0-4.3 s.
            let (left, right) = (lo + (mid - lo) / 2, mid + (hi - mid) / 2);
            let (left_at, right_at) = (self.at(left), self.at(right));
            let suffix = &self.old[mid_at..];
            let skip = lo_len.min(hi_len);
            let len = skip + common_prefix(&suffix[skip..], &needle[skip..]);
            if len == needle.len() {
                return self.nearest(mid, &needle[..len], near);
            }
            if len == suffix.len() || suffix[len] < needle[len] {
                (lo, lo_len, mid, mid_at) = (mid, len, right, right_at);
            } else {
                (hi, hi_len, mid, mid_at) = (mid, len, left, left_at);
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
    use std::ops::ControlFlow;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use proptest::prelude::*;

    use super::*;

    const STEPS: [usize; 6] = [1, 2, 3, 4, 8, 64];

    /// Progress without a callback: the sort runs on the calling thread.
    fn quiet() -> Progress<'static> {
        Progress::new(None, 0)
    }

    fn naive_longest(old: &[u8], step: usize, needle: &[u8]) -> usize {
        (0..old.len()).step_by(step).map(|p| common_prefix(&old[p..], needle)).max().unwrap_or(0)
    }

    fn carry_on(_done: u64, _total: u64) -> ControlFlow<()> {
        ControlFlow::Continue(())
    }

    /// Both offset widths: the `i64` one is otherwise reached only by inputs of 2^31 positions.
    fn indexes(old: &[u8], step: usize) -> [SuffixIndex<'_>; 2] {
        [false, true]
            .map(|wide| SuffixIndex::build_with_offsets(Text::Borrowed(old), step, wide, &quiet()).unwrap())
    }

    /// The index's suffix positions, in its order.
    fn positions(index: &SuffixIndex) -> Vec<usize> {
        match &index.suffixes {
            Suffixes::Narrow(sa) => sa.iter().map(|s| s.to_usize() * index.step).collect(),
            Suffixes::Wide(sa) => sa.iter().map(|s| s.to_usize() * index.step).collect(),
        }
    }

    fn naive_positions(old: &[u8], step: usize) -> Vec<usize> {
        let mut positions: Vec<usize> = (0..old.len()).step_by(step).collect();
        positions.sort_by_key(|&p| &old[p..]);
        positions
    }

    #[test]
    fn finds_the_longest_match() {
        let old = b"the quick brown fox jumps over the lazy dog; the quick red fox".as_slice();
        for step in STEPS {
            for index in indexes(old, step) {
                for needle in [&b"the quick red"[..], b"fox jumps", b"zzz", b"dog; thx", b"the", b"g", b""] {
                    let (pos, len) = index.longest_match(needle, 0);
                    let text = String::from_utf8_lossy(needle);
                    assert_eq!(len, naive_longest(old, step, needle), "step {step}, needle {text:?}");
                    assert_eq!(&old[pos..pos + len], &needle[..len]);
                    assert_eq!(pos % step, 0);
                }
            }
        }
    }

    #[test]
    fn sorts_repetitive_input() {
        let old: Vec<u8> = (0..5000u32).map(|i| (i % 7) as u8 * (i % 3) as u8).collect();
        for step in STEPS {
            for index in indexes(&old, step) {
                assert_eq!(positions(&index), naive_positions(&old, step), "step {step}");
                for start in [0, 17, 1000, 4990].map(|s| s / step * step) {
                    let needle = &old[start..];
                    assert_eq!(index.longest_match(needle, 0).1, needle.len());
                }
            }
        }
    }

    proptest! {
        #[test]
        fn sampled_suffixes_are_sorted(
            old in prop::collection::vec(prop::sample::select(b"ab\0\xff".to_vec()), 0..400),
            step in prop::sample::select(STEPS.to_vec()),
        ) {
            for index in indexes(&old, step) {
                prop_assert_eq!(positions(&index), naive_positions(&old, step));
            }
        }
    }

    #[test]
    fn prefers_the_match_nearest_the_hint() {
        let old = b"abcX abcY abcZ abcW".as_slice();
        for index in indexes(old, 1) {
            for (near, expected) in [(0, 0), (6, 5), (9, 10), (100, 15)] {
                assert_eq!(index.longest_match(b"abc", near), (expected, 3), "near {near}");
            }
        }
    }

    #[test]
    fn a_sort_on_its_own_thread_sorts_the_same() {
        let random =
            (0..2 * THREADED_SORT_MIN as u32 + 999).map(|i| i.wrapping_mul(0x9E37_79B9).to_le_bytes()[3]);
        let old: Vec<u8> = random.zip((0..7u8).cycle()).map(|(r, c)| if r < 96 { c } else { r }).collect();
        let shared: Arc<[u8]> = Arc::from(&old[..]);
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("old"), &old).unwrap();
        let mapped = Arc::new(crate::io::map_file(&dir.path().join("old")).unwrap());
        for step in [1, 2] {
            let expected = positions(&SuffixIndex::build(Text::Borrowed(&old), step, &quiet()).unwrap());
            let watched = Progress::new(Some(&carry_on), 0);
            for text in [Text::Borrowed(&old), Text::Shared(&shared), Text::Mapped(&mapped)] {
                let index = SuffixIndex::build(text, step, &watched).unwrap();
                assert!(positions(&index) == expected, "step {step}");
            }
        }
    }

    #[test]
    fn a_callback_can_cancel_the_sort() {
        static CALLS: AtomicUsize = AtomicUsize::new(0);
        fn stop(_done: u64, _total: u64) -> ControlFlow<()> {
            CALLS.fetch_add(1, Ordering::Relaxed);
            ControlFlow::Break(())
        }
        let old: Vec<u8> = (0..1u32 << 20).map(|i| i.wrapping_mul(0x9E37_79B9).to_le_bytes()[3]).collect();
        for step in [1, 8] {
            CALLS.store(0, Ordering::Relaxed);
            let error =
                SuffixIndex::build(Text::Borrowed(&old), step, &Progress::new(Some(&stop), 0)).err().unwrap();
            assert_eq!(error.kind(), crate::ErrorKind::Cancelled, "step {step}");
            assert_eq!(CALLS.load(Ordering::Relaxed), 1, "step {step}: the first call cancels");
        }
    }

    #[test]
    fn empty_old_matches_nothing() {
        for step in STEPS {
            let index = SuffixIndex::build(Text::Borrowed(&[]), step, &quiet()).unwrap();
            assert_eq!(index.longest_match(b"abc", 0), (0, 0));
        }
    }

    #[test]
    fn step_is_the_smallest_that_fits_the_budget() {
        let old_len = 1u64 << 30;
        assert_eq!(choose_step(old_len, u64::MAX).unwrap(), 1);
        assert_eq!(choose_step(old_len, peak_memory(old_len, 1)).unwrap(), 1);
        assert_eq!(choose_step(old_len, peak_memory(old_len, 1) - 1).unwrap(), 4);
        assert_eq!(choose_step(old_len, peak_memory(old_len, 16)).unwrap(), 16);
        assert_eq!(choose_step(old_len, peak_memory(old_len, 16) - 1).unwrap(), 32);
        assert_eq!(choose_step(old_len, peak_memory(old_len, 256)).unwrap(), 256);
        let error = choose_step(old_len, peak_memory(old_len, 256) - 1).unwrap_err();
        assert_eq!(error.kind(), crate::ErrorKind::InvalidArgument);
    }

    #[test]
    fn peak_memory_counts_offset_widths() {
        let mib = 1u64 << 20;
        let table = 2 * BUCKET_TABLE_BYTES;
        let filter = |samples: u64| GramFilter::bytes(samples);
        assert_eq!(peak_memory(1 << 30, 1), (5 << 30) + table + filter(1 << 30));
        assert_eq!(peak_memory(1 << 30, 8), 12 * (1 << 27) + table + filter(1 << 27));
        assert_eq!(peak_memory(4 << 30, 1), (36 << 30) + table + filter(4 << 30));
        assert_eq!(peak_memory(16 << 30, 4), 24 * (4 << 30) + table + filter(4 << 30));
        assert_eq!(peak_memory(16 << 30, 8), 24 * (2 << 30) + table + filter(2 << 30));
        assert_eq!(peak_memory(16 << 30, 16), 12 * (1 << 30) + table + filter(1 << 30));
        assert_eq!(peak_memory(0, 1), table + filter(0));
        assert_eq!(peak_memory(64 * mib, 64), 12 * mib + table + filter(mib));
    }

    #[test]
    fn gram_filter_is_half_a_byte_per_position_in_whole_words() {
        assert_eq!(GramFilter::bytes(0), 512);
        assert_eq!(GramFilter::bytes(1 << 20), 512 << 10);
        assert_eq!(GramFilter::bytes((1 << 20) + 1), (512 << 10) + 8);
        assert_eq!(GramFilter::bytes(80 << 20), 40 << 20);
    }

    proptest! {
        #[test]
        fn gram_filter_never_rejects_an_indexed_gram(
            old in prop::collection::vec(any::<u8>(), 0..3000),
            step in prop::sample::select(STEPS.to_vec()),
        ) {
            let index = SuffixIndex::build(Text::Borrowed(&old), step, &quiet()).unwrap();
            for position in (0..old.len()).step_by(step) {
                prop_assert!(index.may_match(&old[position..]), "position {}", position);
            }
        }
    }

    #[test]
    fn gram_filter_rejects_most_absent_grams() {
        let old: Vec<u8> = (0..100_000u32).flat_map(|i| i.to_le_bytes()).collect();
        let index = SuffixIndex::build(Text::Borrowed(&old), 1, &quiet()).unwrap();
        let absent = (0..10_000u64).map(|i| (i | 1 << 40).wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
        let passed = absent.filter(|gram| index.may_match(gram)).count();
        assert!(passed < 3_000, "{passed} of 10000 absent grams passed");
    }

    #[test]
    fn common_prefix_counts_across_word_boundaries() {
        assert_eq!(common_prefix(b"abcdefghij", b"abcdefghiX"), 9);
        assert_eq!(common_prefix(b"abcdefgh", b"abcdefgh"), 8);
        assert_eq!(common_prefix(b"", b"a"), 0);
    }
}
