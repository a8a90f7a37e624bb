//! The pinned deflate: raw deflate streams compressed by the zlib C source that `libz-sys`
//! bundles (built by its `static` feature and linked into this crate, never the system
//! library), and inflated by `flate2`.
//!
//! Diff accepts a member only after [`deflate`] reproduced it, and apply calls the same
//! function, so a member rebuilds bit for bit wherever [`check_pinned`] passes. Inflating is
//! deterministic with any correct decoder.

use std::ffi::CStr;
use std::os::raw::{c_int, c_uint, c_void};

use flate2::{Decompress, FlushDecompress, Status};

use crate::error::{Error, Result};

/// The rebuild method id recorded in container patches: raw deflate by zlib [`ZLIB_VERSION`]
/// as bundled by libz-sys 1.1.33.
pub(crate) const METHOD_ZLIB: u8 = 1;
/// [`METHOD_ZLIB`]'s name in [`crate::ContainerInfo::rebuild_method`].
pub(crate) const METHOD_NAME: &str = "zlib-1.4";
/// The version string the pinned zlib reports; apply refuses to rebuild with any other.
pub(crate) const ZLIB_VERSION: &str = "1.4";
/// Largest ratio of inflated to deflated bytes deflate can reach (a 258-byte match in about
/// a quarter of a byte), plus slack for a stream's headers: anything claiming more is a bomb.
const MAX_RATIO: u64 = 1032;
/// Bytes fed to and read from zlib per call.
const PIECE: usize = 64 << 10;

/// zlib's parameters for one deflate stream: `deflateInit2(level, Z_DEFLATED, -window_bits,
/// mem_level, strategy)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Params {
    pub(crate) level: u8,
    pub(crate) window_bits: u8,
    pub(crate) mem_level: u8,
    pub(crate) strategy: u8,
}

impl Params {
    /// Whether zlib accepts these values: level 0-9, window 9-15 bits, memLevel 1-9,
    /// strategy 0-4 (default, filtered, Huffman only, RLE, fixed).
    pub(crate) fn is_valid(self) -> bool {
        self.level <= 9
            && (9..=15).contains(&self.window_bits)
            && (1..=9).contains(&self.mem_level)
            && self.strategy <= 4
    }
}

/// The parameters diff tries, cheapest guess first: zlib's default level 6, then the others
/// at the default memLevel 8, then memLevel 9, then the filtered strategy; all with the
/// 32 KiB window. The order is archive-patcher's finding of what producers use.
pub(crate) fn candidates() -> impl Iterator<Item = Params> {
    const LEVELS: [u8; 10] = [6, 9, 1, 4, 2, 3, 5, 7, 8, 0];
    [(8, 0), (9, 0), (8, 1), (9, 1)].into_iter().flat_map(|(mem_level, strategy)| {
        LEVELS.into_iter().map(move |level| Params { level, window_bits: 15, mem_level, strategy })
    })
}

/// Fails with [`crate::ErrorKind::RebuildMismatch`] unless the linked zlib is the pinned one.
/// `LIBZ_SYS_STATIC=0` at build time, or another crate enabling libz-sys's zlib-ng feature,
/// would link a different library, whose output may differ.
pub(crate) fn check_pinned() -> Result<()> {
    // SAFETY: zlibVersion takes nothing and returns a pointer to a static NUL-terminated string.
    let version = unsafe { CStr::from_ptr(libz_sys::zlibVersion()) };
    if version.to_bytes() != ZLIB_VERSION.as_bytes() {
        return Err(Error::RebuildMismatch {
            reason: format!(
                "this build links zlib {version:?}, the patch needs the pinned zlib {ZLIB_VERSION}"
            ),
        });
    }
    Ok(())
}

/// What [`deflate`]'s sink says after each piece of output.
pub(crate) enum Flow {
    Continue,
    /// Stop compressing; [`deflate`] returns `Ok(false)`.
    Stop,
}

/// Compresses `raw` as one raw deflate stream with `params`, handing the output to `sink` in
/// pieces of up to 64 KiB, in order. Returns `Ok(false)` if the sink stopped it early.
/// Memory: zlib's state for `params` (at most about 400 KiB) and one piece.
pub(crate) fn deflate(
    raw: &[u8],
    params: Params,
    mut sink: impl FnMut(&[u8]) -> Result<Flow>,
) -> Result<bool> {
    if !params.is_valid() {
        return Err(Error::corrupt(format!("invalid deflate parameters {params:?}")));
    }
    let mut stream = Stream::new(params)?;
    let mut out = vec![0u8; PIECE];
    let mut input = raw;
    loop {
        let take = input.len().min(PIECE);
        let flush = if take == input.len() { libz_sys::Z_FINISH } else { libz_sys::Z_NO_FLUSH };
        let (consumed, produced, code) = stream.step(&input[..take], &mut out, flush);
        input = &input[consumed..];
        if produced > 0 && matches!(sink(&out[..produced])?, Flow::Stop) {
            return Ok(false);
        }
        match code {
            libz_sys::Z_STREAM_END => return Ok(true),
            libz_sys::Z_OK | libz_sys::Z_BUF_ERROR => {}
            code => return Err(Error::corrupt(format!("zlib deflate failed with code {code}"))),
        }
    }
}

