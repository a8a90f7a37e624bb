//! Finding the old file that shares most content with a new one, whatever their names: files
//! are cut into content-defined chunks (a gear rolling hash, about 2 KiB each), and the old
//! file holding the most of a new file's chunk bytes wins. This is how a renamed-and-edited
//! file, or a file in a moved and renamed folder, finds its basis.

use std::collections::HashMap;

use rayon::prelude::*;

/// Chunks are at least this long, except a file's last one.
const MIN_CHUNK: usize = 512;
/// A boundary where the rolling hash's top 11 bits are zero: chunks of about 2 KiB past the minimum.
const BOUNDARY_MASK: u64 = ((1 << 11) - 1) << 53;
/// Chunks are cut here at the latest.
const MAX_CHUNK: usize = 16 << 10;
/// A basis must share at least this fraction of the new file's bytes.
const MIN_SHARED: f64 = 0.2;

/// The gear table: 256 pseudo-random words (splitmix64 from a fixed seed), fixed forever so
/// that the choice of basis is the same on every machine.
const GEAR: [u64; 256] = {
    let mut table = [0u64; 256];
    let mut state: u64 = 0x6368_756e_6b64_656c; // "chunkdel"
    let mut i = 0;
    while i < 256 {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        table[i] = z ^ (z >> 31);
        i += 1;
    }
    table
};

/// `data`'s content-defined chunks: (64-bit id from blake3, length).
fn chunks(data: &[u8]) -> Vec<(u64, usize)> {
    let mut out = Vec::new();
    let mut start = 0;
    while start < data.len() {
        let end = boundary(&data[start..]) + start;
        let id =
            u64::from_le_bytes(blake3::hash(&data[start..end]).as_bytes()[..8].try_into().expect("8 bytes"));
        out.push((id, end - start));
        start = end;
    }
    out
}

/// The length of the chunk that starts `data`.
fn boundary(data: &[u8]) -> usize {
    let limit = data.len().min(MAX_CHUNK);
    let mut hash = 0u64;
    for (i, &byte) in data[..limit].iter().enumerate() {
        hash = (hash << 1).wrapping_add(GEAR[usize::from(byte)]);
        if i >= MIN_CHUNK && hash & BOUNDARY_MASK == 0 {
            return i + 1;
        }
    }
    limit
}

/// Which old files hold each chunk.
pub(crate) struct SimilarityIndex {
    holders: HashMap<u64, Vec<usize>>,
}

impl SimilarityIndex {
    /// Indexes `old` (each file's bytes), in parallel.
    pub(crate) fn new(old: &[&[u8]]) -> Self {
        let per_file: Vec<Vec<(u64, usize)>> = old.par_iter().map(|data| chunks(data)).collect();
        let mut holders: HashMap<u64, Vec<usize>> = HashMap::new();
        for (index, file_chunks) in per_file.iter().enumerate() {
            for &(id, _) in file_chunks {
                let list = holders.entry(id).or_default();
                if list.last() != Some(&index) {
                    list.push(index);
                }
            }
        }
        SimilarityIndex { holders }
    }

    /// The old file sharing the most chunk bytes with `new`, if it shares at least a fifth.
    pub(crate) fn best(&self, new: &[u8]) -> Option<usize> {
        let mut shared: HashMap<usize, usize> = HashMap::new();
        for (id, len) in chunks(new) {
            for &index in self.holders.get(&id).into_iter().flatten() {
                *shared.entry(index).or_default() += len;
            }
        }
        let (index, bytes) =
            shared.into_iter().max_by_key(|&(index, bytes)| (bytes, std::cmp::Reverse(index)))?;
        (bytes as f64 >= MIN_SHARED * new.len() as f64).then_some(index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noise(seed: u64, len: usize) -> Vec<u8> {
        let mut state = seed;
        (0..len)
            .map(|_| {
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                (state >> 56) as u8
            })
            .collect()
    }

    #[test]
    fn an_edited_copy_finds_its_original_among_others() {
        let originals: Vec<Vec<u8>> = (0..5).map(|seed| noise(seed, 60_000)).collect();
        let mut edited = originals[3].clone();
        edited.splice(20_000..20_100, noise(99, 300));
        edited.truncate(50_000);
        let index = SimilarityIndex::new(&originals.iter().map(Vec::as_slice).collect::<Vec<_>>());
        assert_eq!(index.best(&edited), Some(3));
        assert_eq!(index.best(&noise(100, 60_000)), None);
    }

    #[test]
    fn chunks_cover_the_input_within_their_bounds() {
        let data = noise(7, 200_000);
        let cut = chunks(&data);
        assert_eq!(cut.iter().map(|c| c.1).sum::<usize>(), data.len());
        assert!(cut[..cut.len() - 1].iter().all(|c| (MIN_CHUNK..=MAX_CHUNK).contains(&c.1)));
        let mean = data.len() / cut.len();
        assert!((1500..4000).contains(&mean), "mean chunk {mean}");
    }
}
