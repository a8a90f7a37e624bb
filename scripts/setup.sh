#!/usr/bin/env bash
# Installs what building and testing chunkdelta needs on a fresh Debian/Ubuntu machine.
# Sourced by demo.sh and test.sh; safe to run again (it only installs what is missing).
set -euo pipefail

need_apt=()
command -v cc >/dev/null 2>&1 || need_apt+=(gcc libc6-dev)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "[setup] apt-get install ${need_apt[*]}" >&2
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
  else
    echo "[setup] please install: ${need_apt[*]} (a C compiler builds the bundled libsais)" >&2
    exit 1
  fi
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "[setup] cargo not found: install Rust 1.89 or newer (https://rustup.rs), then rerun" >&2
  exit 1
fi
