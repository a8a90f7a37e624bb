//! bsdiff patches, applied with every number checked: BSDIFF40 (bsdiff 4.x, Debian's
//! `bsdiff`, PyPI's `bsdiff4`) and ENDSLEY/BSDIFF43.
//!
//! ```text
//! BSDIFF40: "BSDIFF40" | control block len | diff block len | new size   (32 bytes)
//!           | control block | diff block | extra block                 (one bzip2 stream each)
//! BSDIFF43: "ENDSLEY/BSDIFF43" | new size                               (24 bytes)
//!           | one bzip2 stream: per tuple, its 24 control bytes, its diff bytes, its extra bytes
//! ```
//!
//! Numbers are 64-bit sign and magnitude, little endian (bsdiff's `offtin`). A control tuple
//! is (add, copy, seek): add `add` diff bytes to as many bytes of old from the old position,
//! which then moves on by `add`; copy `copy` extra bytes; move the old position by `seek`.
//! Old bytes outside old count as zero, as in bspatch.
//!
//! What bspatch trusts is checked here (the CVE-2014-9862 class): lengths are non-negative and
//! stay within the new size, the old position never overflows, every stream ends exactly where
//! the tuples stop using it, and the patch ends with its last stream. Memory: the compressed
//! control and diff blocks (each at most [`crate::ApplyOptions::max_chunk_len`]), three bzip2
//! decoders and a buffer; the output is streamed, never sized from the header's claim.

use std::fs::{File, Permissions};
use std::io::{self, BufReader, BufWriter, Cursor, Read, Write};
use std::path::Path;

use bzip2::bufread::BzDecoder;

use super::{PatchFormat, PatchHead};
use crate::apply::ApplyReport;
use crate::error::{Error, Result};
use crate::format::PatchReader;
use crate::io::OutputFile;
use crate::options::ApplyOptions;
use crate::parallel::Progress;

/// Magic of a BSDIFF40 patch.
pub(crate) const MAGIC_40: &[u8] = b"BSDIFF40";
/// Magic of an ENDSLEY/BSDIFF43 patch.
pub(crate) const MAGIC_43: &[u8] = b"ENDSLEY/BSDIFF43";
/// Size of a BSDIFF40 header: magic and three numbers.
const HEADER_40_LEN: u64 = 32;
/// Size of a BSDIFF43 header: magic and the new size.
const HEADER_43_LEN: u64 = 24;
/// Size of one control tuple.
const TUPLE_LEN: usize = 24;
/// Bytes decoded per step.
const BUFFER_LEN: usize = 64 << 10;

/// What a bsdiff patch says about itself. It records no hashes: apply cannot tell a wrong old
/// file, and checks only that the patch is well formed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct BsdiffInfo {
    /// [`PatchFormat::Bsdiff40`] or [`PatchFormat::Bsdiff43`].
    pub format: PatchFormat,
    /// Size in bytes of the file the patch produces, as its header claims.
    pub new_size: u64,
    /// BSDIFF40: the sizes in bytes of the compressed control, diff and extra blocks.
    /// `None` for BSDIFF43, which has one stream.
    pub blocks: Option<[u64; 3]>,
    /// Total size of the patch in bytes.
    pub patch_size: u64,
}

/// The header's numbers.
struct Header {
    format: PatchFormat,
    new_size: u64,
    /// BSDIFF40 only: the sizes of the control and diff blocks.
    control_len: u64,
    diff_len: u64,
}

impl Header {
    fn len(&self) -> u64 {
        if self.format == PatchFormat::Bsdiff40 { HEADER_40_LEN } else { HEADER_43_LEN }
    }
}

/// bsdiff's `offtin`: a 64-bit sign-and-magnitude number, little endian.
fn offtin(bytes: &[u8]) -> i64 {
    let raw = u64::from_le_bytes(bytes.try_into().expect("8 bytes"));
    let magnitude = (raw & !(1 << 63)) as i64;
    if raw >> 63 == 1 { -magnitude } else { magnitude }
}

/// `value` as a length, which may not be negative.
fn length(value: i64, what: &str) -> Result<u64> {
    u64::try_from(value).map_err(|_| Error::corrupt(format!("negative {what} ({value})")))
}

