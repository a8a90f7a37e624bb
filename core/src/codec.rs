//! The compressors of chunk streams: zstd and raw LZMA2 (xz's codec), each optionally against a
//! dictionary taken from the old file, and "stored" for streams that compression does not
//! shrink. [`Codec`] is the caller's choice of candidates; [`StreamCodec`] is what one stream
//! of one chunk was written with.

use std::fmt;

use zstd::zstd_safe::{CCtx, CParameter, DCtx, get_error_name};

use crate::error::{Error, Result};

/// Which compressors diff tries on each chunk stream; each stream keeps the smallest result,
/// or is stored raw when none shrinks it.
///
/// Measured on the dev pairs (README, "Benchmarks"): [`Codec::Xz`] makes patches 7-12% smaller
/// than [`Codec::Zstd`] at the same level, and applies several times slower.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Codec {
    /// zstd frames (RFC 8878) or stored: patches 5-8% larger than [`Codec::Xz`] on the dev
    /// pairs, applied about twice as fast.
    Zstd,
    /// Raw LZMA2 streams, as inside xz files, or stored: the default, for the smallest patches.
    #[default]
    Xz,
    /// zstd, LZMA2 or stored, whichever is smallest per stream: both are tried, so diff takes
    /// about as long as with both other choices together.
    Auto,
}

impl Codec {
    /// The codec a version-2 header's `codec` field names, if any (version 1 is always zstd).
    pub(crate) fn from_v2_id(id: u16) -> Option<Self> {
        match id {
            0 => Some(Codec::Zstd),
            1 => Some(Codec::Xz),
            _ => None,
        }
    }

    /// The compressors this choice tries, besides storing.
    fn candidates(self) -> &'static [StreamCodec] {
        match self {
            Codec::Zstd => &[StreamCodec::Zstd],
            Codec::Xz => &[StreamCodec::Lzma2],
            Codec::Auto => &[StreamCodec::Zstd, StreamCodec::Lzma2],
        }
    }

    /// How every non-empty stream of a version-1 or version-2 patch with this codec is stored.
    pub(crate) fn legacy_stream_codec(self) -> StreamCodec {
        if self == Codec::Xz { StreamCodec::Lzma2 } else { StreamCodec::Zstd }
    }

    /// Compresses `raw` (against `dict`, possibly empty) with each candidate and returns the
    /// smallest result, or `raw` itself as [`StreamCodec::Stored`] when none is smaller.
    /// An empty stream is always stored.
    pub(crate) fn smallest(self, raw: &[u8], level: i32, dict: &[u8]) -> Result<(StreamCodec, Vec<u8>)> {
        self.smallest_with(raw, level, dict, Effort::Full)
    }

    /// [`Codec::smallest`] for ranking one encoding of some bytes against another before
    /// packing the winner with [`Codec::smallest`]: below level 20, LZMA2 at preset 3 at most
    /// (hash chains instead of binary trees), which is many times faster on the long runs of
    /// zeros of a diff stream. Measured on the one-literal alternative of the diff stream
    /// (bytes at this effort ÷ at the full one): 1.08–1.19 on ruff's chunks, 1.25 on
    /// pydantic-core's; 2 threads' diff CPU, ruff 10.7 → 8.2 s, pydantic-core 1.8 → 0.7 s.
    pub(crate) fn smallest_trial(self, raw: &[u8], level: i32) -> Result<(StreamCodec, Vec<u8>)> {
        self.smallest_with(raw, level, &[], Effort::Trial)
    }

    fn smallest_with(
        self,
        raw: &[u8],
        level: i32,
        dict: &[u8],
        effort: Effort,
    ) -> Result<(StreamCodec, Vec<u8>)> {
        let mut best: Option<(StreamCodec, Vec<u8>)> = None;
        if !raw.is_empty() {
            for &codec in self.candidates() {
                let packed = codec.compress_with(raw, level, dict, effort)?;
                if packed.len() < best.as_ref().map_or(raw.len(), |(_, bytes)| bytes.len()) {
                    best = Some((codec, packed));
                }
            }
        }
        // The stored copy is made only when no codec wins, not held beside the encoders.
        Ok(best.unwrap_or_else(|| (StreamCodec::Stored, raw.to_vec())))
    }
}

