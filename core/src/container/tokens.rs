//! The token rebuild method (`CONTAINER-FORMAT.md`, "Version 2"): any raw deflate stream,
//! whatever encoder made it, split into its inflated bytes and its *structure* (block headers
//! verbatim, the match layout, the final padding), and made again exactly from the two.
//!
//! [`parse`] is an inflater that records the structure; [`huff`] re-encodes the Huffman
//! layer from the inflated bytes and the structure. Diff records a member for this method
//! only after [`huff`] reproduced its deflated bytes, and apply calls the same function.
//! Every length is bounded by the bytes present, and hostile structure bytes give
//! [`crate::ErrorKind::Corrupt`] (or stop at the caller's length limit), never a panic.
//!
//! Structure layout, byte oriented so the file engine can match it against an old one:
//!
//! ```text
//! block* (up to and including the one whose BFINAL bit is set), then pad (u8)
//! block = header_bits (varint), header (ceil(header_bits / 8) bytes, LSB first),
//!         and for Huffman blocks only:
//!         match_count (varint), match_count x { literal_run (varint), length - 3 (u8),
//!         distance - 1 (u16 LE) }, final_literal_run (varint)
//! ```
//!
//! A stored block's header is its 3 header bits, the padding to a byte boundary and
//! LEN/NLEN; its LEN bytes come from the inflated bytes. `pad` holds the bits after the
//! final block up to the stream's last byte boundary.

use super::deflate::Flow;
use crate::error::{Error, Result};

/// Most bits a block header can take: a dynamic header is at most 3 + 14 + 19 * 3 + 316 * 14
/// bits; a stored one 3 + 7 + 32.
const MAX_HEADER_BITS: u64 = 4_500;
/// Most structure bytes per deflated byte (a 4-byte match record per 2 bits), plus slack.
const MAX_STRUCTURE_RATIO: u64 = 16;
/// Deflate's window.
const WINDOW: usize = 32_768;
/// Bytes handed to [`huff`]'s sink at a time.
const PIECE: usize = 64 << 10;
/// Bytes of one match record after its literal run: length - 3 and distance - 1.
const MATCH_FIXED_LEN: usize = 3;

const LENGTH_BASE: [u16; 29] = [
    3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195,
    227, 258,
];
const LENGTH_EXTRA: [u8; 29] =
    [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];
const DISTANCE_BASE: [u16; 30] = [
    1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073,
    4097, 6145, 8193, 12289, 16385, 24577,
];
const DISTANCE_EXTRA: [u8; 30] =
    [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13];
/// The order in which a dynamic header lists the code-length code's lengths.
const CODE_LENGTH_ORDER: [usize; 19] = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];
const END_OF_BLOCK: usize = 256;

/// Whether `structure_len` structure bytes can describe a stream of `packed_len` bytes.
pub(crate) fn plausible(packed_len: u64, structure_len: u64) -> bool {
    structure_len >= 2 && structure_len <= packed_len.saturating_mul(MAX_STRUCTURE_RATIO).saturating_add(16)
}

/// A raw deflate stream split by [`parse`].
pub(crate) struct Parsed {
    pub(crate) raw: Vec<u8>,
    pub(crate) structure: Vec<u8>,
}

/// Inflates the raw deflate stream `packed`, which must inflate to exactly `raw_len` bytes and
/// end at its last byte, and records its structure. Memory: the two outputs (`raw_len`, and at
/// most [`MAX_STRUCTURE_RATIO`] bytes per deflated byte) and two decoding tables.
pub(crate) fn parse(packed: &[u8], raw_len: u64) -> Result<Parsed> {
    let raw_len = usize::try_from(raw_len).map_err(|_| bad("an inflated length beyond memory"))?;
    let mut raw = Vec::new();
    raw.try_reserve_exact(raw_len).map_err(|_| bad("an inflated length beyond memory"))?;
    let mut parser = Parser { bits: BitReader::new(packed, 0), raw, raw_len, structure: Vec::new() };
    loop {
        if parser.block()? {
            break;
        }
    }
    let pad_len = parser.bits.bits_to_boundary();
    let pad = parser.bits.take(pad_len)?;
    parser.structure.push(pad as u8);
    if parser.bits.position() != packed.len() as u64 * 8 {
        return Err(bad("a deflate stream that ends before its last byte"));
    }
    if parser.raw.len() != raw_len {
        return Err(bad("a deflate stream that inflates to another length"));
    }
    Ok(Parsed { raw: parser.raw, structure: parser.structure })
}

