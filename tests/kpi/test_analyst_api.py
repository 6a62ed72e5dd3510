"""The analyst API answers in full, or says it did not: no silent cuts, no float counts."""

from __future__ import annotations

import warnings

import pytest

from govuk_kpi.core.errors import ConfigError, UnknownOrganisation
from govuk_kpi.core.metrics import DAILY_METRICS
from govuk_kpi.kpi import Warehouse
from govuk_kpi.kpi.listing import DEFAULT_PAGE_SIZE, TruncatedWarning


@pytest.fixture
def warehouse(sample_url: str) -> Warehouse:
    return Warehouse(sample_url)


def test_a_listing_cut_short_without_asking_warns_and_says_so(warehouse: Warehouse) -> None:
    with pytest.warns(TruncatedWarning, match=r'first 100 of \d+ rows; pass page_size="all"'):
        frame = warehouse.content(period="past-30-days")
    assert len(frame) == DEFAULT_PAGE_SIZE < frame.attrs["total_results"]
    assert frame.attrs["truncated"] is True


def test_all_rows_come_when_asked_for(warehouse: Warehouse) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        frame = warehouse.content(period="past-30-days", page_size="all")
    assert len(frame) == frame.attrs["total_results"] > DEFAULT_PAGE_SIZE
    assert frame["base_path"].is_unique
    assert (frame.attrs["truncated"], frame.attrs["total_pages"]) == (False, 1)
    with pytest.raises(ConfigError, match="page 1"):
        warehouse.content(page_size="all", page=2)


def test_an_asked_for_page_is_no_surprise(warehouse: Warehouse) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        frame = warehouse.content(period="past-30-days", page_size=10, page=2)
        small = warehouse.content(period="past-30-days", organisation="hm-revenue-customs")
    assert len(frame) == 10 and frame.attrs["truncated"] is False
    assert len(small) == small.attrs["total_results"] <= DEFAULT_PAGE_SIZE


def test_headline_counts_are_whole_numbers(warehouse: Warehouse) -> None:
    headline = warehouse.headline(period="past-30-days")
    for name in (*DAILY_METRICS, "pages", "unmatched_pviews", "unmatched_paths"):
        assert type(headline[name]) is int, name
    assert isinstance(headline["satisfaction"], float)


def test_an_unknown_organisation_is_an_error_naming_the_nearest(warehouse: Warehouse) -> None:
    for ask in (
        lambda: warehouse.content(organisation="hm-revenue-custom"),
        lambda: warehouse.organisation_summary(organisation="hm-revenue-custom"),
        lambda: warehouse.document_type_summary(organisation="hm-revenue-custom"),
    ):
        with pytest.raises(UnknownOrganisation, match="did you mean hm-revenue-customs") as error:
            ask()
        assert isinstance(error.value, LookupError) and error.value.value == "hm-revenue-custom"
    known = warehouse.organisations()
    quiet = known.loc[known["pages"] == 0, "slug"].iloc[0]  # known, with no pages: empty
    assert warehouse.content(organisation=quiet).empty


def test_a_pages_days_are_datetimes(warehouse: Warehouse) -> None:
    daily = warehouse.page_daily("/", "2026-10-01", "2026-10-03")
    assert daily["date"].dtype.kind == "M"  # datetime64
    assert daily["date"].dt.day.tolist() == [1, 2, 3]
