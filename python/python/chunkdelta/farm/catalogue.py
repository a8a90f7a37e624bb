"""The catalogue: ``OUT/catalogue.json``, the index clients read to pick their patch.

Its JSON Schema ships beside this module (``catalogue.schema.json``, ``SCHEMA_PATH``) and
documents every field.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

from chunkdelta.farm.files import write_atomically
from chunkdelta.farm.jobs import PatchResult
from chunkdelta.farm.plan import Plan

CATALOGUE = "catalogue.json"
SCHEMA_PATH = Path(__file__).with_name("catalogue.schema.json")
FORMAT = 1


def load_schema() -> dict[str, Any]:
    """The catalogue's JSON Schema (draft 2020-12)."""
    schema: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return schema


def entry(result: PatchResult, max_patch_ratio: float) -> dict[str, Any]:
    """The catalogue entry of one finished patch."""
    job = result.job
    return {
        "platform": job.platform,
        "from_version": job.from_version,
        "kind": "tree" if job.new.tree else "file",
        "patch": job.patch,
        "patch_size": result.patch_size,
        "old_blake3": job.old.blake3,
        "new_blake3": job.new.blake3,
        "new_size": job.new.size,
        "serve_full": result.patch_size > max_patch_ratio * job.new.size,
    }


def catalogue(plan: Plan, results: Sequence[PatchResult]) -> dict[str, Any]:
    """The catalogue of the plan's release, its entries in the order of ``results``."""
    ratio = plan.options.max_patch_ratio
    return {
        "format": FORMAT,
        "product": plan.product,
        "version": plan.release.version,
        "release_number": plan.number,
        "signed": plan.options.sign_key is not None,
        "max_patch_ratio": ratio,
        "entries": [entry(result, ratio) for result in results],
    }


def write_catalogue(out: Path, content: dict[str, Any]) -> Path:
    """Writes ``content`` as ``out/catalogue.json``, atomically; returns its path."""
    path = out / CATALOGUE
    write_atomically(path, (json.dumps(content, indent=2) + "\n").encode())
    return path