/// Reads the header of a patch of `format` (a bsdiff format) from its first byte.
fn read_header<R: Read>(reader: &mut PatchReader<R>, format: PatchFormat) -> Result<Header> {
    let mut bytes = [0u8; HEADER_40_LEN as usize];
    if format == PatchFormat::Bsdiff40 {
        reader.read_exact(&mut bytes, "BSDIFF40 header")?;
        let numbers = [8, 16, 24].map(|at| offtin(&bytes[at..at + 8]));
        Ok(Header {
            format,
            control_len: length(numbers[0], "control block length")?,
            diff_len: length(numbers[1], "diff block length")?,
            new_size: length(numbers[2], "new size")?,
        })
    } else {
        reader.read_exact(&mut bytes[..HEADER_43_LEN as usize], "BSDIFF43 header")?;
        let new_size = length(offtin(&bytes[16..24]), "new size")?;
        Ok(Header { format, new_size, control_len: 0, diff_len: 0 })
    }
}

/// Reads a bsdiff patch through to its end: its header, and the sizes of its blocks.
pub(crate) fn read_info<R: Read>(reader: &mut PatchReader<R>, format: PatchFormat) -> Result<BsdiffInfo> {
    let header = read_header(reader, format)?;
    let rest = io::copy(reader, &mut io::sink()).map_err(|e| Error::io("reading the patch", e))?;
    let blocks = match format {
        PatchFormat::Bsdiff40 => {
            let extra = rest
                .checked_sub(header.control_len)
                .and_then(|rest| rest.checked_sub(header.diff_len))
                .ok_or_else(|| truncated(reader.offset(), "the control and diff blocks"))?;
            Some([header.control_len, header.diff_len, extra])
        }
        _ => None,
    };
    Ok(BsdiffInfo { format, new_size: header.new_size, blocks, patch_size: header.len() + rest })
}

fn truncated(offset: u64, what: &str) -> Error {
    Error::corrupt(format!("truncated: the patch ends at byte {offset} inside {what}"))
}

/// Where applied bytes go, in order.
pub(crate) trait Sink {
    fn write(&mut self, bytes: &[u8]) -> Result<()>;
}

impl Sink for Vec<u8> {
    /// Grows as bytes arrive, so the header's claimed size is never allocated up front.
    fn write(&mut self, bytes: &[u8]) -> Result<()> {
        self.try_reserve(bytes.len()).map_err(|_| {
            let end = self.len() + bytes.len();
            Error::io(format!("growing the output to {end} bytes"), io::ErrorKind::OutOfMemory.into())
        })?;
        self.extend_from_slice(bytes);
        Ok(())
    }
}

/// Keeps nothing: what verify writes to.
struct Discard;

impl Sink for Discard {
    fn write(&mut self, _bytes: &[u8]) -> Result<()> {
        Ok(())
    }
}

/// A temporary output file, written in order.
struct FileSink<'a> {
    writer: BufWriter<&'a File>,
    dest: &'a Path,
}

impl Sink for FileSink<'_> {
    fn write(&mut self, bytes: &[u8]) -> Result<()> {
        self.writer.write_all(bytes).map_err(|e| Error::io(format!("writing {}", self.dest.display()), e))
    }
}

/// Applies the bsdiff patch `patch` (of `format`) to `old` in memory.
pub(crate) fn apply(
    old: &[u8],
    patch: impl Read,
    format: PatchFormat,
    options: &ApplyOptions,
) -> Result<Vec<u8>> {
    let mut new = Vec::new();
    run(old, patch, format, &mut new, options)?;
    Ok(new)
}

/// Does what [`apply`] does without keeping the output.
pub(crate) fn verify(
    old: &[u8],
    patch: impl Read,
    format: PatchFormat,
    options: &ApplyOptions,
) -> Result<ApplyReport> {
    run(old, patch, format, &mut Discard, options)
}

