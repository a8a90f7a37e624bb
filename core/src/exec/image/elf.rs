//! ELF64 headers: `PT_LOAD` segments, executable sections, and the `RELATIVE` relocations
//! (RELA and RELR) that name pointer fields.

use object::read::elf::{FileHeader as _, ProgramHeader as _, SectionHeader as _};
use object::{LittleEndian as LE, elf};

use super::{AddressMap, Code, MAX_TABLE, Object, Pointers, range, u64_at};
use crate::exec::{Arch, Kind, Reference, Segment};

type ElfHeader = elf::FileHeader64<LE>;
type SectionHeader = elf::SectionHeader64<LE>;

/// A little-endian ELF64 executable or shared object of x86-64 or AArch64 code. Its code is
/// its executable sections, or without section headers its executable `PT_LOAD` segments.
pub(super) fn read_elf(file: &[u8]) -> Option<Object> {
    let header = ElfHeader::parse(file).ok()?;
    let endian = header.endian().ok()?;
    let (arch, relative) = match header.e_machine(endian) {
        elf::EM_X86_64 => (Arch::X86_64, elf::R_X86_64_RELATIVE.0),
        elf::EM_AARCH64 => (Arch::Aarch64, elf::R_AARCH64_RELATIVE.0),
        _ => return None,
    };
    if !matches!(header.e_type(endian), elf::ET_EXEC | elf::ET_DYN) {
        return None;
    }
    let program_headers = header.program_headers(endian, file).ok()?;
    if program_headers.len() > MAX_TABLE {
        return None;
    }
    let loads = program_headers.iter().filter(|p| p.p_type(endian) == elf::PT_LOAD);
    let segments: Vec<Segment> = loads
        .clone()
        .map(|p| Segment {
            offset: p.p_offset(endian),
            va: p.p_vaddr(endian),
            file_len: p.p_filesz(endian),
            mem_len: p.p_memsz(endian),
            space: 0,
        })
        .collect();
    let sections = header.section_headers(endian, file).ok()?;
    if sections.len() > MAX_TABLE {
        return None;
    }
    let code = if sections.is_empty() {
        let executable = loads.filter(|p| p.p_flags(endian).0 & elf::PF_X.0 != 0);
        executable
            .map(|p| Code { offset: p.p_offset(endian), len: p.p_filesz(endian), va: p.p_vaddr(endian) })
            .filter(|c| c.len > 0)
            .collect()
    } else {
        elf_code(sections)
    };
    let map = AddressMap::new(&segments);
    let tables = if sections.is_empty() {
        dynamic_tables(file, program_headers, &map)
    } else {
        section_tables(header, file, sections)?
    };
    let pointers = elf_pointers(file, &tables, relative, &map);
    Some(Object { arch, image_base: 0, segments, code, pointers })
}

/// The code of ELF section headers: the executable sections that have file bytes.
fn elf_code(sections: &[SectionHeader]) -> Vec<Code> {
    let endian = LE;
    let executable = sections
        .iter()
        .filter(|s| s.sh_flags(endian).0 & elf::SHF_EXECINSTR.0 != 0 && s.sh_type(endian) != elf::SHT_NOBITS);
    executable
        .map(|s| Code { offset: s.sh_offset(endian), len: s.sh_size(endian), va: s.sh_addr(endian) })
        .filter(|c| c.len > 0)
        .collect()
}

/// Where an ELF file's dynamic relocation tables lie: file offsets and sizes in bytes.
#[derive(Default)]
struct ElfTables {
    rela: Vec<(u64, u64)>,
    relr: Vec<(u64, u64)>,
}

/// The tables named by section headers: `.rela.dyn` and any `SHT_RELR` section.
fn section_tables(header: &ElfHeader, file: &[u8], sections: &[SectionHeader]) -> Option<ElfTables> {
    let endian = LE;
    let index = usize::try_from(header.shstrndx(endian, file).ok()?).ok()?;
    let names = sections.get(index)?.data(endian, file).ok()?;
    // Compared in place: a lookup of a whole name could scan far in a string table without
    // NULs, once per section.
    const RELA_DYN: &[u8] = b".rela.dyn\0";
    let named_rela_dyn = |section: &SectionHeader| {
        let start = usize::try_from(section.sh_name(endian)).ok();
        start.and_then(|start| names.get(start..start.checked_add(RELA_DYN.len())?)) == Some(RELA_DYN)
    };
    let mut tables = ElfTables::default();
    for section in sections {
        let place = (section.sh_offset(endian), section.sh_size(endian));
        match section.sh_type(endian) {
            elf::SHT_RELA if named_rela_dyn(section) => tables.rela.push(place),
            elf::SHT_RELR => tables.relr.push(place),
            _ => {}
        }
    }
    Some(tables)
}

