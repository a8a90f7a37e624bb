//! Inputs for chunkdelta's criterion micro-benchmarks (`benches/micro.rs`).
//!
//! Every pair is generated from a seed, so a run needs no files and two runs measure the same
//! bytes. Three shapes cover what diff meets in practice:
//!
//! - [`executable_like`]: machine-code-like bytes with calls, jumps and absolute addresses,
//!   plus string and pointer tables; `new` inserts code at a few places, which shifts every
//!   address that points past an insertion. This is the case bsdiff's diff stream is built for.
//! - [`random`]: incompressible bytes with a few inserts, deletes and overwrites.
//! - [`text_like`]: lines of words, with words replaced and lines inserted and deleted.
//!
//! [`corpus_pair`] adds the real pairs of `shared/corpus/fetch.sh dev` when they are present.

use std::path::PathBuf;

/// One kibibyte.
pub const KIB: usize = 1 << 10;
/// One mebibyte.
pub const MIB: usize = 1 << 20;

/// An old file and a new release of it.
pub struct Pair {
    /// Short name for benchmark ids: the generator and size, or the corpus pair's name.
    pub name: String,
    /// The old release.
    pub old: Vec<u8>,
    /// The new release.
    pub new: Vec<u8>,
}

/// splitmix64: small, fast, and the same on every platform.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0), up to a negligible bias.
    fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }

    /// Uniform in `lo..=hi`.
    fn between(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }

    /// True with probability `percent`/100.
    fn percent(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    fn byte(&mut self) -> u8 {
        self.next_u64() as u8
    }

    /// Appends `len` random bytes to `out`.
    fn fill(&mut self, out: &mut Vec<u8>, len: usize) {
        let end = out.len() + len;
        out.reserve(len);
        while out.len() < end {
            let word = self.next_u64().to_le_bytes();
            out.extend_from_slice(&word[..(end - out.len()).min(8)]);
        }
    }
}

/// `len` random bytes from `seed`: incompressible input for hashing and zstd.
pub fn random_bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len);
    Rng::new(seed).fill(&mut out, len);
    out
}

/// Where the executable-like image pretends to be loaded; absolute addresses are relative to it.
const IMAGE_BASE: u32 = 0x0040_0000;

/// A 4-byte field of the executable-like image that holds an address of `target`.
struct Reference {
    field: usize,
    target: usize,
    relative: bool,
}

/// Opcode-like bytes, weighted towards the common ones as in x86-64 code.
const OPCODES: &[u8] = &[
    0x48, 0x48, 0x48, 0x89, 0x89, 0x8b, 0x8b, 0x83, 0x85, 0x0f, 0x31, 0x39, 0xc7, 0x8d, 0x74, 0x75, 0x41,
    0x4c, 0x50, 0x53, 0x55, 0x5b, 0x5d, 0xc3, 0x90, 0x66, 0x44, 0x45, 0x49, 0xe8, 0xeb, 0xff,
];

/// Appends plausible code of about `len` bytes; references to other code go to `refs` when given.
fn push_code(
    rng: &mut Rng,
    out: &mut Vec<u8>,
    len: usize,
    code_len: usize,
    mut refs: Option<&mut Vec<Reference>>,
) {
    let end = out.len() + len;
    while out.len() < end {
        match rng.below(100) {
            // call/jmp rel32 to somewhere in the code
            0..=24 => {
                out.push(if rng.percent(70) { 0xe8 } else { 0xe9 });
                let target = rng.below(code_len.max(1));
                if let Some(refs) = refs.as_deref_mut() {
                    refs.push(Reference { field: out.len(), target, relative: true });
                }
                out.extend_from_slice(&[0; 4]);
            }
            // mov reg, [abs32]: an absolute address into the data section
            25..=39 => {
                out.extend_from_slice(&[0x48, 0x8b, 0x05 | (rng.byte() & 0x38)]);
                let target = code_len + rng.below(code_len / 3 + 1);
                if let Some(refs) = refs.as_deref_mut() {
                    refs.push(Reference { field: out.len(), target, relative: false });
                }
                out.extend_from_slice(&[0; 4]);
            }
            // function padding to 16 bytes
            40..=42 => {
                while !out.len().is_multiple_of(16) {
                    out.push(0xcc);
                }
            }
            // short instructions: opcode, modrm, sometimes an imm8 or imm32
            _ => {
                out.push(OPCODES[rng.below(OPCODES.len())]);
                out.push(0xc0 | (rng.byte() & 0x3f));
                match rng.below(10) {
                    0..=2 => out.push(rng.byte() & 0x3f),
                    3 => out.extend_from_slice(&u32::from(rng.byte()).to_le_bytes()),
                    _ => {}
                }
            }
        }
    }
}

