//! How each kind of pointer field is laid out in its word, and what it points at.
//!
//! Every field is an unsigned immediate of [`Kind::bits`] bits inside a little-endian word of
//! [`Kind::width`] bytes; [`Kind::mask`] marks its bits byte by byte. Arithmetic on immediates
//! wraps modulo `2^bits`, so that any word can be coded as a correction to any prediction.

/// The kind of a pointer field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Kind {
    /// x86-64 `rel32` (near call, jump and conditional jump) or RIP-relative `disp32`: a signed
    /// displacement from the end of the instruction, which ends `bias` (0 to 4) bytes after
    /// the field when an immediate follows it.
    Rel32 { bias: u8 },
    /// A 64-bit absolute virtual address (ELF `RELATIVE` relocation fields, PE `DIR64` targets).
    Abs64,
    /// A 32-bit address relative to the image base (PE `.pdata`).
    Rva32,
    /// AArch64 `B` and `BL`: `imm26` words from the instruction.
    A64Branch26,
    /// AArch64 `B.cond`, `CBZ`, `CBNZ` and `LDR` (literal): `imm19` words, at bits 5..24.
    A64Imm19,
    /// AArch64 `TBZ` and `TBNZ`: `imm14` words, at bits 5..19.
    A64Imm14,
    /// AArch64 `ADRP`: a signed 21-bit count of 4 KiB pages from the instruction's page
    /// (`immhi` at bits 5..24, `immlo` at bits 29..31).
    A64Adrp,
    /// AArch64 `ADR`: a signed 21-bit byte displacement, laid out as `ADRP`'s.
    A64Adr,
}

impl Kind {
    /// The kind's number in the hash of an analysis.
    pub(crate) fn code(self) -> u8 {
        match self {
            Kind::Rel32 { bias } => bias,
            Kind::Abs64 => 8,
            Kind::Rva32 => 9,
            Kind::A64Branch26 => 16,
            Kind::A64Imm19 => 17,
            Kind::A64Imm14 => 18,
            Kind::A64Adrp => 19,
            Kind::A64Adr => 20,
        }
    }

    /// Bytes in the field's word.
    pub(crate) fn width(self) -> usize {
        match self {
            Kind::Abs64 => 8,
            _ => 4,
        }
    }

    /// Bits of the immediate.
    pub(crate) fn bits(self) -> u32 {
        match self {
            Kind::Rel32 { .. } | Kind::Rva32 => 32,
            Kind::Abs64 => 64,
            Kind::A64Branch26 => 26,
            Kind::A64Imm19 => 19,
            Kind::A64Imm14 => 14,
            Kind::A64Adrp | Kind::A64Adr => 21,
        }
    }

    /// The word's bits that hold the immediate.
    pub(crate) fn word_mask(self) -> u64 {
        match self {
            Kind::Rel32 { .. } | Kind::Rva32 => 0xffff_ffff,
            Kind::Abs64 => u64::MAX,
            Kind::A64Branch26 => 0x03ff_ffff,
            Kind::A64Imm19 => 0x00ff_ffe0,
            Kind::A64Imm14 => 0x0007_ffe0,
            Kind::A64Adrp | Kind::A64Adr => 0x60ff_ffe0,
        }
    }

    /// Byte `i` of [`Kind::word_mask`].
    pub(crate) fn mask(self, i: usize) -> u8 {
        (self.word_mask() >> (8 * i)) as u8
    }

    fn immediate_mask(self) -> u64 {
        if self.bits() == 64 { u64::MAX } else { (1 << self.bits()) - 1 }
    }

    /// The immediate held in `word`.
    pub(crate) fn read(self, word: u64) -> u64 {
        match self {
            Kind::Rel32 { .. } | Kind::Rva32 | Kind::Abs64 | Kind::A64Branch26 => word & self.word_mask(),
            Kind::A64Imm19 | Kind::A64Imm14 => (word & self.word_mask()) >> 5,
            Kind::A64Adrp | Kind::A64Adr => ((word >> 5) & 0x7_ffff) << 2 | (word >> 29) & 3,
        }
    }

    /// `word` with its immediate replaced by `immediate` (reduced to [`Kind::bits`] bits).
    pub(crate) fn write(self, word: u64, immediate: u64) -> u64 {
        let immediate = immediate & self.immediate_mask();
        let bits = match self {
            Kind::Rel32 { .. } | Kind::Rva32 | Kind::Abs64 | Kind::A64Branch26 => immediate,
            Kind::A64Imm19 | Kind::A64Imm14 => immediate << 5,
            Kind::A64Adrp | Kind::A64Adr => (immediate >> 2) << 5 | (immediate & 3) << 29,
        };
        word & !self.word_mask() | bits
    }

    /// `value - base` modulo `2^bits`, as a signed number.
    pub(crate) fn signed_difference(self, value: u64, base: u64) -> i64 {
        let shift = 64 - self.bits();
        ((value.wrapping_sub(base) << shift) as i64) >> shift
    }

