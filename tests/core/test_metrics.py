"""The metric registry: each derived metric written once, its docs page rendered from it."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import create_engine, literal, select

from govuk_kpi.core.metrics import (
    BY_NAME,
    DAILY_METRICS,
    DERIVED_METRICS,
    METRICS,
    derived_value,
    render_markdown,
)
from govuk_kpi.kpi.expressions import derived_columns

ROOT = Path(__file__).resolve().parents[2]
counts = st.integers(min_value=0, max_value=10**9)


def test_the_docs_page_is_the_registry_rendered() -> None:
    assert (ROOT / "docs" / "metrics.md").read_text(encoding="utf-8") == render_markdown()
    for metric in METRICS:
        assert f"| `{metric.name}` |" in render_markdown()


def test_every_derived_metric_has_one_definition_over_daily_metrics() -> None:
    assert DERIVED_METRICS == (
        "satisfaction",
        "pviews_per_visit",
        "searches_per_user",
        "exit_rate",
        "bounce_rate",
    )
    for name in DERIVED_METRICS:
        ratio = BY_NAME[name].ratio
        assert ratio is not None and set(ratio.inputs) <= set(DAILY_METRICS)
    assert all(BY_NAME[name].ratio is None for name in DAILY_METRICS)


def test_an_unknown_name_gets_no_value() -> None:
    sums = dict.fromkeys(DAILY_METRICS, 3)
    for name in ("nosuch", "pviews", "words", ""):
        with pytest.raises(KeyError):
            derived_value(name, sums)


@given(
    yes=counts,
    no=counts,
    pviews=counts,
    upviews=counts,
    searches=counts,
    exits=counts,
    entrances=counts,
    bounces=counts,
)
def test_python_values_are_the_glossary_formulas(
    yes, no, pviews, upviews, searches, exits, entrances, bounces
) -> None:
    sums = {**dict.fromkeys(DAILY_METRICS, 0), "useful_yes": yes, "useful_no": no}
    sums |= {"pviews": pviews, "upviews": upviews, "searches": searches}
    sums |= {"exits": exits, "entrances": entrances, "bounces": bounces}
    # The formulas as docs/metrics.md words them, written out independently.
    assert derived_value("satisfaction", sums) == (None if yes + no == 0 else yes / (yes + no))
    assert derived_value("pviews_per_visit", sums) == (None if not upviews else pviews / upviews)
    expected = None if not upviews else min(100.0, searches / upviews * 100)
    assert derived_value("searches_per_user", sums) == expected
    # Rates are ratios 0..1 (as satisfaction is), not percents, and not capped.
    assert derived_value("exit_rate", sums) == (None if not pviews else exits / pviews)
    assert derived_value("bounce_rate", sums) == (None if not entrances else bounces / entrances)


def test_rates_are_fractions_like_satisfaction() -> None:
    for name in ("satisfaction", "exit_rate", "bounce_rate"):
        metric = BY_NAME[name]
        assert (metric.unit, metric.grain, metric.integer) == ("ratio", "derived", False)
        assert metric.ratio is not None
        assert (metric.ratio.scale, metric.ratio.cap) == (1.0, None)


FIGURES = ("useful_yes", "useful_no", "pviews", "upviews", "searches", "exits", "entrances")


@pytest.mark.parametrize(
    ("figures", "bounces"),
    [
        ((0, 0, 0, 0, 0, 0, 0), 0),
        ((3, 1, 10, 4, 1, 3, 6), 2),
        ((0, 5, 7, 7, 9, 7, 0), 0),
        ((1, 0, 1, 3, 300, 0, 5), 5),
        ((2, 2, 0, 0, 5, 0, 3), 1),
    ],
)
def test_sql_and_python_agree(figures: tuple[int, ...], bounces: int) -> None:
    sums = {**dict.fromkeys(DAILY_METRICS, 0), **dict(zip(FIGURES, figures, strict=True))}
    sums["bounces"] = bounces
    columns = {name: literal(value) for name, value in sums.items()}
    with create_engine("sqlite://").connect() as connection:
        row = connection.execute(select(*derived_columns(columns))).mappings().one()
    assert list(row) == list(DERIVED_METRICS)
    for name in DERIVED_METRICS:
        assert row[name] == pytest.approx(derived_value(name, sums)), name
