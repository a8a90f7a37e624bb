#![no_main]
//! Arbitrary patch bytes against an arbitrary old file: [`chunkdelta_fuzz::apply_raw`].

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = chunkdelta_fuzz::apply_raw(data);
});
