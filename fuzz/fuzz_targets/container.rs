#![no_main]
//! Container patches: hostile zip and gzip files through diff, and hostile container patch
//! bodies through apply: [`chunkdelta_fuzz::container`].

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = chunkdelta_fuzz::container(data);
});
