//! Container patches: zip-family archives (wheel, jar, apk, nupkg, docx, zip) and gzip files
//! diffed through their inflated members and rebuilt bit for bit (`CONTAINER-FORMAT.md`).
//!
//! ```text
//! header (136 bytes) | signature block | recipe (zstd) | inner file patch (to the end)
//! ```
//!
//! Diff recognises a container by its magic. The **old view** is the old file followed by the
//! inflated bytes of its deflate members that the new file does not hold unchanged; the
//! **new view** is the new file with every changed member (no old member has its deflated
//! bytes) that the pinned zlib reproduces bit for bit replaced by its inflated bytes, and
//! every other changed member that the token method ([`tokens`], format version 2)
//! reproduces by its inflated bytes and its structure (old members then carry theirs too).
//! The inner patch is an ordinary file patch from the old view to the new one; the recipe
//! lists the old members to inflate and, for each rebuilt member, its method (zlib
//! parameters, or tokens and its structure's length), deflated length and CRC-32. When no
//! member can be rebuilt, diff makes a plain file patch instead, so such a container costs
//! what it did before; when the rebuilt members are a minor part of the change, it makes both
//! and keeps the smaller.
//!
//! Apply checks the old file, inflates the old view, applies the inner patch, rebuilds the
//! listed members (zlib deflates them, or the token method huffs them from their
//! structures) with the same function diff proved them with, checks each against its length
//! and CRC-32 and the whole result against its blake3, and only then writes the destination.
//! A member that deflates differently is an [`crate::ErrorKind::RebuildMismatch`]:
//! the machine cannot rebuild this file, fetch it whole.

mod deflate;
mod expand;
mod gzip;
mod rebuild;
mod recipe;
mod tokens;
mod zip;

use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use crate::apply::ApplyReport;
use crate::codec::StreamCodec;
use crate::compat::PatchHead;
use crate::error::{Error, Result};
use crate::format::{MAX_SIGNATURE_LEN, PatchInfo, PatchReader, compress_bound};
use crate::index::Text;
use crate::io::{Durability, OutputFile, map_file};
use crate::options::{ApplyOptions, DiffOptions};
use crate::parallel::Workers;
use crate::trust::{self, SecretKey, SignOptions, SignatureInfo};
use recipe::{Method, Recipe, Span};

/// `magic`: the ASCII bytes `CDCT`.
pub const CONTAINER_MAGIC: [u8; 4] = *b"CDCT";
/// The newest container format version this library writes and reads (it reads every older
/// one, and writes version 1 when no member needs the token method).
pub const CONTAINER_FORMAT_VERSION: u16 = 2;
/// Most inflated bytes one side of a container patch may hold (1 GiB): diff leaves members
/// beyond it deflated, apply refuses a recipe that claims more.
pub const MAX_EXPANDED_LEN: u64 = 1 << 30;
/// Largest decompressed recipe (64 MiB).
pub const MAX_RECIPE_LEN: u64 = 64 << 20;
const HEADER_LEN: usize = 136;
/// Offset of `signature_len`, the first header byte that signatures do not cover.
const SIGNED_HEADER_LEN: usize = 128;

/// The kind of container a container patch rebuilds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ContainerKind {
    /// A zip archive: wheel, jar, apk, nupkg, docx, zip...
    Zip,
    /// A gzip file: `.gz`, `.tar.gz`, `.tgz`.
    Gzip,
}

impl ContainerKind {
    /// `zip` or `gzip`.
    pub fn name(self) -> &'static str {
        match self {
            ContainerKind::Zip => "zip",
            ContainerKind::Gzip => "gzip",
        }
    }

    fn code(self) -> u8 {
        match self {
            ContainerKind::Zip => 1,
            ContainerKind::Gzip => 2,
        }
    }

    fn from_code(code: u8) -> Result<Self> {
        match code {
            1 => Ok(ContainerKind::Zip),
            2 => Ok(ContainerKind::Gzip),
            _ => Err(Error::corrupt(format!("unknown container kind {code}"))),
        }
    }
}

