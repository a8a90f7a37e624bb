//! The expanded views that the file engine diffs. The old view is the old file followed by the
//! inflated bytes of its deflate members, each followed by its token structure when the new
//! view has token members; the new view is the new file with each changed member that the
//! pinned zlib reproduces replaced by its inflated bytes, and each that only the token method
//! reproduces by its inflated bytes and its structure.

use std::collections::HashMap;
use std::io::Write;

use rayon::prelude::*;

use super::deflate::{self, Params};
use super::recipe::{Method, Rebuild, Recipe, Span};
use super::{ContainerKind, MAX_EXPANDED_LEN, gzip, tokens, zip};
use crate::error::{Error, Result};
use crate::parallel::Workers;

/// A deflate member of a container, as the container's own structures describe it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Member {
    pub(crate) offset: u64,
    pub(crate) packed_len: u64,
    pub(crate) raw_len: u64,
    /// CRC-32 of the inflated bytes.
    pub(crate) crc32: u32,
}

impl Member {
    fn packed<'a>(&self, file: &'a [u8]) -> &'a [u8] {
        &file[self.offset as usize..(self.offset + self.packed_len) as usize]
    }

    /// The member's span, with `structure_len` bytes of structure.
    pub(crate) fn span(&self, structure_len: u64) -> Span {
        Span { offset: self.offset, packed_len: self.packed_len, raw_len: self.raw_len, structure_len }
    }
}

/// A container's members with their inflated bytes: those that inflate exactly as the
/// container says, in offset order, as long as their total stays within [`MAX_EXPANDED_LEN`].
pub(crate) struct Expanded {
    pub(crate) kind: ContainerKind,
    pub(crate) members: Vec<(Member, Vec<u8>)>,
}

/// Recognises `file` by its magic and inflates its members; `None` when it is no container
/// this module reads, or a malformed one (which is then diffed as a plain file).
pub(crate) fn expand(file: &[u8]) -> Option<Expanded> {
    if gzip::is_gzip(file) {
        let (member, raw) = gzip::deflated_member(file, MAX_EXPANDED_LEN).ok()?;
        return Some(Expanded { kind: ContainerKind::Gzip, members: vec![(member, raw)] });
    }
    if !zip::is_zip(file) {
        return None;
    }
    let mut budget = MAX_EXPANDED_LEN;
    let members: Vec<Member> = zip::deflated_members(file)
        .ok()?
        .into_iter()
        .filter(|m| deflate::plausible(m.packed_len, m.raw_len))
        .take_while(|m| match budget.checked_sub(m.raw_len) {
            Some(left) => {
                budget = left;
                true
            }
            None => false,
        })
        .collect();
    let members = members
        .into_par_iter()
        .filter_map(|member| {
            let mut raw = Vec::new();
            raw.try_reserve_exact(member.raw_len as usize).ok()?;
            raw.resize(member.raw_len as usize, 0);
            deflate::inflate_exact(member.packed(file), &mut raw, "member").ok()?;
            (crc32fast::hash(&raw) == member.crc32).then_some((member, raw))
        })
        .collect();
    Some(Expanded { kind: ContainerKind::Zip, members })
}

/// The old view: `old` followed by the inflated bytes of `expanded`'s members, each followed
/// by its entry of `structures` (empty for none).
pub(crate) fn old_view(old: &[u8], expanded: &Expanded, structures: &[Vec<u8>]) -> Result<Vec<u8>> {
    let extra: usize = expanded.members.iter().map(|(_, raw)| raw.len()).sum::<usize>()
        + structures.iter().map(Vec::len).sum::<usize>();
    let mut view = Vec::new();
    view.try_reserve_exact(old.len() + extra).map_err(|_| out_of_memory(old.len() + extra))?;
    view.extend_from_slice(old);
    for ((_, raw), structure) in expanded.members.iter().zip(structures) {
        view.extend_from_slice(raw);
        view.extend_from_slice(structure);
    }
    Ok(view)
}

/// The token structure of each of `expanded`'s members of `file`, as apply's
/// [`tokens::parse`] makes it (empty where it rejects the member, or the structure would be
/// beyond [`tokens::plausible`]), computed in parallel.
pub(crate) fn structures(file: &[u8], expanded: &Expanded) -> Vec<Vec<u8>> {
    expanded
        .members
        .par_iter()
        .map(|(member, _)| {
            let parsed = tokens::parse(member.packed(file), member.raw_len).ok();
            let structure = parsed.map(|p| p.structure).unwrap_or_default();
            if tokens::plausible(member.packed_len, structure.len() as u64) { structure } else { Vec::new() }
        })
        .collect()
}

