"""The farm's errors; both are ``chunkdelta.Error``s."""

from __future__ import annotations

from chunkdelta import Error


class FarmError(Error):
    """A release farm build could not complete: a patch failed (the message names its platform
    and versions; the cause is chained), the cluster cannot run its tasks, or the output
    directory is unusable. Patches already finished stay in place for the next run."""


class PlanError(FarmError, ValueError):
    """The plan is wrong: unreadable, not TOML, a missing or unknown key, a value of the wrong
    type, an artifact that does not exist, or an old release whose platforms or artifact kinds
    do not match the new release's."""
