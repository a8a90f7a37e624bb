//! File plumbing: read-only maps of inputs, and outputs that appear at their destination only
//! once complete (temporary file in the same folder, fsync, rename).

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::Read;
use std::ops::Deref;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, Result};

/// A read-only view of a whole file.
pub(crate) enum MappedFile {
    Empty,
    Mapped(memmap2::Mmap),
    /// A small file read into memory ([`read_opened`]).
    Read(Box<[u8]>),
}

impl Deref for MappedFile {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            MappedFile::Empty => &[],
            MappedFile::Mapped(map) => map,
            MappedFile::Read(bytes) => bytes,
        }
    }
}

impl MappedFile {
    /// Drops a mapped file's pages from this process's resident set, as when the kernel
    /// reclaims them: they stay in the page cache and fault back in on the next read. Nothing
    /// for a file read into memory. Best effort: an advice the kernel refuses changes nothing.
    pub(crate) fn release_pages(&self) {
        if let MappedFile::Mapped(map) = self {
            // SAFETY: `map` is a read-only shared mapping of a file (`map_opened`). MADV_DONTNEED
            // on it only drops page-table entries; the next read of a borrowed byte faults the
            // same file page back in, so what every borrow sees is unchanged as long as the file
            // is, which `map_opened`'s contract already requires.
            let _ = unsafe { map.unchecked_advise(memmap2::UncheckedAdvice::DontNeed) };
        }
    }
}

/// Maps `path` read-only. Empty files are not mapped (mapping zero bytes fails on Linux).
pub(crate) fn map_file(path: &Path) -> Result<MappedFile> {
    let file = File::open(path).map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
    let len = file.metadata().map_err(|e| Error::io(format!("reading {}", path.display()), e))?.len();
    map_opened(&file, len, path)
}

/// [`map_file`] of a file already open, `len` bytes long (`path` names it in errors).
pub(crate) fn map_opened(file: &File, len: u64, path: &Path) -> Result<MappedFile> {
    if len == 0 {
        return Ok(MappedFile::Empty);
    }
    // SAFETY: the map is read-only and chunkdelta never writes to the files it maps. Another
    // process truncating or rewriting the file meanwhile is outside the contract, as for any
    // mmap-based tool (b3sum, bidiff); for `old`, apply detects changed content by its hash.
    let map = unsafe { memmap2::MmapOptions::new().len(whole_len(len, path)?).map(file) }
        .map_err(|e| Error::io(format!("mapping {}", path.display()), e))?;
    Ok(MappedFile::Mapped(map))
}

/// The first `len` bytes of a file already open, read into memory. For small files this
/// costs one `read` where a map costs a map, page faults and an unmap: a tree apply reads
/// thousands of them. If the file is shorter than `len`, it is an I/O error.
pub(crate) fn read_opened(mut file: &File, len: u64, path: &Path) -> Result<MappedFile> {
    let mut bytes = vec![0; whole_len(len, path)?].into_boxed_slice();
    file.read_exact(&mut bytes).map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
    Ok(MappedFile::Read(bytes))
}

fn whole_len(len: u64, path: &Path) -> Result<usize> {
    usize::try_from(len)
        .map_err(|_| Error::limit(format!("the size of {}", path.display()), len, usize::MAX as u64))
}

/// Whether both paths name one existing file (through links too).
pub(crate) fn same_file(a: &Path, b: &Path) -> bool {
    match (fs::metadata(a), fs::metadata(b)) {
        (Ok(a), Ok(b)) => (a.dev(), a.ino()) == (b.dev(), b.ino()),
        _ => false,
    }
}

/// A file being written under a temporary name beside its destination. `commit` makes it
/// durable and renames it into place; dropping it uncommitted removes it.
pub(crate) struct OutputFile {
    file: File,
    temp_path: PathBuf,
    dest: PathBuf,
    committed: bool,
}