impl fmt::Display for Codec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Codec::Zstd => "zstd",
            Codec::Xz => "xz",
            Codec::Auto => "auto",
        })
    }
}

/// How one stream of one chunk is stored in the patch (format version 3's per-stream codec
/// byte; in versions 1 and 2, the header's codec for non-empty streams).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StreamCodec {
    /// The raw bytes themselves; every empty stream is stored.
    Stored,
    /// One or more zstd frames.
    Zstd,
    /// One raw LZMA2 stream.
    Lzma2,
    /// Version 3, a group member's `diff_ctrl` or `diff_code`: no bytes of its own; its
    /// content is its slice of the group's stream, which the group's first chunk stores.
    InGroup,
}

/// The largest stream LZMA2 compresses in "extreme" mode at level 19 (the default).
///
/// Measured at level 19 with 2 threads (`diff` user CPU seconds and patch bytes, extreme on
/// every stream → on streams up to this size): ruff 17.3 → 10.3 s at the same 2,515,406 bytes;
/// cmake-tar 64.7 → 34.1 s, 1,761,565 → 1,764,968 (+0.19%); synth 19.2 → 10.0 s at the same
/// size; ruff-jump 57.7 → 54.4 s and 1 KB smaller. Most of the time saved was the 4 MiB
/// one-literal alternative of each chunk's diff stream, which rarely wins.
pub(crate) const EXTREME_MAX_LEN: usize = 1 << 20;

/// How hard LZMA2 works at a level.
#[derive(Clone, Copy)]
enum Effort {
    /// As [`StreamCodec::compress`] says.
    Full,
    /// As [`Codec::smallest_trial`] says.
    Trial,
}

impl StreamCodec {
    /// The codec byte of a version-3 chunk table entry.
    pub(crate) fn id(self) -> u8 {
        match self {
            StreamCodec::Stored => 0,
            StreamCodec::Zstd => 1,
            StreamCodec::Lzma2 => 2,
            StreamCodec::InGroup => 3,
        }
    }

    /// The codec a version-3 codec byte names, if any.
    pub(crate) fn from_id(id: u8) -> Option<Self> {
        match id {
            0 => Some(StreamCodec::Stored),
            1 => Some(StreamCodec::Zstd),
            2 => Some(StreamCodec::Lzma2),
            3 => Some(StreamCodec::InGroup),
            _ => None,
        }
    }

    /// Compresses one non-empty stream against `dict` (empty: none); `level` is a zstd
    /// level, capped at preset 9 for LZMA2, which is made "extreme" from level 19 for streams of
    /// at most [`EXTREME_MAX_LEN`] bytes and from level 20 for every stream.
    pub(crate) fn compress(self, raw: &[u8], level: i32, dict: &[u8]) -> Result<Vec<u8>> {
        self.compress_with(raw, level, dict, Effort::Full)
    }

    fn compress_with(self, raw: &[u8], level: i32, dict: &[u8], effort: Effort) -> Result<Vec<u8>> {
        match self {
            StreamCodec::Stored => Ok(raw.to_vec()),
            StreamCodec::Zstd => {
                zstd_compress(raw, level, dict).map_err(|e| Error::io("zstd compression", e))
            }
            StreamCodec::Lzma2 => {
                let preset = lzma2::preset(level, raw.len(), effort);
                let window = match effort {
                    Effort::Trial if level < 20 => lzma2::TRIAL_WINDOW,
                    _ => lzma2::MAX_DICT,
                };
                lzma2::compress(raw, preset, dict, window).map_err(|e| Error::io("xz compression", e))
            }
            StreamCodec::InGroup => Err(Error::invalid("an in-group stream has no bytes to compress")),
        }
    }

