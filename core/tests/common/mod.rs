//! Deterministic test data: pseudo-random bytes and release-like old/new pairs.
#![allow(dead_code)] // each test binary uses a different part of this module

pub(crate) mod counting;
pub(crate) mod elf;
pub(crate) mod trees;
pub(crate) mod zips;

/// xorshift64*: deterministic bytes without a dependency.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    pub(crate) fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

/// Code-like content: a small vocabulary, so it compresses and matches like real files.
pub(crate) fn text(rng: &mut Rng, len: usize) -> Vec<u8> {
    const WORDS: [&str; 12] =
        ["fn ", "let ", "return ", "self.", "value", " = ", "(x)", ";\n", "    ", "if ", "else ", "0x1f"];
    let mut out = Vec::with_capacity(len + 16);
    while out.len() < len {
        out.extend_from_slice(WORDS[rng.below(WORDS.len())].as_bytes());
    }
    out.truncate(len);
    out
}

/// An old file mixing text, random and structured data.
pub(crate) fn old_file(seed: u64, len: usize) -> Vec<u8> {
    let mut rng = Rng::new(seed);
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        let part = 1 + rng.below(8192);
        match rng.below(3) {
            0 => out.extend(text(&mut rng, part)),
            1 => out.extend(rng.bytes(part)),
            _ => out.extend((0..part as u32).flat_map(|i| (i * 8).to_le_bytes())),
        }
    }
    out.truncate(len);
    out
}

/// `old` with inserts, deletes, byte flips and one block moved far away.
pub(crate) fn edited(old: &[u8], seed: u64, edits: usize) -> Vec<u8> {
    let mut rng = Rng::new(seed);
    let mut new = old.to_vec();
    for _ in 0..edits {
        let at = rng.below(new.len() + 1);
        match rng.below(3) {
            0 => {
                let len = 1 + rng.below(300);
                let insert = rng.bytes(len);
                new.splice(at..at, insert);
            }
            1 => {
                let end = (at + 1 + rng.below(300)).min(new.len());
                new.drain(at..end);
            }
            _ => {
                if at < new.len() {
                    new[at] ^= 0x5a;
                }
            }
        }
    }
    if new.len() > 4096 {
        let start = rng.below(new.len() / 2);
        let block: Vec<u8> = new.drain(start..start + new.len() / 8).collect();
        let to = new.len() - rng.below(new.len() / 4);
        new.splice(to..to, block);
    }
    new
}

/// A tar-like pair: old is `copies` copies of one random 2,000-byte block, each behind its own
/// 8-byte header; new edits the same three bytes of every copy, so every chunk of a diff has
/// much the same diff streams, which compress better together (a group) than one by one.
pub(crate) fn tar_like(seed: u64, copies: usize) -> (Vec<u8>, Vec<u8>) {
    let block = Rng::new(seed).bytes(2000);
    let mut old = Vec::with_capacity(copies * 2008);
    for copy in 0..copies as u64 {
        old.extend_from_slice(&copy.to_le_bytes());
        old.extend_from_slice(&block);
    }
    let mut new = old.clone();
    for copy in new.chunks_mut(2008) {
        for at in [108, 700, 1500] {
            copy[at] = copy[at].wrapping_add(1);
        }
    }
    (old, new)
}
