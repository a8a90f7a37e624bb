//! Diff's memory follows its budget: the index plan picks the step, and the heap (Rust and C
//! allocations alike) stays within the plan's `peak_bytes` plus the chunk work.
//!
//! One test only, so nothing else allocates in this process while it measures. Resident memory
//! (which adds thread stacks, allocator slack and the machine's paging) is a benchmark's
//! measurement, not a test's: `benches/huge.py` reports it.

mod common;

use chunkdelta::{ApplyOptions, DiffOptions, apply, diff};
use common::Rng;
use common::counting::{CountingAllocator, peak_heap_during};

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

const MIB: u64 = 1 << 20;
/// Old file size: incompressible, so every sampled gram is distinct (the worst case of the
/// sampled construction, whose libsais buckets grow with the number of distinct grams).
const OLD_LEN: usize = 32 << 20;
/// Memory beyond the index: one thread's chunk streams at 1 MiB chunks, zstd level 1 contexts,
/// the patch, and the allocator's slack.
const CHUNK_WORK: u64 = 12 * MIB;

#[test]
fn diff_memory_follows_the_budget() {
    let old = Rng::new(5).bytes(OLD_LEN);
    let mut new = old[1001..].to_vec();
    new.extend_from_slice(&old[..1001]);
    new[OLD_LEN / 2] ^= 1;
    let full = 4 * OLD_LEN as u64;
    let mut heaps = Vec::new();
    for (budget, step) in [(16 * MIB, 32), (full / 4, 16), (full - 1, 4), (u64::MAX, 1)] {
        let options = DiffOptions::new().memory(budget).threads(1).level(1).chunk_size(MIB);
        let plan = options.index_plan(OLD_LEN as u64).unwrap();
        assert_eq!(plan.step, step, "budget {budget}");
        assert!(plan.peak_bytes <= budget);
        let mut patch = Vec::new();
        let ((), heap) = peak_heap_during(|| patch = diff(&old, &new, &options).unwrap());
        let heap = heap as u64;
        assert!(heap <= plan.peak_bytes + CHUNK_WORK, "step {step}: heap {heap}, plan {plan:?}");
        assert_eq!(apply(&old, &patch[..], &ApplyOptions::new().threads(1)).unwrap(), new);
        assert!(patch.len() < OLD_LEN / 100, "step {step}: patch {}", patch.len());
        heaps.push(heap);
    }
    // The index is the bulk of diff's heap: sparser steps allocate proportionally less.
    assert!(heaps[2] < heaps[3], "{heaps:?}");
    assert!(heaps[1] * 3 < heaps[3], "{heaps:?}");
}
