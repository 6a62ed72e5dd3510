"""What every question shares, written once: the organisation filter, the newest-edition join,
the calendar-filled daily series, and running a query into a DataFrame that says where it came
from (`attrs["query"]`, `attrs["period"]`, `attrs["generated"]`)."""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any, TypeAlias

import pandas as pd
from sqlalchemy import (
    ColumnElement,
    Connection,
    FromClause,
    Select,
    Subquery,
    and_,
    func,
    or_,
    select,
)
from sqlalchemy.orm import InstrumentedAttribute

from govuk_kpi.core.errors import UnknownOrganisation
from govuk_kpi.core.metrics import DAILY_METRICS, EDITION_METRICS
from govuk_kpi.core.periods import Period
from govuk_kpi.kpi.expressions import derived_columns, total
from govuk_kpi.kpi.provenance import usage_is_generated
from govuk_kpi.warehouse.calendar import date_key
from govuk_kpi.warehouse.models import (
    DimDate,
    DimDocumentType,
    DimEdition,
    DimOrganisation,
    FactEditionMetrics,
    FactPageDaily,
)

# A select of any columns (SQLAlchemy 2.1 types a select's columns as a variadic tuple).
AnySelect: TypeAlias = "Select[*tuple[Any, ...]]"


def organisation_keys(connection: Connection, organisation: str) -> list[int]:
    """The keys of the organisation with this slug or content_id.

    Raises:
        UnknownOrganisation: the warehouse knows no such organisation (an empty answer would
            look like an organisation with no pages).
    """
    keys = list(
        connection.execute(
            select(DimOrganisation.organisation_key).where(
                or_(
                    DimOrganisation.slug == organisation, DimOrganisation.content_id == organisation
                )
            )
        ).scalars()
    )
    if not keys:
        slugs = [s for s in connection.execute(select(DimOrganisation.slug)).scalars() if s]
        nearest = difflib.get_close_matches(organisation.lower(), slugs, n=3, cutoff=0.6)
        raise UnknownOrganisation(organisation, nearest)
    return keys


def of_organisation(connection: Connection, organisation: str) -> ColumnElement[bool]:
    """The condition "the newest edition's primary organisation is `organisation`" (slug or
    content_id), resolved to keys first so the database starts from that organisation's pages."""
    return DimEdition.primary_organisation_key.in_(organisation_keys(connection, organisation))


def newest_edition(page_id: ColumnElement[Any] | InstrumentedAttribute[int]) -> ColumnElement[bool]:
    """The join condition to the newest edition of the page `page_id` names."""
    return and_(DimEdition.page_id == page_id, DimEdition.is_latest)


def primary_organisation() -> FromClause:
    """`dim_organisation` as the primary organisation of a page's newest edition."""
    return DimOrganisation.__table__.alias("primary_org")


def metric_columns(metric: Mapping[str, ColumnElement[Any]], *between: Any) -> list[Any]:
    """The daily metrics from `metric` (one expression per metric) labelled with their names,
    then `between`, then the registry's derived metrics computed from the same expressions."""
    return [*(metric[m].label(m) for m in DAILY_METRICS), *between, *derived_columns(metric)]


def edition_metric_columns() -> list[Any]:
    """The edition metrics (`fact_edition_metrics`, one value per edition)."""
    return [getattr(FactEditionMetrics, m) for m in EDITION_METRICS]


def page_columns(
    primary: FromClause, metric: Mapping[str, ColumnElement[Any]], *, described: bool = False
) -> list[Any]:
    """What a listing shows of every page item: its newest edition's properties (`described`
    adds content_id, locale and description), its document type and primary organisation
    (`primary`), then the period's daily and derived metrics from `metric`. Select them from
    `newest_edition_rows`."""
    return [
        DimEdition.page_id,
        *([DimEdition.content_id, DimEdition.locale] if described else []),
        DimEdition.base_path,
        DimEdition.title,
        *([DimEdition.description] if described else []),
        DimDocumentType.name.label("document_type"),
        DimDocumentType.label.label("document_type_label"),
        primary.c.slug.label("organisation"),
        primary.c.title.label("organisation_title"),
        DimEdition.withdrawn,
        DimEdition.first_published_at,
        DimEdition.public_updated_at,
        *metric_columns(metric),
    ]


def newest_edition_rows(columns: Sequence[Any], sums: Subquery, primary: FromClause) -> AnySelect:
    """`columns` of every page's newest edition, with its document type, primary organisation,
    edition metrics and the period's `sums` (a `sums.page_sums` subquery) beside it."""
    return (
        select(*columns)
        .select_from(DimEdition)
        .where(DimEdition.is_latest)
        # Every edition has a document type (a required key); an outer join says so
        # to the database, which can then leave the table out of the top's search.
        .outerjoin(
            DimDocumentType,
            DimDocumentType.document_type_key == DimEdition.document_type_key,
        )
        .outerjoin(primary, primary.c.organisation_key == DimEdition.primary_organisation_key)
        .outerjoin(FactEditionMetrics, FactEditionMetrics.edition_key == DimEdition.edition_key)
        .outerjoin(sums, sums.c.page_id == DimEdition.page_id)
    )


def daily_facts(first: date, last: date, *conditions: ColumnElement[bool]) -> AnySelect:
    """Per-day sums of the daily metrics from `first` to `last` (not yet grouped: callers add
    their joins and conditions, then `.group_by(FactPageDaily.date_key)`)."""
    return select(
        FactPageDaily.date_key,
        *[total(getattr(FactPageDaily, m)).label(m) for m in DAILY_METRICS],
    ).where(*conditions, FactPageDaily.date_key.between(date_key(first), date_key(last)))


def calendar_series(facts: Subquery, first: date, last: date) -> AnySelect:
    """Every day from `first` to `last` with `facts`' sums (zeros where none) and the derived
    metrics: a series with no gaps, for charts and trends."""
    metric = {m: func.coalesce(facts.c[m], 0) for m in DAILY_METRICS}
    return (
        select(DimDate.date, *metric_columns(metric))
        .select_from(DimDate)
        .outerjoin(facts, facts.c.date_key == DimDate.date_key)
        .where(DimDate.date_key.between(date_key(first), date_key(last)))
        .order_by(DimDate.date_key)
    )


def number(value: object) -> float | None:
    """A figure as a float, or None where there is none (NULL, NaN: no answers, no data)."""
    return None if value is None or pd.isna(value) else float(value)  # type: ignore[call-overload,arg-type]


def frame(connection: Connection, query: AnySelect, period: Period | None = None) -> pd.DataFrame:
    """Run `query`: its rows as a DataFrame whose attrs say how it was made."""
    result = connection.execute(query)
    out = pd.DataFrame(result.fetchall(), columns=list(result.keys()))
    out.attrs["query"] = str(query.compile(connection, compile_kwargs={"literal_binds": True}))
    # Every figure built on generated usage must say so wherever it is shown.
    out.attrs["generated"] = usage_is_generated(connection)
    if period is not None:
        out.attrs["period"] = {
            "name": period.name,
            "start": period.start.isoformat(),
            "end": period.end.isoformat(),
        }
    return out
