//! Criterion micro-benchmarks of chunkdelta's stages, each with byte throughput.
//!
//! `cargo bench -p chunkdelta-benches` runs them all (a few minutes on 2 cores);
//! `cargo bench -p chunkdelta-benches -- scan` runs the groups whose ids match `scan`;
//! `-- --test` runs each benchmark once. `benches/MICRO.md` says what each group measures.

use std::cell::LazyCell;
use std::hint::black_box;
use std::sync::LazyLock;
use std::time::Duration;

use chunkdelta::internals;
use chunkdelta::{ApplyOptions, DEFAULT_CHUNK_SIZE, DEFAULT_LEVEL, DiffOptions};
use chunkdelta_benches::{
    KIB, MIB, Pair, corpus_pair, executable_like, random, random_bytes, scan_worst_cases, size_name,
    text_like,
};
use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main};

const SEED: u64 = 7;
/// The real pair used where it is present (`shared/corpus/fetch.sh dev`).
const CORPUS_PAIR: &str = "ruff";
const CHUNK: usize = DEFAULT_CHUNK_SIZE as usize;

/// Input sizes. The smoke test (`-- --test`, or `cargo test --benches`) runs every benchmark
/// once, so it takes small inputs and leaves the corpus pair out: what it checks is that each
/// benchmark runs, not how fast.
struct Sizes {
    /// Sizes of the hashed buffers.
    hash: &'static [usize],
    /// Old sizes for index construction.
    index: &'static [usize],
    /// Size of the pairs for the chunk, compress and apply groups.
    pair: usize,
    /// Size of the pair for whole diffs.
    diff: usize,
    /// Whether the corpus pair joins in where it is present.
    corpus: bool,
}

/// Criterion's own rule: test mode with `--test`, or without the `--bench` that cargo bench passes.
static SIZES: LazyLock<Sizes> = LazyLock::new(|| {
    let args: Vec<String> = std::env::args().collect();
    let smoke = args.iter().any(|a| a == "--test") || !args.iter().any(|a| a == "--bench");
    if smoke {
        Sizes { hash: &[16 * KIB, 256 * KIB], index: &[MIB], pair: MIB, diff: MIB, corpus: false }
    } else {
        Sizes {
            hash: &[16 * KIB, MIB, 16 * MIB],
            index: &[MIB, 16 * MIB],
            pair: 16 * MIB,
            diff: 8 * MIB,
            corpus: true,
        }
    }
});

/// A group that takes `samples` samples in about `seconds`: small, so the whole run stays short.
fn group<'a>(c: &'a mut Criterion, name: &str, samples: usize, seconds: u64) -> BenchmarkGroup<'a, WallTime> {
    let mut group = c.benchmark_group(name);
    group
        .sample_size(samples)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(seconds));
    group
}

/// The corpus pair, when it is present and wanted.
fn corpus() -> Option<Pair> {
    if SIZES.corpus { corpus_pair(CORPUS_PAIR) } else { None }
}

/// The synthetic pairs of `len` bytes, and the corpus pair when present.
fn pairs(len: usize) -> Vec<Pair> {
    let mut pairs = vec![executable_like(SEED, len), random(SEED, len), text_like(SEED, len)];
    pairs.extend(corpus());
    pairs
}

/// blake3 of random bytes: one thread, rayon, and chunkdelta's choice between them.
fn hash(c: &mut Criterion) {
    let mut group = group(c, "hash", 20, 2);
    for &len in SIZES.hash {
        let data = random_bytes(SEED, len);
        group.throughput(Throughput::Bytes(len as u64));
        let size = size_name(len);
        group.bench_function(format!("single/{size}"), |b| b.iter(|| blake3::hash(black_box(&data))));
        group.bench_function(format!("rayon/{size}"), |b| {
            b.iter(|| blake3::Hasher::new().update_rayon(black_box(&data)).finalize())
        });
        group.bench_function(format!("chunkdelta/{size}"), |b| b.iter(|| internals::hash(black_box(&data))));
    }
    group.finish();
}

/// Suffix-index construction (libsais on the rayon pool's threads, plus the bucket table).
fn index(c: &mut Criterion) {
    let mut group = group(c, "index", 10, 5);
    let mut olds: Vec<Pair> = SIZES.index.iter().map(|&len| executable_like(SEED, len)).collect();
    olds.extend(corpus());
    for pair in olds {
        group.throughput(Throughput::Bytes(pair.old.len() as u64));
        group.bench_function(pair.name, |b| b.iter(|| internals::build_index(black_box(&pair.old)).unwrap()));
    }
    group.finish();
}

/// The chunk of `new` the chunk benchmarks use: the second 4 MiB (or the first, when short).
fn scanned_chunk(new: &[u8]) -> &[u8] {
    let start = if new.len() >= 2 * CHUNK { CHUNK } else { 0 };
    &new[start..(start + CHUNK).min(new.len())]
}

