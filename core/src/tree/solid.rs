//! Tree format 2's solid file patch on the apply side: its old file is the concatenation of
//! its bases, and its output is spread over the solid files of the new tree, each written at
//! its offset as chunks arrive.

use std::fs::{self, File, OpenOptions, Permissions};
use std::os::unix::fs::{FileExt, OpenOptionsExt, PermissionsExt};
use std::path::PathBuf;

use crate::apply::Output;
use crate::error::{Error, Result};
use crate::format::{ChunkInfo, PatchInfo};
use crate::hash::hash;

/// The old file of the solid patch: its bases, concatenated. Memory: the bases' total size.
pub(super) fn concatenate(bases: &[&[u8]]) -> Result<Vec<u8>> {
    let total: usize = bases.iter().map(|base| base.len()).sum();
    let mut old = Vec::new();
    old.try_reserve_exact(total).map_err(|_| {
        Error::io(
            format!("holding the {total} bytes of the solid bases"),
            std::io::ErrorKind::OutOfMemory.into(),
        )
    })?;
    bases.iter().for_each(|base| old.extend_from_slice(base));
    Ok(old)
}

/// One solid file: where it lies in the solid output.
pub(super) struct Piece {
    pub(super) path: PathBuf,
    pub(super) offset: u64,
    pub(super) size: u64,
    pub(super) mode: u32,
}

/// The solid output: every solid file, created (or, when resuming, kept) before the first
/// chunk, sized, and written at its offset. Files stay owner-writable until [`Self::finish`].
pub(super) struct SolidOutput {
    /// Sorted by offset, back to back.
    pieces: Vec<Piece>,
    total: u64,
    /// Whether the files may hold chunks of an interrupted run.
    resume: bool,
}

impl SolidOutput {
    /// Creates each file (which must not exist; when `resume`, a regular file an interrupted
    /// run left is kept, and its intact chunks with it).
    pub(super) fn create(pieces: Vec<Piece>, resume: bool) -> Result<Self> {
        for piece in &pieces {
            let kept = resume && fs::symlink_metadata(&piece.path).is_ok_and(|m| m.is_file());
            let file = OpenOptions::new()
                .write(true)
                .create_new(!kept)
                .mode(0o600)
                .custom_flags(libc::O_NOFOLLOW)
                .open(&piece.path)
                .map_err(|e| super::stage::creating(&piece.path, e))?;
            file.set_len(piece.size).map_err(|e| Error::io(format!("sizing {}", piece.path.display()), e))?;
        }
        let total = pieces.last().map_or(0, |p| p.offset + p.size);
        Ok(SolidOutput { pieces, total, resume })
    }

    /// Gives every file its mode.
    pub(super) fn finish(&self) -> Result<()> {
        for piece in &self.pieces {
            fs::set_permissions(&piece.path, Permissions::from_mode(piece.mode))
                .map_err(|e| Error::io(format!("setting permissions of {}", piece.path.display()), e))?;
        }
        Ok(())
    }

    /// The files that bytes `offset ..` of length `len` of the solid output fall in, each with
    /// the range of those bytes it holds: (piece, offset in the file, range in the bytes).
    fn spans(&self, offset: u64, len: usize) -> impl Iterator<Item = (&Piece, u64, std::ops::Range<usize>)> {
        let end = offset + len as u64;
        let first = self.pieces.partition_point(|p| p.offset + p.size <= offset);
        self.pieces[first..].iter().take_while(move |p| p.offset < end).filter(|p| p.size > 0).map(move |p| {
            let start = p.offset.max(offset);
            let stop = (p.offset + p.size).min(end);
            (p, start - p.offset, (start - offset) as usize..(stop - offset) as usize)
        })
    }
}

fn open(piece: &Piece, write: bool) -> std::io::Result<File> {
    OpenOptions::new().read(!write).write(write).custom_flags(libc::O_NOFOLLOW).open(&piece.path)
}

impl Output for SolidOutput {
    fn prepare(&mut self, info: &PatchInfo) -> Result<()> {
        if info.new_size != self.total {
            return Err(Error::corrupt(format!(
                "the solid file patch makes {} bytes, its files hold {}",
                info.new_size, self.total
            )));
        }
        Ok(())
    }

    fn write_at(&self, offset: u64, bytes: &[u8]) -> Result<()> {
        for (piece, at, range) in self.spans(offset, bytes.len()) {
            open(piece, true)
                .and_then(|file| file.write_all_at(&bytes[range], at))
                .map_err(|e| Error::io(format!("writing {}", piece.path.display()), e))?;
        }
        Ok(())
    }

    /// A resumed apply keeps a chunk whose bytes the files already hold.
    fn existing(&self, chunk: &ChunkInfo) -> Result<Option<Vec<u8>>> {
        if !self.resume {
            return Ok(None);
        }
        let mut bytes = vec![0u8; chunk.new_len as usize];
        for (piece, at, range) in self.spans(chunk.new_offset, bytes.len()) {
            if open(piece, false).and_then(|file| file.read_exact_at(&mut bytes[range], at)).is_err() {
                return Ok(None);
            }
        }
        Ok((hash(&bytes) == chunk.hash).then_some(bytes))
    }
}
