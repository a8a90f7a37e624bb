//! Reading ELF, PE/COFF and Mach-O headers (fat Mach-O too): the segments, the code sections
//! and the pointer fields that relocation data names.
//!
//! The headers are parsed with the pinned `object` crate's low-level readers, which check that
//! every table they hand out lies within the file; everything read from those tables is then
//! checked here with checked arithmetic. A file whose headers do not hold together is not an
//! executable to this module: [`read`] gives `None`, and the patch is a plain one.

use object::read::elf::{FileHeader as _, ProgramHeader as _, SectionHeader as _};
use object::read::macho::{FatArch, MachHeader as _, Section as _, Segment as _};
use object::read::pe::{ImageNtHeaders as _, ImageOptionalHeader as _};
use object::{LittleEndian as LE, elf, macho, pe};

use super::{Arch, Kind, Reference, Segment};

/// The most segments (and, separately, code ranges) an executable may have.
const MAX_TABLE: usize = 4096;

/// The code to disassemble: `len` bytes at file offset `offset`, loaded at `va`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Code {
    pub(crate) offset: u64,
    pub(crate) len: u64,
    pub(crate) va: u64,
}

impl Code {
    /// The code's bytes, or `None` when they do not lie within `file`.
    pub(crate) fn bytes<'a>(&self, file: &'a [u8]) -> Option<&'a [u8]> {
        file.get(range(self.offset, self.len)?)
    }
}

/// What the headers of an executable say.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Object {
    pub(crate) arch: Arch,
    pub(crate) image_base: u64,
    pub(crate) segments: Vec<Segment>,
    pub(crate) code: Vec<Code>,
    /// Pointer fields named by relocation data (`Abs64`, `Rva32`).
    pub(crate) pointers: Vec<Reference>,
}

/// The headers of `file`, or `None` for anything but an ELF, PE or Mach-O file of x86-64 or
/// AArch64 code whose headers lie within the file.
///
/// Also `None` when there are more than 4096 segments or code ranges, or when code ranges
/// overlap (so that disassembly time stays linear in the file's size).
/// At most one pointer per 4 bytes of file is kept (a hostile RELR table could name more).
pub(crate) fn read(file: &[u8]) -> Option<Object> {
    let object = match file.get(..4)? {
        [0x7f, b'E', b'L', b'F'] => read_elf(file),
        [b'M', b'Z', ..] => read_pe(file),
        _ => read_macho(file),
    }?;
    holds_together(&object, file.len() as u64).then_some(object)
}

/// Whether the segments and code ranges of `object` lie within a file of `len` bytes, are
/// few enough, and the code ranges do not overlap.
fn holds_together(object: &Object, len: u64) -> bool {
    let in_file = |offset: u64, size: u64| offset.checked_add(size).is_some_and(|end| end <= len);
    let segments_fit = object.segments.iter().all(|s| {
        in_file(s.offset, s.file_len) && s.file_len <= s.mem_len && s.va.checked_add(s.mem_len).is_some()
    });
    let code_fit = object.code.iter().all(|c| in_file(c.offset, c.len) && c.va.checked_add(c.len).is_some());
    object.segments.len() <= MAX_TABLE
        && object.code.len() <= MAX_TABLE
        && segments_fit
        && code_fit
        && disjoint(object.code.iter().map(|c| (c.offset, c.len)))
}

/// Whether no two of the ranges (offset, length) overlap.
fn disjoint(ranges: impl Iterator<Item = (u64, u64)>) -> bool {
    let mut spans: Vec<(u64, u64)> =
        ranges.map(|(offset, len)| (offset, offset.saturating_add(len))).collect();
    spans.sort_unstable();
    spans.windows(2).all(|pair| matches!(pair, [a, b] if a.1 <= b.0))
}

/// `offset .. offset + len` as a `usize` range, if it does not overflow.
fn range(offset: u64, len: u64) -> Option<std::ops::Range<usize>> {
    let start = usize::try_from(offset).ok()?;
    let end = usize::try_from(offset.checked_add(len)?).ok()?;
    Some(start..end)
}

/// The little-endian `u64` at `at` in `file`.
fn u64_at(file: &[u8], at: usize) -> Option<u64> {
    let bytes = file.get(at..at.checked_add(8)?)?;
    Some(u64::from_le_bytes(bytes.try_into().ok()?))
}

