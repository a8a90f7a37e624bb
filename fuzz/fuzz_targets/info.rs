#![no_main]
//! `read_info` on arbitrary bytes, and the invariants of what it accepts:
//! [`chunkdelta_fuzz::info`].

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = chunkdelta_fuzz::info(data);
});
