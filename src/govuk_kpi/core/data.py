"""Where the real GOV.UK sample data lives (content items, organisations, ...)."""

from __future__ import annotations

import os
from pathlib import Path

from govuk_kpi.core.errors import ConfigError

DATA_DIR_ENV = "GOVUK_KPI_DATA_DIR"

# src/govuk_kpi/core/data.py → parents[3] is the repository root in a source checkout.
_REPO_ROOT = Path(__file__).resolve().parents[3]


def govuk_data_dir() -> Path:
    """Return the directory holding the GOV.UK data set.

    The first that exists of: the directory named by the `GOVUK_KPI_DATA_DIR` environment
    variable, and `<repo root>/data/govuk` (the copy the project ships, with its licences).

    Raises:
        ConfigError: neither exists; the message lists where it looked.
    """
    candidates: list[Path] = []
    override = os.environ.get(DATA_DIR_ENV)
    if override:
        candidates.append(Path(override).expanduser())
    candidates.append(_REPO_ROOT / "data" / "govuk")
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    looked = ", ".join(str(c) for c in candidates)
    raise ConfigError(f"GOV.UK data directory not found; looked in: {looked}")
