#![no_main]
//! See [`chunkdelta_fuzz::info`].

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = chunkdelta_fuzz::info(data);
});