/// The members of one container by their CRC-32 and deflated length, to tell which members
/// of another container have the same deflated bytes.
pub(crate) struct PackedIndex<'a> {
    file: &'a [u8],
    by_key: HashMap<(u32, u64), Vec<&'a Member>>,
}

impl<'a> PackedIndex<'a> {
    pub(crate) fn new(file: &'a [u8], expanded: &'a Expanded) -> Self {
        let mut by_key: HashMap<(u32, u64), Vec<&Member>> = HashMap::new();
        for (member, _) in &expanded.members {
            by_key.entry((member.crc32, member.packed_len)).or_default().push(member);
        }
        PackedIndex { file, by_key }
    }

    /// Whether a member of this container has the deflated bytes of `member` of `file`.
    pub(crate) fn contains(&self, member: &Member, file: &[u8]) -> bool {
        let same = |other: &&Member| other.packed(self.file) == member.packed(file);
        self.by_key.get(&(member.crc32, member.packed_len)).is_some_and(|others| others.iter().any(same))
    }
}

/// What [`rebuilds`] found.
pub(crate) struct Search {
    /// The members to rebuild, in offset order.
    pub(crate) rebuilds: Vec<Rebuild>,
    /// The structures of the token members among them, by offset in the new file.
    pub(crate) structures: HashMap<u64, Vec<u8>>,
    /// Deflated bytes of all the changed members, rebuilt or not.
    pub(crate) changed_packed: u64,
}

impl Search {
    /// Whether some member is rebuilt by the token method.
    pub(crate) fn has_tokens(&self) -> bool {
        !self.structures.is_empty()
    }
}

/// The members of `new` to rebuild: each changed one (no old member has its deflated bytes)
/// that [`deflate::find_params`] reproduces by zlib, or else [`tokens::prove`] by the token
/// method; the token method first for a large gzip member ([`prefers_tokens`]). Searched in
/// parallel.
pub(crate) fn rebuilds(
    old: &[u8],
    old_members: &Expanded,
    new: &[u8],
    new_members: &Expanded,
) -> Result<Search> {
    let unchanged = PackedIndex::new(old, old_members);
    let changed: Vec<&(Member, Vec<u8>)> =
        new_members.members.iter().filter(|(member, _)| !unchanged.contains(member, new)).collect();
    let found: Vec<Option<(Rebuild, Vec<u8>)>> = changed
        .par_iter()
        .map(|(member, raw)| find_rebuild(member, raw, new, prefers_tokens(new_members.kind, member)))
        .collect::<Result<_>>()?;
    let changed_packed = changed.iter().map(|(member, _)| member.packed_len).sum();
    let mut search = Search { rebuilds: Vec::new(), structures: HashMap::new(), changed_packed };
    for (rebuild, structure) in found.into_iter().flatten() {
        if rebuild.method == Method::Tokens {
            search.structures.insert(rebuild.span.offset, structure);
        }
        search.rebuilds.push(rebuild);
    }
    Ok(search)
}

/// Whether diff tries the token method before zlib for `member` of a `kind` container: for a
/// gzip member of at least [`TOKENS_FIRST_LEN`] inflated bytes. zlib rebuilds a gzip file's
/// one member as one stream on one core, at level 9 several times slower than `tar -xzf`
/// inflates it; the token method re-encodes it several times faster, for its structure's
/// share of the patch (`benches/containers.md`: the setuptools sdist's apply 0.7 s -> 0.1 s,
/// its patch 6.2 KB -> 34.7 KB). A zip's members are rebuilt in parallel, and zlib members
/// need no structure.
fn prefers_tokens(kind: ContainerKind, member: &Member) -> bool {
    kind == ContainerKind::Gzip && member.raw_len >= TOKENS_FIRST_LEN
}

/// Smallest gzip member [`prefers_tokens`] gives the token method first (1 MiB): below it,
/// zlib's rebuild takes a few tens of milliseconds.
const TOKENS_FIRST_LEN: u64 = 1 << 20;

/// How `member` of `new`, inflating to `raw`, is rebuilt, with its structure (empty for zlib):
/// by zlib or by tokens, trying tokens first if `tokens_first`.
fn find_rebuild(
    member: &Member,
    raw: &[u8],
    new: &[u8],
    tokens_first: bool,
) -> Result<Option<(Rebuild, Vec<u8>)>> {
    let packed = member.packed(new);
    let packed_crc = crc32fast::hash(packed);
    let by_tokens = || {
        tokens::prove(packed, raw).map(|structure| {
            let span = member.span(structure.len() as u64);
            (Rebuild { span, method: Method::Tokens, packed_crc }, structure)
        })
    };
    if tokens_first && let Some(found) = by_tokens() {
        return Ok(Some(found));
    }
    let params: Option<Params> = deflate::find_params(raw, packed, None)?;
    if let Some(params) = params {
        return Ok(Some((
            Rebuild { span: member.span(0), method: Method::Zlib(params), packed_crc },
            Vec::new(),
        )));
    }
    Ok(if tokens_first { None } else { by_tokens() })
}