struct Parser<'a> {
    bits: BitReader<'a>,
    raw: Vec<u8>,
    raw_len: usize,
    structure: Vec<u8>,
}

impl Parser<'_> {
    /// Parses one block; returns whether it was the final one.
    fn block(&mut self) -> Result<bool> {
        let start = self.bits.position();
        let header = read_header(&mut self.bits)?;
        let header_bits = self.bits.position() - start;
        put_varint(&mut self.structure, header_bits);
        copy_bits(self.bits.data, start, header_bits, &mut self.structure);
        match &header.codes {
            Codes::Stored(len) => {
                let at = (self.bits.position() / 8) as usize;
                let bytes =
                    self.bits.data.get(at..at + *len as usize).ok_or_else(|| bad("a cut stored block"))?;
                self.push_raw(bytes)?;
                self.bits.skip(u64::from(*len) * 8)?;
            }
            Codes::Huffman(lengths) => self.huffman_block(lengths)?,
        }
        Ok(header.is_final)
    }

    fn push_raw(&mut self, bytes: &[u8]) -> Result<()> {
        if self.raw.len() + bytes.len() > self.raw_len {
            return Err(bad("a deflate stream that inflates beyond its length"));
        }
        self.raw.extend_from_slice(bytes);
        Ok(())
    }

    fn huffman_block(&mut self, lengths: &CodeLengths) -> Result<()> {
        let literals = Decoder::new(&lengths.literal)?;
        let distances = Decoder::new(&lengths.distance)?;
        let (mut records, mut matches, mut literal_run) = (Vec::new(), 0u64, 0u64);
        loop {
            let symbol = literals.decode(&mut self.bits)?;
            if symbol < END_OF_BLOCK {
                self.push_raw(&[symbol as u8])?;
                literal_run += 1;
                continue;
            }
            if symbol == END_OF_BLOCK {
                break;
            }
            let length = read_length(&mut self.bits, symbol)?;
            let distance_code = distances.decode(&mut self.bits)?;
            let distance = read_distance(&mut self.bits, distance_code)?;
            self.copy_match(length, distance)?;
            put_varint(&mut records, literal_run);
            records.push((length - 3) as u8);
            records.extend_from_slice(&((distance - 1) as u16).to_le_bytes());
            (matches, literal_run) = (matches + 1, 0);
        }
        put_varint(&mut self.structure, matches);
        self.structure.extend_from_slice(&records);
        put_varint(&mut self.structure, literal_run);
        Ok(())
    }

    fn copy_match(&mut self, length: usize, distance: usize) -> Result<()> {
        if distance > self.raw.len() {
            return Err(bad("a match reaching before the stream's start"));
        }
        if self.raw.len() + length > self.raw_len {
            return Err(bad("a deflate stream that inflates beyond its length"));
        }
        let from = self.raw.len() - distance;
        for i in 0..length {
            let byte = self.raw[from + i];
            self.raw.push(byte);
        }
        Ok(())
    }
}