impl OutputFile {
    /// Creates a new temporary file beside `dest`, under a name no other call uses.
    pub(crate) fn create(dest: &Path) -> Result<Self> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let tag = format!("{}-{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed));
        let temp_path = temp_path(dest, &tag)?;
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp_path)
            .map_err(|e| Error::io(format!("creating {}", temp_path.display()), e))?;
        Ok(OutputFile { file, temp_path, dest: dest.to_path_buf(), committed: false })
    }

    /// Opens the temporary file beside `dest` named after `patch_id`, creating it if absent,
    /// so that a rerun of a killed apply finds what the killed run wrote. The file is locked
    /// while this value lives, and sized to `len` bytes. Also returns the size it had before:
    /// 0 when it was created.
    ///
    /// An existing file is used only if it is a regular file (never a symlink), with one link,
    /// owned by this process's effective user: nobody else can plant content that becomes the
    /// destination. The caller must still verify every byte it keeps.
    pub(crate) fn resumable(dest: &Path, patch_id: &str, len: u64) -> Result<(Self, u64)> {
        let temp_path = temp_path(dest, patch_id)?;
        let context = |what: &str| format!("{what} {}", temp_path.display());
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&temp_path)
            .map_err(|e| Error::io(context("opening"), e))?;
        file.try_lock().map_err(|e| match e {
            TryLockError::WouldBlock => Error::io(
                context("another apply to the same destination holds"),
                std::io::ErrorKind::WouldBlock.into(),
            ),
            TryLockError::Error(e) => Error::io(context("locking"), e),
        })?;
        let meta = file.metadata().map_err(|e| Error::io(context("reading"), e))?;
        if !meta.is_file() || meta.nlink() != 1 || meta.uid() != effective_uid() {
            let refused = std::io::Error::new(
                std::io::ErrorKind::PermissionDenied,
                "not a regular, singly linked file of this user; remove it and retry",
            );
            return Err(Error::io(context("refusing to reuse"), refused));
        }
        let output =
            OutputFile { file, temp_path: temp_path.clone(), dest: dest.to_path_buf(), committed: false };
        output.file.set_len(len).map_err(|e| Error::io(context("sizing"), e))?;
        Ok((output, meta.len()))
    }

    /// Gives the file `permissions`.
    pub(crate) fn set_permissions(&self, permissions: fs::Permissions) -> Result<()> {
        self.file
            .set_permissions(permissions)
            .map_err(|e| Error::io(format!("setting permissions of {}", self.temp_path.display()), e))
    }

    pub(crate) fn file(&self) -> &File {
        &self.file
    }

    /// The temporary file's path.
    pub(crate) fn path(&self) -> &Path {
        &self.temp_path
    }

    /// Flushes the data to disk, renames the file to its destination and syncs the folder.
    pub(crate) fn commit(self) -> Result<()> {
        self.commit_with(Durability::Synced)
    }

    /// Renames the file to its destination, flushing it and the folder first when `durability`
    /// asks for it. Unsynced, the rename is still atomic for other processes, but a power cut
    /// may leave the destination empty or old.
    pub(crate) fn commit_with(mut self, durability: Durability) -> Result<()> {
        let dest = self.dest.display().to_string();
        if durability == Durability::Synced {
            self.file
                .sync_all()
                .map_err(|e| Error::io(format!("syncing {}", self.temp_path.display()), e))?;
        }
        fs::rename(&self.temp_path, &self.dest).map_err(|e| Error::io(format!("renaming into {dest}"), e))?;
        self.committed = true;
        if durability == Durability::Unsynced {
            return Ok(());
        }
        if let Some(dir) = self.dest.parent().filter(|p| !p.as_os_str().is_empty()) {
            // Durability of the rename itself; not every platform can open a folder.
            if let Ok(dir) = File::open(dir) {
                dir.sync_all().map_err(|e| Error::io(format!("syncing the folder of {dest}"), e))?;
            }
        }
        Ok(())
    }
}

/// Whether a commit waits for the data to reach the disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Durability {
    Synced,
    Unsynced,
}

/// `.NAME.TAG.chunkdelta-tmp` in `dest`'s folder.
fn temp_path(dest: &Path, tag: &str) -> Result<PathBuf> {
    let name = dest
        .file_name()
        .ok_or_else(|| Error::invalid(format!("output path {} has no file name", dest.display())))?;
    let dir = dest.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    Ok(dir.join(format!(".{}.{tag}.chunkdelta-tmp", name.to_string_lossy())))
}

fn effective_uid() -> u32 {
    // SAFETY: geteuid has no preconditions, touches no memory of ours and cannot fail.
    unsafe { libc::geteuid() }
}

impl Drop for OutputFile {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_file(&self.temp_path);
        }
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    /// The resident kilobytes of the mapping that starts at `at` (its `Rss` in smaps).
    fn resident_kib(at: *const u8) -> u64 {
        let smaps = fs::read_to_string("/proc/self/smaps").unwrap();
        let start = format!("{:x}-", at as usize);
        let vma = smaps.split_once(&format!("\n{start}")).map(|(_, rest)| rest).unwrap();
        let rss = vma.lines().find_map(|line| line.strip_prefix("Rss:")).unwrap();
        rss.trim().trim_end_matches("kB").trim().parse().unwrap()
    }

    #[test]
    fn released_pages_leave_the_resident_set_and_read_back_the_same() {
        let content: Vec<u8> = (0..8u32 << 20).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect();
        let file = tempfile::NamedTempFile::new().unwrap();
        fs::write(file.path(), &content).unwrap();
        let map = map_file(file.path()).unwrap();
        assert_eq!(&map[..], &content[..]);
        assert!(resident_kib(map.as_ptr()) >= 8 << 10, "every page read is resident");
        map.release_pages();
        assert!(resident_kib(map.as_ptr()) < 1 << 10, "released pages stay resident");
        assert_eq!(&map[..], &content[..]);
        let read = MappedFile::Read(content.clone().into_boxed_slice());
        read.release_pages();
        assert_eq!(&read[..], &content[..], "bytes in memory are kept");
    }
}