/// What a container patch says about its container, in [`PatchInfo::container`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ContainerInfo {
    /// The container format version: 1 or 2.
    pub format_version: u16,
    /// The container's kind.
    pub kind: ContainerKind,
    /// How members are rebuilt: `zlib-1.4` in version 1 (raw deflate by the zlib bundled and
    /// statically linked through libz-sys 1.1.33); `per-member (zlib-1.4, tokens)` in
    /// version 2, where each member is rebuilt by zlib or by the token method.
    pub rebuild_method: &'static str,
    /// Old members inflated into the old view.
    pub members_expanded: u64,
    /// Their bytes in the old view: inflated bytes and token structures.
    pub expanded_len: u64,
    /// New members deflated again by apply, by either method.
    pub members_rebuilt: u64,
    /// Their inflated bytes, which apply deflates.
    pub rebuilt_len: u64,
    /// Of [`ContainerInfo::members_rebuilt`], those rebuilt by the token method (the others
    /// by zlib).
    pub members_rebuilt_by_tokens: u64,
    /// The token structures' bytes in the new view (0 when no member uses the method).
    pub structure_len: u64,
    /// Size of the old view (the inner patch's old file).
    pub old_view_size: u64,
    /// Size of the new view (the inner patch's new file).
    pub new_view_size: u64,
}

/// Whether `data` starts like a file diff may expand (a zip's local header, gzip's magic): a
/// tree patch gives such a file a solid patch of its own, which may be a container patch.
pub(crate) fn starts_like_container(data: &[u8]) -> bool {
    data.starts_with(b"PK\x03\x04") || data.starts_with(&[0x1f, 0x8b])
}

/// Whether `prefix` (the first bytes of a patch) starts like a container patch.
pub(crate) fn is_container_patch(prefix: &[u8]) -> bool {
    prefix.starts_with(&CONTAINER_MAGIC)
}

/// The header's `method` in version 2: each new member's method is in the recipe.
const METHOD_PER_MEMBER: u8 = 0;
/// [`METHOD_PER_MEMBER`]'s name in [`ContainerInfo::rebuild_method`].
const METHOD_PER_MEMBER_NAME: &str = "per-member (zlib-1.4, tokens)";

/// The header fields.
#[derive(Clone)]
struct Header {
    /// `container_version`: 1 or 2.
    version: u16,
    kind: ContainerKind,
    old_size: u64,
    old_hash: [u8; 32],
    new_size: u64,
    new_hash: [u8; 32],
    recipe_hash: [u8; 32],
    recipe_raw_len: u32,
    recipe_packed_len: u32,
    signature_len: u32,
}

impl Header {
    fn encode(&self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        out[0..4].copy_from_slice(&CONTAINER_MAGIC);
        out[4..6].copy_from_slice(&self.version.to_le_bytes());
        out[6] = self.kind.code();
        out[7] = Self::method(self.version);
        out[8..16].copy_from_slice(&self.old_size.to_le_bytes());
        out[16..48].copy_from_slice(&self.old_hash);
        out[48..56].copy_from_slice(&self.new_size.to_le_bytes());
        out[56..88].copy_from_slice(&self.new_hash);
        out[88..120].copy_from_slice(&self.recipe_hash);
        out[120..124].copy_from_slice(&self.recipe_raw_len.to_le_bytes());
        out[124..128].copy_from_slice(&self.recipe_packed_len.to_le_bytes());
        out[128..132].copy_from_slice(&self.signature_len.to_le_bytes());
        out
    }

