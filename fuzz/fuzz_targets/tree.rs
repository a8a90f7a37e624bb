#![no_main]
//! Tree patch headers and manifests on arbitrary bytes: [`chunkdelta_fuzz::tree`].

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = chunkdelta_fuzz::tree(data);
});
