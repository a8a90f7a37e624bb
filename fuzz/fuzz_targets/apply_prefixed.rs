#![no_main]
//! Arbitrary chunk table and payloads behind a header made valid for the old file:
//! [`chunkdelta_fuzz::apply_prefixed`].

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = chunkdelta_fuzz::apply_prefixed(data);
});
