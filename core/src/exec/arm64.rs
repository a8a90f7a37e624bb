//! Pointer fields in AArch64 code: every aligned word is matched against the encodings of
//! the PC-relative instructions (Arm ARM, "A64 instruction set encoding"), whatever it holds.

use super::image::Code;
use super::{Kind, Reference};

/// Appends the pointer fields found in `code` (within `file`) to `out`: one for each word,
/// 4-byte aligned from the start of `code`, that encodes a PC-relative branch, load or address.
/// Nothing when `code` does not lie within `file`.
pub(crate) fn references(file: &[u8], code: &Code, out: &mut Vec<Reference>) {
    let Some(bytes) = code.bytes(file) else { return };
    for (offset, word) in (code.offset..).step_by(4).zip(bytes.chunks_exact(4)) {
        let word = u32::from_le_bytes([word[0], word[1], word[2], word[3]]);
        if let Some(kind) = kind(word) {
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
