#!/usr/bin/env bash
# Tests the Python module: builds and installs the package from ./python into .venv with the
# documented `pip install ./python`, then runs its pytest suite and checks its type stubs
# against the built module (mypy stubtest). Exits non-zero on any failure.
#
# The first run compiles the release build (a few minutes on 2 cores); later runs reuse it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh python

# Pinned test tools; bsdiff4 is the reference the bsdiff4-compatible names are checked against;
# dask[distributed] runs the release farm's tests on a LocalCluster, jsonschema checks its catalogue.
TEST_DEPS=(maturin==1.16.0 pytest==9.2.0 mypy==2.4.1 bsdiff4==1.3.2 "dask[distributed]==2026.8.0" jsonschema==4.26.0)

if [ ! -x .venv/bin/python ]; then
  echo "[test-python] creating .venv" >&2
  python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check "${TEST_DEPS[@]}"

# bsdiff4's own test suite, from its sdist (hash-pinned), run against chunkdelta's names by
# python/tests/test_bsdiff4_suite.py. Only its test file is used, never its code.
suite=.venv/bsdiff4-1.3.2/bsdiff4/test_all.py
if [ ! -f "$suite" ]; then
  echo "[test-python] fetching bsdiff4 1.3.2's test suite" >&2
  echo "bsdiff4==1.3.2 --hash=sha256:ed262caa697247e9af00af1076b5fce0b578a17b19d9bdbad30c110dd7660a8d" \
    > .venv/bsdiff4-sdist.txt
  .venv/bin/python -m pip download --quiet --disable-pip-version-check --no-deps --no-binary :all: \
    --require-hashes -r .venv/bsdiff4-sdist.txt -d .venv
  tar -xzf .venv/bsdiff4-1.3.2.tar.gz -C .venv bsdiff4-1.3.2/bsdiff4/test_all.py bsdiff4-1.3.2/LICENSE
fi
export BSDIFF4_TEST_ALL=$PWD/$suite

echo "[test-python] pip install ./python" >&2
.venv/bin/python -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps ./python

# From python/, `import chunkdelta` finds the installed package (the sources are in python/python/).
(cd python && ../.venv/bin/python -m pytest tests)

echo "[test-python] stubtest and mypy --strict" >&2
.venv/bin/python -m mypy.stubtest chunkdelta
.venv/bin/python -m mypy --strict python/python/chunkdelta