/// The tables named by the `PT_DYNAMIC` segment (`DT_RELA`, `DT_RELR` and their sizes), for a
/// file without section headers. Tables that do not lie in one segment's file bytes are left out.
fn dynamic_tables(file: &[u8], program_headers: &[elf::ProgramHeader64<LE>], map: &AddressMap) -> ElfTables {
    let endian = LE;
    let mut tables = ElfTables::default();
    let dynamic = program_headers.iter().find(|p| p.p_type(endian) == elf::PT_DYNAMIC);
    let Some(bytes) = dynamic.and_then(|p| file.get(range(p.p_offset(endian), p.p_filesz(endian))?)) else {
        return tables;
    };
    let mut values = [None; 4];
    for entry in bytes.chunks_exact(16) {
        let tag = u64_at(entry, 0).unwrap_or_default();
        let value = u64_at(entry, 8);
        let slot = match tag {
            0 => break,
            7 => 0,  // DT_RELA
            8 => 1,  // DT_RELASZ
            36 => 2, // DT_RELR
            35 => 3, // DT_RELRSZ
            _ => continue,
        };
        values[slot] = value;
    }
    let place = |va: Option<u64>, size: Option<u64>| Some((map.offset(va?, size?)?, size?));
    tables.rela.extend(place(values[0], values[1]));
    tables.relr.extend(place(values[2], values[3]));
    tables
}

/// The pointer fields of the relocation tables: both address fields (`r_offset`, `r_addend`)
/// of each `RELATIVE` entry, and each location that a RELR table names and the file holds.
/// Tables are read as far as they lie in the file, and only as many bytes of tables in all as
/// the file has (hostile section headers could name the same table many times).
fn elf_pointers(file: &[u8], tables: &ElfTables, relative: u32, map: &AddressMap) -> Vec<Reference> {
    let mut pointers = Pointers::new(file.len());
    let mut budget = file.len();
    for &(offset, size) in &tables.rela {
        if !rela_pointers(offset, table(file, offset, size, &mut budget), relative, &mut pointers) {
            return pointers.list;
        }
    }
    for &(offset, size) in &tables.relr {
        if !relr_pointers(table(file, offset, size, &mut budget), map, &mut pointers) {
            break;
        }
    }
    pointers.list
}

/// The bytes of the table at `offset` (`size` bytes), cut at the end of `file` and to at most
/// `budget` bytes, which it then takes from `budget`.
fn table<'a>(file: &'a [u8], offset: u64, size: u64, budget: &mut usize) -> &'a [u8] {
    let rest = file.get(usize::try_from(offset).unwrap_or(usize::MAX)..).unwrap_or_default();
    let len = usize::try_from(size).unwrap_or(usize::MAX).min(rest.len()).min(*budget);
    *budget -= len;
    rest.get(..len).unwrap_or_default()
}

/// Adds the `RELATIVE` entries of the RELA table `bytes`, at file offset `offset`; `false` once
/// `pointers` is full.
fn rela_pointers(offset: u64, bytes: &[u8], relative: u32, pointers: &mut Pointers) -> bool {
    for (at, entry) in (offset..).step_by(24).zip(bytes.chunks_exact(24)) {
        // The type is the low 32 bits of `r_info`.
        if u64_at(entry, 8).is_some_and(|info| info as u32 == relative)
            && !(pointers.push(at, Kind::Abs64) && pointers.push(at + 16, Kind::Abs64))
        {
            return false;
        }
    }
    true
}

