//! Synthetic executables: small ELF files of x86-64 or AArch64 code whose functions call each
//! other, and a "release" of them in which some functions grew, so that every call across a
//! grown function changes its displacement, as in a real rebuild.

use super::Rng;

/// Which code the file holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Machine {
    X86_64,
    Aarch64,
}

/// Where the code starts in the file and in memory.
const TEXT_OFFSET: usize = 0x1000;

/// A program: functions, each a list of instructions, some calling other functions or
/// reading the data block.
#[derive(Clone, Debug)]
pub(crate) struct Program {
    machine: Machine,
    functions: Vec<Vec<Instruction>>,
    data: Vec<u8>,
}

#[derive(Clone, Copy, Debug)]
enum Instruction {
    /// Plain instruction bytes (a register move or a no-op).
    Plain(u32),
    /// A call of function n.
    Call(usize),
    /// A load from the data block at this offset (x86-64: RIP-relative; AArch64: ADRP).
    Load(usize),
}

impl Program {
    pub(crate) fn random(machine: Machine, rng: &mut Rng, functions: usize) -> Self {
        let functions = (0..functions)
            .map(|_| (0..8 + rng.below(40)).map(|_| random_instruction(rng, functions)).collect())
            .collect();
        let data = super::text(rng, 8192);
        Program { machine, functions, data }
    }

    /// The next release: `grown` functions (picked at random) get a few more instructions.
    pub(crate) fn grown(&self, rng: &mut Rng, grown: usize) -> Self {
        let mut next = self.clone();
        let count = next.functions.len();
        for _ in 0..grown {
            let function = &mut next.functions[rng.below(count)];
            let at = rng.below(function.len());
            for _ in 0..1 + rng.below(6) {
                function.insert(at, random_instruction(rng, count));
            }
        }
        next
    }

    /// The program as an ELF file.
    pub(crate) fn elf(&self) -> Vec<u8> {
        let starts = self.function_starts();
        let mut text = Vec::new();
        for function in &self.functions {
            for instruction in function {
                self.encode(*instruction, text.len(), &starts, &mut text);
            }
        }
        let data_at = self.data_start();
        elf_file(self.machine, &text, data_at, &self.data)
    }

    /// Offsets of each function in the text, and the end of the text.
    fn function_starts(&self) -> Vec<usize> {
        let mut starts = vec![0];
        for function in &self.functions {
            let len: usize = function.iter().map(|i| self.len(*i)).sum();
            starts.push(starts.last().unwrap() + len);
        }
        starts
    }

    /// File offset (and address) of the data block: a page after the text.
    fn data_start(&self) -> usize {
        let end = TEXT_OFFSET + self.function_starts().last().unwrap();
        (end + 0x1fff) & !0xfff
    }

    fn len(&self, instruction: Instruction) -> usize {
        match (self.machine, instruction) {
            (Machine::Aarch64, _) => 4,
            (Machine::X86_64, Instruction::Plain(_)) => 3,
            (Machine::X86_64, Instruction::Call(_)) => 5,
            (Machine::X86_64, Instruction::Load(_)) => 7,
        }
    }

    fn encode(&self, instruction: Instruction, at: usize, starts: &[usize], out: &mut Vec<u8>) {
        let pc = (TEXT_OFFSET + at) as i64;
        let data = self.data_start() as i64;
        match (self.machine, instruction) {
            (Machine::X86_64, Instruction::Plain(n)) => {
                out.extend_from_slice(&[0x48, 0x89, 0xc0 | (n as u8 & 0x3f)])
            }
            (Machine::X86_64, Instruction::Call(f)) => {
                out.push(0xe8);
                let target = (TEXT_OFFSET + starts[f]) as i64;
                out.extend_from_slice(&((target - (pc + 5)) as i32).to_le_bytes());
            }
            (Machine::X86_64, Instruction::Load(d)) => {
                out.extend_from_slice(&[0x48, 0x8b, 0x05]);
                out.extend_from_slice(&((data + d as i64 - (pc + 7)) as i32).to_le_bytes());
            }
            (Machine::Aarch64, Instruction::Plain(n)) => {
                out.extend_from_slice(&(0xaa00_03e0 | (n & 0x1f) | (n >> 5 & 0x1f) << 16).to_le_bytes());
            }
            (Machine::Aarch64, Instruction::Call(f)) => {
                let target = (TEXT_OFFSET + starts[f]) as i64;
                let imm = ((target - pc) >> 2) as u32 & 0x03ff_ffff;
                out.extend_from_slice(&(0x9400_0000 | imm).to_le_bytes());
            }
            (Machine::Aarch64, Instruction::Load(d)) => {
                let pages = (((data + d as i64) & !0xfff) - (pc & !0xfff)) >> 12;
                let imm = pages as u32 & 0x1f_ffff;
                let word = 0x9000_0000 | (imm & 3) << 29 | (imm >> 2) << 5 | 1;
                out.extend_from_slice(&word.to_le_bytes());
            }
        }
    }
}

