#!/usr/bin/env bash
# Fuzzes chunkdelta with cargo-fuzz (targets in fuzz/, cases in fuzz/src/lib.rs).
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
#
# Builds the targets, seeds their corpora (fuzz/corpus/TARGET/) from the golden vectors in
# core/tests/vectors/ and the saved inputs in core/tests/regressions/, then runs each target
# for SECONDS_PER_TARGET (default 10) with a memory cap and a per-input time cap, so that an
# allocation or a loop driven by numbers in a patch counts as a finding. Exits 1 if any target
# found a crash, a leak, an out-of-memory or a timeout; the input is then in
# fuzz/artifacts/TARGET/ and the run's log in fuzz/artifacts/TARGET.log. A crash, once fixed,
# is kept as core/tests/regressions/TARGET-NAME with its outcome in core/tests/regressions.rs.
#
# Environment:
#   FUZZ_SANITIZER  address (default), or none: builds faster, runs faster, but then only
#                   panics, the RSS cap and timeouts are caught, not memory errors in C code
#                   or single allocations over the cap.
#   FUZZ_ARGS       more libFuzzer flags, for example -fork=2 to use two cores per target.
#   CARGO_PROFILE_RELEASE_OPT_LEVEL  the build's optimisation (default 3): the test command's
#                   short run uses 1, built in 103 s against 198 s on 2 cores, running 391-8,321
#                   inputs per target in 5 s against 459-13,179 (an unoptimised build, 60 s,
#                   got no further than the seed corpus).
#
# A long campaign: scripts/fuzz.sh 3600, or FUZZ_ARGS=-fork=2 scripts/fuzz.sh 3600 apply_ops.
# Replaying one input: cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run --target-dir target/address TARGET FILE
# Without a nightly toolchain, RUSTC_BOOTSTRAP=1 lets stable build with cargo-fuzz's flags;
# stable ships the sanitizer runtimes.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-10}
shift || true
sanitizer=${FUZZ_SANITIZER:-address}
export RUSTC_BOOTSTRAP=1

# Largest input per target: room for the golden vectors, small enough to keep runs fast.
declare -A max_len=([apply_raw]=32768 [apply_prefixed]=32768 [apply_ops]=8192 [bsdiff]=8192 [info]=16384 [roundtrip]=65536 [exec]=65536
                   [trust]=16384 [tree]=16384 [container]=16384)
all=(apply_raw apply_prefixed apply_ops bsdiff info roundtrip trust tree container exec)
targets=("${@:-${all[@]}}")
read -ra extra <<< "${FUZZ_ARGS:-}"

command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
cd fuzz
build=(--sanitizer "$sanitizer" --target-dir "target/$sanitizer")
cargo fuzz build "${build[@]}"

# Seeds. apply_raw and apply_prefixed read `u16 old_len | old | patch`, roundtrip reads
# `u8 chunk size selector | u16 old_len | old | new`, info reads the patch alone, bsdiff reads
# `u16 old_len | old | u8 selector | patch after its magic` (selector 0: BSDIFF40 as is).
u16le() { printf "\\x$(printf %02x $(($1 & 255)))\\x$(printf %02x $(($1 >> 8)))"; }
for target in "${all[@]}"; do mkdir -p "corpus/$target"; done
shopt -s nullglob
# Each golden vector's old, new and patch file names, from vectors.json (pairs are shared).
vectors() {
  awk -F'"' '$2 == "old" { old = $4 } $2 == "new" { new = $4 } $2 == "patch" { patch = $4 }
             /}/ { if (patch != "") print old, new, patch; old = new = patch = "" }' \
    ../core/tests/vectors/vectors.json
}
while read -r old new patch; do
  name=vector-${patch%.patch}
  old=../core/tests/vectors/$old
  new=../core/tests/vectors/$new
  patch=../core/tests/vectors/$patch
  { u16le "$(stat -c %s "$old")"; cat "$old" "$patch"; } > "corpus/apply_raw/$name"
  cp "corpus/apply_raw/$name" "corpus/apply_prefixed/$name"
  cp "$patch" "corpus/info/$name"
  { printf '\x03'; u16le "$(stat -c %s "$old")"; cat "$old" "$new"; } > "corpus/roundtrip/$name"
done < <(vectors)
# trust reads `u8 selector | patch` (even) or `u8 selector | key file` (odd).
for patch in ../core/tests/vectors/signed/*.patch; do
  { printf '\x00'; cat "$patch"; } > "corpus/trust/$(basename "$patch")"
done
for key in ../core/tests/vectors/signed/*.{pub,key}; do
  { printf '\x01'; cat "$key"; } > "corpus/trust/$(basename "$key")"
done
for patch in ../core/tests/bsdiff/*.bsdiff4*; do
  pair=$(basename "${patch%.*}")
  old=../core/tests/vectors/$pair.old
  { u16le "$(stat -c %s "$old")"; cat "$old"; printf '\x00'; tail -c +9 "$patch"; } > "corpus/bsdiff/$pair"
done
# container reads `u8 selector | u16 old_len | old | rest`: the container vectors' patches after
# their magic and version (selector 1: version 1, 5: version 2), and their zip pairs after
# the zip magic (selector 0: diffed).
while read -r old new patch; do
  case $patch in container-*) ;; *) continue ;; esac
  old=../core/tests/vectors/$old
  new=../core/tests/vectors/$new
  version=$(od -An -tu2 -j4 -N2 "../core/tests/vectors/$patch" | tr -d ' ')
  selector='\x05'
  [ "$version" = 1 ] && selector='\x01'
  { printf "$selector"; u16le "$(stat -c %s "$old")"; cat "$old"; tail -c +7 "../core/tests/vectors/$patch"; } \
    > "corpus/container/apply-${patch%.patch}"
  if [ "$(head -c 2 "$old")" = PK ]; then
    { printf '\x00'; u16le $(($(stat -c %s "$old") - 4)); tail -c +5 "$old"; tail -c +5 "$new"; } \
      > "corpus/container/diff-${patch%.patch}"
  fi
done < <(vectors)
# exec reads `u8 selector | file`: the exec vectors' old files.
for old in ../core/tests/vectors/exec-*.old; do
  { printf '\x05'; cat "$old"; } > "corpus/exec/$(basename "$old")"
done
# tree reads a tree patch: the tree vectors of both format versions.
cp ../core/tests/vectors/tree/*.cdtr corpus/tree/
for saved in ../core/tests/regressions/*-*; do
  target=$(basename "$saved")
  cp "$saved" "corpus/${target%%-*}/"
done

found=()
for target in "${targets[@]}"; do
  mkdir -p "artifacts/$target"
  log=artifacts/$target.log
  if cargo fuzz run "${build[@]}" "$target" -- -max_total_time="$seconds" -rss_limit_mb=2048 \
    -timeout=10 -max_len="${max_len[$target]}" -print_final_stats=1 "${extra[@]}" > "$log" 2>&1; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    echo "[fuzz] $target: ${runs:-?} runs in ${seconds}s, no finding"
  else
    tail -n 40 "$log"
    echo "[fuzz] $target: FINDING, see fuzz/$log and fuzz/artifacts/$target/" >&2
    found+=("$target")
  fi
done
[ ${#found[@]} -eq 0 ] || { echo "[fuzz] findings in: ${found[*]}" >&2; exit 1; }