/// Applies the bsdiff patch `patch` to `old`, writing `dest` atomically: a temporary file
/// beside it with `permissions`, renamed into place once the whole patch has been checked.
pub(crate) fn apply_file(
    old: &[u8],
    patch: impl Read,
    format: PatchFormat,
    dest: &Path,
    permissions: Option<Permissions>,
    options: &ApplyOptions,
) -> Result<ApplyReport> {
    let output = OutputFile::create(dest)?;
    if let Some(permissions) = permissions {
        output.set_permissions(permissions)?;
    }
    let mut sink = FileSink { writer: BufWriter::with_capacity(BUFFER_LEN, output.file()), dest };
    let report = run(old, patch, format, &mut sink, options)?;
    sink.writer.flush().map_err(|e| Error::io(format!("writing {}", dest.display()), e))?;
    drop(sink);
    output.commit_with(options.durability())?;
    Ok(report)
}

/// Reads, checks and applies the whole patch, writing the new file to `sink`.
fn run(
    old: &[u8],
    patch: impl Read,
    format: PatchFormat,
    sink: &mut impl Sink,
    options: &ApplyOptions,
) -> Result<ApplyReport> {
    let mut reader = PatchReader::new(patch);
    let header = read_header(&mut reader, format)?;
    let progress = Progress::new(options.progress.get(), header.new_size);
    let mut streams = Streams::open(&mut reader, &header, options.max_chunk_len)?;
    let mut decoder = Decoder::new(old, header.new_size, sink, progress);
    while let Some(tuple) = streams.next_tuple()? {
        decoder.run(tuple, &mut streams)?;
    }
    let new_hash = decoder.finish()?;
    let extra_len = streams.finish()?;
    reader.expect_end()?;
    let blocks =
        (format == PatchFormat::Bsdiff40).then_some([header.control_len, header.diff_len, extra_len]);
    let info = BsdiffInfo { format, new_size: header.new_size, blocks, patch_size: reader.offset() };
    Ok(ApplyReport { head: PatchHead::Bsdiff(info), new_hash, chunks_resumed: 0 })
}

/// A bzip2 stream read from a block in memory.
type BlockStream = BzDecoder<Cursor<Vec<u8>>>;
/// A bzip2 stream read from the rest of the patch.
type PatchStream<'r, R> = BzDecoder<BufReader<&'r mut PatchReader<R>>>;

/// The decoded streams of a patch.
enum Streams<'r, R: Read> {
    /// BSDIFF40's three blocks; the control and diff blocks are read into memory first, since
    /// the patch is read in one forward pass.
    Blocks { control: BlockStream, diff: BlockStream, extra: PatchStream<'r, R> },
    /// BSDIFF43's one stream.
    Interleaved(PatchStream<'r, R>),
}

/// Which of a tuple's streams a read is from, for messages.
#[derive(Clone, Copy)]
enum Part {
    Control,
    Diff,
    Extra,
}

impl Part {
    fn name(self) -> &'static str {
        match self {
            Part::Control => "control",
            Part::Diff => "diff",
            Part::Extra => "extra",
        }
    }
}

impl<'r, R: Read> Streams<'r, R> {
    /// Opens the streams of the patch whose `header` has just been read from `reader`.
    fn open(reader: &'r mut PatchReader<R>, header: &Header, limit: u64) -> Result<Self> {
        if header.format == PatchFormat::Bsdiff43 {
            return Ok(Streams::Interleaved(BzDecoder::new(BufReader::new(reader))));
        }
        let control = read_block(reader, header.control_len, limit, "control block")?;
        let diff = read_block(reader, header.diff_len, limit, "diff block")?;
        Ok(Streams::Blocks {
            control: BzDecoder::new(Cursor::new(control)),
            diff: BzDecoder::new(Cursor::new(diff)),
            extra: BzDecoder::new(BufReader::new(reader)),
        })
    }

    fn source(&mut self, part: Part) -> &mut dyn Read {
        match (self, part) {
            (Streams::Interleaved(stream), _) => stream,
            (Streams::Blocks { control, .. }, Part::Control) => control,
            (Streams::Blocks { diff, .. }, Part::Diff) => diff,
            (Streams::Blocks { extra, .. }, Part::Extra) => extra,
        }
    }

    /// Fills `buf` from `part`'s stream, failing if the stream ends first.
    fn read_exact(&mut self, part: Part, buf: &mut [u8]) -> Result<()> {
        if fill(self.source(part), buf, part)? < buf.len() {
            return Err(Error::corrupt(format!("truncated: the {} stream ends early", part.name())));
        }
        Ok(())
    }

