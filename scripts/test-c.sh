#!/usr/bin/env bash
# The C tests of the C ABI (ffi/). Installs libchunkdelta into a temporary prefix with the
# documented step (ffi/install.sh), then compiles every C test in ffi/tests/c and the README
# example with -Wall -Wextra -Werror, and runs each twice:
#   - linked with the static library, under AddressSanitizer (leaks included) and UBSan;
#   - linked with the shared library through pkg-config, as ffi/README.md shows.
# Exits non-zero if anything fails. Installs gcc and pkg-config when missing (scripts/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh c

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix
ffi/install.sh "$prefix"
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
libdir=$(pkg-config --variable=libdir chunkdelta)

cflags=(-std=c11 -pedantic -Wall -Wextra -Werror -g -pthread)
sanitize=(-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
export ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1
vectors=core/tests/vectors
passed=0
failed=0

# run NAME COMMAND...: runs one test program, counting it as passed or failed.
run() {
  local name=$1
  shift
  if "$@"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "[test-c] FAILED: $name" >&2
  fi
}

# build_static SOURCE OUTPUT / build_shared SOURCE OUTPUT: the two ways of linking.
build_static() {
  # shellcheck disable=SC2046 # pkg-config output is a list of flags
  cc "${cflags[@]}" "${sanitize[@]}" $(pkg-config --cflags chunkdelta) "$1" -o "$2" \
    "$libdir/libchunkdelta.a" $(pkg-config --variable=static_libs chunkdelta)
}
build_shared() {
  # shellcheck disable=SC2046
  cc "${cflags[@]}" "$1" -o "$2" $(pkg-config --cflags --libs chunkdelta)
}

# The arguments of each test program after its scratch folder.
extra_args() {
  if [ "$1" = roundtrip ] && [ -f examples/synth/old ]; then
    echo examples/synth/old examples/synth/new
  fi
}

for source in ffi/tests/c/*.c; do
  name=$(basename "$source" .c)
  for link in static shared; do
    exe=$work/$name-$link
    "build_$link" "$source" "$exe"
    mkdir "$work/scratch-$name-$link"
    # shellcheck disable=SC2046
    run "$name ($link)" env LD_LIBRARY_PATH="$libdir" "$exe" "$vectors" "$work/scratch-$name-$link" \
      $(extra_args "$name")
  done
done

# The README example, built exactly as the README says, on a golden vector.
build_shared ffi/examples/apply.c "$work/apply"
example() {
  LD_LIBRARY_PATH=$libdir "$work/apply" "$vectors/multi-chunk.old" "$vectors/multi-chunk.patch" "$work/example.out" &&
    cmp -s "$work/example.out" "$vectors/multi-chunk.new" &&
    { LD_LIBRARY_PATH=$libdir "$work/apply" "$vectors/multi-chunk.new" "$vectors/multi-chunk.patch" \
      "$work/example.wrong" 2>/dev/null; [ $? = 3 ]; } && [ ! -e "$work/example.wrong" ]
}
run "examples/apply.c" example

# The header also compiles as C++ (extern "C" guards), where a C++ compiler is installed.
if command -v c++ >/dev/null 2>&1; then
  # shellcheck disable=SC2046
  run "header as C++" c++ -std=c++11 -Wall -Wextra -Werror -fsyntax-only -x c++ ffi/include/chunkdelta.h \
    $(pkg-config --cflags chunkdelta)
fi

echo "c-tests: $passed passed, $failed failed"
[ "$failed" = 0 ]
