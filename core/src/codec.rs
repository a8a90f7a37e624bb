//! The compressors of chunk streams: zstd, the default, and raw LZMA2 (xz's codec), which a
//! caller may choose for smaller patches at the cost of slower diff and apply.

use std::fmt;

use liblzma::stream::{Action, Filters, LzmaOptions, PRESET_EXTREME, Status, Stream};

use crate::error::{Error, Result};

/// How the streams of every chunk of a patch are compressed.
///
/// Measured on the dev pairs (README, "Benchmarks"): [`Codec::Xz`] makes patches 7-12% smaller
/// than [`Codec::Zstd`] at the same level, and applies several times slower.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Codec {
    /// zstd frames (RFC 8878). Patches with it are written as format version 1.
    #[default]
    Zstd,
    /// Raw LZMA2 streams, as inside xz files, with a dictionary no larger than the stream.
    /// Patches with it are written as format version 2.
    Xz,
}

impl Codec {
    /// The number stored in a version-2 header.
    pub(crate) fn id(self) -> u16 {
        match self {
            Codec::Zstd => 0,
            Codec::Xz => 1,
        }
    }

    /// The codec a version-2 header's number names, if any.
    pub(crate) fn from_id(id: u16) -> Option<Self> {
        match id {
            0 => Some(Codec::Zstd),
            1 => Some(Codec::Xz),
            _ => None,
        }
    }

    /// Compresses one stream; `level` is a zstd level, capped at 9 (plus "extreme" from 19)
    /// for xz. Empty input gives empty output.
    pub(crate) fn compress(self, raw: &[u8], level: i32) -> Result<Vec<u8>> {
        if raw.is_empty() {
            return Ok(Vec::new());
        }
        match self {
            Codec::Zstd => zstd_compress(raw, level),
            Codec::Xz => lzma2_compress(raw, level).map_err(|e| Error::io("xz compression", e)),
        }
    }

    /// Decompresses `src` into exactly `dst.len()` bytes; an empty `src` must mean an empty
    /// `dst`. Memory: for xz, a dictionary of at most `dst.len()` bytes.
    pub(crate) fn decompress_exact(self, src: &[u8], dst: &mut [u8]) -> std::result::Result<(), String> {
        if src.is_empty() {
            return if dst.is_empty() { Ok(()) } else { Err("missing".into()) };
        }
        let written = match self {
            Codec::Zstd => zstd::bulk::Decompressor::new()
                .and_then(|mut d| d.decompress_to_buffer(src, dst))
                .map_err(|e| e.to_string())?,
            Codec::Xz => lzma2_decompress(src, dst)?,
        };
        if written != dst.len() {
            return Err(format!("decompressed to {written} bytes, expected {}", dst.len()));
        }
        Ok(())
    }
}

impl fmt::Display for Codec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Codec::Zstd => "zstd",
            Codec::Xz => "xz",
        })
    }
}

/// One zstd frame without checksum (blake3 covers the output).
fn zstd_compress(raw: &[u8], level: i32) -> Result<Vec<u8>> {
    let compress_error = |e| Error::io("zstd compression", e);
    let mut compressor = zstd::bulk::Compressor::new(level).map_err(compress_error)?;
    compressor.include_checksum(false).map_err(compress_error)?;
    compressor.include_dictid(false).map_err(compress_error)?;
    compressor.compress(raw).map_err(compress_error)
}

/// The LZMA2 dictionary, and so the farthest match distance, is the stream's length within
/// these bounds (`FORMAT.md`, version 2): xz's preset 9 uses the maximum.
const MIN_DICT: usize = 4 << 10;
const MAX_DICT: usize = 64 << 20;

/// LZMA2 filter options with the dictionary of a stream of `len` bytes.
fn lzma2_filters(preset: u32, len: usize) -> std::io::Result<Filters> {
    let mut options = LzmaOptions::new_preset(preset)?;
    options.dict_size(len.clamp(MIN_DICT, MAX_DICT) as u32);
    let mut filters = Filters::new();
    filters.lzma2(&options);
    Ok(filters)
}