/// Deflates `raw` again as `structure` describes, handing the stream to `sink` in pieces of
/// about 64 KiB, in order. Returns `Ok(false)` if the sink stopped it. Every record is
/// checked against the bytes left (a corrupt structure is [`crate::ErrorKind::Corrupt`]);
/// whether its matches agree with `raw` is not: the caller checks the output's CRC-32 and
/// the new file's hash. Memory: two code tables and one piece.
pub(crate) fn huff(
    raw: &[u8],
    structure: &[u8],
    mut sink: impl FnMut(&[u8]) -> Result<Flow>,
) -> Result<bool> {
    let mut huffer = Huffer {
        raw,
        at: 0,
        structure: Cursor(structure),
        out: BitWriter::default(),
        sink: &mut sink,
        stopped: false,
    };
    loop {
        let is_final = huffer.block()?;
        if huffer.stopped {
            return Ok(false);
        }
        if is_final {
            break;
        }
    }
    let pad_len = huffer.out.bits_to_boundary();
    let pad = huffer.structure.byte()?;
    if u32::from(pad) >> pad_len != 0 {
        return Err(bad("padding beyond the stream's last byte"));
    }
    huffer.out.put(u32::from(pad), pad_len);
    if !huffer.structure.0.is_empty() || huffer.at != raw.len() {
        return Err(bad("bytes left after the stream's final block"));
    }
    let last = std::mem::take(&mut huffer.out.bytes);
    Ok(last.is_empty() || matches!((huffer.sink)(&last)?, Flow::Continue))
}

struct Huffer<'a, 's> {
    raw: &'a [u8],
    at: usize,
    structure: Cursor<'a>,
    out: BitWriter,
    sink: &'s mut dyn FnMut(&[u8]) -> Result<Flow>,
    /// Whether the sink said to stop: the loops end without writing more.
    stopped: bool,
}

impl<'a> Huffer<'a, '_> {
    /// Writes one block; returns whether it was the final one.
    fn block(&mut self) -> Result<bool> {
        let header_bits = self.structure.varint()?;
        if header_bits > MAX_HEADER_BITS {
            return Err(bad("a block header longer than deflate allows"));
        }
        let header = self.structure.take(header_bits.div_ceil(8) as usize)?;
        let mut reader = BitReader::new(header, self.out.pending_bits);
        let parsed = read_header(&mut reader)?;
        if reader.position() != header_bits || !reader.rest_is_zero() {
            return Err(bad("a block header of another length than recorded"));
        }
        self.out.put_bits(header, header_bits);
        match &parsed.codes {
            Codes::Stored(len) => {
                debug_assert_eq!(self.out.pending_bits, 0, "a stored header ends on a byte boundary");
                let bytes = self.literals(u64::from(*len))?;
                self.out.bytes.extend_from_slice(bytes);
                self.flush_if_full()?;
            }
            Codes::Huffman(lengths) => self.huffman_block(lengths)?,
        }
        Ok(parsed.is_final)
    }

    /// Hands the bytes written so far to the sink once they fill a piece.
    fn flush_if_full(&mut self) -> Result<()> {
        if self.out.bytes.len() >= PIECE && !self.stopped {
            let piece = std::mem::take(&mut self.out.bytes);
            self.stopped = matches!((self.sink)(&piece)?, Flow::Stop);
        }
        Ok(())
    }

    fn literals(&mut self, count: u64) -> Result<&'a [u8]> {
        let end =
            usize::try_from(count).ok().and_then(|n| self.at.checked_add(n)).filter(|&e| e <= self.raw.len());
        let end = end.ok_or_else(|| bad("a literal run beyond the inflated bytes"))?;
        let bytes = &self.raw[self.at..end];
        self.at = end;
        Ok(bytes)
    }

    fn huffman_block(&mut self, lengths: &CodeLengths) -> Result<()> {
        let literals = Encoder::new(&lengths.literal)?;
        let distances = Encoder::new(&lengths.distance)?;
        let matches = self.structure.varint()?;
        if matches > (self.structure.0.len() / (1 + MATCH_FIXED_LEN)) as u64 {
            return Err(bad("more matches than the structure holds"));
        }
        for _ in 0..matches {
            self.literal_run(&literals)?;
            let fixed = self.structure.take(MATCH_FIXED_LEN)?;
            let length = usize::from(fixed[0]) + 3;
            let distance = usize::from(u16::from_le_bytes([fixed[1], fixed[2]])) + 1;
            if distance > self.at || self.at + length > self.raw.len() {
                return Err(bad("a match outside the inflated bytes"));
            }
            self.at += length;
            put_length(&mut self.out, &literals, length)?;
            put_distance(&mut self.out, &distances, distance)?;
            self.flush_if_full()?;
            if self.stopped {
                return Ok(());
            }
        }
        self.literal_run(&literals)?;
        literals.put(&mut self.out, END_OF_BLOCK)?;
        self.flush_if_full()
    }

    /// Writes the literals of the next literal run, a piece at a time.
    fn literal_run(&mut self, literals: &Encoder) -> Result<()> {
        let count = self.structure.varint()?;
        for chunk in self.literals(count)?.chunks(PIECE) {
            for &byte in chunk {
                literals.put(&mut self.out, usize::from(byte))?;
            }
            self.flush_if_full()?;
        }
        Ok(())
    }
}

