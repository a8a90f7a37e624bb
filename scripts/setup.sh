#!/usr/bin/env bash
# Installs what building and testing chunkdelta needs on a fresh Debian/Ubuntu machine; safe to
# run again (it only installs what is missing).
#
#   scripts/setup.sh [c] [python] [minisign]
#
# Always: a C compiler (the bundled libsais). `c` adds pkg-config, for the C tests of the C ABI;
# `python` adds python3 with venv, for the Python module's tests; `minisign` adds minisign, for
# the tests that our key files work with it.
set -euo pipefail

need_apt=()
command -v cc >/dev/null 2>&1 || need_apt+=(gcc libc6-dev)
for part in "$@"; do
  case "$part" in
    c) command -v pkg-config >/dev/null 2>&1 || need_apt+=(pkg-config) ;;
    # Debian's python3 ships venv without ensurepip until python3-venv is installed.
    python) python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || need_apt+=(python3 python3-dev python3-venv) ;;
    minisign) command -v minisign >/dev/null 2>&1 || need_apt+=(minisign) ;;
    *) echo "[setup] unknown part: $part (expected c, python or minisign)" >&2; exit 2 ;;
  esac
done
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "[setup] apt-get install ${need_apt[*]}" >&2
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
  else
    echo "[setup] please install: ${need_apt[*]}" >&2
    exit 1
  fi
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "[setup] cargo not found: install Rust 1.89 or newer (https://rustup.rs), then rerun" >&2
  exit 1
fi