    /// The next control tuple, or `None` at the end of the control stream.
    fn next_tuple(&mut self) -> Result<Option<[i64; 3]>> {
        let mut bytes = [0u8; TUPLE_LEN];
        match fill(self.source(Part::Control), &mut bytes, Part::Control)? {
            0 => Ok(None),
            TUPLE_LEN => Ok(Some([0, 8, 16].map(|at| offtin(&bytes[at..at + 8])))),
            _ => Err(Error::corrupt("truncated: the control stream ends inside a tuple")),
        }
    }

    /// Once the tuples are done: checks that every stream and block ends there too, and
    /// returns the size of the extra block (BSDIFF40; 0 for BSDIFF43).
    fn finish(self) -> Result<u64> {
        match self {
            Streams::Interleaved(stream) => {
                expect_block_end(stream.into_inner().buffer(), "bzip2 stream")?;
                Ok(0)
            }
            Streams::Blocks { control, mut diff, mut extra } => {
                expect_stream_end(&mut diff, Part::Diff)?;
                expect_stream_end(&mut extra, Part::Extra)?;
                for (block, name) in
                    [(control.into_inner(), "control block"), (diff.into_inner(), "diff block")]
                {
                    expect_block_end(&block.get_ref()[block.position() as usize..], name)?;
                }
                let extra_total_in = extra.total_in();
                expect_block_end(extra.into_inner().buffer(), "extra block")?;
                Ok(extra_total_in)
            }
        }
    }
}

/// Reads a block of `len` bytes into memory; more than `limit` is a [`Error::LimitExceeded`],
/// but only once the patch has shown that it holds that many bytes.
fn read_block<R: Read>(reader: &mut PatchReader<R>, len: u64, limit: u64, what: &str) -> Result<Vec<u8>> {
    if len > limit {
        reader.read_vec(limit + 1, what)?;
        return Err(Error::limit(format!("BSDIFF40 {what}"), len, limit));
    }
    reader.read_vec(len, what)
}

/// Reads from `source` until `buf` is full or the stream ends; returns the bytes read.
fn fill(source: &mut dyn Read, buf: &mut [u8], part: Part) -> Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match source.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(stream_error(e, part)),
        }
    }
    Ok(filled)
}

/// A bzip2 decoder's error: damaged or cut-short data is a corrupt patch, anything else the
/// failure to read the patch.
fn stream_error(e: io::Error, part: Part) -> Error {
    match e.kind() {
        io::ErrorKind::UnexpectedEof => {
            Error::corrupt(format!("truncated: the {} stream ends before its bzip2 end", part.name()))
        }
        io::ErrorKind::InvalidInput | io::ErrorKind::InvalidData => {
            Error::corrupt(format!("the {} stream is not valid bzip2 ({e})", part.name()))
        }
        _ => Error::io("reading the patch", e),
    }
}

/// Fails unless `stream` is at its bzip2 end (which checks its CRC).
fn expect_stream_end(stream: &mut dyn Read, part: Part) -> Result<()> {
    if fill(stream, &mut [0u8; 1], part)? != 0 {
        return Err(Error::corrupt(format!(
            "the {} stream holds bytes that no control tuple uses",
            part.name()
        )));
    }
    Ok(())
}

/// Fails unless nothing of a block is left after its bzip2 stream.
fn expect_block_end(rest: &[u8], what: &str) -> Result<()> {
    if !rest.is_empty() {
        return Err(Error::corrupt(format!("{} bytes after the end of the {what}", rest.len())));
    }
    Ok(())
}

/// The state of applying tuples: where in old and new, and the hash of what was written.
struct Decoder<'a, S> {
    old: &'a [u8],
    new_size: u64,
    new_pos: u64,
    old_pos: i64,
    sink: &'a mut S,
    progress: Progress<'a>,
    hasher: blake3::Hasher,
    buffer: Vec<u8>,
}

impl<'a, S: Sink> Decoder<'a, S> {
    fn new(old: &'a [u8], new_size: u64, sink: &'a mut S, progress: Progress<'a>) -> Self {
        let buffer = vec![0u8; BUFFER_LEN];
        Decoder {
            old,
            new_size,
            new_pos: 0,
            old_pos: 0,
            sink,
            progress,
            hasher: blake3::Hasher::new(),
            buffer,
        }
    }

