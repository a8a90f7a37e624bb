#!/usr/bin/env bash
# Runs every test of every crate and language: formatting, lints, unit, integration, property,
# CLI, golden-vector, C and Python tests, and a short fuzz run. Installs what it needs first.
# CI runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh minisign

if cargo fmt --version >/dev/null 2>&1; then
  cargo fmt --all --check
else
  echo "[test] rustfmt not installed: skipping the format check" >&2
fi
if cargo clippy --version >/dev/null 2>&1; then
  cargo clippy --workspace --all-targets --quiet -- -D warnings
else
  echo "[test] clippy not installed: skipping lints" >&2
fi

cargo test --workspace
# Every Rust test once more on one thread: results must not depend on the thread count (the
# worker pools are the core's; the C and Python tests below run on its defaults). The whole
# workspace, not `-p chunkdelta`: that selection resolves the core's features differently
# (without the benches' `bench-internals`) and rebuilt it, 5 minutes on 2 cores.
RAYON_NUM_THREADS=1 cargo test --workspace --quiet --lib --bins --tests
# Every criterion micro-benchmark once, on small inputs, so they cannot rot (benches/MICRO.md);
# a plain `cargo bench -p chunkdelta-benches` measures.
cargo bench -p chunkdelta-benches --quiet -- --test

# Each language boundary, tested from that language.
scripts/test-c.sh
scripts/test-python.sh
# The standard ways to install: cargo package, cargo install, pip install of the sdist.
scripts/test-install.sh

# Each fuzz target for a few seconds, so the harness cannot rot; scripts/fuzz.sh 3600 for real
# (optimised fully: this short run builds at opt-level 1, in half the time).
CARGO_PROFILE_RELEASE_OPT_LEVEL=1 scripts/fuzz.sh 5
