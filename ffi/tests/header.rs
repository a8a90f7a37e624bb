//! The checked-in `include/chunkdelta.h` is exactly what the pinned cbindgen generates now.

use std::path::Path;

#[test]
fn checked_in_header_is_current() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).unwrap();
    let bindings = cbindgen::Builder::new()
        .with_crate(crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen fails on ffi/src");
    let mut generated = Vec::new();
    bindings.write(&mut generated);

    let header_path = crate_dir.join("include/chunkdelta.h");
    if std::env::var_os("CHUNKDELTA_UPDATE_HEADER").is_some() {
        std::fs::write(&header_path, &generated).unwrap();
    }
    let checked_in = std::fs::read(&header_path).unwrap_or_default();
    assert!(
        checked_in == generated,
        "ffi/include/chunkdelta.h is out of date; regenerate it with\n  \
         CHUNKDELTA_UPDATE_HEADER=1 cargo test -p chunkdelta-ffi --test header\n\
         and commit it. It would read:\n{}",
        String::from_utf8_lossy(&generated)
    );
}