/// A block header's meaning.
struct Header {
    is_final: bool,
    codes: Codes,
}

enum Codes {
    /// A stored block of this many bytes.
    Stored(u16),
    Huffman(Box<CodeLengths>),
}

/// The code lengths of a Huffman block's two codes.
struct CodeLengths {
    literal: Vec<u8>,
    distance: Vec<u8>,
}

/// Reads a block header (RFC 1951, 3.2.3-3.2.7), up to the first token of a Huffman block
/// or the first byte of a stored one.
fn read_header(bits: &mut BitReader<'_>) -> Result<Header> {
    let is_final = bits.take(1)? == 1;
    let codes = match bits.take(2)? {
        0 => {
            bits.skip(u64::from(bits.bits_to_boundary()))?;
            let (len, nlen) = (bits.take(16)? as u16, bits.take(16)? as u16);
            if len != !nlen {
                return Err(bad("a stored block whose LEN and NLEN disagree"));
            }
            Codes::Stored(len)
        }
        1 => Codes::Huffman(Box::new(fixed_lengths())),
        2 => Codes::Huffman(Box::new(dynamic_lengths(bits)?)),
        _ => return Err(bad("a block of the reserved type 3")),
    };
    Ok(Header { is_final, codes })
}

fn fixed_lengths() -> CodeLengths {
    let mut literal = vec![8u8; 288];
    literal[144..256].fill(9);
    literal[256..280].fill(7);
    CodeLengths { literal, distance: vec![5; 30] }
}

fn dynamic_lengths(bits: &mut BitReader<'_>) -> Result<CodeLengths> {
    let literal_count = bits.take(5)? as usize + 257;
    let distance_count = bits.take(5)? as usize + 1;
    let code_length_count = bits.take(4)? as usize + 4;
    if literal_count > 286 || distance_count > 30 {
        return Err(bad("a dynamic header with too many codes"));
    }
    let mut code_lengths = [0u8; 19];
    for &symbol in &CODE_LENGTH_ORDER[..code_length_count] {
        code_lengths[symbol] = bits.take(3)? as u8;
    }
    let code_length_code = Decoder::new(&code_lengths)?;
    let mut lengths = Vec::with_capacity(literal_count + distance_count);
    while lengths.len() < literal_count + distance_count {
        let (value, repeat) = match code_length_code.decode(bits)? {
            symbol @ 0..16 => (symbol as u8, 1),
            16 => (*lengths.last().ok_or_else(|| bad("a repeat of no code length"))?, 3 + bits.take(2)?),
            17 => (0, 3 + bits.take(3)?),
            _ => (0, 11 + bits.take(7)?),
        };
        if lengths.len() + repeat as usize > literal_count + distance_count {
            return Err(bad("code lengths beyond the header's count"));
        }
        lengths.extend(std::iter::repeat_n(value, repeat as usize));
    }
    let distance = lengths.split_off(literal_count);
    if lengths[END_OF_BLOCK] == 0 {
        return Err(bad("a dynamic header with no end-of-block code"));
    }
    Ok(CodeLengths { literal: lengths, distance })
}

