//! Round trips: diff then apply must give back `new` exactly, for every shape of input.

mod common;

use chunkdelta::{ApplyOptions, Codec, DiffOptions, StreamCodec, apply, diff, read_info, verify};
use common::{Rng, edited, old_file};
use proptest::prelude::*;

fn round_trip(old: &[u8], new: &[u8], options: &DiffOptions) -> Vec<u8> {
    let patch = diff(old, new, options).expect("diff");
    let applied = apply(old, &patch[..], &ApplyOptions::new()).expect("apply");
    assert!(applied == new, "round trip differs (old {} bytes, new {} bytes)", old.len(), new.len());
    let report = verify(old, &patch[..], &ApplyOptions::new()).expect("verify");
    assert_eq!(report.head.patch_size(), patch.len() as u64);
    patch
}

fn small_chunks() -> DiffOptions {
    DiffOptions::new().chunk_size(1024).level(3)
}

#[test]
fn empty_and_identical_inputs() {
    let data = old_file(1, 10_000);
    round_trip(&[], &[], &small_chunks());
    round_trip(&data, &[], &small_chunks());
    round_trip(&[], &data, &small_chunks());
    let patch = round_trip(&data, &data, &small_chunks());
    assert!(patch.len() < 2_000, "identical input gave a {}-byte patch", patch.len());
}

#[test]
fn sizes_around_chunk_boundaries() {
    let old = old_file(2, 5000);
    for len in [1, 2, 1023, 1024, 1025, 2047, 2048, 2049, 3 * 1024 + 1, 4096] {
        let new = edited(&old[..len.min(old.len())], len as u64, 3);
        let patch = round_trip(&old, &new, &small_chunks());
        assert_eq!(read_info(&patch[..]).unwrap().chunks.len(), new.len().div_ceil(1024));
    }
}

#[test]
fn inserts_deletes_and_moves_give_small_patches() {
    let old = old_file(3, 400_000);
    let new = edited(&old, 4, 40);
    let patch = round_trip(&old, &new, &DiffOptions::new().chunk_size(64 << 10));
    assert!(patch.len() < new.len() / 10, "patch of {} bytes for {} bytes", patch.len(), new.len());
}

#[test]
fn moved_blocks_are_found_anywhere_in_old() {
    let mut rng = Rng::new(5);
    let blocks: Vec<Vec<u8>> = (0..8).map(|_| rng.bytes(32 << 10)).collect();
    let old = blocks.concat();
    let new: Vec<u8> = blocks.iter().rev().flatten().copied().collect();
    let patch = round_trip(&old, &new, &DiffOptions::new().chunk_size(16 << 10));
    assert!(patch.len() < 8_000, "reversed blocks gave a {}-byte patch", patch.len());
}

#[test]
fn shifted_addresses_compress_through_the_diff_stream() {
    // Like code after an insertion: the same records, every embedded offset bumped.
    let old: Vec<u8> =
        (0..20_000u32).flat_map(|i| [i * 16, 0xdead_beef].map(u32::to_le_bytes)).flatten().collect();
    let new: Vec<u8> =
        (0..20_000u32).flat_map(|i| [i * 16 + 64, 0xdead_beef].map(u32::to_le_bytes)).flatten().collect();
    let patch = round_trip(&old, &new, &DiffOptions::new());
    assert!(patch.len() < new.len() / 20, "patch of {} bytes", patch.len());
}

#[test]
fn patches_do_not_depend_on_the_thread_count() {
    let old = old_file(6, 100_000);
    let new = edited(&old, 7, 20);
    let options = DiffOptions::new().chunk_size(8 << 10).level(3);
    let one = diff(&old, &new, &options.clone().threads(1)).unwrap();
    let two = diff(&old, &new, &options.threads(2)).unwrap();
    assert!(one == two);
    let applied = apply(&old, &one[..], &ApplyOptions::new().threads(1)).unwrap();
    assert!(applied == new);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn arbitrary_pairs_round_trip(
        old in proptest::collection::vec(any::<u8>(), 0..3000),
        new in proptest::collection::vec(any::<u8>(), 0..3000),
        chunk in 1024u64..2048,
    ) {
        round_trip(&old, &new, &DiffOptions::new().chunk_size(chunk).level(1));
    }

    #[test]
    fn edited_pairs_round_trip(seed in any::<u64>(), len in 0usize..20_000, edits in 0usize..30) {
        let old = old_file(seed, len);
        let new = edited(&old, seed ^ 1, edits);
        round_trip(&old, &new, &DiffOptions::new().chunk_size(4096).level(1));
    }

    #[test]
    fn edited_pairs_round_trip_with_each_codec_choice(seed in any::<u64>(), len in 0usize..20_000, edits in 0usize..30) {
        let old = old_file(seed, len);
        let new = edited(&old, seed ^ 1, edits);
        let mut sizes = Vec::new();
        for codec in [Codec::Zstd, Codec::Xz, Codec::Auto] {
            let patch = round_trip(&old, &new, &DiffOptions::new().chunk_size(4096).level(6).codec(codec));
            let info = read_info(&patch[..]).unwrap();
            prop_assert_eq!((info.format_version, info.codec), (3, None));
            let used = |wanted| info.chunks.iter().flat_map(|c| &c.streams).any(|s| s.codec == wanted);
            prop_assert!(codec == Codec::Auto || !used(StreamCodec::Zstd) || !used(StreamCodec::Lzma2));
            sizes.push(patch.len());
        }
        prop_assert!(sizes[2] <= sizes[0].min(sizes[1]), "auto is the smallest: {:?}", sizes);
    }

    #[test]
    fn low_entropy_pairs_round_trip(
        old in proptest::collection::vec(0u8..3, 0..4000),
        new in proptest::collection::vec(0u8..3, 0..4000),
    ) {
        round_trip(&old, &new, &DiffOptions::new().chunk_size(1024).level(1));
    }
}