    /// Checks one tuple against the new size and the old position's range, then writes it.
    fn run<R: Read>(&mut self, [add, copy, seek]: [i64; 3], streams: &mut Streams<'_, R>) -> Result<()> {
        let add = self.take(add, "add length")?;
        let add_end = self.old_pos.checked_add(add as i64).ok_or_else(old_position_overflows)?;
        self.emit(Part::Diff, add, streams)?;
        self.old_pos = add_end;
        let copy = self.take(copy, "copy length")?;
        self.emit(Part::Extra, copy, streams)?;
        self.old_pos = self.old_pos.checked_add(seek).ok_or_else(old_position_overflows)?;
        Ok(())
    }

    /// `value` as a length that fits in what is left of the new file.
    fn take(&self, value: i64, what: &str) -> Result<u64> {
        let len = length(value, what)?;
        if len > self.new_size - self.new_pos {
            return Err(Error::corrupt(format!(
                "a control tuple's {what} of {len} runs past the new size of {} (at byte {})",
                self.new_size, self.new_pos
            )));
        }
        Ok(len)
    }

    /// Writes `len` bytes of the `part` stream: diff bytes plus the old bytes from the old
    /// position, or extra bytes as they are.
    fn emit<R: Read>(&mut self, part: Part, len: u64, streams: &mut Streams<'_, R>) -> Result<()> {
        let mut done = 0u64;
        let mut buffer = std::mem::take(&mut self.buffer);
        while done < len {
            let n = (len - done).min(BUFFER_LEN as u64) as usize;
            streams.read_exact(part, &mut buffer[..n])?;
            if let Part::Diff = part {
                add_old(&mut buffer[..n], self.old, self.old_pos + done as i64);
            }
            self.write(&buffer[..n])?;
            done += n as u64;
        }
        self.buffer = buffer;
        Ok(())
    }

    fn write(&mut self, bytes: &[u8]) -> Result<()> {
        self.sink.write(bytes)?;
        self.hasher.update(bytes);
        self.new_pos += bytes.len() as u64;
        self.progress.advance(bytes.len() as u64)
    }

    /// Fails unless the tuples produced exactly the new size; returns the output's blake3.
    fn finish(self) -> Result<[u8; 32]> {
        if self.new_pos != self.new_size {
            return Err(Error::corrupt(format!(
                "the control tuples produce {} bytes but the header promises {}",
                self.new_pos, self.new_size
            )));
        }
        Ok(*self.hasher.finalize().as_bytes())
    }
}

fn old_position_overflows() -> Error {
    Error::corrupt("a control tuple moves the old position beyond 64 bits")
}

/// Adds to `diff` the bytes of `old` from `start`; positions outside old add nothing.
/// `start + diff.len()` does not overflow (the caller checked it).
fn add_old(diff: &mut [u8], old: &[u8], start: i64) {
    let end = start + diff.len() as i64;
    let (from, to) = (start.max(0), end.min(old.len() as i64));
    if from >= to {
        return;
    }
    let target = &mut diff[(from - start) as usize..(to - start) as usize];
    for (byte, base) in target.iter_mut().zip(&old[from as usize..to as usize]) {
        *byte = byte.wrapping_add(*base);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offtin_reads_sign_and_magnitude() {
        let cases: [(&str, i64); 6] = [
            ("0000000000000000", 0),
            ("0000000000000080", 0),
            ("0100000000000080", -1),
            ("0001000000000080", -256),
            ("ffffffffffffff7f", i64::MAX),
            ("ffffffffffffffff", -i64::MAX),
        ];
        for (hex, value) in cases {
            let bytes: Vec<u8> =
                (0..8).map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap()).collect();
            assert_eq!(offtin(&bytes), value, "{hex}");
        }
    }

    #[test]
    fn old_bytes_outside_old_add_nothing() {
        let old = b"abc";
        let mut diff = [1u8; 5];
        add_old(&mut diff, old, -1);
        assert_eq!(diff, [1, b'a' + 1, b'b' + 1, b'c' + 1, 1]);
        let mut far = [1u8; 2];
        add_old(&mut far, old, 10);
        assert_eq!(far, [1, 1]);
    }
}
