//! `chunkdelta-peers`: diff and apply files with the qbsdiff and bidiff crates, for benches/compare.py.
//!
//! ```text
//! chunkdelta-peers qbsdiff diff OLD NEW PATCH THREADS
//! chunkdelta-peers qbsdiff apply OLD PATCH OUT
//! chunkdelta-peers bidiff diff OLD NEW PATCH THREADS
//! chunkdelta-peers bidiff apply OLD PATCH OUT
//! ```
//!
//! Each library runs with the settings its documentation recommends; THREADS sizes the rayon
//! pool that both use for their parallel search.

use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter, Cursor, Write};
use std::process::ExitCode;

/// bidiff's README measures with 1 MiB scan chunks and zstd level 21.
const BIDIFF_SCAN_CHUNK: usize = 1 << 20;
const BIDIFF_ZSTD_LEVEL: i32 = 21;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == io::ErrorKind::InvalidInput => {
            eprintln!(
                "{e}\nusage: chunkdelta-peers (qbsdiff|bidiff) (diff OLD NEW PATCH THREADS | apply OLD PATCH OUT)"
            );
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &[&str]) -> io::Result<()> {
    match *args {
        ["qbsdiff", "diff", old, new, patch, threads] => {
            with_threads(parse_threads(threads)?, || qbsdiff_diff(old, new, patch))
        }
        ["qbsdiff", "apply", old, patch, out] => qbsdiff_apply(old, patch, out),
        ["bidiff", "diff", old, new, patch, threads] => {
            let threads = parse_threads(threads)?;
            with_threads(threads, || bidiff_diff(old, new, patch, threads))
        }
        ["bidiff", "apply", old, patch, out] => bidiff_apply(old, patch, out),
        _ => Err(io::Error::new(io::ErrorKind::InvalidInput, "unknown arguments")),
    }
}

fn parse_threads(text: &str) -> io::Result<usize> {
    match text.parse() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(io::Error::new(io::ErrorKind::InvalidInput, "THREADS must be a positive number")),
    }
}

/// Runs `work` inside a rayon pool of `threads` threads.
fn with_threads(threads: usize, work: impl FnOnce() -> io::Result<()> + Send) -> io::Result<()> {
    rayon::ThreadPoolBuilder::new().num_threads(threads).build().map_err(io::Error::other)?.install(work)
}

/// qbsdiff's defaults: parallel search over 512 KiB chunks (`ParallelScheme::Auto`), bzip2
/// level 6, small-match threshold 12.
fn qbsdiff_diff(old: &str, new: &str, patch: &str) -> io::Result<()> {
    let (old, new) = (fs::read(old)?, fs::read(new)?);
    let mut out = BufWriter::new(File::create(patch)?);
    qbsdiff::Bsdiff::new(&old, &new).compare(&mut out)?;
    out.flush()
}

fn qbsdiff_apply(old: &str, patch: &str, out: &str) -> io::Result<()> {
    let (old, patch) = (fs::read(old)?, fs::read(patch)?);
    let mut out = BufWriter::new(File::create(out)?);
    qbsdiff::Bspatch::new(&patch)?.apply(&old, &mut out)?;
    out.flush()
}

/// bidiff with one suffix-sort partition per thread and 1 MiB scan chunks, its raw patch
/// compressed by zstd at level 21 (with `threads` zstd workers), as in bidiff's README.
fn bidiff_diff(old: &str, new: &str, patch: &str, threads: usize) -> io::Result<()> {
    let (old, new) = (fs::read(old)?, fs::read(new)?);
    let params = bidiff::DiffParams::new(threads, Some(BIDIFF_SCAN_CHUNK)).map_err(io::Error::other)?;
    let mut encoder = zstd::Encoder::new(BufWriter::new(File::create(patch)?), BIDIFF_ZSTD_LEVEL)?;
    encoder.multithread(threads as u32)?;
    bidiff::simple_diff_with_params(&old, &new, &mut encoder, &params)?;
    encoder.finish()?.flush()
}

fn bidiff_apply(old: &str, patch: &str, out: &str) -> io::Result<()> {
    let old = fs::read(old)?;
    let patch = zstd::Decoder::new(BufReader::new(File::open(patch)?))?;
    let mut reader = bipatch::Reader::new(patch, Cursor::new(&old[..]))
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    let mut out = BufWriter::new(File::create(out)?);
    io::copy(&mut reader, &mut out)?;
    out.flush()
}
