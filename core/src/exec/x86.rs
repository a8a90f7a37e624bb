//! Pointer fields in x86-64 code, found by a linear sweep with the pinned `iced-x86` decoder.

use iced_x86::{Decoder, DecoderOptions, Instruction, OpKind, Register};

use super::image::Code;
use super::{Kind, Reference};

/// Appends the pointer fields found in `code` (within `file`) to `out`: the `rel32` of each
/// relative `CALL`, `JMP`, `Jcc` and `XBEGIN` (not the `rel8` and `rel16` forms), and the
/// `disp32` of each RIP-relative memory operand.
///
/// The sweep decodes from the start of `code` at IP `code.va`, one instruction after another;
/// at an invalid instruction it steps one byte and decodes again (as Zucchini does), so the
/// result is a pure function of the bytes. Nothing when `code` does not lie
/// within `file`.
pub(crate) fn references(file: &[u8], code: &Code, out: &mut Vec<Reference>) {
    let Some(bytes) = code.bytes(file) else { return };
    let mut decoder = Decoder::with_ip(64, bytes, code.va, DecoderOptions::NONE);
    let mut instruction = Instruction::default();
    while decoder.can_decode() {
        let start = decoder.position();
        decoder.decode_out(&mut instruction);
        if instruction.is_invalid() {
            let next = start + 1;
            decoder.set_ip(code.va.wrapping_add(next as u64));
            if decoder.set_position(next).is_err() {
                break;
            }
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The fields found in `bytes`, laid at file offset 3 and loaded at 0x1000.
    fn fields(bytes: &[u8]) -> Vec<(u64, Kind)> {
        let file = [&[0xcc; 3][..], bytes].concat();
        let mut out = Vec::new();
        references(&file, &Code { offset: 3, len: bytes.len() as u64, va: 0x1000 }, &mut out);
        out.into_iter().map(|r| (r.offset - 3, r.kind)).collect()
    }

    const REL: Kind = Kind::Rel32 { bias: 0 };

    #[test]
    fn branches_with_rel32() {
        assert_eq!(fields(&[0xe8, 1, 2, 3, 4]), [(1, REL)]); // call
        assert_eq!(fields(&[0xe9, 1, 2, 3, 4]), [(1, REL)]); // jmp
        assert_eq!(fields(&[0x0f, 0x84, 1, 2, 3, 4]), [(2, REL)]); // je
        assert_eq!(fields(&[0xf2, 0xe8, 1, 2, 3, 4]), [(2, REL)]); // bnd call
        assert_eq!(fields(&[0xc7, 0xf8, 1, 2, 3, 4]), [(2, REL)]); // xbegin
    }

    #[test]
    fn short_and_indirect_branches_have_no_rel32() {
        assert!(fields(&[0xeb, 5, 0x74, 5, 0xe2, 5, 0xe3, 5]).is_empty()); // jmp, je, loop, jrcxz rel8
        assert!(fields(&[0xff, 0xd0, 0xff, 0xe0, 0xc3]).is_empty()); // call rax, jmp rax, ret
    }

    #[test]
    fn rip_relative_operands() {
        assert_eq!(fields(&[0x48, 0x8b, 0x05, 1, 2, 3, 4]), [(3, REL)]); // mov rax, [rip+x]
        assert_eq!(fields(&[0x48, 0x8d, 0x3d, 1, 2, 3, 4]), [(3, REL)]); // lea rdi, [rip+x]
        assert_eq!(fields(&[0xff, 0x15, 1, 2, 3, 4]), [(2, REL)]); // call [rip+x]
        let mov_imm32 = [0xc7, 0x05, 1, 2, 3, 4, 5, 6, 7, 8]; // mov dword [rip+x], imm32
        assert_eq!(fields(&mov_imm32), [(2, Kind::Rel32 { bias: 4 })]);
        let cmp_imm8 = [0x80, 0x3d, 1, 2, 3, 4, 9]; // cmp byte [rip+x], imm8
        assert_eq!(fields(&cmp_imm8), [(2, Kind::Rel32 { bias: 1 })]);
        let vex = [0xc5, 0xfc, 0x28, 0x05, 1, 2, 3, 4]; // vmovaps ymm0, [rip+x]
        assert_eq!(fields(&vex), [(4, REL)]);
    }

    #[test]
    fn other_memory_operands_have_no_field() {
        assert!(fields(&[0x67, 0x8b, 0x05, 1, 2, 3, 4]).is_empty()); // mov eax, [eip+x]
        assert!(fields(&[0x8b, 0x04, 0x25, 1, 2, 3, 4]).is_empty()); // mov eax, [abs32]
        assert!(fields(&[0x48, 0x8b, 0x80, 1, 2, 3, 4]).is_empty()); // mov rax, [rax+disp32]
    }

    #[test]
    fn a_sweep_goes_on_past_invalid_and_truncated_instructions() {
        let bytes = [0x06, 0x0f, 0x0b, 0xe8, 1, 2, 3, 4, 0x48, 0x8b, 0x05, 1, 2];
        // push es (invalid in 64-bit code: the decoder would take two bytes), ud2, call, then
        // a truncated load.
        assert_eq!(fields(&bytes), [(4, REL)]);
        assert!(fields(&[0xe8, 0, 0]).is_empty());
    }

    #[test]
    fn code_outside_the_file_has_no_fields() {
        let mut out = Vec::new();
        references(&[0xe8, 0, 0, 0, 0], &Code { offset: 1, len: 5, va: 0 }, &mut out);
        references(&[0xe8, 0, 0, 0, 0], &Code { offset: u64::MAX, len: 2, va: 0 }, &mut out);
        assert!(out.is_empty());
    }

    proptest! {
        #[test]
        fn fields_lie_in_the_code_and_the_sweep_is_a_function_of_the_bytes(
            bytes in proptest::collection::vec(any::<u8>(), 0..512),
            va in any::<u64>(),
            skip in 0..16usize,
        ) {
            let code = Code { offset: skip as u64, len: bytes.len().saturating_sub(skip) as u64, va };
            let (mut first, mut second) = (Vec::new(), Vec::new());
            references(&bytes, &code, &mut first);
            references(&bytes, &code, &mut second);
            prop_assert_eq!(&first, &second);
            for r in first {
                prop_assert!(r.offset >= code.offset && r.offset + 4 <= code.offset + code.len);
            }
        }
    }
}