    fn decode(bytes: &[u8; HEADER_LEN]) -> Result<Self> {
        if !is_container_patch(bytes) {
            return Err(Error::corrupt("not a chunkdelta container patch (bad magic)"));
        }
        let version = u16::from_le_bytes([bytes[4], bytes[5]]);
        if !(1..=CONTAINER_FORMAT_VERSION).contains(&version) {
            return Err(Error::UnsupportedVersion { found: version, supported: CONTAINER_FORMAT_VERSION });
        }
        if bytes[7] != Self::method(version) {
            return Err(Error::corrupt(format!("unknown rebuild method {}", bytes[7])));
        }
        if bytes[132..136] != [0; 4] {
            return Err(Error::corrupt("reserved container header fields are set"));
        }
        let u64_at = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"));
        let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"));
        let header = Header {
            version,
            kind: ContainerKind::from_code(bytes[6])?,
            old_size: u64_at(8),
            old_hash: bytes[16..48].try_into().expect("32 bytes"),
            new_size: u64_at(48),
            new_hash: bytes[56..88].try_into().expect("32 bytes"),
            recipe_hash: bytes[88..120].try_into().expect("32 bytes"),
            recipe_raw_len: u32_at(120),
            recipe_packed_len: u32_at(124),
            signature_len: u32_at(128),
        };
        if u64::from(header.recipe_raw_len) > MAX_RECIPE_LEN {
            return Err(Error::limit("container recipe", header.recipe_raw_len.into(), MAX_RECIPE_LEN));
        }
        if u64::from(header.recipe_packed_len) > compress_bound(header.recipe_raw_len.into()) {
            return Err(Error::corrupt("the container recipe is larger than its raw size allows"));
        }
        if u64::from(header.signature_len) > MAX_SIGNATURE_LEN {
            return Err(Error::corrupt(format!("signature block of {} bytes", header.signature_len)));
        }
        Ok(header)
    }

    /// The header's `method` for `version`: zlib in version 1, per member from version 2.
    fn method(version: u16) -> u8 {
        if version == 1 { deflate::METHOD_ZLIB } else { METHOD_PER_MEMBER }
    }
}

/// A container patch read up to its inner patch, with the signatures checked if asked.
struct Opened<R> {
    header: Header,
    recipe: Recipe,
    signing_digest: [u8; 32],
    signatures: Vec<SignatureInfo>,
    /// The stream, positioned at the inner patch.
    rest: R,
}

impl<R: Read> Opened<R> {
    /// Reads header, signature block and recipe from `patch`. With a trust policy the
    /// signatures are checked before the recipe is decompressed.
    fn read(patch: R, options: Option<&ApplyOptions>) -> Result<Self> {
        let mut reader = PatchReader::new(patch);
        let mut bytes = [0u8; HEADER_LEN];
        reader.read_exact(&mut bytes, "container header")?;
        let header = Header::decode(&bytes)?;
        let signing_digest = *blake3::hash(&bytes[..SIGNED_HEADER_LEN]).as_bytes();
        let block = reader.read_vec(header.signature_len.into(), "signature block")?;
        let signatures = trust::decode_block(&block)?;
        if let Some(policy) = options.and_then(|o| o.trust.as_ref()) {
            policy.check_signatures(&signatures, &signing_digest)?;
        }
        let packed = reader.read_vec(header.recipe_packed_len.into(), "container recipe")?;
        let mut raw = vec![0u8; header.recipe_raw_len as usize];
        StreamCodec::Zstd
            .decompress_exact(&packed, &mut raw, &[])
            .map_err(|why| Error::corrupt(format!("container recipe: {why}")))?;
        if *blake3::hash(&raw).as_bytes() != header.recipe_hash {
            return Err(Error::corrupt("the container recipe does not match its hash"));
        }
        let recipe = Recipe::decode(&raw, header.version, header.old_size, header.new_size)?;
        Ok(Opened { header, recipe, signing_digest, signatures, rest: reader.into_inner() })
    }
}

impl<R> Opened<R> {
    fn head_len(&self) -> u64 {
        HEADER_LEN as u64 + u64::from(self.header.signature_len) + u64::from(self.header.recipe_packed_len)
    }

    /// The [`PatchInfo`] of the whole patch, given its inner patch's.
    fn info(&self, inner: &PatchInfo) -> Result<PatchInfo> {
        let recipe = &self.recipe;
        let by_tokens = || recipe.new.iter().filter(|r| r.method == Method::Tokens);
        let container = ContainerInfo {
            format_version: self.header.version,
            kind: self.header.kind,
            rebuild_method: if self.header.version == 1 {
                deflate::METHOD_NAME
            } else {
                METHOD_PER_MEMBER_NAME
            },
            members_expanded: recipe.old.len() as u64,
            expanded_len: recipe.expanded_len(),
            members_rebuilt: recipe.new.len() as u64,
            rebuilt_len: recipe.new.iter().map(|r| r.span.raw_len).sum(),
            members_rebuilt_by_tokens: by_tokens().count() as u64,
            structure_len: by_tokens().map(|r| r.span.structure_len).sum(),
            old_view_size: self.header.old_size + recipe.expanded_len(),
            new_view_size: recipe.view_len(self.header.new_size),
        };
        if (inner.old_size, inner.new_size) != (container.old_view_size, container.new_view_size) {
            return Err(Error::corrupt(format!(
                "the inner patch is for views of {} and {} bytes, the recipe makes {} and {}",
                inner.old_size, inner.new_size, container.old_view_size, container.new_view_size
            )));
        }
        let mut info = inner.clone();
        info.old_size = self.header.old_size;
        info.old_hash = self.header.old_hash;
        info.new_size = self.header.new_size;
        info.new_hash = self.header.new_hash;
        info.patch_size = self.head_len() + inner.patch_size;
        info.signing_digest = self.signing_digest;
        info.signatures = self.signatures.clone();
        info.container = Some(Box::new(container));
        Ok(info)
    }
}

