"""Fixtures of the pipeline tests: the stand-in, a base workspace with history, copies of it."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from pipeline_helpers import DAYS, SNAPSHOT_DAY, settings_for, standin, write_landing

from govuk_kpi.pipeline import run_pipeline
from govuk_kpi.warehouse.db import upgrade

HISTORY_DAYS = 35  # 2026-09-27..10-31: the 30 days before 10-29 hold data


@pytest.fixture(scope="session")
def server() -> Iterator[str]:
    with standin() as running:
        yield running.url


@pytest.fixture(scope="session")
def base(tmp_path_factory: pytest.TempPathFactory, server: str) -> Path:
    """A workspace whose warehouse holds the history before the three days (not the days)."""
    root = tmp_path_factory.mktemp("pipeline-base")
    url = f"sqlite:///{root}/warehouse.db"
    upgrade(url)
    days = write_landing(root / "landing", DAYS[-1], HISTORY_DAYS, root / "generated")
    assert days[0] == DAYS[-1] - timedelta(days=HISTORY_DAYS - 1)
    result = run_pipeline(
        days[0],
        DAYS[0] - timedelta(days=1),
        snapshot_date=SNAPSHOT_DAY,
        **settings_for(root, url, server),
    )
    assert result.ok, result.summary
    return root


@pytest.fixture
def workspace(base: Path, tmp_path: Path, server: str) -> dict:
    root = tmp_path / "ws"
    shutil.copytree(base, root)
    url = f"sqlite:///{root}/warehouse.db"
    return {"root": root, "url": url, "settings": settings_for(root, url, server)}
