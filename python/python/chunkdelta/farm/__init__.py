"""The release farm: every patch a release needs, from many old versions and platforms, on
this machine or a Dask cluster, and the catalogue clients read to pick theirs.

::

    python -m chunkdelta.farm plan.toml -o out/                       # this machine
    python -m chunkdelta.farm plan.toml -o out/ --scheduler tcp://host:8786

    report = chunkdelta.farm.build("plan.toml", "out/")               # or client=Client(...)
    print(report.summary())

The plan format is in ``chunkdelta.farm.plan``, the catalogue's in ``catalogue.schema.json``
(``SCHEMA_PATH``), running on Dask in ``chunkdelta.farm.cluster``.
"""

from __future__ import annotations

from chunkdelta.farm.build import BuildReport, build
from chunkdelta.farm.catalogue import CATALOGUE, SCHEMA_PATH, load_schema
from chunkdelta.farm.errors import FarmError, PlanError
from chunkdelta.farm.jobs import PatchJob, PatchResult, tree_digest
from chunkdelta.farm.plan import Options, Plan, Release, load_plan, parse_plan

__all__ = [
    "CATALOGUE",
    "SCHEMA_PATH",
    "BuildReport",
    "FarmError",
    "Options",
    "PatchJob",
    "PatchResult",
    "Plan",
    "PlanError",
    "Release",
    "build",
    "load_plan",
    "load_schema",
    "parse_plan",
    "tree_digest",
]
