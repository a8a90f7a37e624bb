//! blake3 hashing, multithreaded for large inputs.

/// Below this size a single thread hashes faster than rayon can split the work.
const PARALLEL_THRESHOLD: usize = 128 << 10;

/// blake3 of `data`, using the current rayon pool for large inputs.
pub(crate) fn hash(data: &[u8]) -> [u8; 32] {
    let mut hasher = blake3::Hasher::new();
    if data.len() >= PARALLEL_THRESHOLD {
        hasher.update_rayon(data);
    } else {
        hasher.update(data);
    }
    *hasher.finalize().as_bytes()
}
