//! Pointer fields in AArch64 code: every aligned word is matched against the encodings of
//! the PC-relative instructions (Arm ARM, "A64 instruction set encoding"), whatever it holds.

use super::image::Code;
use super::{Kind, Reference};

/// Appends the pointer fields found in `code` (within `file`) to `out`: one for each word,
/// 4-byte aligned from the start of `code`, that encodes a PC-relative branch, load or address.
/// Nothing when `code` does not lie within `file`.
pub(crate) fn references(file: &[u8], code: &Code, out: &mut Vec<Reference>) {
    let Some(bytes) = code.bytes(file) else { return };
    let (words, _) = bytes.as_chunks::<4>();
    for (offset, &word) in (code.offset..).step_by(4).zip(words) {
        if let Some(kind) = kind(u32::from_le_bytes(word)) {
            out.push(Reference { offset, kind });
        }
    }
}

/// The kind of pointer field that the instruction `word` holds, if any.
fn kind(word: u32) -> Option<Kind> {
    let kind = if word & 0x7c00_0000 == 0x1400_0000 {
        // B, BL: op 00101 imm26.
        Kind::A64Branch26
    } else if word & 0xff00_0000 == 0x5400_0000
        || word & 0x7e00_0000 == 0x3400_0000
        || word & 0x3b00_0000 == 0x1800_0000
    {
        // B.cond and BC.cond: 0101010 0 imm19 o0 cond; CBZ, CBNZ: sf 011010 op imm19 Rt;
        // LDR, LDRSW, PRFM (literal): opc 011 V 00 imm19 Rt.
        Kind::A64Imm19
    } else if word & 0x7e00_0000 == 0x3600_0000 {
        // TBZ, TBNZ: b5 011011 op b40 imm14 Rt.
        Kind::A64Imm14
    } else if word & 0x9f00_0000 == 0x9000_0000 {
        // ADRP: 1 immlo 10000 immhi Rd.
        Kind::A64Adrp
    } else if word & 0x9f00_0000 == 0x1000_0000 {
        // ADR: 0 immlo 10000 immhi Rd.
        Kind::A64Adr
    } else {
        return None;
    };
    Some(kind)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_encodings() {
        let cases = [
            (0x9400_0040, Some(Kind::A64Branch26)), // bl #0x100
            (0x17ff_ffff, Some(Kind::A64Branch26)), // b #-4
            (0x5400_0041, Some(Kind::A64Imm19)),    // b.ne #8
            (0x5400_0050, Some(Kind::A64Imm19)),    // bc.eq #8
            (0xb400_0040, Some(Kind::A64Imm19)),    // cbz x0, #8
            (0x3500_0041, Some(Kind::A64Imm19)),    // cbnz w1, #8
            (0x5800_0040, Some(Kind::A64Imm19)),    // ldr x0, #8
            (0x9800_0040, Some(Kind::A64Imm19)),    // ldrsw x0, #8
            (0x1c00_0040, Some(Kind::A64Imm19)),    // ldr s0, #8
            (0x3600_0040, Some(Kind::A64Imm14)),    // tbz w0, #0, #8
            (0xb7f8_0000, Some(Kind::A64Imm14)),    // tbnz x0, #63, #0
            (0x9000_0000, Some(Kind::A64Adrp)),     // adrp x0, #0
            (0xd000_0001, Some(Kind::A64Adrp)),     // adrp x1, #0x2000
            (0x1000_0000, Some(Kind::A64Adr)),      // adr x0, #0
            (0x7000_0000, Some(Kind::A64Adr)),      // adr x0, #3
            (0xd503_201f, None),                    // nop
            (0xd65f_03c0, None),                    // ret
            (0x9100_0000, None),                    // add x0, x0, #0
            (0xf940_0020, None),                    // ldr x0, [x1]
            (0xd63f_0000, None),                    // blr x0
        ];
        for (word, expected) in cases {
            assert_eq!(kind(word), expected, "{word:#010x}");
        }
    }

    #[test]
    fn words_are_aligned_to_the_start_of_the_code() {
        let mut file = vec![0u8; 2];
        for word in [0xd503_201fu32, 0x9400_0040, 0x9000_0000] {
            file.extend(word.to_le_bytes());
        }
        file.extend([0x40, 0, 0]); // a partial word
        let mut out = Vec::new();
        references(&file, &Code { offset: 2, len: 15, va: 0x1000 }, &mut out);
        let expected =
            [Reference { offset: 6, kind: Kind::A64Branch26 }, Reference { offset: 10, kind: Kind::A64Adrp }];
        assert_eq!(out, expected);
        out.clear();
        references(&file, &Code { offset: 2, len: 16, va: 0x1000 }, &mut out);
        assert!(out.is_empty(), "code beyond the file");
    }

    proptest! {
        #[test]
        fn fields_lie_in_the_code(bytes in proptest::collection::vec(any::<u8>(), 0..512), skip in 0..8usize) {
            let code = Code { offset: skip as u64, len: bytes.len().saturating_sub(skip) as u64, va: 0 };
            let mut out = Vec::new();
            references(&bytes, &code, &mut out);
            for r in out {
                prop_assert!((r.offset - code.offset).is_multiple_of(4) && r.offset + 4 <= code.offset + code.len);
            }
        }
    }
}
