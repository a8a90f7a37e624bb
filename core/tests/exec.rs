//! Executable-aware patches (format version 4): synthetic ELF releases of x86-64 and AArch64
//! code, where a few functions grew and every call across them moved.

mod common;

use chunkdelta::{ApplyOptions, DiffOptions, ErrorKind, apply, diff, read_info};
use common::Rng;
use common::elf::{Machine, Program};
use proptest::prelude::*;

fn release(machine: Machine, seed: u64, functions: usize, grown: usize) -> (Vec<u8>, Vec<u8>) {
    let mut rng = Rng::new(seed);
    let old = Program::random(machine, &mut rng, functions);
    let new = old.grown(&mut rng, grown);
    (old.elf(), new.elf())
}

fn options() -> DiffOptions {
    DiffOptions::new().level(3).chunk_size(64 << 10)
}

fn round_trip(old: &[u8], new: &[u8], options: &DiffOptions) -> Vec<u8> {
    let patch = diff(old, new, options).unwrap();
    assert_eq!(apply(old, &patch[..], &ApplyOptions::new()).unwrap(), new);
    patch
}

#[test]
fn executables_get_version_4_patches_that_are_smaller() {
    for machine in [Machine::X86_64, Machine::Aarch64] {
        let (old, new) = release(machine, 1, 3000, 40);
        let exec = round_trip(&old, &new, &options());
        // A callback, which can cancel the suffix sort, changes no byte.
        let watched = options().progress(|_, _| std::ops::ControlFlow::Continue(()));
        assert_eq!(diff(&old, &new, &watched).unwrap(), exec, "{machine:?}");
        let plain = round_trip(&old, &new, &options().exec(false));
        let info = read_info(&exec[..]).unwrap();
        assert_eq!(info.format_version, 4, "{machine:?}");
        let block = info.exec.expect("an exec block");
        let arch = if machine == Machine::X86_64 { "x86-64" } else { "aarch64" };
        assert_eq!((block.arch, block.extractor_version), (arch, 1));
        assert!(block.old_references > 1000 && block.map_pieces >= 1, "{machine:?}: {block:?}");
        assert_eq!(read_info(&plain[..]).unwrap().format_version, 3);
        assert!(
            exec.len() * 2 < plain.len(),
            "{machine:?}: exec {} bytes, plain {}",
            exec.len(),
            plain.len()
        );
    }
}

#[test]
fn anything_but_two_executables_of_one_arch_gets_a_version_3_patch() {
    let (x86, x86_new) = release(Machine::X86_64, 2, 300, 5);
    let (arm, _) = release(Machine::Aarch64, 2, 300, 5);
    let text = common::text(&mut Rng::new(3), 50_000);
    for (old, new) in [(&x86, &arm), (&x86, &text), (&text, &x86_new)] {
        let patch = round_trip(old, new, &options());
        assert_eq!(read_info(&patch[..]).unwrap().format_version, 3);
    }
}

#[test]
fn identical_and_truncated_executables_round_trip() {
    let (old, new) = release(Machine::X86_64, 4, 500, 10);
    round_trip(&old, &old, &options());
    for cut in [65, 200, 0x1003, new.len() / 2, new.len() - 1] {
        round_trip(&old, &new[..cut], &options());
        round_trip(&new[..cut], &old, &options());
    }
}

/// The exec block's digest of the old file's analysis, changed and the table hash redone:
/// apply refuses before writing, as it would if this build analysed old differently.
#[test]
fn an_analysis_that_differs_from_the_patch_is_a_rebuild_mismatch() {
    let (old, new) = release(Machine::X86_64, 5, 800, 10);
    let mut patch = diff(&old, &new, &options()).unwrap();
    let info = read_info(&patch[..]).unwrap();
    let table_end = 96 + 112 * info.chunks.len();
    let block_len = info.exec.unwrap().block_len as usize;
    patch[table_end + 40] ^= 1; // inside the digest, bytes 32..64 of the block
    let hash = blake3::hash(&patch[..table_end + block_len]);
    patch[table_end + block_len..table_end + block_len + 32].copy_from_slice(hash.as_bytes());
    let err = apply(&old, &patch[..], &ApplyOptions::new()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RebuildMismatch, "{err}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn random_releases_round_trip(
        seed in any::<u64>(),
        functions in 1usize..400,
        grown in 0usize..30,
        arm in any::<bool>(),
        chunk_kib in prop::sample::select(vec![16u64, 64, 1024]),
    ) {
        let machine = if arm { Machine::Aarch64 } else { Machine::X86_64 };
        let (old, new) = release(machine, seed, functions, grown);
        round_trip(&old, &new, &options().chunk_size(chunk_kib << 10));
    }
}
