#![no_main]
//! Signature blocks, trust policies and key files on arbitrary bytes: [`chunkdelta_fuzz::trust`].

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = chunkdelta_fuzz::trust(data);
});
