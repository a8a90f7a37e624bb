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
"$bin" apply "$old" "$work/patch" -o "$work/new"
cmp "$work/new" "$new" && echo "the output matches $new byte for byte"
echo "== verify"
"$bin" verify "$old" "$work/patch"
