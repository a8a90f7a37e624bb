#![no_main]
//! Arbitrary (old, new) pairs through diff and apply, which must be byte-exact:
//! [`chunkdelta_fuzz::roundtrip`].

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = chunkdelta_fuzz::roundtrip(data);
});