fn read_length(bits: &mut BitReader<'_>, symbol: usize) -> Result<usize> {
    let code = symbol - 257;
    if code >= LENGTH_BASE.len() {
        return Err(bad("an invalid length code"));
    }
    Ok(usize::from(LENGTH_BASE[code]) + bits.take(u32::from(LENGTH_EXTRA[code]))? as usize)
}

fn read_distance(bits: &mut BitReader<'_>, code: usize) -> Result<usize> {
    if code >= DISTANCE_BASE.len() {
        return Err(bad("an invalid distance code"));
    }
    Ok(usize::from(DISTANCE_BASE[code]) + bits.take(u32::from(DISTANCE_EXTRA[code]))? as usize)
}

/// Writes `length` (3..=258) with its code's shortest form: 258 is code 285, never 284 with
/// extra bits 31.
fn put_length(out: &mut BitWriter, literals: &Encoder, length: usize) -> Result<()> {
    let code = LENGTH_BASE.partition_point(|&base| usize::from(base) <= length) - 1;
    literals.put(out, 257 + code)?;
    out.put((length - usize::from(LENGTH_BASE[code])) as u32, u32::from(LENGTH_EXTRA[code]));
    Ok(())
}

fn put_distance(out: &mut BitWriter, distances: &Encoder, distance: usize) -> Result<()> {
    if distance > WINDOW {
        return Err(bad("a distance beyond deflate's window"));
    }
    let code = DISTANCE_BASE.partition_point(|&base| usize::from(base) <= distance) - 1;
    distances.put(out, code)?;
    out.put((distance - usize::from(DISTANCE_BASE[code])) as u32, u32::from(DISTANCE_EXTRA[code]));
    Ok(())
}

/// The canonical code of `lengths` (RFC 1951, 3.2.2): each symbol's code, bit-reversed for
/// deflate's LSB-first packing. Fails on an over-subscribed set of lengths.
fn canonical_codes(lengths: &[u8]) -> Result<Vec<u16>> {
    let mut count = [0u32; 16];
    for &len in lengths {
        count[usize::from(len)] += 1;
    }
    count[0] = 0;
    let (mut next, mut code, mut left) = ([0u32; 16], 0u32, 1i64);
    for len in 1..16 {
        left = 2 * left - i64::from(count[len]);
        if left < 0 {
            return Err(bad("an over-subscribed Huffman code"));
        }
        code = (code + count[len - 1]) << 1;
        next[len] = code;
    }
    Ok(lengths
        .iter()
        .map(|&len| {
            let len = usize::from(len);
            let code = next[len];
            next[len] += 1;
            reverse(code, len as u32)
        })
        .collect())
}

fn reverse(code: u32, len: u32) -> u16 {
    if len == 0 { 0 } else { (code.reverse_bits() >> (32 - len)) as u16 }
}

/// A Huffman decoding table indexed by the next `bits` bits: symbol << 4 | length, 0 where
/// no code fits (an incomplete code).
struct Decoder {
    table: Vec<u16>,
    bits: u32,
}

impl Decoder {
    fn new(lengths: &[u8]) -> Result<Self> {
        let codes = canonical_codes(lengths)?;
        let bits = u32::from(lengths.iter().copied().max().unwrap_or(0));
        let mut table = vec![0u16; 1 << bits];
        for (symbol, (&len, &code)) in
            lengths.iter().zip(&codes).enumerate().filter(|(_, (len, _))| **len > 0)
        {
            let entry = (symbol as u16) << 4 | u16::from(len);
            for high in 0..1usize << (bits - u32::from(len)) {
                table[usize::from(code) | high << len] = entry;
            }
        }
        Ok(Decoder { table, bits })
    }

    fn decode(&self, bits: &mut BitReader<'_>) -> Result<usize> {
        let entry = self.table[bits.peek(self.bits) as usize];
        if entry == 0 {
            return Err(bad("a code the block's Huffman table does not have"));
        }
        bits.skip(u64::from(entry & 15))?;
        Ok(usize::from(entry >> 4))
    }
}

