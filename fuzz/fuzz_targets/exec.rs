#![no_main]
//! Mutated executables through diff (with executable matching) and apply, which must be
//! byte-exact: [`chunkdelta_fuzz::exec`].

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = chunkdelta_fuzz::exec(data);
});
