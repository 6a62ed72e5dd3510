"""Answer a `MonthlyMetrics` `$apply` from the organisation-monthly rollup when that gives the
same answer.

`MonthlyMetrics` has one row per page item per month. A BI tool's usual question of it is a
total per organisation and month, which at GOV.UK size sums millions of rows. The rollup
`agg_organisation_monthly` holds those totals already (by the organisation of each page's
newest edition, as `MonthlyMetrics` does), so an `$apply` that only filters and groups by
organisation and month properties, and only sums metrics or counts rows, is compiled against
the rollup instead: sums of sums are the sums, and a count of page rows is the sum of `pages`.
Anything else (another property, another aggregation method, a later step) takes the
page-level route, and so does every query while the rollup is stale.
"""

from __future__ import annotations

from sqlalchemy import Connection

from govuk_kpi.api.odata.apply import Aggregate, Transformation, apply_transformations
from govuk_kpi.api.odata.expressions import Columns, ODataError
from govuk_kpi.core.metrics import DAILY_METRICS
from govuk_kpi.kpi.sums import organisation_monthly, organisation_monthly_is_fresh

ROUTED_ENTITY = "MonthlyMetrics"
# Not a name a request can spell (the parser never yields "$" names as properties), so a
# $filter or groupby cannot reach the rollup's page count as if it were a property.
_PAGES = "$pages"


def _grain_columns() -> Columns:
    """The `MonthlyMetrics` properties that the rollup's grain keeps, plus its page count."""
    source = organisation_monthly(_PAGES)
    edm = {"month_key": "Edm.Int32", "month": "Edm.String", "year": "Edm.Int32"}
    edm |= {"first_day": "Edm.Date", "organisation_key": "Edm.Int64"}
    edm |= {"organisation": "Edm.String"}
    return {c.key: (c, edm.get(c.key, "Edm.Int64")) for c in source.c}


def _routable(steps: list[Transformation]) -> bool:
    """Filters, then one grouping or aggregation of metric sums and row counts, and no more."""
    *filters, last = steps
    if any(step.kind != "filter" for step in filters) or last.kind == "filter":
        return False
    if not last.aggregates or any(name.startswith("$") for name in last.groups):
        return False
    # A lone aggregate() over no rows counts 0 but sums nothing (null): keep counts off it.
    if last.kind == "aggregate" and any(a.method == "count" for a in last.aggregates):
        return False
    return all(
        a.method == "count" or (a.method == "sum" and a.source in DAILY_METRICS)
        for a in last.aggregates
    )


def route_to_rollup(
    connection: Connection, entity_name: str, steps: list[Transformation], type_name: str
):
    """The compiled `$apply` over the rollup, or None when the page-level route must answer."""
    if entity_name != ROUTED_ENTITY or not _routable(steps):
        return None
    # Counting page rows becomes summing the rollup's page counts.
    last = steps[-1]
    aggregates = tuple(
        Aggregate(_PAGES, "sum", a.alias) if a.method == "count" else a for a in last.aggregates
    )
    routed = [*steps[:-1], Transformation(last.kind, last.condition, last.groups, aggregates)]
    try:
        query, columns = apply_transformations(routed, _grain_columns(), type_name)
    except ODataError:
        # A property the rollup does not keep: the page-level route answers (or explains).
        return None
    if not organisation_monthly_is_fresh(connection):
        return None
    return query, columns
