"""The views BI reads: one select per OData entity set, over the star schema.

Each function returns the entity set's source, a select of labelled columns whose names are
the set's properties, in the order `api/odata/model.py` declares them (it checks). The OData
side (names, Edm types, keys, navigation) lives there; what the columns are made of lives
here, so only `warehouse` and `kpi` know the tables. Derived metrics are the registry's
(`core/metrics.py`), compiled to SQL by `kpi.expressions`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from govuk_kpi.core.metrics import DAILY_METRICS, EDITION_METRICS
from govuk_kpi.kpi.frames import AnySelect, edition_metric_columns, metric_columns, newest_edition
from govuk_kpi.warehouse.models import (
    AggPageMonthly,
    DimDate,
    DimDocumentType,
    DimEdition,
    DimMonth,
    DimOrganisation,
    FactEditionMetrics,
    FactPageDaily,
)

# The properties of `Pages`, in order: an edition's, its document type's and primary
# organisation's, then its edition metrics.
PAGE_PROPERTIES = (
    *("edition_key", "page_id", "content_id", "locale", "base_path", "title", "description"),
    *("document_type", "schema_name", "publishing_app", "organisation_key", "organisation"),
    *("first_published_at", "public_updated_at", "withdrawn", "phase"),
    *("valid_from", "valid_to", "is_live"),
    *EDITION_METRICS,
)
ORGANISATION_PROPERTIES = (
    *("organisation_key", "content_id", "slug", "title", "acronym", "organisation_type"),
    *("status", "closed_at", "parent_slug"),
)


def _edition_columns() -> dict[str, Any]:
    """Every property an edition row can show, by name: the edition's own, its document type,
    its primary organisation and its edition metrics."""
    joined = (
        DimDocumentType.name.label("document_type"),
        *_organisation_columns(),
        *edition_metric_columns(),
    )
    columns = {c.key: c for c in joined}
    return {
        name: columns[name] if name in columns else getattr(DimEdition, name)
        for name in PAGE_PROPERTIES
    }


def editions(*names: str) -> AnySelect:
    """The properties `names` of every edition (see `PAGE_PROPERTIES`), in that order, with its
    document type, its primary organisation (joined only when asked for) and its edition
    metrics beside it."""
    columns = _edition_columns()
    query = (
        select(*[columns[name] for name in names])
        .select_from(DimEdition)
        .join(DimDocumentType, DimDocumentType.document_type_key == DimEdition.document_type_key)
    )
    if "organisation" in names:
        query = _with_organisation(query)
    return query.outerjoin(
        FactEditionMetrics, FactEditionMetrics.edition_key == DimEdition.edition_key
    )


def _organisation_columns() -> list[Any]:
    """The primary organisation of the joined edition: its key and slug."""
    return [
        DimEdition.primary_organisation_key.label("organisation_key"),
        DimOrganisation.slug.label("organisation"),
    ]


def _with_organisation(query: AnySelect) -> AnySelect:
    """`query` with the joined edition's primary organisation (an outer join: it may have
    none)."""
    return query.outerjoin(
        DimOrganisation,
        DimOrganisation.organisation_key == DimEdition.primary_organisation_key,
    )


def pages() -> AnySelect:
    """`Pages`: every edition of every page (type 2), with its edition metrics."""
    return editions(*PAGE_PROPERTIES)


def organisations() -> AnySelect:
    """`Organisations`: every organisation."""
    return select(*[getattr(DimOrganisation, name) for name in ORGANISATION_PROPERTIES])


def document_types() -> AnySelect:
    """`DocumentTypes`: every document type, with its label."""
    return select(DimDocumentType.name, DimDocumentType.label)


def daily_metrics() -> AnySelect:
    """`DailyMetrics`: one row per edition live that day per day, its daily metrics and the
    derived metrics of that row's sums."""
    metric = {m: getattr(FactPageDaily, m) for m in DAILY_METRICS}
    query = (
        select(
            FactPageDaily.date_key,
            FactPageDaily.edition_key,
            DimDate.date,
            FactPageDaily.page_id,
            *_organisation_columns(),
            *metric_columns(metric),
        )
        .select_from(FactPageDaily)
        .join(DimDate, DimDate.date_key == FactPageDaily.date_key)
        .join(DimEdition, DimEdition.edition_key == FactPageDaily.edition_key)
    )
    return _with_organisation(query)


def monthly_metrics() -> AnySelect:
    """`MonthlyMetrics`: the monthly rollup, one row per page item per month, with the newest
    edition of the page and its primary organisation; derived metrics from the month's sums."""
    metric = {m: getattr(AggPageMonthly, m) for m in DAILY_METRICS}
    query = (
        select(
            AggPageMonthly.month_key,
            AggPageMonthly.page_id,
            DimMonth.slug.label("month"),
            DimMonth.year,
            DimMonth.first_day,
            DimEdition.edition_key,
            *_organisation_columns(),
            *metric_columns(metric, AggPageMonthly.days),
        )
        .select_from(AggPageMonthly)
        .join(DimMonth, DimMonth.month_key == AggPageMonthly.month_key)
        .join(DimEdition, newest_edition(AggPageMonthly.page_id))
    )
    return _with_organisation(query)
