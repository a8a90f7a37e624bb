//! The recipe of a container patch (`CONTAINER-FORMAT.md`, "Recipe"): which old members to
//! inflate into the old view, and which members of the new view to deflate back, and how.
//! Version 1 knows the zlib method only; version 2 adds structures and the token method.

use super::MAX_EXPANDED_LEN;
use super::deflate::{self, Params};
use super::tokens;
use crate::error::{Error, Result};

/// A deflate stream of a container: `packed_len` bytes at `offset`, inflating to `raw_len`,
/// and, in a view, followed by `structure_len` bytes of its token structure (0: none).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Span {
    pub(crate) offset: u64,
    pub(crate) packed_len: u64,
    pub(crate) raw_len: u64,
    pub(crate) structure_len: u64,
}

impl Span {
    pub(crate) fn end(&self) -> u64 {
        self.offset + self.packed_len
    }

    /// Bytes the span takes in a view: inflated bytes and structure.
    pub(crate) fn view_len(&self) -> u64 {
        self.raw_len + self.structure_len
    }
}

/// How apply makes a member's deflated bytes again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Method {
    /// Deflated by the pinned zlib with these parameters (recipe method 1).
    Zlib(Params),
    /// Re-encoded from its inflated bytes and its structure (recipe method 2, [`tokens`]).
    Tokens,
}

/// A member of the new file that apply deflates from the new view: where it lies in the new
/// file, how, and the CRC-32 of the deflated bytes it must give.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Rebuild {
    pub(crate) span: Span,
    pub(crate) method: Method,
    pub(crate) packed_crc: u32,
}

const METHOD_ZLIB: u8 = 1;
const METHOD_TOKENS: u8 = 2;

/// The decoded recipe.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Recipe {
    /// Old members inflated after the old file, in this order, to make the old view.
    pub(crate) old: Vec<Span>,
    /// New members rebuilt from the new view, by offset.
    pub(crate) new: Vec<Rebuild>,
}

impl Recipe {
    /// Bytes the old view adds to the old file.
    pub(crate) fn expanded_len(&self) -> u64 {
        self.old.iter().map(Span::view_len).sum()
    }

    /// The new view's length for a new file of `new_size` bytes, which a decoded recipe
    /// ensures fits in 64 bits.
    pub(crate) fn view_len(&self, new_size: u64) -> u64 {
        self.checked_view_len(new_size).expect("Recipe::decode checks the new view's length")
    }

    fn checked_view_len(&self, new_size: u64) -> Option<u64> {
        let packed: u64 = self.new.iter().map(|r| r.span.packed_len).sum();
        let expanded: u64 = self.new.iter().map(|r| r.span.view_len()).sum();
        (new_size - packed).checked_add(expanded)
    }

    /// The oldest container format version that can say this recipe: 1 unless a span has a
    /// structure (or a member the token method), then 2.
    pub(crate) fn version(&self) -> u16 {
        let tokens = self.new.iter().any(|r| r.method == Method::Tokens);
        if tokens || self.old.iter().any(|s| s.structure_len > 0) { 2 } else { 1 }
    }

    /// The recipe in the layout of [`Recipe::version`].
    pub(crate) fn encode(&self) -> Vec<u8> {
        let version = self.version();
        let mut out = Vec::new();
        put_spans(&mut out, self.old.iter(), version);
        put_spans(&mut out, self.new.iter().map(|r| &r.span), version);
        for rebuild in &self.new {
            match rebuild.method {
                Method::Zlib(p) => {
                    if version >= 2 {
                        out.push(METHOD_ZLIB);
                    }
                    out.extend_from_slice(&[p.level, p.window_bits, p.mem_level, p.strategy]);
                }
                Method::Tokens => out.push(METHOD_TOKENS),
            }
            out.extend_from_slice(&rebuild.packed_crc.to_le_bytes());
        }
        out
    }

