#!/usr/bin/env bash
# Builds chunkdelta, then diffs, applies and verifies the bundled example pair
# (examples/synth: 4 MiB of mixed content with 40 edits and far block moves).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

cargo build --release --quiet -p chunkdelta-cli
bin=target/release/chunkdelta
old=examples/synth/old
new=examples/synth/new
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "== diff"
"$bin" diff "$old" "$new" -o "$work/patch"
echo "== info"
"$bin" info "$work/patch"
echo "== apply"
start=$(date +%s.%N)
"$bin" apply "$old" "$work/patch" -o "$work/new"
end=$(date +%s.%N)
cmp "$work/new" "$new"
printf 'applied %s bytes in %.3f s, byte-exact\n' "$(stat -c %s "$new")" "$(echo "$end - $start" | bc -l 2>/dev/null || python3 -c "print($end - $start)")"
echo "== verify"
"$bin" verify "$old" "$work/patch"
