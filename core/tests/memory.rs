//! Diff's memory follows its budget: the index plan picks the step, and the heap (Rust and C
//! allocations alike) stays within the plan's `peak_bytes` plus the chunk work.
//!
//! One test only, so nothing else allocates in this process while it measures.

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

/// Peak resident memory of this process (`VmHWM`) in bytes, when /proc has it.
fn peak_resident() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Resets `VmHWM` to the current resident size; false where the kernel does not allow it.
fn reset_peak_resident() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

fn current_resident() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap() * 1024
}

/// Peak Rust heap and peak resident growth (if measurable) while `work` runs.
fn measure(work: impl FnOnce()) -> (u64, Option<u64>) {
    let resident_before = current_resident();
    let tracked = reset_peak_resident();
    let ((), heap) = peak_heap_during(work);
    let heap = heap as u64;
    let resident = tracked.then(peak_resident).flatten().map(|peak| peak.saturating_sub(resident_before));
    (heap, resident)
}

#[test]
fn diff_memory_follows_the_budget() {
    let old = Rng::new(5).bytes(OLD_LEN);
    let mut new = old[1001..].to_vec();
    new.extend_from_slice(&old[..1001]);
    new[OLD_LEN / 2] ^= 1;
    let full = 4 * OLD_LEN as u64;
    let mut heaps = Vec::new();
    // Sparsest first: memory freed by one diff may stay with the allocator (resident), and the
    // growth of the next, larger one is measured above it.
    for (budget, step) in [(16 * MIB, 32), (full / 4, 16), (full - 1, 4), (u64::MAX, 1)] {
        let options = DiffOptions::new().memory(budget).threads(1).level(1).chunk_size(MIB);
        let plan = options.index_plan(OLD_LEN as u64).unwrap();
        assert_eq!(plan.step, step, "budget {budget}");
        assert!(plan.peak_bytes <= budget);
        let mut patch = Vec::new();
        let (heap, resident) = measure(|| patch = diff(&old, &new, &options).unwrap());
        assert!(heap <= plan.peak_bytes + CHUNK_WORK, "step {step}: heap {heap}, plan {plan:?}");
        if let Some(resident) = resident {
            assert!(
                resident <= plan.peak_bytes + CHUNK_WORK,
                "step {step}: resident {resident}, plan {plan:?}"
            );
        }
        assert_eq!(apply(&old, &patch[..], &ApplyOptions::new().threads(1)).unwrap(), new);
        assert!(patch.len() < OLD_LEN / 100, "step {step}: patch {}", patch.len());
        heaps.push(heap);
    }
    // The index is the bulk of diff's heap: sparser steps allocate proportionally less.
    assert!(heaps[2] < heaps[3], "{heaps:?}");
    assert!(heaps[1] * 3 < heaps[3], "{heaps:?}");
}