/// A Huffman code for writing: each symbol's bit-reversed code and length.
struct Encoder {
    codes: Vec<u16>,
    lengths: Vec<u8>,
}

impl Encoder {
    fn new(lengths: &[u8]) -> Result<Self> {
        Ok(Encoder { codes: canonical_codes(lengths)?, lengths: lengths.to_vec() })
    }

    fn put(&self, out: &mut BitWriter, symbol: usize) -> Result<()> {
        match self.lengths.get(symbol) {
            Some(&len) if len > 0 => {
                out.put(u32::from(self.codes[symbol]), u32::from(len));
                Ok(())
            }
            _ => Err(bad("a symbol the block's Huffman code cannot write")),
        }
    }
}

/// Reads bits LSB first from `data`, as deflate packs them. `phase` is how many bits
/// precede `data`'s first bit in its stream (for byte alignment).
struct BitReader<'a> {
    data: &'a [u8],
    bit: u64,
    phase: u32,
}

impl<'a> BitReader<'a> {
    fn new(data: &'a [u8], phase: u32) -> Self {
        BitReader { data, bit: 0, phase }
    }

    fn position(&self) -> u64 {
        self.bit
    }

    /// The next `count` (at most 24) bits without consuming them; zeros past the end.
    fn peek(&self, count: u32) -> u32 {
        let byte = (self.bit / 8) as usize;
        let mut word = [0u8; 4];
        if let Some(tail) = self.data.get(byte..) {
            let n = tail.len().min(4);
            word[..n].copy_from_slice(&tail[..n]);
        }
        (u32::from_le_bytes(word) >> (self.bit % 8)) & ((1u32 << count) - 1)
    }

    fn skip(&mut self, count: u64) -> Result<()> {
        self.bit += count;
        if self.bit > self.data.len() as u64 * 8 {
            return Err(bad("a deflate stream cut short"));
        }
        Ok(())
    }

    fn take(&mut self, count: u32) -> Result<u32> {
        let value = self.peek(count);
        self.skip(u64::from(count))?;
        Ok(value)
    }

    fn bits_to_boundary(&self) -> u32 {
        ((8 - (self.bit + u64::from(self.phase)) % 8) % 8) as u32
    }

    /// Whether the bits after the position, to the end of the data, are all zero.
    fn rest_is_zero(&self) -> bool {
        let left = self.data.len() as u64 * 8 - self.bit;
        left < 8 && self.peek(left as u32) == 0
    }
}

/// Appends `count` bits of `data` from bit `start`, packed LSB first into whole bytes.
fn copy_bits(data: &[u8], start: u64, count: u64, out: &mut Vec<u8>) {
    let mut reader = BitReader { data, bit: start, phase: 0 };
    let mut left = count;
    while left > 0 {
        let take = left.min(8) as u32;
        out.push(reader.peek(take) as u8);
        reader.bit += u64::from(take);
        left -= u64::from(take);
    }
}

/// Writes bits LSB first into whole bytes.
#[derive(Default)]
struct BitWriter {
    bytes: Vec<u8>,
    pending: u64,
    pending_bits: u32,
}

impl BitWriter {
    /// Appends the low `count` (at most 32) bits of `value`.
    fn put(&mut self, value: u32, count: u32) {
        self.pending |= u64::from(value) << self.pending_bits;
        self.pending_bits += count;
        while self.pending_bits >= 8 {
            self.bytes.push(self.pending as u8);
            self.pending >>= 8;
            self.pending_bits -= 8;
        }
    }

    /// Appends the first `count` bits of `data`, packed LSB first.
    fn put_bits(&mut self, data: &[u8], count: u64) {
        let mut left = count;
        for &byte in data {
            let take = left.min(8) as u32;
            self.put(u32::from(byte) & ((1 << take) - 1), take);
            left -= u64::from(take);
        }
    }

    fn bits_to_boundary(&self) -> u32 {
        (8 - self.pending_bits) % 8
    }
}