/// Syllables for generated words.
const SYLLABLES: &[&str] = &[
    "ka", "to", "ri", "mu", "sel", "an", "der", "ost", "ul", "pre", "vi", "con", "ta", "ex", "im", "no",
    "ber", "la", "qui", "for", "ment", "ing", "ed", "er", "is", "ion", "al", "or", "un", "re", "de", "st",
];

fn word(rng: &mut Rng) -> Vec<u8> {
    let mut w = Vec::new();
    for _ in 0..rng.between(1, 4) {
        w.extend_from_slice(SYLLABLES[rng.below(SYLLABLES.len())].as_bytes());
    }
    w
}

/// An executable-like pair of about `len` bytes each: 3/4 code, 1/4 strings and pointer tables.
///
/// `new` inserts fresh code at `len / 128 KiB + 4` places and overwrites a few instructions;
/// every call, jump and absolute address that spans an insertion changes by the inserted size,
/// so the diff stream holds many small nonzero bytes among the zeros.
pub fn executable_like(seed: u64, len: usize) -> Pair {
    let mut rng = Rng::new(seed);
    let code_len = len / 4 * 3;
    let mut old = Vec::with_capacity(len);
    let mut refs = Vec::new();
    push_code(&mut rng, &mut old, code_len, code_len, Some(&mut refs));
    let code_len = old.len();
    // Data: NUL-terminated strings, then tables of pointers into the code, then zero padding.
    while old.len() < len {
        match rng.below(10) {
            0..=5 => {
                for _ in 0..rng.between(1, 6) {
                    old.extend_from_slice(&word(&mut rng));
                    old.push(b'_');
                }
                old.push(0);
            }
            6..=8 => {
                for _ in 0..rng.between(4, 32) {
                    refs.push(Reference { field: old.len(), target: rng.below(code_len), relative: false });
                    old.extend_from_slice(&[0; 4]);
                }
            }
            _ => old.resize(old.len() + rng.between(8, 256), 0),
        }
    }
    old.truncate(len);
    refs.retain(|r| r.field + 4 <= len && r.target < len);

    // Insertion points in the code, sorted, each with its fresh code.
    let inserts = len / (128 * KIB) + 4;
    let mut points: Vec<usize> = (0..inserts).map(|_| rng.below(code_len)).collect();
    points.sort_unstable();
    let blocks: Vec<Vec<u8>> = points
        .iter()
        .map(|_| {
            let mut block = Vec::new();
            let size = rng.between(16, 2048);
            push_code(&mut rng, &mut block, size, code_len, None);
            block
        })
        .collect();
    // Where old offset `x` lands in new: after every block inserted at or before it.
    let mut shifted = Vec::with_capacity(points.len());
    let mut total = 0;
    for block in &blocks {
        total += block.len();
        shifted.push(total);
    }
    let moved = |x: usize| x + points.partition_point(|&p| p <= x).checked_sub(1).map_or(0, |i| shifted[i]);

    let mut new = Vec::with_capacity(len + total);
    let mut from = 0;
    for (&point, block) in points.iter().zip(&blocks) {
        new.extend_from_slice(&old[from..point]);
        new.extend_from_slice(block);
        from = point;
    }
    new.extend_from_slice(&old[from..]);
    for (bytes, map) in [(&mut old, None), (&mut new, Some(&moved))] {
        let place = |x: usize| map.map_or(x, |m| m(x));
        for r in &refs {
            let (field, target) = (place(r.field), place(r.target));
            let value = if r.relative {
                (target as i64 - (field as i64 + 4)) as u32
            } else {
                IMAGE_BASE.wrapping_add(target as u32)
            };
            bytes[field..field + 4].copy_from_slice(&value.to_le_bytes());
        }
    }
    // A few changed instructions (a constant, a register) here and there.
    for _ in 0..len / (16 * KIB) {
        let at = rng.below(new.len());
        new[at] = new[at].wrapping_add(1);
    }
    Pair { name: format!("exe-{}", size_name(len)), old, new }
}