/// Whether [`deflate`] with `params` gives exactly `packed` from `raw`, stopping at the first
/// byte that differs.
pub(crate) fn reproduces(raw: &[u8], packed: &[u8], params: Params) -> Result<bool> {
    let mut at = 0usize;
    let finished = deflate(raw, params, |piece| {
        let same = packed.get(at..at + piece.len()) == Some(piece);
        at += piece.len();
        Ok(if same { Flow::Continue } else { Flow::Stop })
    })?;
    Ok(finished && at == packed.len())
}

/// The parameters among [`candidates`] (after `hint`, tried first) that reproduce `packed`.
pub(crate) fn find_params(raw: &[u8], packed: &[u8], hint: Option<Params>) -> Result<Option<Params>> {
    for params in hint.into_iter().chain(candidates().filter(|p| Some(*p) != hint)) {
        if reproduces(raw, packed, params)? {
            return Ok(Some(params));
        }
    }
    Ok(None)
}

/// Whether `raw_len` inflated bytes can come from `packed_len` deflated ones.
pub(crate) fn plausible(packed_len: u64, raw_len: u64) -> bool {
    raw_len <= packed_len.saturating_mul(MAX_RATIO).saturating_add(64)
}

/// Inflates the raw deflate stream `packed` into `out`, which must end exactly where the
/// stream does: `packed` consumed to its last byte and `out` filled. Anything else (bad data,
/// a stream that ends early or late, trailing bytes) is an error naming `what`.
pub(crate) fn inflate_exact(packed: &[u8], out: &mut [u8], what: &str) -> std::result::Result<(), String> {
    let mut inflater = Decompress::new(false);
    let mut status;
    loop {
        let (read, written) = (inflater.total_in() as usize, inflater.total_out() as usize);
        status = inflater
            .decompress(&packed[read..], &mut out[written..], FlushDecompress::Finish)
            .map_err(|e| format!("{what}: bad deflate data: {e}"))?;
        let progressed = inflater.total_in() as usize != read || inflater.total_out() as usize != written;
        if status == Status::StreamEnd || !progressed {
            break;
        }
    }
    let (read, written) = (inflater.total_in() as usize, inflater.total_out() as usize);
    if status != Status::StreamEnd || read != packed.len() || written != out.len() {
        return Err(format!(
            "{what}: the deflate stream does not span exactly {} bytes inflating to {}",
            packed.len(),
            out.len()
        ));
    }
    Ok(())
}

/// Inflates a raw deflate stream at the start of `packed` into at most `limit` bytes, and
/// returns them with the length of the stream; `None` if it is not one, or inflates beyond
/// `limit`.
pub(crate) fn inflate_prefix(packed: &[u8], limit: u64) -> Option<(Vec<u8>, usize)> {
    let mut inflater = Decompress::new(false);
    let mut out = Vec::new();
    loop {
        let room = (out.len() as u64 + PIECE as u64).min(limit.saturating_add(1));
        out.try_reserve(room as usize - out.len()).ok()?;
        let read = inflater.total_in() as usize;
        let before = out.len();
        let status = inflater.decompress_vec(&packed[read..], &mut out, FlushDecompress::None).ok()?;
        if out.len() as u64 > limit {
            return None;
        }
        if status == Status::StreamEnd {
            return Some((out, inflater.total_in() as usize));
        }
        if out.len() == before && inflater.total_in() as usize == read {
            return None;
        }
    }
}

/// A zlib deflate stream, boxed because zlib keeps a pointer to it.
struct Stream(Box<libz_sys::z_stream>);

impl Stream {
    fn new(params: Params) -> Result<Self> {
        let mut stream = Box::new(libz_sys::z_stream {
            next_in: std::ptr::null_mut(),
            avail_in: 0,
            total_in: 0,
            next_out: std::ptr::null_mut(),
            avail_out: 0,
            total_out: 0,
            msg: std::ptr::null_mut(),
            state: std::ptr::null_mut(),
            zalloc,
            zfree,
            opaque: std::ptr::null_mut(),
            data_type: 0,
            adler: 0,
            reserved: 0,
        });
        // SAFETY: `stream` is a valid, initialised z_stream at a stable heap address, with our
        // allocator; the version and size arguments describe the headers libz-sys was built
        // from. On failure zlib frees what it allocated and leaves `state` null.
        let code = unsafe {
            libz_sys::deflateInit2_(
                &mut *stream,
                c_int::from(params.level),
                libz_sys::Z_DEFLATED,
                -c_int::from(params.window_bits),
                c_int::from(params.mem_level),
                c_int::from(params.strategy),
                libz_sys::zlibVersion(),
                std::mem::size_of::<libz_sys::z_stream>() as c_int,
            )
        };
        if code != libz_sys::Z_OK {
            return Err(Error::corrupt(format!("zlib deflateInit2 failed with code {code} for {params:?}")));
        }
        Ok(Stream(stream))
    }

