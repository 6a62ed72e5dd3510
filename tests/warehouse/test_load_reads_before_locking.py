"""A daily load reads its file before it takes the warehouse's write lock, and holds the lock
only while it writes: a GA4 export can take minutes to read, and other writers (a pipeline's
workers) wait meanwhile only on SQLite's lock, not on the read.

The lock here removes the file as it is taken: a load that read inside the lock would find
nothing to read; one that read before it loads every row.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pytest

from govuk_kpi.warehouse.db import get_engine, upgrade
from govuk_kpi.warehouse.load_files import LOADERS

FIXTURES = Path(__file__).parents[1] / "extract" / "fixtures"
TODAY = date(2026, 11, 30)
DAY_CSV = (
    "date,path,pviews,upviews,useful_yes,useful_no,searches,entrances,exits,bounces,page_time\n"
    "2026-10-30,/,5,5,0,0,0,0,0,0,0\n2026-10-30,/search,3,2,0,0,0,0,0,0,0\n"
)


@pytest.mark.parametrize(
    ("kind", "fixture"),
    [
        ("analytics", None),
        ("ga4", "events_20261030.json"),
        ("ga-pages", "ga4-pages-20261030.csv"),
    ],
)
def test_a_daily_load_holds_the_lock_only_to_write(
    tmp_path: Path, kind: str, fixture: str | None
) -> None:
    url = f"sqlite:///{tmp_path}/w.db"
    upgrade(url)
    path = tmp_path / (fixture or "day.csv")
    if fixture:
        shutil.copy(FIXTURES / fixture, path)
    else:
        path.write_text(DAY_CSV, encoding="utf-8")
    taken: list[str] = []

    @contextmanager
    def lock() -> Iterator[None]:
        path.unlink()  # read already, or never
        taken.append("write")
        yield

    result = LOADERS[kind](get_engine(url), path, today=TODAY, lock=lock)
    assert taken == ["write"]
    assert result.batch_id is not None and result.skipped_as is None, result.summary()
    assert result.rows_loaded + result.rows_unmatched > 0