/// Random bytes of `len` and a new release with `len / 256 KiB + 4` edits, in turn an insert
/// of up to 4 KiB of fresh random bytes, a delete of up to 4 KiB, and a 64-byte overwrite.
pub fn random(seed: u64, len: usize) -> Pair {
    let mut rng = Rng::new(seed);
    let old = random_bytes(rng.next_u64(), len);
    let edits = len / (256 * KIB) + 4;
    let mut points: Vec<usize> = (0..edits).map(|_| rng.below(len)).collect();
    points.sort_unstable();
    let mut new = Vec::with_capacity(len + len / 64);
    let mut from = 0;
    for (i, point) in points.into_iter().enumerate() {
        if point < from {
            continue;
        }
        new.extend_from_slice(&old[from..point]);
        let size = rng.between(64, 4 * KIB);
        from = match i % 3 {
            0 => {
                rng.fill(&mut new, size);
                point
            }
            1 => (point + size).min(len),
            _ => {
                rng.fill(&mut new, 64);
                (point + 64).min(len)
            }
        };
    }
    new.extend_from_slice(&old[from..]);
    Pair { name: format!("random-{}", size_name(len)), old, new }
}

/// Text of about `len` bytes: lines of 4–14 generated words. In `new`, about 3% of the lines
/// have a word replaced, 1% are deleted, and 1% get a new line before them.
pub fn text_like(seed: u64, len: usize) -> Pair {
    let mut words = Rng::new(seed);
    let vocabulary: Vec<Vec<u8>> = (0..4096).map(|_| word(&mut words)).collect();
    let mut edits = Rng::new(seed ^ 0x5eed);
    let line = |rng: &mut Rng| -> Vec<Vec<u8>> {
        let indent = rng.below(4);
        let mut line: Vec<Vec<u8>> = vec![b"    ".repeat(indent)];
        for _ in 0..rng.between(4, 14) {
            // Zipf-like: low indices far more often.
            let pick = rng.below(vocabulary.len());
            let pick = rng.below(pick + 1);
            line.push(vocabulary[pick].clone());
        }
        line
    };
    let join = |line: &[Vec<u8>], out: &mut Vec<u8>| {
        out.extend_from_slice(&line[0]);
        out.extend_from_slice(&line[1..].join(&b' '));
        out.push(b'\n');
    };
    let (mut old, mut new) = (Vec::with_capacity(len), Vec::with_capacity(len));
    while old.len() < len {
        let mut current = line(&mut words);
        join(&current, &mut old);
        match edits.below(100) {
            0..=2 => {
                let at = edits.between(1, current.len() - 1);
                current[at] = vocabulary[edits.below(vocabulary.len())].clone();
                join(&current, &mut new);
            }
            3 => {}
            4 => {
                join(&line(&mut edits), &mut new);
                join(&current, &mut new);
            }
            _ => join(&current, &mut new),
        }
    }
    Pair { name: format!("text-{}", size_name(len)), old, new }
}

/// The scan's worst cases, each `len` bytes: what would make a per-byte search quadratic or
/// slow, for the `scan-worst` benchmark group.
///
/// - `unrelated`: two independent random files, so nothing matches anywhere;
/// - `zeros`: all zeros, and in `new` one byte in 64 KiB changed: suffix comparisons in one
///   huge run;
/// - `period7`: a 7-byte pattern repeated, with one byte in 4 KiB changed in `new`: every
///   suffix shares a long prefix with many others;
/// - `sparse-edits`: random bytes with one byte in 4 KiB changed in `new`.
pub fn scan_worst_cases(seed: u64, len: usize) -> Vec<Pair> {
    let mut rng = Rng::new(seed);
    let edit = |old: &[u8], every: usize, rng: &mut Rng| {
        let mut new = old.to_vec();
        for at in (rng.below(every)..new.len()).step_by(every) {
            new[at] = new[at].wrapping_add(1);
        }
        new
    };
    let random_old = random_bytes(rng.next_u64(), len);
    let zeros = vec![0u8; len];
    let period: Vec<u8> = b"abcdefg".iter().copied().cycle().take(len).collect();
    let size = size_name(len);
    vec![
        Pair {
            name: format!("unrelated-{size}"),
            new: random_bytes(rng.next_u64(), len),
            old: random_old.clone(),
        },
        Pair { name: format!("zeros-{size}"), new: edit(&zeros, 64 * KIB, &mut rng), old: zeros },
        Pair { name: format!("period7-{size}"), new: edit(&period, 4 * KIB, &mut rng), old: period },
        Pair {
            name: format!("sparse-edits-{size}"),
            new: edit(&random_old, 4 * KIB, &mut rng),
            old: random_old,
        },
    ]
}

