"""Durable, atomic file-system steps: a reader sees a file whole or not at all."""

from __future__ import annotations

import os
import uuid
from pathlib import Path


def fsync_dir(path: Path) -> None:
    """Makes the entries of the directory ``path`` (renames into it) durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def publish(temp: Path, dest: Path) -> None:
    """Renames the complete, fsynced file ``temp`` to ``dest`` (same file system), replacing
    it, and makes the rename durable."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    os.replace(temp, dest)
    fsync_dir(dest.parent)


def write_atomically(dest: Path, data: bytes) -> None:
    """Writes ``data`` to ``dest`` through a fsynced temporary file beside it."""
    temp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(temp, "xb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        publish(temp, dest)
    finally:
        temp.unlink(missing_ok=True)
