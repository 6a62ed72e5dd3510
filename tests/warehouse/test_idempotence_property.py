"""Property: loading any daily CSV twice equals loading it once, and a reload replaces its days."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from datetime import date, datetime
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from govuk_kpi.core.data import govuk_data_dir
from govuk_kpi.sources.daily_csv import FORMATS
from govuk_kpi.warehouse.db import get_engine, upgrade
from govuk_kpi.warehouse.load_files import load_content_path, load_daily_path
from support.snapshot import snapshot

PATHS = [
    "/national-curriculum",
    "/National-Curriculum/",
    "/national-curriculum?x=1",
    "https://www.gov.uk/renew-adult-passport",
    "/renew-adult-passport",
    "/not-a-page",
    "/",
    "/help/cookies",
]
DAYS = [date(2026, 10, d) for d in (1, 2, 3, 30)]
TODAY = date(2026, 11, 1)

_base_dir = Path(tempfile.mkdtemp(prefix="govuk-kpi-property-"))
atexit.register(shutil.rmtree, _base_dir, ignore_errors=True)  # made at import: no tmp_path
_base_db = _base_dir / "base.db"


def _base() -> Path:
    """A warehouse holding some real content items, built once and copied per example."""
    if not _base_db.exists():
        url = f"sqlite:///{_base_db}"
        upgrade(url)
        items = govuk_data_dir() / "content-items"
        for part in ("guide", "homepage", "help_page"):
            load_content_path(get_engine(url), items / part, observed_at=datetime(2026, 1, 1))
        get_engine(url).dispose()
    return _base_db


counts = st.integers(min_value=0, max_value=10**9)
rows = st.lists(
    st.tuples(
        st.sampled_from(DAYS), st.sampled_from(PATHS), st.lists(counts, min_size=9, max_size=9)
    ),
    min_size=1,
    max_size=40,
    unique_by=lambda r: (r[0], r[1]),
)


def _write(path: Path, data: list) -> Path:
    lines = [",".join(FORMATS["analytics"])]
    lines += [",".join([d.isoformat(), p, *map(str, values)]) for d, p, values in data]
    path.write_text("\n".join(lines) + "\n")
    return path


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(first=rows, second=rows)
def test_loading_twice_equals_loading_once(first: list, second: list) -> None:
    work = Path(tempfile.mkdtemp(prefix="govuk-kpi-example-"))
    try:
        db = work / "w.db"
        shutil.copy(_base(), db)
        url = f"sqlite:///{db}"
        engine = get_engine(url)
        a = _write(work / "a.csv", first)
        load_daily_path(engine, a, "analytics", today=TODAY)
        once = snapshot(engine)
        again = load_daily_path(engine, a, "analytics", today=TODAY)
        assert again.skipped_as is not None
        assert snapshot(engine) == once

        # Another file over other days and back again: the facts equal loading `a` alone.
        b = _write(work / "b.csv", second)
        load_daily_path(engine, b, "analytics", today=TODAY)
        load_daily_path(engine, a, "analytics", today=TODAY)
        facts = {"fact_page_daily", "fact_unmatched_daily"}
        replaced = snapshot(engine, ignore={"batch_id", "feedex_batch_id"})
        alone = work / "alone.db"
        shutil.copy(_base(), alone)
        fresh = get_engine(f"sqlite:///{alone}")
        load_daily_path(fresh, b, "analytics", today=TODAY)
        load_daily_path(fresh, a, "analytics", today=TODAY)
        expected = snapshot(fresh, ignore={"batch_id", "feedex_batch_id"})
        assert {k: replaced[k] for k in facts} == {k: expected[k] for k in facts}
        engine.dispose()
        fresh.dispose()
    finally:
        shutil.rmtree(work, ignore_errors=True)
