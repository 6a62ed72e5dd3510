"""Every metric of the registry reaches every surface, with the same figure on each.

A metric is defined once, in `core/metrics.py`; the kpi listing, the REST listing (JSON, CSV and
its OpenAPI schema), the OData model (`$metadata`, its custom aggregates) and `docs/metrics.md`
are all built from that definition. Adding a metric there and missing it on one surface (or
serving it with another value) fails here: the test walks the registry, not a list of names.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
from lxml import etree
from odata_truth import fetch

from govuk_kpi.api.odata.model import entity_sets
from govuk_kpi.core.metrics import (
    DAILY_METRICS,
    DERIVED_METRICS,
    METRICS,
    derived_value,
    render_markdown,
)
from govuk_kpi.kpi import Warehouse

ROOT = Path(__file__).resolve().parents[2]
LISTED = (*DAILY_METRICS, *DERIVED_METRICS)  # the metrics summed or derived over a period
MONTH, MONTH_KEY = "october-2026", 202610
LISTING = {"date_range": MONTH, "sort": "pviews:desc"}
PAGE_SIZE = 200
EDM = {"edm": "http://docs.oasis-open.org/odata/ns/edm"}
# The entity sets that carry the daily metrics (and so the derived ones).
METRIC_SETS = [s.name for s in entity_sets().values() if set(DAILY_METRICS) <= set(s.by_name)]


@pytest.fixture
def warehouse(sample_url: str) -> Iterator[Warehouse]:
    warehouse = Warehouse(sample_url)
    yield warehouse
    warehouse.engine.dispose()


@pytest.fixture
def listing(warehouse: Warehouse) -> pd.DataFrame:
    """The kpi listing the REST listing is asked for below."""
    return warehouse.content(period=MONTH, sort="pviews:desc", page_size=PAGE_SIZE)


def _csv_rows(client: httpx.Client) -> list[dict[str, str]]:
    params = {**LISTING, "page_size": str(PAGE_SIZE), "format": "csv", "bom": "false"}
    response = client.get("/api/v1/content", params=params)
    assert response.status_code == 200, response.text
    return list(csv.DictReader(io.StringIO(response.text)))


def _metadata(client: httpx.Client) -> Any:
    response = client.get("/odata/$metadata")
    assert response.status_code == 200
    return etree.fromstring(response.content)


def test_metric_sets_are_the_daily_and_monthly_facts() -> None:
    assert METRIC_SETS == ["DailyMetrics", "MonthlyMetrics"]


def test_the_docs_page_is_a_fresh_render_listing_every_metric() -> None:
    page = (ROOT / "docs" / "metrics.md").read_text(encoding="utf-8")
    assert page == render_markdown()
    for m in METRICS:
        assert f"| `{m.name}` | {m.meaning} | {m.source} | {m.formula} | {m.grain} |" in page


@pytest.mark.parametrize("name", LISTED)
def test_every_metric_is_on_every_surface(
    name: str, client: httpx.Client, listing: pd.DataFrame
) -> None:
    # The kpi listing.
    assert name in listing.columns
    # The REST listing: its OpenAPI schema, its JSON rows and its CSV header.
    schema = client.get("/api/v1/openapi.json").json()["components"]["schemas"]["ContentItem"]
    assert name in schema["properties"]
    assert name in schema["required"]
    body = client.get("/api/v1/content", params={**LISTING, "page_size": PAGE_SIZE}).json()
    assert body["results"] and all(name in row for row in body["results"])
    assert name in _csv_rows(client)[0]
    # OData: a property of each entity type with metrics, in XML and JSON CSDL.
    document = _metadata(client)
    csdl = client.get("/odata/$metadata", params={"$format": "json"}).json()["GovukKpi"]
    for set_name in METRIC_SETS:
        type_name = entity_sets()[set_name].type_name
        kind = f"//edm:EntityType[@Name='{type_name}']"
        edm = document.xpath(f"{kind}/edm:Property[@Name='{name}']/@Type", namespaces=EDM)
        assert edm == (["Edm.Int64"] if name in DAILY_METRICS else ["Edm.Double"]), set_name
        assert name in csdl[type_name]
        # A derived metric is also its type's custom aggregate, of the property's type.
        custom = document.xpath(
            f"{kind}/edm:Annotation[@Term='Aggregation.CustomAggregate'][@Qualifier='{name}']"
            "/@String",
            namespaces=EDM,
        )
        declared = csdl[type_name].get(f"@Aggregation.CustomAggregate#{name}")
        if name in DERIVED_METRICS:
            assert (custom, declared) == (["Edm.Double"], "Edm.Double"), set_name
        else:
            assert (custom, declared) == ([], None), set_name


def test_every_entity_set_says_which_transformations_apply_takes(client: httpx.Client) -> None:
    document = _metadata(client)
    for set_name in entity_sets():
        values = document.xpath(
            f"//edm:EntitySet[@Name='{set_name}']/edm:Annotation"
            "[@Term='Aggregation.ApplySupported']/edm:Record/edm:PropertyValue"
            "[@Property='Transformations']/edm:Collection/edm:String/text()",
            namespaces=EDM,
        )
        assert values == ["filter", "groupby", "aggregate"], set_name
    references = document.xpath(
        "//edmx:Reference/edmx:Include/@Namespace",
        namespaces={"edmx": "http://docs.oasis-open.org/odata/ns/edmx"},
    )
    assert set(references) == {"Org.OData.Core.V1", "Org.OData.Aggregation.V1"}


def _same(a: Any, b: Any) -> bool:
    if a is None or b is None or (isinstance(a, float) and pd.isna(a)):
        return (a is None or pd.isna(a)) and (b is None or pd.isna(b))
    return bool(a == pytest.approx(b, rel=1e-12))


def test_each_derived_figure_is_the_same_on_every_surface(
    client: httpx.Client, listing: pd.DataFrame
) -> None:
    """A page's month figure: the registry's ratio of its sums in the kpi listing, the REST
    JSON and CSV, and the OData month row of the page."""
    body = client.get("/api/v1/content", params={**LISTING, "page_size": PAGE_SIZE}).json()
    rest = {row["page_id"]: row for row in body["results"]}
    text = {int(row["page_id"]): row for row in _csv_rows(client)}
    kpi = {int(row["page_id"]): row for row in listing.to_dict("records")}
    odata = {
        row["page_id"]: row
        for row in fetch(
            client,
            "MonthlyMetrics",
            ",".join(("page_id", *LISTED)),
            f"month_key eq {MONTH_KEY}",
        )
    }
    assert len(kpi) > 10 and set(rest) == set(kpi) == set(text)
    shared = set(kpi) & set(odata)
    assert len(shared) > 10
    for name in DERIVED_METRICS:
        answered = 0
        for page_id, row in kpi.items():
            sums = {m: int(row[m]) for m in DAILY_METRICS}
            expected = derived_value(name, sums)
            answered += expected is not None
            cell = text[page_id][name]
            assert _same(row[name], expected), (name, page_id)
            assert _same(rest[page_id][name], expected), (name, page_id)
            assert _same(float(cell) if cell else None, expected), (name, page_id)
            if page_id in shared:
                assert {m: odata[page_id][m] for m in DAILY_METRICS} == sums, page_id
                assert _same(odata[page_id][name], expected), (name, page_id)
        assert answered, name  # the sample gives every derived metric a value somewhere


@pytest.mark.parametrize("name", DERIVED_METRICS)
@pytest.mark.parametrize("set_name", ["DailyMetrics", "MonthlyMetrics"])
def test_odata_selects_and_orders_by_each_derived_metric(
    client: httpx.Client, set_name: str, name: str
) -> None:
    condition = "date eq 2026-10-31" if set_name == "DailyMetrics" else f"month_key eq {MONTH_KEY}"
    response = client.get(
        f"/odata/{set_name}",
        params={
            "$filter": f"{condition} and {name} ne null",
            "$orderby": f"{name} desc,page_id",
            "$select": name,
            "$top": 500,
        },
    )
    assert response.status_code == 200, response.text
    rows = response.json()["value"]
    assert rows
    assert all({k for k in row if not k.startswith("@")} == {name} for row in rows)
    values = [row[name] for row in rows]
    assert values == sorted(values, reverse=True)