/// The real pair `name` (`ruff`, `pydantic-core`, `cmake-tar`, `synth`) that
/// `shared/corpus/fetch.sh dev` lays out under `$CORPUS_DIR` (default
/// `${XDG_CACHE_HOME:-~/.cache}/chunkdelta-corpus`), or `None` when it is not there.
pub fn corpus_pair(name: &str) -> Option<Pair> {
    let dir = corpus_dir()?.join("dev").join(name);
    let old = std::fs::read(dir.join("old")).ok()?;
    let new = std::fs::read(dir.join("new")).ok()?;
    Some(Pair { name: name.to_owned(), old, new })
}

fn corpus_dir() -> Option<PathBuf> {
    let var = |name| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    var("CORPUS_DIR")
        .or_else(|| var("XDG_CACHE_HOME").map(|d| d.join("chunkdelta-corpus")))
        .or_else(|| var("HOME").map(|d| d.join(".cache").join("chunkdelta-corpus")))
}

/// `4MiB`, `512KiB` or `100B`, for benchmark ids.
pub fn size_name(len: usize) -> String {
    if len >= MIB && len.is_multiple_of(MIB) {
        format!("{}MiB", len / MIB)
    } else if len >= KIB && len.is_multiple_of(KIB) {
        format!("{}KiB", len / KIB)
    } else {
        format!("{len}B")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chunkdelta::{ApplyOptions, DiffOptions};

    fn pairs(len: usize) -> [Pair; 3] {
        [executable_like(1, len), random(1, len), text_like(1, len)]
    }

    #[test]
    fn pairs_are_deterministic_and_differ() {
        for (a, b) in pairs(256 * KIB).into_iter().zip(pairs(256 * KIB)) {
            assert_eq!((&a.old, &a.new), (&b.old, &b.new), "{}", a.name);
            assert_ne!(a.old, a.new, "{}", a.name);
            assert!(a.old.len() >= 256 * KIB && a.old.len() < 256 * KIB + 256, "{}", a.name);
            assert!(a.new.len().abs_diff(a.old.len()) < 64 * KIB, "{}", a.name);
        }
        assert_ne!(executable_like(2, 64 * KIB).old, executable_like(1, 64 * KIB).old);
    }

    /// Each pair round-trips, and its patch is much smaller than `new`: the inputs are worth
    /// measuring, not degenerate. (The executable-like pair's patch is about 16% of `new` at
    /// level 3, close to the real `ruff` pair's 15% at level 19.)
    #[test]
    fn pairs_round_trip_into_small_patches() {
        for pair in pairs(MIB) {
            let patch = chunkdelta::diff(&pair.old, &pair.new, &DiffOptions::new().level(3)).unwrap();
            assert!(
                patch.len() < pair.new.len() / 5,
                "{}: patch {} of {}",
                pair.name,
                patch.len(),
                pair.new.len()
            );
            assert_eq!(chunkdelta::apply(&pair.old, &patch[..], &ApplyOptions::new()).unwrap(), pair.new);
        }
    }

    /// Matches cover nearly all of `new`, and the shifted addresses reach the diff stream as
    /// nonzero bytes among mostly zeros (about a fifth of them).
    #[test]
    fn executable_like_diff_stream_is_mostly_zeros() {
        let pair = executable_like(3, MIB);
        let index = chunkdelta::internals::build_index(&pair.old).unwrap();
        let streams = chunkdelta::internals::chunk_streams(&index, &pair.new);
        let nonzero = streams.diff.iter().filter(|&&b| b != 0).count();
        assert!(streams.diff.len() > pair.new.len() / 10 * 9, "{} of {}", streams.diff.len(), pair.new.len());
        assert!(nonzero > 1000 && nonzero < streams.diff.len() / 3, "{nonzero} of {}", streams.diff.len());
    }

    #[test]
    fn sizes_are_named() {
        assert_eq!(size_name(4 * MIB), "4MiB");
        assert_eq!(size_name(16 * KIB), "16KiB");
        assert_eq!(size_name(1000), "1000B");
    }
}