fn lzma2_compress(raw: &[u8], level: i32) -> std::io::Result<Vec<u8>> {
    let extreme = if level >= 19 { PRESET_EXTREME } else { 0 };
    let preset = level.clamp(0, 9) as u32 | extreme;
    let mut stream = Stream::new_raw_encoder(&lzma2_filters(preset, raw.len())?)?;
    let mut out = Vec::with_capacity(raw.len() / 4 + 64);
    loop {
        let consumed = stream.total_in() as usize;
        if out.len() == out.capacity() {
            out.reserve(raw.len() / 8 + 64);
        }
        if stream.process_vec(&raw[consumed..], &mut out, Action::Finish)? == Status::StreamEnd {
            return Ok(out);
        }
    }
}

/// Decodes a raw LZMA2 stream into `dst`, returning the bytes written. Fails if the stream
/// is broken, ends early, continues past `dst`, or is followed by other bytes.
fn lzma2_decompress(src: &[u8], dst: &mut [u8]) -> std::result::Result<usize, String> {
    let filters = lzma2_filters(0, dst.len()).map_err(|e| e.to_string())?;
    let mut stream = Stream::new_raw_decoder(&filters).map_err(|e| e.to_string())?;
    loop {
        let (read, written) = (stream.total_in() as usize, stream.total_out() as usize);
        let status =
            stream.process(&src[read..], &mut dst[written..], Action::Finish).map_err(|e| e.to_string())?;
        let (now_read, now_written) = (stream.total_in() as usize, stream.total_out() as usize);
        if status == Status::StreamEnd {
            if now_read != src.len() {
                return Err(format!("{} bytes follow the end of the stream", src.len() - now_read));
            }
            return Ok(now_written);
        }
        if now_read == read && now_written == written {
            return Err(if now_written == dst.len() {
                "the stream continues past its stated size".into()
            } else {
                "the stream ends early".into()
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        (0..100_000u32).map(|i| (i % 251) as u8 ^ (i / 1000) as u8).collect()
    }

    #[test]
    fn both_codecs_round_trip_exactly() {
        for codec in [Codec::Zstd, Codec::Xz] {
            for raw in [sample(), vec![7u8], vec![0u8; 70_000]] {
                let compressed = codec.compress(&raw, 19).unwrap();
                let mut out = vec![0u8; raw.len()];
                codec.decompress_exact(&compressed, &mut out).unwrap();
                assert_eq!(out, raw, "{codec}");
            }
        }
    }

    #[test]
    fn xz_rejects_wrong_sizes_truncation_and_trailing_bytes() {
        let raw = sample();
        let compressed = Codec::Xz.compress(&raw, 6).unwrap();
        for len in [raw.len() - 1, raw.len() + 1] {
            let mut out = vec![0u8; len];
            assert!(Codec::Xz.decompress_exact(&compressed, &mut out).is_err(), "dst of {len}");
        }
        let mut out = vec![0u8; raw.len()];
        for cut in [1, compressed.len() / 2, compressed.len() - 1] {
            assert!(Codec::Xz.decompress_exact(&compressed[..cut], &mut out).is_err(), "cut at {cut}");
        }
        let mut trailing = compressed.clone();
        trailing.push(0);
        assert!(Codec::Xz.decompress_exact(&trailing, &mut out).is_err());
        let mut flipped = compressed;
        flipped[10] ^= 0x55;
        let _ = Codec::Xz.decompress_exact(&flipped, &mut out);
    }

    #[test]
    fn ids_round_trip_and_unknown_ids_are_none() {
        for codec in [Codec::Zstd, Codec::Xz] {
            assert_eq!(Codec::from_id(codec.id()), Some(codec));
        }
        assert_eq!(Codec::from_id(2), None);
    }
}
