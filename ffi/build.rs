//! Gives the shared library the SONAME `libchunkdelta.so.MAJOR` on ELF platforms, the name
//! `ffi/install.sh` installs it under, so programs linked against it find it at run time.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let vendor = std::env::var("CARGO_CFG_TARGET_VENDOR").unwrap_or_default();
    let family = std::env::var("CARGO_CFG_TARGET_FAMILY").unwrap_or_default();
    if family == "unix" && vendor != "apple" {
        let major = env!("CARGO_PKG_VERSION_MAJOR");
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libchunkdelta.so.{major}");
    }
}