/// The pointer fields found so far, at most one per 4 bytes of the file.
struct Pointers {
    list: Vec<Reference>,
    cap: usize,
}

impl Pointers {
    fn new(file_len: usize) -> Self {
        Pointers { list: Vec::new(), cap: file_len / 4 }
    }

    /// Adds a field; `false` once the list is full.
    fn push(&mut self, offset: u64, kind: Kind) -> bool {
        let room = self.list.len() < self.cap;
        if room {
            self.list.push(Reference { offset, kind });
        }
        room
    }
}

/// File offsets of virtual addresses, through the file parts of the segments.
struct AddressMap {
    /// Segments with file bytes, sorted by `va`.
    parts: Vec<Segment>,
}

impl AddressMap {
    fn new(segments: &[Segment]) -> Self {
        let mut parts: Vec<Segment> = segments.iter().copied().filter(|s| s.file_len > 0).collect();
        parts.sort_by_key(|s| (s.va, s.offset));
        AddressMap { parts }
    }

    /// The file offset of the `len` bytes at `va`, when they lie in the file part of the last
    /// segment (by `va`) that starts at or below `va`.
    fn offset(&self, va: u64, len: u64) -> Option<u64> {
        let index = self.parts.partition_point(|s| s.va <= va).checked_sub(1)?;
        let part = self.parts.get(index)?;
        let delta = va - part.va;
        if delta.checked_add(len)? > part.file_len {
            return None;
        }
        part.offset.checked_add(delta)
    }
}

// ELF ---------------------------------------------------------------------------------------

type ElfHeader = elf::FileHeader64<LE>;
type SectionHeader = elf::SectionHeader64<LE>;