    /// Decompresses `src` into exactly `dst.len()` bytes, against `dict` (empty: none); an
    /// empty `src` must mean an empty `dst`. Memory: for LZMA2, a dictionary of at most
    /// `clamp(dst.len() + dict.len(), 4 KiB, 64 MiB)` bytes; zstd decodes straight into `dst`.
    pub(crate) fn decompress_exact(
        self,
        src: &[u8],
        dst: &mut [u8],
        dict: &[u8],
    ) -> std::result::Result<(), String> {
        if src.is_empty() {
            return if dst.is_empty() { Ok(()) } else { Err("missing".into()) };
        }
        let written = match self {
            StreamCodec::Stored if src.len() == dst.len() => {
                dst.copy_from_slice(src);
                dst.len()
            }
            StreamCodec::Stored => src.len(),
            StreamCodec::Zstd => zstd_decompress(src, dst, dict)?,
            StreamCodec::Lzma2 => lzma2::decompress(src, dst, dict)?,
            StreamCodec::InGroup => return Err("an in-group stream has no bytes of its own".into()),
        };
        if written != dst.len() {
            return Err(format!("decompressed to {written} bytes, expected {}", dst.len()));
        }
        Ok(())
    }
}

impl fmt::Display for StreamCodec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StreamCodec::Stored => "stored",
            StreamCodec::Zstd => "zstd",
            StreamCodec::Lzma2 => "xz",
            StreamCodec::InGroup => "group",
        })
    }
}

/// Largest zstd window a dictionary makes diff ask for (128 MiB, zstd's default decoder limit).
const ZSTD_MAX_WINDOW_LOG: u32 = 27;

fn zstd_error(code: usize) -> std::io::Error {
    std::io::Error::other(get_error_name(code))
}

/// One zstd frame without checksum (blake3 covers the output) or dictionary id; with a
/// dictionary, `dict` is a raw-content prefix and the window covers it and `raw`.
fn zstd_compress(raw: &[u8], level: i32, dict: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut cctx = CCtx::create();
    let mut params = vec![
        CParameter::CompressionLevel(level),
        CParameter::ChecksumFlag(false),
        CParameter::DictIdFlag(false),
    ];
    if !dict.is_empty() {
        let span = (dict.len() + raw.len()).next_power_of_two().trailing_zeros();
        params.push(CParameter::WindowLog(span.clamp(10, ZSTD_MAX_WINDOW_LOG)));
    }
    for param in params {
        cctx.set_parameter(param).map_err(zstd_error)?;
    }
    if !dict.is_empty() {
        cctx.ref_prefix(dict).map_err(zstd_error)?;
    }
    let mut out = Vec::with_capacity(zstd::zstd_safe::compress_bound(raw.len()));
    cctx.compress2(&mut out, raw).map_err(zstd_error)?;
    // The bound is about the raw length; a kept stream must not hold it.
    out.shrink_to_fit();
    Ok(out)
}

/// Decodes zstd frames into `dst` against the prefix `dict`, returning the bytes written.
fn zstd_decompress(src: &[u8], dst: &mut [u8], dict: &[u8]) -> std::result::Result<usize, String> {
    let mut dctx = DCtx::create();
    if !dict.is_empty() {
        dctx.ref_prefix(dict).map_err(|code| get_error_name(code).to_string())?;
    }
    dctx.decompress(dst, src).map_err(|code| get_error_name(code).to_string())
}

/// Raw LZMA2 through liblzma's C API, which (unlike the `liblzma` crate) takes a preset
/// dictionary.
mod lzma2 {
    use std::ffi::c_void;

    use liblzma_sys as sys;

    use super::{EXTREME_MAX_LEN, Effort};