    /// Decodes and checks `bytes`, a recipe of container format `version` (1 or 2), for an old
    /// file of `old_size` bytes and a new one of `new_size`: spans in order, inside their
    /// files, not overlapping, each plausible for deflate (and its structure for its length),
    /// their view bytes within [`MAX_EXPANDED_LEN`] on each side, known methods, valid zlib
    /// parameters, a structure exactly where the method needs one, and views whose lengths fit
    /// in 64 bits.
    pub(crate) fn decode(bytes: &[u8], version: u16, old_size: u64, new_size: u64) -> Result<Self> {
        let mut reader = Reader(bytes);
        let old = reader.spans(old_size, "old", version)?;
        let spans = reader.spans(new_size, "new", version)?;
        let mut new = Vec::with_capacity(spans.len());
        for span in spans {
            let method = if version >= 2 { reader.byte()? } else { METHOD_ZLIB };
            let method = match method {
                METHOD_ZLIB => Method::Zlib(reader.params()?),
                METHOD_TOKENS => Method::Tokens,
                other => return Err(bad(&format!("names the unknown rebuild method {other}"))),
            };
            if (method == Method::Tokens) != (span.structure_len > 0) {
                return Err(bad(
                    "has a structure for a member whose method needs none, or none where it does",
                ));
            }
            let crc = reader.take(4).ok_or_else(|| bad("ends inside a rebuild entry"))?;
            let packed_crc = u32::from_le_bytes(crc.try_into().expect("4 bytes"));
            new.push(Rebuild { span, method, packed_crc });
        }
        if !reader.0.is_empty() {
            return Err(bad("has bytes after its last entry"));
        }
        let recipe = Recipe { old, new };
        if old_size.checked_add(recipe.expanded_len()).is_none()
            || recipe.checked_view_len(new_size).is_none()
        {
            return Err(bad("makes a view longer than 2^64 bytes"));
        }
        Ok(recipe)
    }
}

fn bad(what: &str) -> Error {
    Error::corrupt(format!("container recipe {what}"))
}

/// A count, then per span the gap since the previous span's end, its packed and raw lengths
/// and, from version 2, its structure's length, as LEB128 varints.
fn put_spans<'a>(out: &mut Vec<u8>, spans: impl ExactSizeIterator<Item = &'a Span>, version: u16) {
    put_varint(out, spans.len() as u64);
    let mut end = 0;
    for span in spans {
        for value in [span.offset - end, span.packed_len, span.raw_len] {
            put_varint(out, value);
        }
        if version >= 2 {
            put_varint(out, span.structure_len);
        }
        end = span.end();
    }
}

fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push(value as u8 | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        let (head, rest) = (self.0.get(..n)?, self.0.get(n..)?);
        self.0 = rest;
        Some(head)
    }

    fn byte(&mut self) -> Result<u8> {
        Ok(self.take(1).ok_or_else(|| bad("ends inside a rebuild entry"))?[0])
    }

    /// zlib parameters (level, window bits, memLevel, strategy), which must be valid.
    fn params(&mut self) -> Result<Params> {
        let fixed = self.take(4).ok_or_else(|| bad("ends inside the rebuild parameters"))?;
        let params =
            Params { level: fixed[0], window_bits: fixed[1], mem_level: fixed[2], strategy: fixed[3] };
        if !params.is_valid() {
            return Err(bad(&format!("invalid deflate parameters {params:?}")));
        }
        Ok(params)
    }

    /// A varint of at most 10 bytes that fits in 64 bits, in its shortest form.
    fn varint(&mut self) -> Result<u64> {
        let mut value = 0u64;
        for i in 0..10 {
            let byte = *self.take(1).ok_or_else(|| bad("ends inside a number"))?.first().expect("1 byte");
            let bits = u64::from(byte & 0x7f);
            if i == 9 && bits > 1 {
                return Err(bad("has a number beyond 64 bits"));
            }
            value |= bits << (7 * i);
            if byte & 0x80 == 0 {
                if byte == 0 && i > 0 {
                    return Err(bad("has a number not in its shortest form"));
                }
                return Ok(value);
            }
        }
        Err(bad("has a number beyond 64 bits"))
    }

    /// Spans of a file of `file_size` bytes; every check of [`Recipe::decode`] but the
    /// methods. The list grows only with the bytes present (each span takes 3 or more).
    fn spans(&mut self, file_size: u64, side: &str, version: u16) -> Result<Vec<Span>> {
        let count = self.varint()?;
        if count > self.0.len() as u64 / 3 {
            return Err(bad(&format!("claims {count} {side} spans in {} bytes", self.0.len())));
        }
        let (mut spans, mut end, mut expanded) = (Vec::with_capacity(count as usize), 0u64, 0u64);
        for _ in 0..count {
            let (gap, packed_len, raw_len) = (self.varint()?, self.varint()?, self.varint()?);
            let structure_len = if version >= 2 { self.varint()? } else { 0 };
            let offset = end.checked_add(gap).ok_or_else(|| bad("has an offset beyond 64 bits"))?;
            let span = Span { offset, packed_len, raw_len, structure_len };
            if packed_len == 0 || span.offset.checked_add(packed_len).is_none_or(|e| e > file_size) {
                return Err(bad(&format!("has an {side} span outside the {side} file")));
            }
            if !deflate::plausible(packed_len, raw_len) {
                return Err(bad(&format!("has an {side} span inflating {packed_len} bytes to {raw_len}")));
            }
            if structure_len > 0 && !tokens::plausible(packed_len, structure_len) {
                return Err(bad(&format!(
                    "has an {side} span of {packed_len} bytes with {structure_len} of structure"
                )));
            }
            expanded = expanded.saturating_add(raw_len).saturating_add(structure_len);
            if expanded > MAX_EXPANDED_LEN {
                return Err(Error::limit(format!("inflated {side} members"), expanded, MAX_EXPANDED_LEN));
            }
            end = span.end();
            spans.push(span);
        }
        Ok(spans)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(offset: u64, packed_len: u64, raw_len: u64) -> Span {
        Span { offset, packed_len, raw_len, structure_len: 0 }
    }

    fn sample() -> Recipe {
        let params = Params { level: 6, window_bits: 15, mem_level: 8, strategy: 0 };
        Recipe {
            old: vec![span(10, 5, 300), span(15, 1, 0)],
            new: vec![Rebuild {
                span: span(1 << 40, 200, 1 << 17),
                method: Method::Zlib(params),
                packed_crc: 7,
            }],
        }
    }

    /// [`sample`] with a structure on the first old span and a token member after the zlib one.
    fn sample_v2() -> Recipe {
        let mut recipe = sample();
        recipe.old[0].structure_len = 40;
        let tokens = Span { structure_len: 900, ..span((1 << 40) + 300, 100, 5_000) };
        recipe.new.push(Rebuild { span: tokens, method: Method::Tokens, packed_crc: 9 });
        recipe
    }

    #[test]
    fn round_trips_in_both_versions() {
        let recipe = sample();
        assert_eq!(recipe.version(), 1);
        assert_eq!(Recipe::decode(&recipe.encode(), 1, 16, 1 << 41).unwrap(), recipe);
        let recipe = sample_v2();
        assert_eq!(recipe.version(), 2);
        assert_eq!(Recipe::decode(&recipe.encode(), 2, 16, 1 << 41).unwrap(), recipe);
        assert!(Recipe::decode(&recipe.encode(), 1, 16, 1 << 41).is_err(), "read as version 1");
    }

    #[test]
    fn rejects_each_broken_rule() {
        let bytes = sample().encode();
        assert!(Recipe::decode(&bytes, 1, 15, 1 << 41).is_err(), "old span outside old");
        assert!(Recipe::decode(&bytes, 1, 16, 1 << 40).is_err(), "new span outside new");
        for cut in 0..bytes.len() {
            assert!(Recipe::decode(&bytes[..cut], 1, 16, 1 << 41).is_err(), "cut at {cut}");
        }
        assert!(Recipe::decode(&[bytes.clone(), vec![0]].concat(), 1, 16, 1 << 41).is_err());
        let mut params = bytes.clone();
        let at = params.len() - 8;
        params[at] = 10;
        assert!(Recipe::decode(&params, 1, 16, 1 << 41).is_err(), "level 10");
        let bomb = Recipe { old: vec![span(0, 1, 1 << 20)], new: vec![] };
        assert!(Recipe::decode(&bomb.encode(), 1, 16, 16).is_err(), "1 byte cannot inflate to 1 MiB");
        assert!(Recipe::decode(&[0x80, 0x00, 0x00], 1, 16, 16).is_err(), "overlong varint");
        assert!(Recipe::decode(&[0xff; 11], 1, 16, 16).is_err(), "endless varint");
        let near_max = u64::MAX - 100;
        let grows = Recipe {
            old: vec![],
            new: vec![Rebuild { span: span(near_max - 200, 200, 1 << 17), ..sample().new[0] }],
        };
        assert!(Recipe::decode(&grows.encode(), 1, 16, near_max).is_err(), "new view past 2^64");
        assert!(Recipe::decode(&sample().encode(), 1, near_max, 1 << 41).is_err(), "old view past 2^64");
    }

    #[test]
    fn rejects_each_broken_version_2_rule() {
        let bytes = sample_v2().encode();
        for cut in 0..bytes.len() {
            assert!(Recipe::decode(&bytes[..cut], 2, 16, 1 << 41).is_err(), "cut at {cut}");
        }
        let edit = |edit: &dyn Fn(&mut Recipe)| {
            let mut recipe = sample_v2();
            edit(&mut recipe);
            Recipe::decode(&recipe.encode(), 2, 16, 1 << 41)
        };
        assert!(edit(&|r| r.new[1].span.structure_len = 0).is_err(), "a token member without structure");
        assert!(edit(&|r| r.new[0].span.structure_len = 5).is_err(), "a zlib member with structure");
        assert!(edit(&|r| r.new[1].span.structure_len = 1 << 20).is_err(), "structure beyond its bound");
        assert!(edit(&|r| r.old[0].structure_len = 1).is_err(), "a structure too short to be one");
        let mut method = bytes.clone();
        let at = method.len() - 5;
        assert_eq!(method[at], METHOD_TOKENS);
        method[at] = 3;
        assert!(Recipe::decode(&method, 2, 16, 1 << 41).is_err(), "method 3");
    }
}
