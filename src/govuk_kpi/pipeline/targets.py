"""Targets that say a task is done by something real: a loaded batch, fresh rollups, a stamp.

- `BatchTarget`: the warehouse's newest loaded batch of a source (over the same dates) holds
  exactly this input, by SHA-256. A changed input file (same day, new hash) makes it missing
  again, so its load task runs again.
- `RollupsTarget`: every rollup has seen the newest analytics or feedback batch.
- `StampTarget`: a JSON file a task writes last, holding the fingerprint of the inputs it was
  made from; a different fingerprint now means the output is out of date.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import luigi

from govuk_kpi.pipeline.context import RunContext
from govuk_kpi.sources.hashing import file_sha256, tree_sha256
from govuk_kpi.warehouse.batch import already_loaded
from govuk_kpi.warehouse.rollups import stale_rollups

__all__ = ["BatchTarget", "RollupsTarget", "StampTarget", "input_sha256"]


def input_sha256(path: Path) -> str | None:
    """The SHA-256 a loader records for a file or folder; None when it does not exist."""
    if not path.exists():
        return None
    return tree_sha256(path) if path.is_dir() else file_sha256(path)


class BatchTarget(luigi.Target):
    """Done when the warehouse holds `path`'s current content as the newest batch of `source`
    (for a daily file, the batch of its `day`)."""

    def __init__(
        self, context: RunContext, source: str, path: Path, day: date | None = None
    ) -> None:
        self.context = context
        self.source = source
        self.path = Path(path)
        self.day = day

    def batch_id(self) -> int | None:
        """The batch that holds this input now, or None."""
        sha = input_sha256(self.path)
        if sha is None:
            return None
        with self.context.reading() as connection:
            return already_loaded(connection, self.source, sha, self.day, self.day)

    def exists(self) -> bool:
        return self.batch_id() is not None

    def __repr__(self) -> str:
        return f"BatchTarget({self.source}, {self.path}, {self.day})"


class RollupsTarget(luigi.Target):
    """Done when no rollup is older than the newest daily batch."""

    def __init__(self, context: RunContext) -> None:
        self.context = context

    def exists(self) -> bool:
        with self.context.reading() as connection:
            return not stale_rollups(connection)


class StampTarget(luigi.Target):
    """A JSON stamp whose `fingerprint` must equal what `fingerprint()` computes now."""

    def __init__(self, path: Path, fingerprint: Callable[[], str]) -> None:
        self.path = Path(path)
        self.fingerprint = fingerprint

    def read(self) -> dict[str, Any] | None:
        try:
            stamp = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return stamp if isinstance(stamp, dict) else None

    def exists(self) -> bool:
        stamp = self.read()
        return stamp is not None and stamp.get("fingerprint") == self.fingerprint()

    def write(self, stamp: dict[str, Any]) -> None:
        """Write the stamp atomically (the last thing a task does)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        temporary.write_text(json.dumps(stamp, indent=2, sort_keys=True, default=str) + "\n")
        os.replace(temporary, self.path)
