//! Mach-O headers, thin and fat: `LC_SEGMENT_64` segments and instruction sections.

use object::read::macho::{FatArch, MachHeader as _, Section as _, Segment as _};
use object::{LittleEndian as LE, macho};

use super::{Code, MAX_TABLE, Object, disjoint, range};
use crate::exec::{Arch, Segment};

type MachHeader = macho::MachHeader64<LE>;

/// A thin or fat Mach-O file of 64-bit x86-64 or ARM64 code.
///
/// A fat file's `Object` has one arch: that of its first slice of a supported arch. Slices of
/// other archs contribute nothing; each slice used is an address space of its own (`space` is
/// its index in the fat arch table). The slices used must not overlap.
pub(super) fn read_macho(file: &[u8]) -> Option<Object> {
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
    use crate::exec::image::read;
    use crate::exec::image::tests::put;

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

    pub(in crate::exec) const ARM64: u32 = 0x0100_000c;
    pub(in crate::exec) const X86_64: u32 = 0x0100_0007;

    /// A fat file (`FAT_MAGIC`) of the thin files for `cpus`, at 0x200, 0x400, ...
    pub(in crate::exec) fn fat(cpus: &[u32]) -> Vec<u8> {
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
}