/// Reads the structure's fields.
struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if n > self.0.len() {
            return Err(bad("a structure cut short"));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn byte(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }

    /// A LEB128 varint of at most 10 bytes within 64 bits, in its shortest form.
    fn varint(&mut self) -> Result<u64> {
        let mut value = 0u64;
        for i in 0..10 {
            let byte = self.byte()?;
            let bits = u64::from(byte & 0x7f);
            if i == 9 && bits > 1 {
                return Err(bad("a number beyond 64 bits"));
            }
            value |= bits << (7 * i);
            if byte & 0x80 == 0 {
                if byte == 0 && i > 0 {
                    return Err(bad("a number not in its shortest form"));
                }
                return Ok(value);
            }
        }
        Err(bad("a number beyond 64 bits"))
    }
}

fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push(value as u8 | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn bad(what: &str) -> Error {
    Error::corrupt(format!("token rebuild: {what}"))
}

/// The structure of `packed` (which inflates to `raw`) when [`huff`] rebuilds `packed`
/// exactly from `raw` and it; `None` when it does not (a stream [`parse`] rejects, or an
/// encoding choice [`huff`] does not make, such as length 258 as code 284).
pub(crate) fn prove(packed: &[u8], raw: &[u8]) -> Option<Vec<u8>> {
    let parsed = parse(packed, raw.len() as u64).ok()?;
    if parsed.raw != raw || !plausible(packed.len() as u64, parsed.structure.len() as u64) {
        return None;
    }
    let mut at = 0usize;
    let finished = huff(raw, &parsed.structure, |piece| {
        let same = packed.get(at..at + piece.len()) == Some(piece);
        at += piece.len();
        Ok(if same { Flow::Continue } else { Flow::Stop })
    })
    .ok()?;
    (finished && at == packed.len()).then_some(parsed.structure)
}

#[cfg(test)]
mod tests {
    use super::super::deflate::{self, Params};
    use super::*;
    use proptest::prelude::*;

    fn sample(seed: u32) -> Vec<u8> {
        (0..30_000u32).flat_map(|i| format!("row {} of {}\n", (i ^ seed) % 613, i / 7).into_bytes()).collect()
    }

    fn rebuilt(raw: &[u8], structure: &[u8]) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        huff(raw, structure, |piece| {
            out.extend_from_slice(piece);
            Ok(Flow::Continue)
        })?;
        Ok(out)
    }

    fn round_trips(packed: &[u8], raw: &[u8]) {
        let structure = prove(packed, raw).expect("reproduced");
        assert_eq!(rebuilt(raw, &structure).unwrap(), packed);
    }

    #[test]
    fn miniz_streams_at_every_level_round_trip() {
        let raw = sample(1);
        for level in 0..=10 {
            round_trips(&miniz_oxide::deflate::compress_to_vec(&raw, level), &raw);
        }
    }

    fn zlib(raw: &[u8], level: u8, strategy: u8) -> Vec<u8> {
        let params = Params { level, window_bits: 15, mem_level: 8, strategy };
        let mut packed = Vec::new();
        deflate::deflate(raw, params, |p| {
            packed.extend_from_slice(p);
            Ok(Flow::Continue)
        })
        .unwrap();
        packed
    }

    #[test]
    fn zlib_streams_round_trip() {
        let raw = sample(2);
        for level in [0, 1, 6, 9] {
            round_trips(&zlib(&raw, level, 0), &raw);
        }
    }

    /// Bytes with repeats at many distances: `pieces` of random bytes, each repeated from
    /// `back` bytes before it (clamped to what exists) `times` times.
    fn repetitive(pieces: &[(Vec<u8>, u16, u8)]) -> Vec<u8> {
        let mut out = Vec::new();
        for (bytes, back, times) in pieces {
            out.extend_from_slice(bytes);
            for _ in 0..*times {
                let from = out.len().saturating_sub(usize::from(*back) + 1);
                let take = (out.len() - from).min(300);
                out.extend_from_within(from..from + take);
            }
        }
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn parse_then_huff_reproduces_any_miniz_or_zlib_stream(
            pieces in proptest::collection::vec(
                (proptest::collection::vec(any::<u8>(), 0..40), any::<u16>(), 0u8..6), 0..200),
            miniz_level in 0u8..=10,
            zlib_level in 0u8..=9,
            strategy in 0u8..=4,
        ) {
            let raw = repetitive(&pieces);
            for packed in [miniz_oxide::deflate::compress_to_vec(&raw, miniz_level), zlib(&raw, zlib_level, strategy)] {
                let structure = prove(&packed, &raw);
                prop_assert!(structure.is_some());
                prop_assert_eq!(rebuilt(&raw, &structure.unwrap()).unwrap(), packed);
            }
        }
    }

    #[test]
    fn fixed_stored_and_empty_streams_round_trip() {
        // A final fixed block holding only its end-of-block code: the empty stream.
        round_trips(&[0x03, 0x00], b"");
        // A final stored block of 3 bytes.
        round_trips(&[0x01, 0x03, 0x00, 0xfc, 0xff, b'a', b'b', b'c'], b"abc");
        // Fixed Huffman "a" literal then end of block, and a non-final empty stored block first.
        let fixed = miniz_oxide::deflate::compress_to_vec(b"aaaaaaaaaaaaaaaaaaaaab", 6);
        assert_eq!(fixed[0] & 0b110, 0b010, "miniz writes a fixed block for this");
        round_trips(&fixed, b"aaaaaaaaaaaaaaaaaaaaab");
        round_trips(&[0x00, 0x00, 0x00, 0xff, 0xff, 0x03, 0x00], b"");
    }

    #[test]
    fn length_258_written_as_code_284_is_not_reproduced() {
        // Fixed block: literal 'a', then length 258 as code 284 + extra 31, distance 1, EOB.
        let mut out = BitWriter::default();
        out.put(0b011, 3);
        let literals = Encoder::new(&fixed_lengths().literal).unwrap();
        let distances = Encoder::new(&fixed_lengths().distance).unwrap();
        literals.put(&mut out, usize::from(b'a')).unwrap();
        literals.put(&mut out, 284).unwrap();
        out.put(31, 5);
        distances.put(&mut out, 0).unwrap();
        literals.put(&mut out, END_OF_BLOCK).unwrap();
        out.put(0, out.bits_to_boundary());
        let raw = vec![b'a'; 259];
        assert_eq!(parse(&out.bytes, 259).unwrap().raw, raw);
        assert_eq!(prove(&out.bytes, &raw), None);
    }

    #[test]
    fn every_tampered_byte_of_a_structure_fails_cleanly_or_changes_the_output() {
        let raw = sample(3);
        let packed = miniz_oxide::deflate::compress_to_vec(&raw[..6_000], 6);
        let structure = prove(&packed, &raw[..6_000]).unwrap();
        for at in 0..structure.len() {
            for flip in [0x01, 0x80, 0xff] {
                let mut tampered = structure.clone();
                tampered[at] ^= flip;
                if let Ok(out) = rebuilt(&raw[..6_000], &tampered) {
                    assert_ne!(out, packed, "byte {at} ^ {flip:#x}");
                }
            }
        }
        for cut in 0..structure.len() {
            assert!(rebuilt(&raw[..6_000], &structure[..cut]).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn parse_rejects_broken_streams() {
        let raw = sample(4);
        let packed = miniz_oxide::deflate::compress_to_vec(&raw, 6);
        assert!(parse(&packed, raw.len() as u64 - 1).is_err());
        assert!(parse(&packed, raw.len() as u64 + 1).is_err());
        assert!(parse(&packed[..packed.len() - 1], raw.len() as u64).is_err());
        assert!(parse(&[packed.clone(), vec![0]].concat(), raw.len() as u64).is_err());
        assert!(parse(&[0x07], 0).is_err(), "block type 3");
        for cut in 0..packed.len().min(200) {
            let _ = parse(&packed[..cut], raw.len() as u64);
        }
    }
}
