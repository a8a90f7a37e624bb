#!/usr/bin/env bash
# Tests that chunkdelta installs the standard ways, from a clean copy of the sources:
#   - `cargo package` of the library and CLI crates (packaged and built from the package);
#   - `cargo install --path cli` (with `--debug`, see below), then the installed `chunkdelta`
#     applies a bsdiff patch and generates its completions (loaded by bash) and its man page
#     (rendered by man, if present);
#   - `maturin sdist`, and `pip install` of that sdist in a fresh venv (build isolation: pip
#     fetches maturin itself, so only Rust and Python are needed), then an import and a round
#     trip, and the application of a BSDIFF40 patch.
# Every artifact must carry the workspace version. All three builds share target/install, so
# later runs are incremental, and all three build the dev profile without debug info (the
# package check always does; `cargo install --debug`, maturin `--profile dev`), so that each
# reuses the dependencies the first built: this checks that the packages install, not how fast
# they run. It took 96 s against 186 s with release builds (without LTO) on 2 cores. Exits
# non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh python
root=$PWD
export CARGO_TARGET_DIR=$root/target/install CARGO_PROFILE_DEV_DEBUG=false
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -1)
say() { echo "[test-install] $*" >&2; }
vectors=core/tests/vectors

say "cargo package -p chunkdelta -p chunkdelta-cli (version $version)"
# The three builds start from nothing, as on a new user's machine: cargo counts packages from
# a registry (the local one that verifies the CLI against the packaged library) as never
# changing, so a build left from an earlier run of the same version would be reused, and
# with it an older library. A clean clone has no target/install, so this costs CI nothing.
rm -rf "${CARGO_HOME:-$HOME/.cargo}"/registry/src/-*/chunkdelta-"$version" \
  "${CARGO_HOME:-$HOME/.cargo}"/registry/src/-*/chunkdelta-cli-"$version" "$CARGO_TARGET_DIR"
cargo package --quiet --allow-dirty -p chunkdelta -p chunkdelta-cli
for crate in chunkdelta chunkdelta-cli; do
  [ -f "$CARGO_TARGET_DIR/package/$crate-$version.crate" ] || { say "no $crate-$version.crate"; exit 1; }
done

say "cargo install --path cli"
cargo install --quiet --locked --debug --path cli --root "$work/cargo"
installed=$work/cargo/bin/chunkdelta
[ "$("$installed" --version)" = "chunkdelta $version" ]
"$installed" apply "$vectors/pieces.old" core/tests/bsdiff/pieces.bsdiff40 -o "$work/pieces.new" >/dev/null
cmp "$work/pieces.new" "$vectors/pieces.new"
"$installed" completions bash > "$work/chunkdelta.bash"
bash -c "source '$work/chunkdelta.bash' && complete -p chunkdelta" | grep -q _chunkdelta
"$installed" man > "$work/chunkdelta.1"
grep -q '^\.TH chunkdelta 1' "$work/chunkdelta.1"
if command -v man >/dev/null 2>&1; then
  MANWIDTH=80 man -l "$work/chunkdelta.1" 2>/dev/null | grep -q 'chunkdelta-apply'
fi

say "maturin sdist, then pip install of it in a fresh venv"
[ -x .venv/bin/maturin ] || scripts/test-python.sh
.venv/bin/maturin sdist -m python/Cargo.toml -o "$work/sdist" >/dev/null 2>&1
sdist=$work/sdist/chunkdelta-$version.tar.gz
[ -f "$sdist" ] || { say "no sdist chunkdelta-$version.tar.gz"; exit 1; }
python3 -m venv "$work/venv"
MATURIN_PEP517_ARGS="--profile dev" "$work/venv/bin/python" -m pip install --quiet \
  --disable-pip-version-check "$sdist"
(cd "$work" && "$work/venv/bin/python" - "$root/$vectors" "$root/core/tests/bsdiff" "$version" <<'PY')
import sys
from pathlib import Path

import chunkdelta

vectors, bsdiff, version = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
assert chunkdelta.__version__ == version, chunkdelta.__version__
assert Path(chunkdelta.__file__).is_relative_to(Path(sys.prefix)), chunkdelta.__file__
old, new = (vectors / "pieces.old").read_bytes(), (vectors / "pieces.new").read_bytes()
assert chunkdelta.apply(old, chunkdelta.diff(old, new)) == new
assert chunkdelta.patch(old, (bsdiff / "pieces.bsdiff40").read_bytes()) == new
PY
say "ok: crates packaged, CLI installed with completions and man page, sdist installed"