/// One 4 MiB chunk of `new` scanned against an index of all of `old` (built beforehand, and
/// only when a benchmark that needs it runs), on every pair; and, on the executable-like and
/// corpus pairs only (to keep the run short), the same chunk fully encoded (scan, streams, zstd
/// at the default level, blake3).
fn chunk(c: &mut Criterion) {
    let mut group = group(c, "chunk", 10, 5);
    for pair in pairs(SIZES.pair) {
        let index = LazyCell::new(|| internals::build_index(&pair.old).unwrap());
        let chunk = scanned_chunk(&pair.new);
        group.throughput(Throughput::Bytes(chunk.len() as u64));
        group.bench_function(format!("scan/{}", pair.name), |b| {
            let index = &*index;
            b.iter(|| internals::scan_chunk(index, black_box(chunk)))
        });
        if pair.name.starts_with("random") || pair.name.starts_with("text") {
            continue;
        }
        group.bench_function(format!("encode-level{DEFAULT_LEVEL}/{}", pair.name), |b| {
            let index = &*index;
            b.iter(|| internals::encode_chunk(index, black_box(chunk), DEFAULT_LEVEL).unwrap())
        });
    }
    group.finish();
}

/// The scan of one 4 MiB chunk on its worst cases ([`scan_worst_cases`]): its time should stay
/// within a small factor of the executable-like chunk's, never grow with the square of the size.
fn scan_worst(c: &mut Criterion) {
    let mut group = group(c, "scan-worst", 10, 3);
    for pair in scan_worst_cases(SEED, SIZES.pair) {
        let index = internals::build_index(&pair.old).unwrap();
        let chunk = scanned_chunk(&pair.new);
        group.throughput(Throughput::Bytes(chunk.len() as u64));
        group.bench_function(pair.name, |b| b.iter(|| internals::scan_chunk(&index, black_box(chunk))));
    }
    group.finish();
}

/// zstd on the raw diff and extra streams of one scanned chunk, at levels 3 and 19.
fn compress(c: &mut Criterion) {
    let mut group = group(c, "compress", 10, 3);
    let mut sources = vec![executable_like(SEED, SIZES.pair)];
    sources.extend(corpus());
    for pair in sources {
        let index = internals::build_index(&pair.old).unwrap();
        let streams = internals::chunk_streams(&index, scanned_chunk(&pair.new));
        for (kind, raw) in [("diff", &streams.diff), ("extra", &streams.extra)] {
            if raw.is_empty() {
                continue;
            }
            group.throughput(Throughput::Bytes(raw.len() as u64));
            for level in [3, 19] {
                group.bench_function(format!("{kind}-level{level}/{}", pair.name), |b| {
                    b.iter(|| internals::compress(black_box(raw), level).unwrap())
                });
            }
        }
    }
    group.finish();
}

/// Whole `chunkdelta::diff` in memory (index, hashes, every chunk), at levels 3 and 19.
fn diff(c: &mut Criterion) {
    let mut group = group(c, "diff", 10, 10);
    let pair = executable_like(SEED, SIZES.diff);
    group.throughput(Throughput::Bytes(pair.new.len() as u64));
    for level in [3, DEFAULT_LEVEL] {
        let options = DiffOptions::new().level(level);
        group.bench_function(format!("level{level}/{}", pair.name), |b| {
            b.iter(|| chunkdelta::diff(black_box(&pair.old), black_box(&pair.new), &options).unwrap())
        });
    }
    group.finish();
}

/// `chunkdelta::apply` and `chunkdelta::verify` in memory, on patches made at the default level
/// (made only when a benchmark that needs them runs).
fn apply(c: &mut Criterion) {
    let mut group = group(c, "apply", 10, 3);
    let options = ApplyOptions::new();
    for pair in pairs(SIZES.pair) {
        let patch = LazyCell::new(|| chunkdelta::diff(&pair.old, &pair.new, &DiffOptions::new()).unwrap());
        group.throughput(Throughput::Bytes(pair.new.len() as u64));
        group.bench_function(format!("apply/{}", pair.name), |b| {
            let patch = &patch[..];
            b.iter(|| chunkdelta::apply(black_box(&pair.old), black_box(patch), &options).unwrap())
        });
        group.bench_function(format!("verify/{}", pair.name), |b| {
            let patch = &patch[..];
            b.iter(|| chunkdelta::verify(black_box(&pair.old), black_box(patch), &options).unwrap())
        });
    }
    group.finish();
}

/// What signing costs: one signature added to a patch, one trust check (the Ed25519
/// verification that apply runs before decoding), and apply of the same small patch without
/// and with a trust policy.
fn trust(c: &mut Criterion) {
    let mut group = group(c, "trust", 20, 2);
    let pair = &pairs(SIZES.pair)[0];
    let key = chunkdelta::SecretKey::generate().unwrap();
    let unsigned = chunkdelta::diff(&pair.old, &pair.new, &DiffOptions::new()).unwrap();
    let sign_options = chunkdelta::SignOptions::new().product("bench").release(1);
    let signed = chunkdelta::sign(&unsigned, &key, &sign_options).unwrap();
    let info = chunkdelta::read_info(&signed[..]).unwrap();
    let policy = chunkdelta::TrustPolicy::new().trust(key.public_key()).product("bench").min_release(1);
    group.bench_function("sign", |b| {
        b.iter(|| chunkdelta::sign(black_box(&unsigned), &key, &sign_options).unwrap())
    });
    group.bench_function("check", |b| b.iter(|| policy.check(black_box(&info)).unwrap().release));
    let trusted = ApplyOptions::new().trust(policy.clone());
    for (name, options) in [("apply-unchecked", ApplyOptions::new()), ("apply-trusted", trusted)] {
        group.bench_function(format!("{name}/{}", pair.name), |b| {
            b.iter(|| chunkdelta::apply(black_box(&pair.old), black_box(&signed[..]), &options).unwrap())
        });
    }
    group.finish();
}

criterion_group!(benches, hash, index, chunk, scan_worst, compress, diff, apply, trust);
criterion_main!(benches);
