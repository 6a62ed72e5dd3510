"""The daily CSV formats are versioned: a new daily metric is a deliberate format change.

The registry (`core/metrics.py`) says which daily metrics the warehouse keeps; the reader's
formats say which columns a file must have. They are written separately on purpose, so adding
a daily metric to the registry fails here until the format gets a new version that lists it
(and docs/formats.md says so), rather than silently changing the header every file must have.
"""

from __future__ import annotations

from pathlib import Path

from govuk_kpi.core.metrics import DAILY_METRICS
from govuk_kpi.sources.daily_csv import FORMAT_VERSION, FORMAT_VERSIONS, FORMATS

ROOT = Path(__file__).resolve().parents[2]


def test_the_current_version_carries_every_daily_metric_once() -> None:
    assert FORMATS is FORMAT_VERSIONS[FORMAT_VERSION]
    assert max(FORMAT_VERSIONS) == FORMAT_VERSION
    metrics = [c for columns in FORMATS.values() for c in columns[2:]]
    assert sorted(metrics) == sorted(DAILY_METRICS)
    assert all(columns[:2] == ("date", "path") for columns in FORMATS.values())


def test_version_1_is_frozen() -> None:
    """A published version never changes: files written to it must keep loading."""
    assert FORMAT_VERSIONS[1] == {
        "analytics": ("date", "path", "pviews", "upviews", "useful_yes", "useful_no", "searches",
                      "entrances", "exits", "bounces", "page_time"),
        "feedback": ("date", "path", "feedex"),
    }  # fmt: skip


def test_the_docs_list_the_current_version_columns() -> None:
    page = (ROOT / "docs" / "formats.md").read_text(encoding="utf-8")
    assert f"format version {FORMAT_VERSION}" in page
    for columns in FORMATS.values():
        assert "\n" + ",".join(columns) + "\n" in page  # the header of its example
