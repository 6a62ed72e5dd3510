"""The database backends a test run covers (`GOVUK_KPI_TEST_BACKENDS`)."""

from __future__ import annotations

import os

import pytest

BACKENDS = ("sqlite", "postgresql")
BACKENDS_ENV = "GOVUK_KPI_TEST_BACKENDS"


def selected_backends() -> list[str]:
    """Return the backends named by ``GOVUK_KPI_TEST_BACKENDS``, all of them by default."""
    raw = os.environ.get(BACKENDS_ENV, ",".join(BACKENDS))
    names = [name.strip().lower() for name in raw.split(",") if name.strip()]
    unknown = sorted(set(names) - set(BACKENDS))
    if unknown or not names:
        raise pytest.UsageError(
            f"{BACKENDS_ENV}={raw!r}: expected a comma-separated subset of {', '.join(BACKENDS)}"
        )
    return [name for name in BACKENDS if name in names]
