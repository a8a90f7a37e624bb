#!/usr/bin/env bash
# Reproduces the peer comparison (benches/README.md): installs what is missing (here a C
# compiler and python3 with venv; benches/compare.py adds the peers, their venv and the corpus),
# builds chunkdelta --release, and measures every tool on every dev pair. Writes
# benches/results.md, results.json and results.png. Arguments go to benches/compare.py
# (see --help), such as --pairs ruff --repeat 1 or --scaling.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh python
exec python3 benches/compare.py "$@"