    /// The LZMA2 dictionary, and so the farthest match distance, is the stream's length plus
    /// its preset dictionary's, within these bounds (`FORMAT.md`, versions 2 and 3).
    const MIN_DICT: usize = 4 << 10;
    pub(super) const MAX_DICT: usize = 64 << 20;

    /// The window of a trial encoder ([`super::Codec::smallest_trial`]): its hash chains take
    /// about 7.5 bytes per byte of window, and a trial of a chunk's 4 MiB one-literal diff
    /// stream held 32 MB with the stream's whole length. Measured (`diff -q --threads 2`):
    /// peak RSS pydantic-core 80 -> 58 MB, ruff 197 -> 178 MB, every dev pair's patch the same;
    /// trial sizes (xz preset 3, 4 MiB against 256 KiB) within 0.5% on the dumped streams.
    pub(super) const TRIAL_WINDOW: usize = 256 << 10;

    /// A preset dictionary at least this many times longer than its stream is searched by hash
    /// chains instead of binary trees: liblzma first inserts the whole dictionary into its
    /// match finder, and a binary tree's insertions cost far more than a chain's. On
    /// pydantic-core, loading the 1 MiB window of a 2 KB extra stream took about 40% of the
    /// diff's CPU (perf: `bt_skip_func` under `lzma_lz_encoder_init`).
    const CHAIN_DICT_RATIO: usize = 16;

    /// How many chain links a hash-chain search may follow over its whole stream: its depth is
    /// this over the stream's length, which bounds its worst case (every position of a long
    /// chain matching less than `nice_len`) near that of the binary tree's depth-512 load of
    /// a 1 MiB dictionary. Measured against the binary tree (`diff -q --threads 2`): synth
    /// 46,441 bytes both, diff 3.3 s against 4.9 s; pydantic-core 20,655 both, 0.33 s against
    /// 0.45 s; a fixed depth of 4,000 cost synth 17 bytes, 20,000 cost 5.
    const CHAIN_LINKS: usize = 1 << 28;

    /// An initialised raw LZMA2 coder, ended on drop.
    struct Coder(sys::lzma_stream);

    impl Drop for Coder {
        fn drop(&mut self) {
            // SAFETY: the stream was initialised by lzma_raw_encoder or lzma_raw_decoder.
            unsafe { sys::lzma_end(&mut self.0) };
        }
    }

    impl Coder {
        /// A raw LZMA2 encoder or decoder at `preset` for a stream of `len` bytes, with `dict`
        /// (empty: none) as its preset dictionary, and a window of at most `max_window` bytes
        /// (an encoder's window may be smaller than the decoder's, never larger).
        fn new(
            encoder: bool,
            preset: u32,
            len: usize,
            dict: &[u8],
            max_window: usize,
        ) -> Result<Self, String> {
            // SAFETY: all zeros is a valid lzma_options_lzma (integers, null pointers), which
            // lzma_lzma_preset then fills in.
            let mut options: sys::lzma_options_lzma = unsafe { std::mem::zeroed() };
            // SAFETY: `options` is a valid, writable lzma_options_lzma.
            if unsafe { sys::lzma_lzma_preset(&mut options, preset) } != 0 {
                return Err(format!("unsupported LZMA2 preset {preset:#x}"));
            }
            let window = len.saturating_add(dict.len());
            let window = if encoder { encoder_window(window) } else { window };
            options.dict_size = window.clamp(MIN_DICT, max_window.clamp(MIN_DICT, MAX_DICT)) as u32;
            if !dict.is_empty() {
                (options.preset_dict, options.preset_dict_size) = (dict.as_ptr(), dict.len() as u32);
            }
            if let Some(depth) =
                chain_depth(len, dict.len()).filter(|_| encoder && options.mf == sys::LZMA_MF_BT4)
            {
                (options.mf, options.depth) = (sys::LZMA_MF_HC4, depth);
            }
            let filters = [
                sys::lzma_filter { id: sys::LZMA_FILTER_LZMA2, options: (&raw mut options).cast::<c_void>() },
                sys::lzma_filter { id: sys::LZMA_VLI_UNKNOWN, options: std::ptr::null_mut() },
            ];
            // SAFETY: all zeros is LZMA_STREAM_INIT.
            let mut coder = Coder(unsafe { std::mem::zeroed() });
            // SAFETY: `filters` is terminated and its options (and the preset dictionary, which
            // liblzma copies during initialisation) outlive this call.
            let ret = unsafe {
                if encoder {
                    sys::lzma_raw_encoder(&mut coder.0, filters.as_ptr())
                } else {
                    sys::lzma_raw_decoder(&mut coder.0, filters.as_ptr())
                }
            };
            if ret != sys::LZMA_OK {
                // Not initialised: nothing for lzma_end to free.
                std::mem::forget(coder);
                return Err(format!("LZMA2 initialisation failed ({ret})"));
            }
            Ok(coder)
        }

