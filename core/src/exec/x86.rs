//! Pointer fields in x86-64 code, found by a linear sweep with the pinned `iced-x86` decoder.

use iced_x86::{Decoder, DecoderOptions, Instruction, OpKind, Register};

use super::image::Code;
use super::{Kind, Reference};

/// Appends the pointer fields found in `code` (within `file`) to `out`: the `rel32` of each
/// relative `CALL`, `JMP`, `Jcc` and `XBEGIN` (not the `rel8` and `rel16` forms), and the
/// `disp32` of each RIP-relative memory operand.
///
/// The sweep decodes from the start of `code` at IP `code.va`, one instruction after another;
/// an invalid instruction is stepped over by the length the decoder gives it (at least one
/// byte), so the result is a pure function of the bytes. Nothing when `code` does not lie
/// within `file`.
pub(crate) fn references(file: &[u8], code: &Code, out: &mut Vec<Reference>) {
    let Some(bytes) = code.bytes(file) else { return };
    let mut decoder = Decoder::with_ip(64, bytes, code.va, DecoderOptions::NONE);
    let mut instruction = Instruction::default();
    while decoder.can_decode() {
        let start = decoder.position();
        decoder.decode_out(&mut instruction);
        if instruction.is_invalid() {
            continue;
        }
        if let Some((at, kind)) = field(&decoder, &instruction) {
            out.push(Reference { offset: code.offset + (start + at) as u64, kind });
        }
    }
}

/// Where in `instruction` (just decoded by `decoder`) its pointer field starts, and its kind.
fn field(decoder: &Decoder<'_>, instruction: &Instruction) -> Option<(usize, Kind)> {
    // The relative branches with a 4-byte displacement: CALL, JMP and Jcc (and XBEGIN).
    let branch = instruction.op0_kind() == OpKind::NearBranch64;
    let rip_relative = instruction.memory_base() == Register::RIP;
    if !branch && !rip_relative {
        return None;
    }
    let offsets = decoder.get_constant_offsets(instruction);
    if branch {
        return (offsets.immediate_size() == 4)
            .then_some((offsets.immediate_offset(), Kind::Rel32 { bias: 0 }));
    }
    if offsets.displacement_size() != 4 {
        return None;
    }
    let after = instruction.len().checked_sub(offsets.displacement_offset() + 4)?;
    let bias = u8::try_from(after).ok().filter(|&bias| bias <= 4)?;
    Some((offsets.displacement_offset(), Kind::Rel32 { bias }))
}
