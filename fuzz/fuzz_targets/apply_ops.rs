#![no_main]
//! See [`chunkdelta_fuzz::apply_ops`].

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = chunkdelta_fuzz::apply_ops(data);
});