        /// Codes all of `src` into `dst` with LZMA_FINISH until the stream ends or stops
        /// moving; returns (bytes read, bytes written, whether the stream ended).
        fn finish(&mut self, src: &[u8], dst: &mut [u8]) -> Result<(usize, usize, bool), String> {
            let stream = &mut self.0;
            (stream.next_in, stream.avail_in) = (src.as_ptr(), src.len());
            (stream.next_out, stream.avail_out) = (dst.as_mut_ptr(), dst.len());
            loop {
                let before = (stream.avail_in, stream.avail_out);
                // SAFETY: next_in and next_out point into `src` and `dst` with their sizes,
                // both borrowed for the whole loop.
                let ret = unsafe { sys::lzma_code(stream, sys::LZMA_FINISH) };
                let moved = (stream.avail_in, stream.avail_out) != before;
                let done = (src.len() - stream.avail_in, dst.len() - stream.avail_out);
                match ret {
                    sys::LZMA_STREAM_END => return Ok((done.0, done.1, true)),
                    sys::LZMA_OK if moved => {}
                    sys::LZMA_OK | sys::LZMA_BUF_ERROR => return Ok((done.0, done.1, false)),
                    other => return Err(format!("corrupt LZMA2 data (liblzma error {other})")),
                }
            }
        }
    }

    /// The encoder's window for a stream and preset dictionary of `window` bytes together:
    /// `window`, or the power of two below it where `window` passes that by at most an eighth.
    /// liblzma sizes its 4-byte hash table by the window rounded up to a power of two, so a
    /// window just past one (a 4 MiB extra stream against its 4.5 MiB dictionary) doubled the
    /// table. Measured (`diff -q --threads 2`): ruff-jump's peak RSS 358 -> 324 MB for 208
    /// bytes more (0.003%); pydantic-core 51 -> 48 MB; ruff, cmake-tar and synth within
    /// 2 bytes. The decoder's window stays `window`, so the stream decodes as before.
    pub(super) fn encoder_window(window: usize) -> usize {
        let Some(floor) = window.checked_ilog2().map(|bits| 1usize << bits) else { return window };
        if window - floor <= floor / 8 { floor } else { window }
    }

    /// The hash-chain depth for a `len`-byte stream with a `dict_len`-byte preset dictionary,
    /// when its dictionary is long enough for chains to replace binary trees
    /// ([`CHAIN_DICT_RATIO`], [`CHAIN_LINKS`]).
    pub(super) fn chain_depth(len: usize, dict_len: usize) -> Option<u32> {
        let len = len.max(1);
        (dict_len / CHAIN_DICT_RATIO >= len).then(|| (CHAIN_LINKS / len).min(u32::MAX as usize) as u32)
    }

    /// The preset for a stream of `len` bytes at `level` and `effort`.
    pub(super) fn preset(level: i32, len: usize, effort: Effort) -> u32 {
        let base = match effort {
            Effort::Trial if level < 20 => level.clamp(0, 3),
            _ => level.clamp(0, 9),
        };
        let extreme = match effort {
            _ if level >= 20 => true,
            Effort::Trial => false,
            Effort::Full => level >= 19 && len <= EXTREME_MAX_LEN,
        };
        base as u32 | if extreme { sys::LZMA_PRESET_EXTREME } else { 0 }
    }

