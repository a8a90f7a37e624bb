#![no_main]
//! See [`chunkdelta_fuzz::roundtrip`].

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = chunkdelta_fuzz::roundtrip(data);
});
