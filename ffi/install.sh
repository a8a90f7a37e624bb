#!/usr/bin/env bash
# Builds libchunkdelta in release mode and installs it under PREFIX (default /usr/local):
#   PREFIX/include/chunkdelta.h
#   PREFIX/lib/libchunkdelta.so.VERSION, linked as libchunkdelta.so.MAJOR (its SONAME) and
#     libchunkdelta.so
#   PREFIX/lib/libchunkdelta.a
#   PREFIX/lib/pkgconfig/chunkdelta.pc
# after which `cc app.c $(pkg-config --cflags --libs chunkdelta)` works (with
# PKG_CONFIG_PATH=PREFIX/lib/pkgconfig where PREFIX is not one pkg-config searches).
#
# usage: ffi/install.sh [PREFIX]
set -euo pipefail
prefix=${1:-/usr/local}
case $prefix in /*) ;; *) prefix=$PWD/$prefix ;; esac
cd "$(dirname "$0")/.."

cargo build --release --quiet -p chunkdelta-ffi
target_dir=$(cargo metadata --no-deps --format-version 1 | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
version=$(cargo pkgid -p chunkdelta-ffi | sed 's/.*[#@]//')
major=${version%%.*}
built=$target_dir/release
lib=$prefix/lib

install -d "$prefix/include" "$lib/pkgconfig"
install -m 0644 ffi/include/chunkdelta.h "$prefix/include/chunkdelta.h"
# Cargo names the library after the crate (libchunkdelta_ffi); installed, it is libchunkdelta.
install -m 0755 "$built/libchunkdelta_ffi.so" "$lib/libchunkdelta.so.$version"
ln -sfn "libchunkdelta.so.$version" "$lib/libchunkdelta.so.$major"
ln -sfn "libchunkdelta.so.$major" "$lib/libchunkdelta.so"
install -m 0644 "$built/libchunkdelta_ffi.a" "$lib/libchunkdelta.a"

# static_libs: what the static library needs besides itself, as printed by
# `cargo rustc -p chunkdelta-ffi --lib -- --print native-static-libs`. scripts/test-c.sh
# links the static library with it, so a change shows there.
cat >"$lib/pkgconfig/chunkdelta.pc" <<PC
prefix=$prefix
libdir=\${prefix}/lib
includedir=\${prefix}/include
static_libs=-lgcc_s -lutil -lrt -lpthread -lm -ldl -lc

Name: chunkdelta
Description: Chunked, parallel, verified binary delta patches (C API)
Version: $version
Cflags: -I\${includedir}
Libs: -L\${libdir} -lchunkdelta
Libs.private: \${static_libs}
PC
echo "installed libchunkdelta $version under $prefix" >&2