fn random_instruction(rng: &mut Rng, functions: usize) -> Instruction {
    match rng.below(10) {
        0..=2 => Instruction::Call(rng.below(functions)),
        3 => Instruction::Load(rng.below(8192)),
        _ => Instruction::Plain(rng.next() as u32 & 0x3ff),
    }
}

/// An ELF64 file: header, one program header (a read-execute PT_LOAD of the whole file at
/// address = offset), the text at [`TEXT_OFFSET`], the data at `data_at`, then the section
/// headers (null, `.text`, `.data`, `.shstrtab`).
fn elf_file(machine: Machine, text: &[u8], data_at: usize, data: &[u8]) -> Vec<u8> {
    let names = b"\0.text\0.data\0.shstrtab\0";
    let mut file = vec![0u8; data_at];
    file[TEXT_OFFSET..TEXT_OFFSET + text.len()].copy_from_slice(text);
    file.extend_from_slice(data);
    let names_at = file.len();
    file.extend_from_slice(names);
    while !file.len().is_multiple_of(8) {
        file.push(0);
    }
    let sections_at = file.len();
    let total = sections_at + 4 * 64;

    let put = |file: &mut Vec<u8>, at: usize, bytes: &[u8]| file[at..at + bytes.len()].copy_from_slice(bytes);
    put(&mut file, 0, &[0x7f, b'E', b'L', b'F', 2, 1, 1]);
    put(&mut file, 16, &3u16.to_le_bytes()); // ET_DYN
    let e_machine: u16 = if machine == Machine::X86_64 { 62 } else { 183 };
    put(&mut file, 18, &e_machine.to_le_bytes());
    put(&mut file, 20, &1u32.to_le_bytes());
    put(&mut file, 24, &(TEXT_OFFSET as u64).to_le_bytes()); // e_entry
    put(&mut file, 32, &64u64.to_le_bytes()); // e_phoff
    put(&mut file, 40, &(sections_at as u64).to_le_bytes()); // e_shoff
    for (at, value) in [(52, 64u16), (54, 56), (56, 1), (58, 64), (60, 4), (62, 3)] {
        put(&mut file, at, &value.to_le_bytes());
    }
    // PT_LOAD, R+X, offset 0, vaddr 0, paddr 0, filesz = memsz = total, align 4 KiB.
    put(&mut file, 64, &1u32.to_le_bytes());
    put(&mut file, 68, &5u32.to_le_bytes());
    for (i, value) in [0u64, 0, 0, total as u64, total as u64, 0x1000].into_iter().enumerate() {
        put(&mut file, 72 + 8 * i, &value.to_le_bytes());
    }

    let mut sections = vec![0u8; 64];
    let section = |name: u32, kind: u32, flags: u64, at: usize, len: usize| {
        let mut header = Vec::with_capacity(64);
        header.extend_from_slice(&name.to_le_bytes());
        header.extend_from_slice(&kind.to_le_bytes());
        header.extend_from_slice(&flags.to_le_bytes());
        let addr = if flags & 2 != 0 { at as u64 } else { 0 };
        for value in [addr, at as u64, len as u64] {
            header.extend_from_slice(&value.to_le_bytes());
        }
        header.extend_from_slice(&[0; 8]); // sh_link, sh_info
        header.extend_from_slice(&[1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]); // align 1, entsize 0
        header
    };
    sections.extend(section(1, 1, 6, TEXT_OFFSET, text.len())); // SHF_ALLOC | SHF_EXECINSTR
    sections.extend(section(7, 1, 3, data_at, data.len())); // SHF_WRITE | SHF_ALLOC
    sections.extend(section(13, 3, 0, names_at, names.len()));
    file.extend_from_slice(&sections);
    assert_eq!(file.len(), total);
    file
}