/// A little-endian ELF64 executable or shared object of x86-64 or AArch64 code. Its code is
/// its executable sections, or without section headers its executable `PT_LOAD` segments.
fn read_elf(file: &[u8]) -> Option<Object> {
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

// PE ----------------------------------------------------------------------------------------

/// A PE32+ image of x86-64 or ARM64 code.
fn read_pe(file: &[u8]) -> Option<Object> {
    let dos = pe::ImageDosHeader::parse(file).ok()?;
    let mut offset = u64::from(dos.nt_headers_offset());
    let (nt, directories) = pe::ImageNtHeaders64::parse(file, &mut offset).ok()?;
    let arch = match nt.file_header().machine.get(LE) {
        pe::IMAGE_FILE_MACHINE_AMD64 => Arch::X86_64,
        pe::IMAGE_FILE_MACHINE_ARM64 => Arch::Aarch64,
        _ => return None,
    };
    let sections = nt.sections(file, offset).ok()?;
    if sections.len() > MAX_TABLE {
        return None;
    }
    let image_base = nt.optional_header().image_base();
    let mut segments = Vec::new();
    let mut code = Vec::new();
    for section in sections.iter() {
        let segment = pe_segment(section, image_base)?;
        let flags = section.characteristics.get(LE).0;
        if flags & (pe::IMAGE_SCN_CNT_CODE.0 | pe::IMAGE_SCN_MEM_EXECUTE.0) != 0 && segment.file_len > 0 {
            code.push(Code { offset: segment.offset, len: segment.file_len, va: segment.va });
        }
        segments.push(segment);
    }
    let mut pointers = Pointers::new(file.len());
    let map = AddressMap::new(&segments);
    if let Ok(Some(blocks)) = directories.relocation_blocks(file, &sections) {
        base_relocations(blocks, image_base, &map, &mut pointers);
    }
    if let Some((at, size)) =
        directories.get(pe::IMAGE_DIRECTORY_ENTRY_EXCEPTION).and_then(|d| d.file_range(&sections).ok())
    {
        runtime_functions(file, at, size, arch, &mut pointers);
    }
    Some(Object { arch, image_base, segments, code, pointers: pointers.list })
}

/// A PE section as a segment: the loader maps `min(SizeOfRawData, VirtualSize)` file bytes
/// (all of `SizeOfRawData` when `VirtualSize` is 0) at `ImageBase + VirtualAddress`.
fn pe_segment(section: &pe::ImageSectionHeader, image_base: u64) -> Option<Segment> {
    let raw = u64::from(section.size_of_raw_data.get(LE));
    let virtual_size = u64::from(section.virtual_size.get(LE));
    let file_len = if virtual_size == 0 { raw } else { raw.min(virtual_size) };
    Some(Segment {
        offset: if file_len == 0 { 0 } else { u64::from(section.pointer_to_raw_data.get(LE)) },
        va: image_base.checked_add(u64::from(section.virtual_address.get(LE)))?,
        file_len,
        mem_len: virtual_size.max(file_len),
        space: 0,
    })
}

/// Adds the targets of the `DIR64` base relocations that lie in the file. A malformed block
/// ends the table.
fn base_relocations(
    blocks: object::read::pe::RelocationBlockIterator<'_>,
    image_base: u64,
    map: &AddressMap,
    pointers: &mut Pointers,
) {
    for block in blocks.map_while(Result::ok) {
        for relocation in block.filter(|r| r.typ == pe::IMAGE_REL_BASED_DIR64) {
            let va = image_base.checked_add(u64::from(relocation.virtual_address));
            let Some(at) = va.and_then(|va| map.offset(va, 8)) else { continue };
            if !pointers.push(at, Kind::Abs64) {
                return;
            }
        }
    }
}

/// Adds the RVA words of the exception directory's `RUNTIME_FUNCTION` entries at file offset
/// `at` (`size` bytes): on x64, 12-byte entries of three RVAs (begin, end, unwind info); on
/// ARM64, 8-byte entries of the begin RVA and a word that is the RVA of an `.xdata` record
/// when its low two bits (the flag) are 0, and packed unwind data otherwise.
fn runtime_functions(file: &[u8], at: u32, size: u32, arch: Arch, pointers: &mut Pointers) {
    let Some(bytes) = file.get(range(u64::from(at), u64::from(size)).unwrap_or_default()) else {
        return;
    };
    let entry_len = match arch {
        Arch::X86_64 => 12,
        Arch::Aarch64 => 8,
    };
    for (offset, entry) in (u64::from(at)..).step_by(entry_len).zip(bytes.chunks_exact(entry_len)) {
        let rvas = match arch {
            Arch::X86_64 => 3,
            Arch::Aarch64 if entry.get(4).is_some_and(|b| b & 3 == 0) => 2,
            Arch::Aarch64 => 1,
        };
        for word in 0..rvas {
            if !pointers.push(offset + 4 * word, Kind::Rva32) {
                return;
            }
        }
    }
}

// Mach-O ------------------------------------------------------------------------------------

type MachHeader = macho::MachHeader64<LE>;

/// A thin or fat Mach-O file of 64-bit x86-64 or ARM64 code.
///
/// A fat file's `Object` has one arch: that of its first slice of a supported arch. Slices of
/// other archs contribute nothing; each slice used is an address space of its own (`space` is
/// its index in the fat arch table). The slices used must not overlap.
fn read_macho(file: &[u8]) -> Option<Object> {
    let magic = u32::from_be_bytes(file.get(..4)?.try_into().ok()?);
    let slices: Vec<(u64, u64, macho::CpuType)> = match magic {
        macho::FAT_MAGIC => fat_slices(&object::read::macho::MachOFatFile32::parse(file).ok()?),
        macho::FAT_MAGIC_64 => fat_slices(&object::read::macho::MachOFatFile64::parse(file).ok()?),
        _ => vec![(0, file.len() as u64, macho_cpu(file)?)],
    };
    let cpu = slices.iter().map(|s| s.2).find(|&cpu| macho_arch(cpu).is_some())?;
    let used: Vec<(usize, u64, u64)> =
        slices.iter().enumerate().filter(|(_, s)| s.2 == cpu).map(|(i, s)| (i, s.0, s.1)).collect();
    if slices.len() > MAX_TABLE || !disjoint(used.iter().map(|&(_, offset, size)| (offset, size))) {
        return None;
    }
    let mut object =
        Object { arch: macho_arch(cpu)?, image_base: 0, segments: vec![], code: vec![], pointers: vec![] };
    for (space, offset, size) in used {
        let slice = file.get(range(offset, size)?)?;
        macho_slice(slice, offset, u32::try_from(space).ok()?, &mut object)?;
    }
    Some(object)
}

/// The slices of a fat file: file offset, size and CPU type.
fn fat_slices<Fat: FatArch>(
    fat: &object::read::macho::MachOFatFile<'_, Fat>,
) -> Vec<(u64, u64, macho::CpuType)> {
    fat.arches().iter().map(|a| (a.offset().into(), a.size().into(), a.cputype())).collect()
}

/// The CPU type of a thin 64-bit little-endian Mach-O file.
fn macho_cpu(slice: &[u8]) -> Option<macho::CpuType> {
    let header = MachHeader::parse(slice, 0).ok()?;
    Some(header.cputype(header.endian().ok()?))
}

fn macho_arch(cpu: macho::CpuType) -> Option<Arch> {
    match cpu {
        macho::CPU_TYPE_X86_64 => Some(Arch::X86_64),
        macho::CPU_TYPE_ARM64 => Some(Arch::Aarch64),
        _ => None,
    }
}

/// Adds the segments and code of the thin Mach-O file `slice`, which lies at `base` in the
/// file, to `object`.
fn macho_slice(slice: &[u8], base: u64, space: u32, object: &mut Object) -> Option<()> {
    let header = MachHeader::parse(slice, 0).ok()?;
    let endian = header.endian().ok()?;
    if macho_arch(header.cputype(endian)) != Some(object.arch) {
        return None;
    }
    let mut commands = header.load_commands(endian, slice, 0).ok()?;
    while let Some(command) = commands.next().ok()? {
        let Some((segment, section_data)) = command.segment_64().ok()? else { continue };
        object.segments.push(Segment {
            offset: base.checked_add(segment.fileoff(endian))?,
            va: segment.vmaddr(endian),
            file_len: segment.filesize(endian),
            mem_len: segment.vmsize(endian),
            space,
        });
        for section in segment.sections(endian, section_data).ok()? {
            let flags = section.flags(endian);
            let instructions = macho::S_ATTR_PURE_INSTRUCTIONS.0 | macho::S_ATTR_SOME_INSTRUCTIONS.0;
            let zerofill = matches!(
                flags.typ(),
                macho::S_ZEROFILL | macho::S_GB_ZEROFILL | macho::S_THREAD_LOCAL_ZEROFILL
            );
            if flags.0 & instructions == 0 || zerofill || section.size(endian) == 0 {
                continue;
            }
            let offset = u64::from(section.offset(endian));
            slice.get(range(offset, section.size(endian))?)?;
            let offset = base.checked_add(offset)?;
            object.code.push(Code { offset, len: section.size(endian), va: section.addr(endian) });
        }
        if object.segments.len() > MAX_TABLE || object.code.len() > MAX_TABLE {
            return None;
        }
    }
    Some(())
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Writes `value`'s low `width` bytes, little-endian, at `at`.
    fn put(file: &mut [u8], at: usize, width: usize, value: u64) {
        file[at..at + width].copy_from_slice(&value.to_le_bytes()[..width]);
    }

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

    fn abs64(offsets: &[u64]) -> Vec<Reference> {
        offsets.iter().map(|&offset| Reference { offset, kind: Kind::Abs64 }).collect()
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

    const PE_BASE: u64 = 0x1_4000_0000;

    /// A small PE32+ image for `machine`: `.text` (RVA 0x1000, file 0x200: a call, then a
    /// `DIR64` location at 0x208), `.pdata` (RVA 0x2000, file 0x220, 24 bytes) and `.reloc`
    /// (RVA 0x3000, file 0x240: one block).
    pub(in crate::exec) fn pe(machine: u16) -> Vec<u8> {
        let mut f = vec![0u8; 0x260];
        f[..2].copy_from_slice(b"MZ");
        put(&mut f, 0x3c, 4, 0x40);
        f[0x40..0x44].copy_from_slice(b"PE\0\0");
        put(&mut f, 0x44, 2, u64::from(machine));
        put(&mut f, 0x46, 2, 3);
        put(&mut f, 0x54, 2, 0xf0);
        let optional = 0x58;
        put(&mut f, optional, 2, 0x20b);
        put(&mut f, optional + 24, 8, PE_BASE);
        put(&mut f, optional + 108, 4, 16);
        put(&mut f, optional + 112 + 3 * 8, 4, 0x2000); // exception directory
        put(&mut f, optional + 112 + 3 * 8 + 4, 4, 24);
        put(&mut f, optional + 112 + 5 * 8, 4, 0x3000); // base relocations
        put(&mut f, optional + 112 + 5 * 8 + 4, 4, 12);
        let sections = [
            (0x10, 0x1000, 0x200, 0x6000_0020),
            (0x18, 0x2000, 0x220, 0x4000_0040),
            (0x0c, 0x3000, 0x240, 0x4200_0040),
        ];
        for (i, (virtual_size, rva, raw, flags)) in sections.into_iter().enumerate() {
            let at = 0x148 + 40 * i;
            put(&mut f, at + 8, 4, virtual_size);
            put(&mut f, at + 12, 4, rva);
            put(&mut f, at + 16, 4, 0x20);
            put(&mut f, at + 20, 4, raw);
            put(&mut f, at + 36, 4, flags);
        }
        f[0x200] = 0xe8;
        put(&mut f, 0x220, 4, 0x1000);
        put(&mut f, 0x224, 4, if machine == 0x8664 { 0x1005 } else { 0x0040_0001 });
        put(&mut f, 0x228, 4, if machine == 0x8664 { 0x2100 } else { 0x1005 });
        put(&mut f, 0x22c, 4, 0x2100);
        put(&mut f, 0x240, 4, 0x1000);
        put(&mut f, 0x244, 4, 12);
        put(&mut f, 0x248, 2, 0xa008);
        f
    }

    fn rva32(offsets: &[u64]) -> impl Iterator<Item = Reference> + '_ {
        offsets.iter().map(|&offset| Reference { offset, kind: Kind::Rva32 })
    }

    #[test]
    fn pe_x64() {
        let object = read(&pe(0x8664)).unwrap();
        assert_eq!((object.arch, object.image_base), (Arch::X86_64, PE_BASE));
        let segment = |offset, rva, file_len| Segment {
            offset,
            va: PE_BASE + rva,
            file_len,
            mem_len: file_len,
            space: 0,
        };
        assert_eq!(
            object.segments,
            [segment(0x200, 0x1000, 0x10), segment(0x220, 0x2000, 0x18), segment(0x240, 0x3000, 0x0c)]
        );
        assert_eq!(object.code, [Code { offset: 0x200, len: 0x10, va: PE_BASE + 0x1000 }]);
        let mut expected = abs64(&[0x208]);
        expected.extend(rva32(&[0x220, 0x224, 0x228, 0x22c, 0x230, 0x234]));
        assert_eq!(object.pointers, expected);
    }

    #[test]
    fn pe_arm64_runtime_functions_name_xdata_only_when_unpacked() {
        let object = read(&pe(0xaa64)).unwrap();
        assert_eq!(object.arch, Arch::Aarch64);
        let mut expected = abs64(&[0x208]);
        // Entry 0 is packed (flag 1); entries 1 and 2 point at .xdata records (flag 0).
        expected.extend(rva32(&[0x220, 0x228, 0x22c, 0x230, 0x234]));
        assert_eq!(object.pointers, expected);
    }

    #[test]
    fn pe_that_does_not_hold_together_is_not_an_executable() {
        let file = pe(0x8664);
        for (at, width, value) in
            [(0x44, 2, 0x14c), (0x58, 2, 0x10b), (0x148 + 20, 4, 0x258), (0x3c, 4, 0x1000)]
        {
            let mut bad = file.clone();
            put(&mut bad, at, width, value);
            assert_eq!(read(&bad), None, "{at:#x}");
        }
        assert_eq!(read(&file[..0x150]), None);
    }

    const MACHO_VA: u64 = 0x1_0000_0000;

    /// A thin 64-bit Mach-O executable of 0x200 bytes for `cpu`: one segment of the whole file
    /// and one code section (0x100, 16 bytes).
    pub(in crate::exec) fn macho(cpu: u32) -> Vec<u8> {
        let mut f = vec![0u8; 0x200];
        put(&mut f, 0, 4, 0xfeed_facf);
        put(&mut f, 4, 4, u64::from(cpu));
        put(&mut f, 12, 4, 2);
        put(&mut f, 16, 4, 1);
        put(&mut f, 20, 4, 72 + 80);
        put(&mut f, 32, 4, 0x19); // LC_SEGMENT_64
        put(&mut f, 36, 4, 72 + 80);
        f[40..46].copy_from_slice(b"__TEXT");
        put(&mut f, 56, 8, MACHO_VA);
        put(&mut f, 64, 8, 0x1000);
        put(&mut f, 80, 8, 0x200);
        put(&mut f, 96, 4, 1); // nsects
        let section = 104;
        f[section..section + 6].copy_from_slice(b"__text");
        put(&mut f, section + 32, 8, MACHO_VA + 0x100);
        put(&mut f, section + 40, 8, 0x10);
        put(&mut f, section + 48, 4, 0x100);
        put(&mut f, section + 64, 4, 0x8000_0400);
        put(&mut f, 0x100, 4, 0x9400_0040); // bl
        f
    }

    const ARM64: u32 = 0x0100_000c;
    const X86_64: u32 = 0x0100_0007;

    /// A fat file (`FAT_MAGIC`) of the thin files for `cpus`, at 0x200, 0x400, ...
    fn fat(cpus: &[u32]) -> Vec<u8> {
        let mut f = vec![0u8; 0x200];
        f[..4].copy_from_slice(&0xcafe_babe_u32.to_be_bytes());
        f[4..8].copy_from_slice(&(cpus.len() as u32).to_be_bytes());
        for (i, &cpu) in cpus.iter().enumerate() {
            let entry = [cpu, 0, 0x200 * (i as u32 + 1), 0x200, 9];
            for (j, word) in entry.into_iter().enumerate() {
                f[8 + 20 * i + 4 * j..][..4].copy_from_slice(&word.to_be_bytes());
            }
            f.extend(macho(cpu));
        }
        f
    }

    #[test]
    fn macho_thin() {
        let object = read(&macho(ARM64)).unwrap();
        assert_eq!(object.arch, Arch::Aarch64);
        assert_eq!(
            object.segments,
            [Segment { offset: 0, va: MACHO_VA, file_len: 0x200, mem_len: 0x1000, space: 0 }]
        );
        assert_eq!(object.code, [Code { offset: 0x100, len: 0x10, va: MACHO_VA + 0x100 }]);
        assert!(object.pointers.is_empty());
        assert_eq!(read(&macho(X86_64)).unwrap().arch, Arch::X86_64);
        assert_eq!(read(&macho(7)), None); // i386
    }

    #[test]
    fn macho_fat_uses_the_slices_of_the_first_supported_arch() {
        let object = read(&fat(&[7, ARM64, X86_64, ARM64])).unwrap();
        assert_eq!(object.arch, Arch::Aarch64);
        let segment =
            |offset, space| Segment { offset, va: MACHO_VA, file_len: 0x200, mem_len: 0x1000, space };
        assert_eq!(object.segments, [segment(0x400, 1), segment(0x800, 3)]);
        let code = |offset| Code { offset, len: 0x10, va: MACHO_VA + 0x100 };
        assert_eq!(object.code, [code(0x500), code(0x900)]);
        assert_eq!(read(&fat(&[7])), None);
        let mut overlapping = fat(&[ARM64, ARM64]);
        overlapping[8 + 20 + 8..8 + 20 + 12].copy_from_slice(&0x200u32.to_be_bytes());
        assert_eq!(read(&overlapping), None, "overlapping slices");
    }

    #[test]
    fn macho_that_does_not_hold_together_is_not_an_executable() {
        let file = macho(ARM64);
        for (at, width, value) in [(20, 4, 0x1000), (80, 8, 0x201), (104 + 48, 4, 0x1f8), (36, 4, 4)] {
            let mut bad = file.clone();
            put(&mut bad, at, width, value);
            assert_eq!(read(&bad), None, "{at:#x}");
        }
    }

    /// Valid files of each format, to mutate.
    pub(in crate::exec) fn samples() -> Vec<Vec<u8>> {
        vec![elf(true), elf(false), pe(0x8664), pe(0xaa64), macho(ARM64), fat(&[X86_64, ARM64])]
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let first = crate::exec::analyse(&bytes);
            prop_assert_eq!(first, crate::exec::analyse(&bytes));
        }

        #[test]
        fn mutated_headers_never_panic(
            sample in 0..6usize,
            edits in proptest::collection::vec((any::<u16>(), any::<u8>()), 1..8),
            cut in any::<u16>(),
        ) {
            let mut file = samples().swap_remove(sample);
            for (at, value) in edits {
                let len = file.len();
                file[usize::from(at) % len] = value;
            }
            let first = crate::exec::analyse(&file);
            prop_assert_eq!(&first, &crate::exec::analyse(&file));
            file.truncate(usize::from(cut) % (file.len() + 1));
            let _ = crate::exec::analyse(&file);
        }
    }
}