/// The new view of `new` for `search`: each rebuilt member's deflated bytes replaced by
/// its inflated ones, taken from `new_members`, and its structure if it has one.
pub(crate) fn new_view(new: &[u8], new_members: &Expanded, search: &Search) -> Result<Vec<u8>> {
    let raws: HashMap<u64, &[u8]> =
        new_members.members.iter().map(|(m, raw)| (m.offset, raw.as_slice())).collect();
    let recipe = Recipe { old: Vec::new(), new: search.rebuilds.clone() };
    let len = recipe.view_len(new.len() as u64) as usize;
    let mut view = Vec::new();
    view.try_reserve_exact(len).map_err(|_| out_of_memory(len))?;
    let mut at = 0usize;
    for rebuild in &search.rebuilds {
        view.extend_from_slice(&new[at..rebuild.span.offset as usize]);
        view.extend_from_slice(raws[&rebuild.span.offset]);
        if let Some(structure) = search.structures.get(&rebuild.span.offset) {
            view.extend_from_slice(structure);
        }
        at = rebuild.span.end() as usize;
    }
    view.extend_from_slice(&new[at..]);
    Ok(view)
}

/// Writes the old view of `old` for `spans` to `sink`: `old`, then each span inflated, which
/// must span exactly its packed bytes and inflate to exactly its raw length, then its
/// structure, which must have exactly its structure length. Spans are inflated in parallel,
/// in batches of twice the worker count or [`OLD_VIEW_BATCH`] view bytes, whichever is fewer
/// (a larger span makes a batch of its own): memory is one batch.
pub(crate) fn write_old_view(
    old: &[u8],
    spans: &[Span],
    workers: &Workers,
    sink: &mut impl Write,
) -> Result<()> {
    let write = |sink: &mut dyn Write, bytes: &[u8]| {
        sink.write_all(bytes).map_err(|e| Error::io("writing the old view", e))
    };
    write(sink, old)?;
    let most = 2 * workers.run(rayon::current_num_threads).max(1);
    let mut first = 0;
    while first < spans.len() {
        let (mut end, mut bytes) = (first, 0u64);
        while end < spans.len()
            && end - first < most
            && (end == first || bytes + spans[end].view_len() <= OLD_VIEW_BATCH)
        {
            bytes += spans[end].view_len();
            end += 1;
        }
        let inflated: Vec<Vec<u8>> = workers.run(|| {
            spans[first..end]
                .par_iter()
                .enumerate()
                .map(|(i, span)| inflate_span(old, span, first + i))
                .collect::<Result<_>>()
        })?;
        for raw in &inflated {
            write(sink, raw)?;
        }
        first = end;
    }
    Ok(())
}

/// Most inflated bytes [`write_old_view`] holds at once, unless one span alone is larger.
const OLD_VIEW_BATCH: u64 = 64 << 20;

/// Old span `index` inflated, and followed by its structure if it has one.
fn inflate_span(old: &[u8], span: &Span, index: usize) -> Result<Vec<u8>> {
    if span.structure_len > 0 {
        return parse_span(old, span, index);
    }
    let mut raw = Vec::new();
    raw.try_reserve_exact(span.raw_len as usize).map_err(|_| out_of_memory(span.raw_len as usize))?;
    raw.resize(span.raw_len as usize, 0);
    let packed = &old[span.offset as usize..span.end() as usize];
    deflate::inflate_exact(packed, &mut raw, &format!("old member {index}")).map_err(Error::corrupt)?;
    Ok(raw)
}

/// Old span `index` parsed by the token method: its inflated bytes, then its structure.
fn parse_span(old: &[u8], span: &Span, index: usize) -> Result<Vec<u8>> {
    let packed = &old[span.offset as usize..span.end() as usize];
    let tokens::Parsed { mut raw, structure } = tokens::parse(packed, span.raw_len)
        .map_err(|e| Error::corrupt(format!("old member {index}: {e}")))?;
    if structure.len() as u64 != span.structure_len {
        return Err(Error::corrupt(format!("old member {index} has another structure length than recorded")));
    }
    raw.try_reserve_exact(structure.len()).map_err(|_| out_of_memory(structure.len()))?;
    raw.extend_from_slice(&structure);
    Ok(raw)
}

fn out_of_memory(len: usize) -> Error {
    Error::io(format!("allocating {len} bytes for a container view"), std::io::ErrorKind::OutOfMemory.into())
}
