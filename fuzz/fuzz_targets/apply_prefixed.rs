#![no_main]
//! See [`chunkdelta_fuzz::apply_prefixed`].

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = chunkdelta_fuzz::apply_prefixed(data);
});