    /// One `deflate` call on `input` (at most [`PIECE`] bytes) into `out`: returns the bytes
    /// consumed and produced, and zlib's return code.
    fn step(&mut self, input: &[u8], out: &mut [u8], flush: c_int) -> (usize, usize, c_int) {
        let stream = &mut *self.0;
        // zlib never writes through next_in; the cast only matches its C signature.
        stream.next_in = input.as_ptr().cast_mut();
        stream.avail_in = input.len() as c_uint;
        stream.next_out = out.as_mut_ptr();
        stream.avail_out = out.len() as c_uint;
        // SAFETY: the stream was initialised by deflateInit2_ and not ended; next_in/avail_in
        // and next_out/avail_out describe live buffers of those lengths (both under 4 GiB),
        // which outlive the call. zlib reads and writes only within them.
        let code = unsafe { libz_sys::deflate(stream, flush) };
        let consumed = input.len() - stream.avail_in as usize;
        let produced = out.len() - stream.avail_out as usize;
        (stream.next_in, stream.next_out) = (std::ptr::null_mut(), std::ptr::null_mut());
        (consumed, produced, code)
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        // SAFETY: the stream was initialised by deflateInit2_ (`new` returns no Stream
        // otherwise) and is ended exactly once, here.
        unsafe { libz_sys::deflateEnd(&mut *self.0) };
    }
}

/// zlib's allocator: zeroed memory from the C heap. Returns null on failure, which zlib handles.
extern "C" fn zalloc(_opaque: *mut c_void, items: c_uint, size: c_uint) -> *mut c_void {
    // SAFETY: calloc may be called with any sizes; it checks the product for overflow.
    unsafe { libc::calloc(items as libc::size_t, size as libc::size_t) }
}

/// zlib's deallocator for what [`zalloc`] returned.
extern "C" fn zfree(_opaque: *mut c_void, address: *mut c_void) {
    // SAFETY: zlib passes only pointers that zalloc returned, each once.
    unsafe { libc::free(address) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        (0..200_000u32).flat_map(|i| format!("line {} of {}\n", i % 977, i / 13).into_bytes()).collect()
    }

    fn compress(raw: &[u8], params: Params) -> Vec<u8> {
        let mut out = Vec::new();
        assert!(
            deflate(raw, params, |piece| Ok({
                out.extend_from_slice(piece);
                Flow::Continue
            }))
            .unwrap()
        );
        out
    }

    #[test]
    fn the_linked_zlib_is_the_pinned_one() {
        check_pinned().unwrap();
    }

    #[test]
    fn each_candidate_round_trips_and_is_found_again() {
        let raw = sample();
        for params in candidates().step_by(7) {
            let packed = compress(&raw, params);
            let mut back = vec![0u8; raw.len()];
            inflate_exact(&packed, &mut back, "sample").unwrap();
            assert_eq!(back, raw);
            let found = find_params(&raw, &packed, None).unwrap().expect("found");
            assert!(reproduces(&raw, &packed, found).unwrap());
            assert_eq!(compress(&raw, found), packed, "{params:?} vs {found:?}");
        }
    }

    #[test]
    fn a_stream_of_another_encoder_is_not_reproduced() {
        let raw = sample();
        let packed = miniz_oxide::deflate::compress_to_vec(&raw, 3);
        assert_eq!(find_params(&raw, &packed, None).unwrap(), None);
    }

    #[test]
    fn inflate_exact_rejects_wrong_lengths() {
        let raw = sample();
        let packed = compress(&raw, candidates().next().unwrap());
        let mut short = vec![0u8; raw.len() - 1];
        assert!(inflate_exact(&packed, &mut short, "m").is_err());
        let mut long = vec![0u8; raw.len() + 1];
        assert!(inflate_exact(&packed, &mut long, "m").is_err());
        let mut right = vec![0u8; raw.len()];
        assert!(inflate_exact(&packed[..packed.len() - 1], &mut right, "m").is_err());
        assert!(inflate_exact(&[packed.clone(), vec![0]].concat(), &mut right, "m").is_err());
        assert_eq!(inflate_prefix(&packed, raw.len() as u64 - 1), None);
        assert_eq!(
            inflate_prefix(&[packed.clone(), vec![7]].concat(), u64::MAX).map(|(_, n)| n),
            Some(packed.len())
        );
    }
}