    /// One raw LZMA2 stream with its end marker, at `preset` (from [`preset`]), in a window of
    /// at most `max_window` bytes.
    pub(super) fn compress(
        raw: &[u8],
        preset: u32,
        dict: &[u8],
        max_window: usize,
    ) -> std::io::Result<Vec<u8>> {
        let mut coder =
            Coder::new(true, preset, raw.len(), dict, max_window).map_err(std::io::Error::other)?;
        // LZMA2 stores an incompressible 64 KiB as itself plus 3 bytes; this bounds the output.
        let mut out = vec![0u8; raw.len() + 3 * (raw.len() >> 16) + 64];
        match coder.finish(raw, &mut out).map_err(std::io::Error::other)? {
            (read, written, true) if read == raw.len() => {
                out.truncate(written);
                // The bound is the raw length; a kept stream must not hold it.
                out.shrink_to_fit();
                Ok(out)
            }
            _ => Err(std::io::Error::other("LZMA2 output exceeds its bound")),
        }
    }

    /// Decodes a raw LZMA2 stream into `dst`, returning the bytes written. Fails if the stream
    /// is broken, ends early, continues past `dst`, or is followed by other bytes.
    pub(super) fn decompress(src: &[u8], dst: &mut [u8], dict: &[u8]) -> Result<usize, String> {
        let mut coder = Coder::new(false, 0, dst.len(), dict, MAX_DICT)?;
        let dst_len = dst.len();
        match coder.finish(src, dst)? {
            (read, written, true) if read == src.len() => Ok(written),
            (read, _, true) => Err(format!("{} bytes follow the end of the stream", src.len() - read)),
            (_, written, false) if written == dst_len => {
                Err("the stream continues past its stated size".into())
            }
            _ => Err("the stream ends early".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        (0..100_000u32).map(|i| (i % 251) as u8 ^ (i / 1000) as u8).collect()
    }

    fn noise(len: usize) -> Vec<u8> {
        crate::diff::tests::noise(0x9e37_79b9_7f4a_7c15, len)
    }

    const COMPRESSORS: [StreamCodec; 2] = [StreamCodec::Zstd, StreamCodec::Lzma2];

    fn round_trip(codec: StreamCodec, raw: &[u8], dict: &[u8]) -> Vec<u8> {
        let compressed = codec.compress(raw, 19, dict).unwrap();
        let mut out = vec![0u8; raw.len()];
        codec.decompress_exact(&compressed, &mut out, dict).unwrap();
        assert_eq!(out, raw, "{codec}");
        compressed
    }

    #[test]
    fn every_codec_round_trips_exactly() {
        for codec in [StreamCodec::Stored, StreamCodec::Zstd, StreamCodec::Lzma2] {
            for raw in [sample(), vec![7u8], vec![0u8; 70_000]] {
                round_trip(codec, &raw, &[]);
            }
        }
    }

    #[test]
    fn a_dictionary_round_trips_and_shrinks_data_that_repeats_it() {
        let dict = noise(200_000);
        let raw: Vec<u8> = dict[50_000..120_000].iter().chain(&dict[10_000..30_000]).copied().collect();
        for codec in COMPRESSORS {
            let with = round_trip(codec, &raw, &dict).len();
            let without = round_trip(codec, &raw, &[]).len();
            assert!(with * 20 < without, "{codec}: {with} bytes with the dictionary, {without} without");
            let mut out = vec![0u8; raw.len()];
            let compressed = codec.compress(&raw, 19, &dict).unwrap();
            let decoded = codec.decompress_exact(&compressed, &mut out, &dict[..dict.len() - 1]);
            assert!(decoded.is_err() || out != raw, "{codec}: decodes against the wrong dictionary");
        }
    }

    #[test]
    fn every_zstd_frame_of_a_stream_uses_the_dictionary() {
        let dict = noise(50_000);
        // Copies: zstd must not see the data inside the dictionary's own buffer.
        let (first, second) = (dict[1000..9000].to_vec(), dict[20_000..30_000].to_vec());
        let mut frames = StreamCodec::Zstd.compress(&first, 3, &dict).unwrap();
        frames.extend(StreamCodec::Zstd.compress(&second, 3, &dict).unwrap());
        assert!(frames.len() < 1000, "both frames draw on the dictionary: {} bytes", frames.len());
        let mut out = vec![0u8; first.len() + second.len()];
        StreamCodec::Zstd.decompress_exact(&frames, &mut out, &dict).unwrap();
        assert_eq!(out, [first, second].concat());
    }

    #[test]
    fn smallest_stores_what_does_not_shrink_and_auto_takes_the_smaller() {
        let random = noise(10_000);
        for codec in [Codec::Zstd, Codec::Xz, Codec::Auto] {
            let (chosen, packed) = codec.smallest(&random, 19, &[]).unwrap();
            assert_eq!((chosen, &packed), (StreamCodec::Stored, &random), "{codec}");
            assert_eq!(codec.smallest(&[], 19, &[]).unwrap(), (StreamCodec::Stored, vec![]));
        }
        let raw = sample();
        let zstd = Codec::Zstd.smallest(&raw, 19, &[]).unwrap();
        let xz = Codec::Xz.smallest(&raw, 19, &[]).unwrap();
        assert_eq!((zstd.0, xz.0), (StreamCodec::Zstd, StreamCodec::Lzma2));
        let auto = Codec::Auto.smallest(&raw, 19, &[]).unwrap();
        assert_eq!(auto.1.len(), zstd.1.len().min(xz.1.len()));
    }

    #[test]
    fn short_streams_search_a_long_dictionary_by_bounded_hash_chains() {
        assert_eq!(lzma2::chain_depth(2048, 1 << 20), Some(1 << 17));
        assert_eq!(lzma2::chain_depth(0, 16), Some(1 << 28));
        assert_eq!(lzma2::chain_depth(70_000, 1 << 20), None);
        assert_eq!(lzma2::chain_depth(100, 1599), None);
        let dict = noise(1 << 20);
        let raw: Vec<u8> =
            dict[700_000..702_000].iter().chain(&noise(100)).chain(&dict[5_000..6_000]).copied().collect();
        let with = round_trip(StreamCodec::Lzma2, &raw, &dict).len();
        assert!(with < 250, "{with} bytes for 3,100 bytes that are mostly in the dictionary");
    }

    #[test]
    fn decoders_reject_wrong_sizes_truncation_and_trailing_bytes() {
        let raw = sample();
        for codec in [StreamCodec::Stored, StreamCodec::Zstd, StreamCodec::Lzma2] {
            let compressed = codec.compress(&raw, 6, &[]).unwrap();
            for len in [raw.len() - 1, raw.len() + 1] {
                let mut out = vec![0u8; len];
                assert!(codec.decompress_exact(&compressed, &mut out, &[]).is_err(), "{codec}: dst of {len}");
            }
            let mut out = vec![0u8; raw.len()];
            for cut in [1, compressed.len() / 2, compressed.len() - 1] {
                let result = codec.decompress_exact(&compressed[..cut], &mut out, &[]);
                assert!(result.is_err(), "{codec}: cut at {cut}");
            }
            let mut trailing = compressed.clone();
            trailing.push(0);
            assert!(codec.decompress_exact(&trailing, &mut out, &[]).is_err(), "{codec}: trailing byte");
            let mut flipped = compressed;
            flipped[10] ^= 0x55;
            let _ = codec.decompress_exact(&flipped, &mut out, &[]);
        }
    }

    #[test]
    fn lzma2_is_extreme_by_level_and_size_and_trials_use_hash_chains() {
        use liblzma_sys::LZMA_PRESET_EXTREME as EXTREME;
        let (small, big) = (EXTREME_MAX_LEN, EXTREME_MAX_LEN + 1);
        assert_eq!(lzma2::preset(19, small, Effort::Full), 9 | EXTREME);
        assert_eq!(lzma2::preset(19, big, Effort::Full), 9);
        assert_eq!(lzma2::preset(20, big, Effort::Full), 9 | EXTREME);
        assert_eq!(lzma2::preset(6, small, Effort::Full), 6);
        assert_eq!(lzma2::preset(19, small, Effort::Trial), 3);
        assert_eq!(lzma2::preset(2, big, Effort::Trial), 2);
        assert_eq!(lzma2::preset(22, big, Effort::Trial), 9 | EXTREME);
    }

    #[test]
    fn an_encoder_window_just_past_a_power_of_two_rounds_down_to_it() {
        let mib = 1 << 20;
        assert_eq!(lzma2::encoder_window(8 * mib), 8 * mib);
        assert_eq!(lzma2::encoder_window(8 * mib + mib), 8 * mib);
        assert_eq!(lzma2::encoder_window(8 * mib + mib + 1), 8 * mib + mib + 1);
        assert_eq!(lzma2::encoder_window(7 * mib), 7 * mib);
        assert_eq!(lzma2::encoder_window(0), 0);
        // 64 KiB of dictionary and 8 KiB of stream: the encoder's window is 64 KiB, so the
        // stream's copy of the dictionary's start lies partly out of its reach; it still
        // decodes exactly.
        let dict = noise(64 << 10);
        round_trip(StreamCodec::Lzma2, &dict[..8 << 10], &dict);
    }

    #[test]
    fn a_trial_below_level_20_searches_a_bounded_window() {
        let mut state = 7u64;
        let block: Vec<u8> = (0..lzma2::TRIAL_WINDOW + (64 << 10))
            .map(|_| {
                state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                (state >> 56) as u8
            })
            .collect();
        let raw = [&block[..], &block[..]].concat();
        let (_, trial) = Codec::Xz.smallest_trial(&raw, 19).unwrap();
        let (_, full) = Codec::Xz.smallest(&raw, 19, &[]).unwrap();
        let (_, trial_20) = Codec::Xz.smallest_trial(&raw, 20).unwrap();
        assert!(trial.len() > raw.len() * 9 / 10, "a trial found the repeat beyond its window");
        assert!(full.len() < raw.len() * 6 / 10 && trial_20.len() < raw.len() * 6 / 10);
    }

    #[test]
    fn a_trial_packs_the_same_bytes_back_but_is_only_a_ranking() {
        let raw: Vec<u8> = (0..200_000u32).map(|i| if i % 97 == 0 { (i / 97) as u8 } else { 0 }).collect();
        let (codec, trial) = Codec::Xz.smallest_trial(&raw, 19).unwrap();
        let mut back = vec![0u8; raw.len()];
        codec.decompress_exact(&trial, &mut back, &[]).unwrap();
        assert_eq!(back, raw);
        let (_, full) = Codec::Xz.smallest(&raw, 19, &[]).unwrap();
        assert!(full.len() <= trial.len(), "full {} trial {}", full.len(), trial.len());
    }

    #[test]
    fn ids_round_trip_and_unknown_ids_are_none() {
        for codec in [StreamCodec::Stored, StreamCodec::Zstd, StreamCodec::Lzma2, StreamCodec::InGroup] {
            assert_eq!(StreamCodec::from_id(codec.id()), Some(codec));
        }
        assert_eq!(StreamCodec::from_id(4), None);
        assert_eq!((Codec::from_v2_id(0), Codec::from_v2_id(1)), (Some(Codec::Zstd), Some(Codec::Xz)));
        assert_eq!(Codec::from_v2_id(2), None);
    }
}