    /// `base + difference` modulo `2^bits`.
    pub(crate) fn add(self, base: u64, difference: i64) -> u64 {
        base.wrapping_add(difference as u64) & self.immediate_mask()
    }

    /// The sign-extended immediate.
    fn signed(self, immediate: u64) -> i64 {
        self.signed_difference(immediate, 0)
    }

    /// The virtual address that `immediate` points at from a field whose word is at `field_va`,
    /// in an image based at `image_base`.
    pub(crate) fn target(self, field_va: u64, immediate: u64, image_base: u64) -> u64 {
        let relative = |scale: u32| field_va.wrapping_add((self.signed(immediate) << scale) as u64);
        match self {
            Kind::Rel32 { bias } => {
                field_va.wrapping_add(4 + u64::from(bias)).wrapping_add(self.signed(immediate) as u64)
            }
            Kind::Abs64 => immediate,
            Kind::Rva32 => image_base.wrapping_add(immediate),
            Kind::A64Branch26 | Kind::A64Imm19 | Kind::A64Imm14 => relative(2),
            Kind::A64Adrp => (field_va & !0xfff).wrapping_add((self.signed(immediate) << 12) as u64),
            Kind::A64Adr => relative(0),
        }
    }

    /// The immediate that points at `target` from a field whose word is at `field_va`: the
    /// inverse of [`Kind::target`] wherever `target` is reachable and aligned as the kind needs.
    pub(crate) fn immediate(self, field_va: u64, target: u64, image_base: u64) -> u64 {
        let raw = match self {
            Kind::Rel32 { bias } => target.wrapping_sub(field_va.wrapping_add(4 + u64::from(bias))),
            Kind::Abs64 => target,
            Kind::Rva32 => target.wrapping_sub(image_base),
            Kind::A64Branch26 | Kind::A64Imm19 | Kind::A64Imm14 => {
                (target.wrapping_sub(field_va) as i64 >> 2) as u64
            }
            Kind::A64Adrp => ((target & !0xfff).wrapping_sub(field_va & !0xfff) as i64 >> 12) as u64,
            Kind::A64Adr => target.wrapping_sub(field_va),
        };
        raw & self.immediate_mask()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KINDS: [Kind; 9] = [
        Kind::Rel32 { bias: 0 },
        Kind::Rel32 { bias: 4 },
        Kind::Abs64,
        Kind::Rva32,
        Kind::A64Branch26,
        Kind::A64Imm19,
        Kind::A64Imm14,
        Kind::A64Adrp,
        Kind::A64Adr,
    ];

    #[test]
    fn write_then_read_gives_the_immediate_and_keeps_the_other_bits() {
        for kind in KINDS {
            for (word, immediate) in [(0u64, 1u64), (u64::MAX, 0), (0x1234_5678_9abc_def0, 0x15_5555)] {
                let word = word & if kind.width() == 4 { 0xffff_ffff } else { u64::MAX };
                let written = kind.write(word, immediate);
                assert_eq!(kind.read(written), immediate & kind.immediate_mask(), "{kind:?}");
                assert_eq!(written & !kind.word_mask(), word & !kind.word_mask(), "{kind:?}");
                let bytes: u64 = (0..8).map(|i| u64::from(kind.mask(i)) << (8 * i)).sum();
                assert_eq!(bytes, kind.word_mask(), "{kind:?}");
            }
        }
    }

    #[test]
    fn immediate_inverts_target_for_reachable_aligned_targets() {
        let field = 0x40_1000u64;
        for kind in KINDS {
            for target in [0x40_0000u64, 0x40_1000, 0x40_2344, 0x40_8000] {
                let immediate = kind.immediate(field, target, 0x3f_0000);
                let expected = if kind == Kind::A64Adrp { target & !0xfff } else { target };
                assert_eq!(kind.target(field, immediate, 0x3f_0000), expected, "{kind:?} {target:#x}");
            }
        }
    }

    #[test]
    fn corrections_wrap_within_the_immediate() {
        for kind in KINDS {
            let top = kind.immediate_mask();
            let difference = kind.signed_difference(0, top);
            assert_eq!(difference, 1, "{kind:?}");
            assert_eq!(kind.add(top, difference), 0, "{kind:?}");
            assert_eq!(kind.add(5, kind.signed_difference(3, 5)), 3, "{kind:?}");
        }
    }

    #[test]
    fn known_encodings() {
        // `bl` 0x100 bytes ahead is 0x94000040; 0xd0000000 is `adrp x0` two pages ahead.
        assert_eq!(Kind::A64Branch26.read(0x9400_0040), 0x40);
        assert_eq!(Kind::A64Branch26.target(0x1000, 0x40, 0), 0x1100);
        assert_eq!(Kind::A64Adrp.read(0xd000_0000), 2);
        assert_eq!(Kind::A64Adrp.target(0x1234, 2, 0), 0x3000);
        assert_eq!(Kind::Rel32 { bias: 0 }.target(0x1000, 0xffff_fffc, 0), 0x1000);
    }
}
