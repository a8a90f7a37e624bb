//! The recipe of a container patch (`CONTAINER-FORMAT.md`, "Recipe"): which old members to
//! inflate into the old view, and which members of the new view to deflate back.

use super::MAX_EXPANDED_LEN;
use super::deflate::{self, Params};
use crate::error::{Error, Result};

/// A deflate stream of a container: `packed_len` bytes at `offset`, inflating to `raw_len`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Span {
    pub(crate) offset: u64,
    pub(crate) packed_len: u64,
    pub(crate) raw_len: u64,
}

impl Span {
    pub(crate) fn end(&self) -> u64 {
        self.offset + self.packed_len
    }
}

/// A member of the new file that apply deflates from the new view: where it lies in the new
/// file, how, and the CRC-32 of the deflated bytes it must give.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Rebuild {
    pub(crate) span: Span,
    pub(crate) params: Params,
    pub(crate) packed_crc: u32,
}

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
        self.old.iter().map(|s| s.raw_len).sum()
    }

    /// The new view's length for a new file of `new_size` bytes.
    pub(crate) fn view_len(&self, new_size: u64) -> u64 {
        let packed: u64 = self.new.iter().map(|r| r.span.packed_len).sum();
        let raw: u64 = self.new.iter().map(|r| r.span.raw_len).sum();
        new_size - packed + raw
    }

    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        put_spans(&mut out, self.old.iter());
        put_spans(&mut out, self.new.iter().map(|r| &r.span));
        for rebuild in &self.new {
            let p = rebuild.params;
            out.extend_from_slice(&[p.level, p.window_bits, p.mem_level, p.strategy]);
            out.extend_from_slice(&rebuild.packed_crc.to_le_bytes());
        }
        out
    }

    /// Decodes and checks `bytes` for an old file of `old_size` bytes and a new one of
    /// `new_size`: spans in order, inside their files, not overlapping, each plausible for
    /// deflate, their inflated total within [`MAX_EXPANDED_LEN`] on each side, and valid zlib
    /// parameters.
    pub(crate) fn decode(bytes: &[u8], old_size: u64, new_size: u64) -> Result<Self> {
        let mut reader = Reader(bytes);
        let old = reader.spans(old_size, "old")?;
        let spans = reader.spans(new_size, "new")?;
        let mut new = Vec::with_capacity(spans.len());
        for span in spans {
            let fixed = reader.take(8).ok_or_else(|| bad("ends inside the rebuild parameters"))?;
            let params =
                Params { level: fixed[0], window_bits: fixed[1], mem_level: fixed[2], strategy: fixed[3] };
            if !params.is_valid() {
                return Err(bad(&format!("invalid deflate parameters {params:?}")));
            }
            let packed_crc = u32::from_le_bytes(fixed[4..].try_into().expect("4 bytes"));
            new.push(Rebuild { span, params, packed_crc });
        }
        if !reader.0.is_empty() {
            return Err(bad("has bytes after its last entry"));
        }
        Ok(Recipe { old, new })
    }
}

fn bad(what: &str) -> Error {
    Error::corrupt(format!("container recipe {what}"))
}

/// A count, then per span the gap since the previous span's end, its packed and raw lengths,
/// as LEB128 varints.
fn put_spans<'a>(out: &mut Vec<u8>, spans: impl ExactSizeIterator<Item = &'a Span>) {
    put_varint(out, spans.len() as u64);
    let mut end = 0;
    for span in spans {
        for value in [span.offset - end, span.packed_len, span.raw_len] {
            put_varint(out, value);
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
    /// parameters. The list grows only with the bytes present (each span takes 3 or more).
    fn spans(&mut self, file_size: u64, side: &str) -> Result<Vec<Span>> {
        let count = self.varint()?;
        if count > self.0.len() as u64 / 3 {
            return Err(bad(&format!("claims {count} {side} spans in {} bytes", self.0.len())));
        }
        let (mut spans, mut end, mut expanded) = (Vec::with_capacity(count as usize), 0u64, 0u64);
        for _ in 0..count {
            let (gap, packed_len, raw_len) = (self.varint()?, self.varint()?, self.varint()?);
            let offset = end.checked_add(gap).ok_or_else(|| bad("has an offset beyond 64 bits"))?;
            let span = Span { offset, packed_len, raw_len };
            if packed_len == 0 || span.offset.checked_add(packed_len).is_none_or(|e| e > file_size) {
                return Err(bad(&format!("has an {side} span outside the {side} file")));
            }
            if !deflate::plausible(packed_len, raw_len) {
                return Err(bad(&format!("has an {side} span inflating {packed_len} bytes to {raw_len}")));
            }
            expanded = expanded.saturating_add(raw_len);
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

    fn sample() -> Recipe {
        let params = Params { level: 6, window_bits: 15, mem_level: 8, strategy: 0 };
        Recipe {
            old: vec![
                Span { offset: 10, packed_len: 5, raw_len: 300 },
                Span { offset: 15, packed_len: 1, raw_len: 0 },
            ],
            new: vec![Rebuild {
                span: Span { offset: 1 << 40, packed_len: 200, raw_len: 1 << 17 },
                params,
                packed_crc: 7,
            }],
        }
    }

    #[test]
    fn round_trips() {
        let recipe = sample();
        assert_eq!(Recipe::decode(&recipe.encode(), 16, 1 << 41).unwrap(), recipe);
    }

    #[test]
    fn rejects_each_broken_rule() {
        let bytes = sample().encode();
        assert!(Recipe::decode(&bytes, 15, 1 << 41).is_err(), "old span outside old");
        assert!(Recipe::decode(&bytes, 16, 1 << 40).is_err(), "new span outside new");
        for cut in 0..bytes.len() {
            assert!(Recipe::decode(&bytes[..cut], 16, 1 << 41).is_err(), "cut at {cut}");
        }
        assert!(Recipe::decode(&[bytes.clone(), vec![0]].concat(), 16, 1 << 41).is_err());
        let mut params = bytes.clone();
        let at = params.len() - 8;
        params[at] = 10;
        assert!(Recipe::decode(&params, 16, 1 << 41).is_err(), "level 10");
        let bomb = Recipe { old: vec![Span { offset: 0, packed_len: 1, raw_len: 1 << 20 }], new: vec![] };
        assert!(Recipe::decode(&bomb.encode(), 16, 16).is_err(), "1 byte cannot inflate to 1 MiB");
        assert!(Recipe::decode(&[0x80, 0x00, 0x00], 16, 16).is_err(), "overlong varint");
        assert!(Recipe::decode(&[0xff; 11], 16, 16).is_err(), "endless varint");
    }
}