/// Adds the locations named by the RELR table `bytes` that lie in the file; `false` once
/// `pointers` is full.
///
/// RELR: an even word is an address to relocate, and the next location is 8 bytes after it;
/// an odd word is a bitmap whose bit `i` (1..=63) names the location `8 * (i - 1)` bytes after
/// the next location, which then moves on by `63 * 8` bytes.
fn relr_pointers(bytes: &[u8], map: &AddressMap, pointers: &mut Pointers) -> bool {
    let mut next = 0u64;
    let mut add = |va: u64| map.offset(va, 8).is_none_or(|at| pointers.push(at, Kind::Abs64));
    for word in bytes.chunks_exact(8) {
        let word = u64_at(word, 0).unwrap_or_default();
        if word & 1 == 0 {
            if !add(word) {
                return false;
            }
            next = word.wrapping_add(8);
            continue;
        }
        for bit in (1..64).filter(|bit| word >> bit & 1 != 0) {
            if !add(next.wrapping_add(8 * (bit - 1))) {
                return false;
            }
        }
        next = next.wrapping_add(63 * 8);
    }
    true
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::exec::image::read;
    use crate::exec::image::tests::{abs64, put};

    const ELF_VA: u64 = 0x10000;

    /// A small x86-64 ELF shared object: one RX `PT_LOAD` of the whole file at `ELF_VA`, a
    /// `PT_DYNAMIC`, and sections `.text` (0x100, a call and a RIP-relative load), `.rela.dyn`
    /// (0x120: `RELATIVE`, `GLOB_DAT`, `RELATIVE`), `.relr.dyn` (0x168: an address and a
    /// bitmap), `.shstrtab` (0x178), `.dynamic` (0x1c0) and data (0x220); section headers at
    /// 0x260 unless `with_sections` is false.
    pub(in crate::exec) fn elf(with_sections: bool) -> Vec<u8> {
        let mut f = vec![0u8; if with_sections { 0x260 + 6 * 64 } else { 0x260 }];
        f[..16].copy_from_slice(b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0");
        put(&mut f, 16, 2, 3); // ET_DYN
        put(&mut f, 18, 2, 62); // EM_X86_64
        put(&mut f, 20, 4, 1);
        put(&mut f, 32, 8, 64); // e_phoff
        put(&mut f, 52, 2, 64);
        put(&mut f, 54, 2, 56);
        put(&mut f, 56, 2, 2); // e_phnum
        if with_sections {
            put(&mut f, 40, 8, 0x260); // e_shoff
            put(&mut f, 58, 2, 64);
            put(&mut f, 60, 2, 6);
            put(&mut f, 62, 2, 4); // e_shstrndx
        }
        let len = f.len() as u64;
        for (at, (typ, flags, offset, filesz, memsz)) in
            [(64, (1, 5, 0, len, len + 0x100)), (120, (2, 6, 0x1c0, 0x50, 0x50))]
        {
            put(&mut f, at, 4, typ);
            put(&mut f, at + 4, 4, flags);
            put(&mut f, at + 8, 8, offset);
            put(&mut f, at + 16, 8, ELF_VA + offset);
            put(&mut f, at + 32, 8, filesz);
            put(&mut f, at + 40, 8, memsz);
        }
        let text = [0xe8, 0, 0, 0, 0, 0x48, 0x8b, 0x05, 0x10, 0, 0, 0, 0xc3];
        f[0x100..0x100 + text.len()].copy_from_slice(&text);
        for (i, (info, addend)) in [(8, 0x10100), (6, 0), (8, 0x10105)].into_iter().enumerate() {
            put(&mut f, 0x120 + 24 * i, 8, ELF_VA + 0x220 + 0x30 + 8 * i as u64);
            put(&mut f, 0x120 + 24 * i + 8, 8, info);
            put(&mut f, 0x120 + 24 * i + 16, 8, addend);
        }
        put(&mut f, 0x168, 8, ELF_VA + 0x220);
        put(&mut f, 0x170, 8, 0b1011);
        let names = b"\0.text\0.rela.dyn\0.relr.dyn\0.shstrtab\0.dynamic\0";
        f[0x178..0x178 + names.len()].copy_from_slice(names);
        for (i, (tag, value)) in [(7, 0x120), (8, 72), (36, 0x168), (35, 16), (0, 0)].into_iter().enumerate()
        {
            put(&mut f, 0x1c0 + 16 * i, 8, tag);
            put(&mut f, 0x1c0 + 16 * i + 8, 8, if tag == 7 || tag == 36 { ELF_VA + value } else { value });
        }
        if !with_sections {
            return f;
        }
        let sections = [
            (1, 1, 6, 0x100, text.len() as u64),
            (7, 4, 2, 0x120, 72),
            (17, 19, 2, 0x168, 16),
            (27, 3, 0, 0x178, names.len() as u64),
            (37, 6, 3, 0x1c0, 0x50),
        ];
        for (i, (name, typ, flags, offset, size)) in sections.into_iter().enumerate() {
            let at = 0x260 + 64 * (i + 1);
            put(&mut f, at, 4, name);
            put(&mut f, at + 4, 4, typ);
            put(&mut f, at + 8, 8, flags);
            put(&mut f, at + 16, 8, if typ == 3 { 0 } else { ELF_VA + offset });
            put(&mut f, at + 24, 8, offset);
            put(&mut f, at + 32, 8, size);
        }
        f
    }

    #[test]
    fn elf_with_sections() {
        let file = elf(true);
        let object = read(&file).unwrap();
        assert_eq!(object.arch, Arch::X86_64);
        assert_eq!(object.image_base, 0);
        let len = file.len() as u64;
        assert_eq!(
            object.segments,
            [Segment { offset: 0, va: ELF_VA, file_len: len, mem_len: len + 0x100, space: 0 }]
        );
        assert_eq!(object.code, [Code { offset: 0x100, len: 13, va: ELF_VA + 0x100 }]);
        // RELA: fields of entries 0 and 2; RELR: 0x220, then bits 1 and 3 of the bitmap.
        assert_eq!(object.pointers, abs64(&[0x120, 0x130, 0x150, 0x160, 0x220, 0x228, 0x238]));
    }

    #[test]
    fn analysis_of_an_elf_merges_code_and_relocation_fields() {
        let image = crate::exec::analyse(&elf(true)).unwrap();
        let rel = |offset| Reference { offset, kind: Kind::Rel32 { bias: 0 } };
        let mut expected = vec![rel(0x101), rel(0x108)];
        expected.extend(abs64(&[0x120, 0x130, 0x150, 0x160, 0x220, 0x228, 0x238]));
        assert_eq!(image.references, expected);
    }

    #[test]
    fn elf_without_sections_uses_executable_segments_and_the_dynamic_table() {
        let file = elf(false);
        let object = read(&file).unwrap();
        assert_eq!(object.code, [Code { offset: 0, len: file.len() as u64, va: ELF_VA }]);
        assert_eq!(object.pointers, abs64(&[0x120, 0x130, 0x150, 0x160, 0x220, 0x228, 0x238]));
    }

    #[test]
    fn elf_aarch64_relocations() {
        let mut file = elf(true);
        put(&mut file, 18, 2, 183); // EM_AARCH64
        for i in 0..3 {
            put(&mut file, 0x128 + 24 * i, 8, if i == 2 { 8 } else { 1027 });
        }
        let object = read(&file).unwrap();
        assert_eq!(object.arch, Arch::Aarch64);
        assert_eq!(object.pointers, abs64(&[0x120, 0x130, 0x138, 0x148, 0x220, 0x228, 0x238]));
    }

    #[test]
    fn elf_that_does_not_hold_together_is_not_an_executable() {
        let file = elf(true);
        let cases: [(usize, usize, u64); 6] = [
            (16, 2, 1),                     // ET_REL
            (18, 2, 3),                     // EM_386
            (5, 1, 2),                      // big-endian
            (64 + 8, 8, 1),                 // PT_LOAD past the end of the file
            (64 + 40, 8, 0x10),             // memsz below filesz
            (0x260 + 64 + 32, 8, u64::MAX), // .text size overflows
        ];
        for (at, width, value) in cases {
            let mut bad = file.clone();
            put(&mut bad, at, width, value);
            assert_eq!(read(&bad), None, "{at:#x}");
        }
        assert_eq!(read(&file[..0x100]), None);
        assert_eq!(read(b"\x7fEL"), None);
        let mut overlapping = file.clone();
        put(&mut overlapping, 0x260 + 64 * 5 + 8, 8, 6); // .dynamic executable ...
        assert!(read(&overlapping).is_some());
        put(&mut overlapping, 0x260 + 64 * 5 + 24, 8, 0x108); // ... and over the end of .text
        assert_eq!(read(&overlapping), None, "overlapping code");
    }

    #[test]
    fn relocation_tables_are_read_at_most_the_file_size_in_all() {
        // 4000 more `.rela.dyn` section headers, each naming the whole file as one table.
        let mut file = elf(true);
        let copies = 4000;
        let rela_dyn = file[0x260 + 64 * 2..0x260 + 64 * 3].to_vec();
        for _ in 0..copies {
            file.extend(&rela_dyn);
        }
        let len = file.len() as u64;
        for at in (0x260 + 64 * 6..file.len()).step_by(64) {
            put(&mut file, at + 24, 8, 0);
            put(&mut file, at + 32, 8, len);
        }
        put(&mut file, 60, 2, 6 + copies);
        let object = read(&file).unwrap();
        // The real table, then the file once (its two entries again and a few stray words
        // that read as `RELATIVE`); not the file 4000 times (16,000 fields and more).
        assert!(object.pointers.len() < 20, "{}", object.pointers.len());
    }
}
