#![no_main]
//! BSDIFF40 and BSDIFF43 patches, raw or with fuzzer-chosen streams compressed for them,
//! against a reference decoder: [`chunkdelta_fuzz::bsdiff`].

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = chunkdelta_fuzz::bsdiff(data);
});
