#![no_main]
//! Fuzzer-chosen control ops in valid zstd streams, judged by a reference decoder:
//! [`chunkdelta_fuzz::apply_ops`].

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = chunkdelta_fuzz::apply_ops(data);
});