/// The patch turning `old` into `new` when both are containers of the same kind and
/// containers are on in `options`: a container patch, or the file patch when that is smaller;
/// `None` when neither is a container of the same kind, containers are off, or no member of
/// `new` can be rebuilt (the caller then makes a file patch). Unsigned.
///
/// Where the rebuilt members hold less than half of the deflated bytes that changed (most of
/// the change stays deflated), both patches are made and the smaller kept, so such a pair
/// costs no more than a file patch, for twice the diff time.
///
/// Memory: besides the file engine's (for the views), both views, which hold the inflated
/// members (at most [`MAX_EXPANDED_LEN`] each).
pub(crate) fn diff(text: Text<'_>, new_text: Text<'_>, options: &DiffOptions) -> Result<Option<Vec<u8>>> {
    let (old, new) = (text.bytes(), new_text.bytes());
    if !options.containers {
        return Ok(None);
    }
    let (Some(old_members), Some(new_members)) = (expand::expand(old), expand::expand(new)) else {
        return Ok(None);
    };
    if old_members.kind != new_members.kind {
        return Ok(None);
    }
    let search = expand::rebuilds(old, &old_members, new, &new_members)?;
    if search.rebuilds.is_empty() {
        return Ok(None);
    }
    let rebuilt_packed: u64 = search.rebuilds.iter().map(|r| r.span.packed_len).sum();
    let changed_packed = search.changed_packed;
    let patch = container_patch(old, new, old_members, new_members, search, options)?;
    if rebuilt_packed.saturating_mul(2) >= changed_packed {
        return Ok(Some(patch));
    }
    let plain = crate::diff::build_patch(text, new_text, options)?;
    Ok(Some(if patch.len() < plain.len() { patch } else { plain }))
}

/// The container patch rebuilding the members `search` found. When some are rebuilt by the
/// token method, the old members get their structures in the old view too, for the new
/// structures to match.
fn container_patch(
    old: &[u8],
    new: &[u8],
    old_members: expand::Expanded,
    new_members: expand::Expanded,
    search: expand::Search,
    options: &DiffOptions,
) -> Result<Vec<u8>> {
    let new_view = expand::new_view(new, &new_members, &search)?;
    // An old member that the new file holds unchanged is matched there raw: apply need not
    // inflate it.
    let in_new = expand::PackedIndex::new(new, &new_members);
    let mut old_members = old_members;
    old_members.members.retain(|(member, _)| !in_new.contains(member, old));
    drop(in_new);
    drop(new_members);
    let structures = if search.has_tokens() {
        expand::structures(old, &old_members)
    } else {
        vec![Vec::new(); old_members.members.len()]
    };
    let old_view = expand::old_view(old, &old_members, &structures)?;
    let old_spans: Vec<Span> =
        old_members.members.iter().zip(&structures).map(|((m, _), s)| m.span(s.len() as u64)).collect();
    drop(structures);
    let kind = old_members.kind;
    drop(old_members);
    options.validate(new_view.len() as u64)?;
    let inner = crate::diff::build_patch(Text::Borrowed(&old_view), Text::Borrowed(&new_view), options)?;
    let recipe = Recipe { old: old_spans, new: search.rebuilds };
    let version = recipe.version();
    let recipe = recipe.encode();
    // Level 9, not 19: the recipe is small, and under AddressSanitizer zstd 1.5.7's optimal
    // parser (which small inputs get from level 10 or so) reports a stack-use-after-scope in
    // ZSTD_selectBtGetAllMatches on a static address, which the fuzz runs would stop at.
    let packed =
        zstd::bulk::compress(&recipe, 9).map_err(|e| Error::io("compressing the container recipe", e))?;
    let (old_hash, new_hash) = rayon::join(|| crate::hash::hash(old), || crate::hash::hash(new));
    let header = Header {
        version,
        kind,
        old_size: old.len() as u64,
        old_hash,
        new_size: new.len() as u64,
        new_hash,
        recipe_hash: *blake3::hash(&recipe).as_bytes(),
        recipe_raw_len: recipe.len() as u32,
        recipe_packed_len: packed.len() as u32,
        signature_len: 0,
    };
    Ok([&header.encode()[..], &packed, &inner].concat())
}

