//! PE32+ headers: sections, and the base relocations and exception table that name pointer
//! fields.

use object::read::pe::{ImageNtHeaders as _, ImageOptionalHeader as _};
use object::{LittleEndian as LE, pe};

use super::{AddressMap, Code, MAX_TABLE, Object, Pointers, range};
use crate::exec::{Arch, Kind, Segment};

/// A PE32+ image of x86-64 or ARM64 code.
pub(super) fn read_pe(file: &[u8]) -> Option<Object> {
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

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::exec::Reference;
    use crate::exec::image::read;
    use crate::exec::image::tests::{abs64, put};

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
}
