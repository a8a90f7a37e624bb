"""Installs and builds what compare.py measures, each step only when something is missing."""

import importlib.util
import json
import os
import shutil
import subprocess
import sys

import measure

BENCHES = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCHES)
VENV = os.path.join(BENCHES, ".venv")
VENV_PYTHON = os.path.join(VENV, "bin", "python")
REQUIREMENTS = os.path.join(BENCHES, "requirements.txt")
PEERS_CRATE = os.path.join(BENCHES, "peers")
PEERS_BINARY = os.path.join(PEERS_CRATE, "target", "release", "chunkdelta-peers")
CORPUS_ROOT = os.environ.get("CORPUS_DIR", os.path.expanduser("~/.cache/chunkdelta-corpus"))
CORPUS = os.path.join(CORPUS_ROOT, "dev")
# pairs of fetch.sh's exe set (other platforms' executables); every other pair is in its dev set
EXE_PAIRS = ["ruff-aarch64", "ruff-win", "ruff-mac"]
FETCH = os.path.join(ROOT, "..", "shared", "corpus", "fetch.sh")
# command -> the Debian package that provides it
APT_COMMANDS = {
    "bsdiff": "bsdiff",
    "bspatch": "bsdiff",
    "xdelta3": "xdelta3",
    "zstd": "zstd",
    measure.GNU_TIME: "time",
}


def log(message):
    print(f"[compare] {message}", file=sys.stderr, flush=True)


def apt_peers():
    """Installs the apt peers whose commands are missing, and python3-venv (as root)."""
    missing = {pkg for cmd, pkg in APT_COMMANDS.items() if not shutil.which(cmd)}
    if not os.path.exists(VENV_PYTHON) and importlib.util.find_spec("ensurepip") is None:
        missing.add("python3-venv")  # Debian's python3 has no ensurepip without it
    if not missing:
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        sys.exit(f"please install: {' '.join(sorted(missing))}")
    log(f"apt-get install {' '.join(sorted(missing))}")
    subprocess.run(["apt-get", "update", "-qq"], check=True, stdout=subprocess.DEVNULL)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", *sorted(missing)], check=True, env=env, stdout=subprocess.DEVNULL
    )


def venv():
    """Creates benches/.venv with the pinned Python peers unless it already has them."""
    stamp = os.path.join(VENV, "requirements.installed")
    with open(REQUIREMENTS) as f:
        wanted = f.read()
    if os.path.exists(stamp):
        with open(stamp) as f:
            if f.read() == wanted:
                return
    log("installing the Python peers into benches/.venv")
    subprocess.run([sys.executable, "-m", "venv", VENV], check=True)
    subprocess.run([VENV_PYTHON, "-m", "pip", "install", "-q", "-r", REQUIREMENTS], check=True)
    with open(stamp, "w") as f:
        f.write(wanted)


def in_venv():
    return os.path.realpath(sys.prefix) == os.path.realpath(VENV)


def cargo_build(manifest_dir, *args):
    subprocess.run(["cargo", "build", "--release", "--quiet", *args], cwd=manifest_dir, check=True)


def build_chunkdelta():
    """Builds the CLI; returns the binary's path (under CARGO_TARGET_DIR when that is set)."""
    log("cargo build --release -p chunkdelta-cli")
    cargo_build(ROOT, "-p", "chunkdelta-cli")
    meta = subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--no-deps"], cwd=ROOT, check=True, capture_output=True
    )
    return os.path.join(json.loads(meta.stdout)["target_directory"], "release", "chunkdelta")


def build_peers():
    """Builds benches/peers (qbsdiff and bidiff) into its own target folder."""
    log("cargo build --release (benches/peers)")
    cargo_build(PEERS_CRATE, "--locked", "--target-dir", os.path.join(PEERS_CRATE, "target"))


def corpus_set(name):
    """The fetch.sh set that holds a pair: exe or dev."""
    return "exe" if name in EXE_PAIRS else "dev"


def pair_dir(name):
    """The folder of a pair's old and new files."""
    return os.path.join(CORPUS_ROOT, corpus_set(name), name)


def pairs(names):
    """Runs fetch.sh dev or exe for each set with a named pair missing (with this venv's pip)."""
    missing = {corpus_set(name) for name in names if not os.path.exists(os.path.join(pair_dir(name), "new"))}
    for corpus in sorted(missing):
        subprocess.run([FETCH, corpus], check=True, env=dict(os.environ, PYTHON=sys.executable))