/// Reads a whole container patch and checks its structure, as [`crate::read_info`] does.
pub(crate) fn read_info(patch: impl Read) -> Result<PatchInfo> {
    let mut opened = Opened::read(patch, None)?;
    let inner = crate::format::read_file_info(&mut opened.rest)?;
    opened.info(&inner)
}

/// `patch` (a container patch) with a signature by `key` added.
pub(crate) fn sign(patch: &[u8], key: &SecretKey, options: &SignOptions) -> Result<Vec<u8>> {
    let info = read_info(patch)?;
    let header = Header::decode(patch[..HEADER_LEN].try_into().expect("read_info read the header"))?;
    let block = trust::add_signature(&info.signatures, &info.signing_digest, key, options)?;
    let rest = &patch[HEADER_LEN + header.signature_len as usize..];
    let head = Header { signature_len: block.len() as u32, ..header }.encode();
    Ok([&head[..], &block, rest].concat())
}

/// Where apply puts the new file.
pub(crate) enum Target<'a> {
    /// In memory.
    Memory(&'a mut Vec<u8>),
    /// At `dest`, atomically, with `permissions`.
    File { dest: &'a Path, permissions: Option<std::fs::Permissions> },
    /// Nowhere: verify only.
    Discard,
}

/// Applies the container patch `patch` to `old`.
///
/// Memory, in memory or discarding: `old`, the old view, the new view, and the new file. To a
/// file, the two views live in temporary files beside the destination instead (memory-mapped;
/// disk space: both views), as does the new file until it is verified, and memory is that of
/// a file patch's apply plus, while members are rebuilt, zlib's state and 64 KiB per worker
/// ([`rebuild`]). A container apply does not resume: an interrupted one starts again.
pub(crate) fn apply(
    old: &[u8],
    patch: impl Read,
    target: Target<'_>,
    options: &ApplyOptions,
) -> Result<ApplyReport> {
    let workers = Workers::new(options.threads)?;
    let opened = Opened::read(patch, Some(options))?;
    if opened.recipe.new.iter().any(|r| matches!(r.method, Method::Zlib(_))) {
        deflate::check_pinned()?;
    }
    let header = &opened.header;
    workers.run(|| check_source(old, header))?;
    let mut inner_options = options.clone().durable(false);
    inner_options.trust = None;
    let run = Run { old, header: &opened.header, recipe: &opened.recipe, workers: &workers, inner_options };
    let (report, hash) = match target {
        Target::File { dest, permissions } => {
            run.to_file(opened.rest, dest, permissions, options.durability())?
        }
        Target::Memory(dest) => {
            let (report, out) = run.in_memory(opened.rest)?;
            *dest = out;
            (report, opened.header.new_hash)
        }
        Target::Discard => (run.in_memory(opened.rest)?.0, opened.header.new_hash),
    };
    let inner = report.head.chunkdelta().expect("the inner patch is a chunkdelta patch").clone();
    let opened = Opened {
        header: opened.header,
        recipe: opened.recipe,
        signing_digest: opened.signing_digest,
        signatures: opened.signatures,
        rest: (),
    };
    Ok(ApplyReport { head: PatchHead::Chunkdelta(opened.info(&inner)?), new_hash: hash, chunks_resumed: 0 })
}

/// What one container apply works with.
struct Run<'a> {
    old: &'a [u8],
    header: &'a Header,
    recipe: &'a Recipe,
    workers: &'a Workers,
    /// The caller's options, less trust (the inner patch is unsigned) and durability.
    inner_options: ApplyOptions,
}

impl Run<'_> {
    /// Applies the inner patch `inner` and rebuilds the new file at `dest`, the views in
    /// temporary files beside it. Returns the inner apply's report and the new file's hash.
    fn to_file(
        &self,
        inner: impl Read,
        dest: &Path,
        permissions: Option<std::fs::Permissions>,
        durability: Durability,
    ) -> Result<(ApplyReport, [u8; 32])> {
        let old_view = OutputFile::create(dest)?;
        let mut writer = BufWriter::new(old_view.file());
        expand::write_old_view(self.old, &self.recipe.old, self.workers, &mut writer)?;
        writer.flush().map_err(|e| Error::io("writing the old view", e))?;
        drop(writer);
        let old_view_map = map_file(old_view.path())?;
        let new_view = ScratchPath::beside(dest);
        let report = inner_apply(|| {
            crate::apply::apply_file_patch_to_file(
                &old_view_map,
                inner,
                &new_view.0,
                None,
                &self.inner_options,
            )
        })?;
        drop((old_view_map, old_view));
        let view = map_file(&new_view.0)?;
        check_view(&view, self.header, self.recipe)?;
        let output = OutputFile::create(dest)?;
        if let Some(permissions) = permissions {
            output.set_permissions(permissions)?;
        }
        let new_size = self.header.new_size;
        let sizing = |e| Error::io(format!("sizing the output for {}", dest.display()), e);
        output.file().set_len(new_size).map_err(sizing)?;
        rebuild::to_file(&view, &self.recipe.new, new_size, self.workers, output.file())?;
        let hash = self.workers.run(|| map_file(output.path()).map(|written| crate::hash::hash(&written)))?;
        check_result(&hash, self.header)?;
        output.commit_with(durability)?;
        Ok((report, hash))
    }

    /// Applies the inner patch `inner` and rebuilds the new file, all in memory. Returns the
    /// inner apply's report and the new file, whose hash is checked.
    fn in_memory(&self, inner: impl Read) -> Result<(ApplyReport, Vec<u8>)> {
        let mut old_view = Vec::new();
        expand::write_old_view(self.old, &self.recipe.old, self.workers, &mut old_view)?;
        let (view, report) = inner_apply(|| crate::apply::apply_own(&old_view, inner, &self.inner_options))?;
        drop(old_view);
        check_view(&view, self.header, self.recipe)?;
        let out = rebuild::to_memory(&view, &self.recipe.new, self.header.new_size, self.workers)?;
        drop(view);
        check_result(&self.workers.run(|| crate::hash::hash(&out)), self.header)?;
        Ok((report, out))
    }
}

/// The inner apply: its old file is the old view, built from the old file whose hash was
/// checked, so a mismatch there means the patch is corrupt.
fn inner_apply<T>(run: impl FnOnce() -> Result<T>) -> Result<T> {
    run().map_err(|e| match e {
        Error::SourceMismatch { .. } => Error::corrupt("the inner patch was made for another old view"),
        e => e,
    })
}

fn check_source(old: &[u8], header: &Header) -> Result<()> {
    crate::apply::check_old(old, header.old_size, &header.old_hash)
}

fn check_view(view: &[u8], header: &Header, recipe: &Recipe) -> Result<()> {
    if view.len() as u64 != recipe.view_len(header.new_size) {
        return Err(Error::corrupt("the new view does not have the length the recipe needs"));
    }
    Ok(())
}

fn check_result(hash: &[u8; 32], header: &Header) -> Result<()> {
    if *hash != header.new_hash {
        return Err(Error::corrupt("the rebuilt container does not match the new file's hash"));
    }
    Ok(())
}

/// A path beside a destination that something else creates; removed when dropped.
struct ScratchPath(PathBuf);

impl ScratchPath {
    fn beside(dest: &Path) -> Self {
        static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = dest.file_name().map_or_else(|| "out".into(), |n| n.to_string_lossy().into_owned());
        let dir = dest.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        ScratchPath(dir.join(format!(".{name}.view-{}-{n}.chunkdelta-tmp", std::process::id())))
    }
}

impl Drop for ScratchPath {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
