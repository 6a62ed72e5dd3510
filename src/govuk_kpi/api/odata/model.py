"""The OData entity model: entity types and sets over the star schema, as SQLAlchemy selects.

Each entity set is a select of labelled columns (its properties); queries wrap it as a
subquery, so `$filter`, `$orderby` and `$apply` only ever see property names declared here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

from sqlalchemy import Select, and_, select

from govuk_kpi.core.metrics import DAILY_METRICS, DERIVED_METRICS, EDITION_METRICS, RATIOS
from govuk_kpi.kpi.expressions import derived_columns
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

NAMESPACE = "GovukKpi"
CONTAINER = "Container"


@dataclass(frozen=True)
class Prop:
    """A structural property: its name, Edm type and whether it may be null."""

    name: str
    edm: str
    nullable: bool = True


@dataclass(frozen=True)
class Nav:
    """A single-valued navigation property: `local` property equals `target`'s key."""

    name: str
    target: str  # entity set name
    local: str
    nullable: bool = True


@dataclass
class EntitySet:
    """An entity set and its entity type."""

    name: str
    type_name: str
    keys: tuple[str, ...]
    props: tuple[Prop, ...]
    source: Select
    navs: tuple[Nav, ...] = ()
    description: str = ""
    by_name: dict[str, Prop] = field(init=False)

    def __post_init__(self) -> None:
        self.by_name = {p.name: p for p in self.props}
        names = [c.key for c in self.source.selected_columns]
        assert names == [p.name for p in self.props], (self.name, names)

    @property
    def qualified_type(self) -> str:
        return f"{NAMESPACE}.{self.type_name}"

    def nav(self, name: str) -> Nav | None:
        return next((n for n in self.navs if n.name == name), None)

    @property
    def custom_aggregates(self) -> tuple[str, ...]:
        """The derived metrics it carries with their inputs: each is a custom aggregate of the
        type (Data Aggregation), named after its property, the ratio of a group's sums."""
        return tuple(
            name
            for name, definition in RATIOS.items()
            if name in self.by_name and set(definition.inputs) <= set(self.by_name)
        )


def _metric_props() -> tuple[Prop, ...]:
    return tuple(Prop(m, "Edm.Int64", False) for m in DAILY_METRICS)


def _derived_props() -> tuple[Prop, ...]:
    """The registry's derived metrics: computed from the row's sums, null where it gives none."""
    return tuple(Prop(m, "Edm.Double") for m in DERIVED_METRICS)


def _pages() -> EntitySet:
    props = (
        Prop("edition_key", "Edm.Int64", False),
        Prop("page_id", "Edm.Int64", False),
        Prop("content_id", "Edm.String", False),
        Prop("locale", "Edm.String", False),
        Prop("base_path", "Edm.String", False),
        Prop("title", "Edm.String", False),
        Prop("description", "Edm.String"),
        Prop("document_type", "Edm.String", False),
        Prop("schema_name", "Edm.String", False),
        Prop("publishing_app", "Edm.String"),
        Prop("organisation_key", "Edm.Int64"),
        Prop("organisation", "Edm.String"),
        Prop("first_published_at", "Edm.DateTimeOffset"),
        Prop("public_updated_at", "Edm.DateTimeOffset"),
        Prop("withdrawn", "Edm.Boolean", False),
        Prop("phase", "Edm.String"),
        Prop("valid_from", "Edm.DateTimeOffset", False),
        Prop("valid_to", "Edm.DateTimeOffset"),
        Prop("is_live", "Edm.Boolean", False),
        *(Prop(m, "Edm.Double" if m == "readability" else "Edm.Int64") for m in EDITION_METRICS),
    )
    source = (
        select(
            DimEdition.edition_key,
            DimEdition.page_id,
            DimEdition.content_id,
            DimEdition.locale,
            DimEdition.base_path,
            DimEdition.title,
            DimEdition.description,
            DimDocumentType.name.label("document_type"),
            DimEdition.schema_name,
            DimEdition.publishing_app,
            DimEdition.primary_organisation_key.label("organisation_key"),
            DimOrganisation.slug.label("organisation"),
            DimEdition.first_published_at,
            DimEdition.public_updated_at,
            DimEdition.withdrawn,
            DimEdition.phase,
            DimEdition.valid_from,
            DimEdition.valid_to,
            DimEdition.is_live,
            *[getattr(FactEditionMetrics, m) for m in EDITION_METRICS],
        )
        .select_from(DimEdition)
        .join(DimDocumentType, DimDocumentType.document_type_key == DimEdition.document_type_key)
        .outerjoin(
            DimOrganisation,
            DimOrganisation.organisation_key == DimEdition.primary_organisation_key,
        )
        .outerjoin(FactEditionMetrics, FactEditionMetrics.edition_key == DimEdition.edition_key)
    )
    return EntitySet(
        "Pages",
        "Page",
        ("edition_key",),
        props,
        source,
        (
            Nav("Organisation", "Organisations", "organisation_key"),
            Nav("DocumentType", "DocumentTypes", "document_type", nullable=False),
        ),
        "Editions of GOV.UK pages (type 2: one row per reader-visible version)",
    )


def _organisations() -> EntitySet:
    props = (
        Prop("organisation_key", "Edm.Int64", False),
        Prop("content_id", "Edm.String", False),
        Prop("slug", "Edm.String"),
        Prop("title", "Edm.String", False),
        Prop("acronym", "Edm.String"),
        Prop("organisation_type", "Edm.String"),
        Prop("status", "Edm.String"),
        Prop("closed_at", "Edm.Date"),
        Prop("parent_slug", "Edm.String"),
    )
    source = select(*[getattr(DimOrganisation, p.name) for p in props])
    return EntitySet("Organisations", "Organisation", ("organisation_key",), props, source)


def _document_types() -> EntitySet:
    props = (Prop("name", "Edm.String", False), Prop("label", "Edm.String", False))
    source = select(DimDocumentType.name, DimDocumentType.label)
    return EntitySet("DocumentTypes", "DocumentType", ("name",), props, source)


def _daily() -> EntitySet:
    props = (
        Prop("date_key", "Edm.Int32", False),
        Prop("edition_key", "Edm.Int64", False),
        Prop("date", "Edm.Date", False),
        Prop("page_id", "Edm.Int64", False),
        Prop("organisation_key", "Edm.Int64"),
        Prop("organisation", "Edm.String"),
        *_metric_props(),
        *_derived_props(),
    )
    source = (
        select(
            FactPageDaily.date_key,
            FactPageDaily.edition_key,
            DimDate.date,
            FactPageDaily.page_id,
            DimEdition.primary_organisation_key.label("organisation_key"),
            DimOrganisation.slug.label("organisation"),
            *[getattr(FactPageDaily, m) for m in DAILY_METRICS],
            *derived_columns({m: getattr(FactPageDaily, m) for m in DAILY_METRICS}),
        )
        .select_from(FactPageDaily)
        .join(DimDate, DimDate.date_key == FactPageDaily.date_key)
        .join(DimEdition, DimEdition.edition_key == FactPageDaily.edition_key)
        .outerjoin(
            DimOrganisation,
            DimOrganisation.organisation_key == DimEdition.primary_organisation_key,
        )
    )
    return EntitySet(
        "DailyMetrics",
        "DailyMetric",
        ("date_key", "edition_key"),
        props,
        source,
        (
            Nav("Page", "Pages", "edition_key", nullable=False),
            Nav("Organisation", "Organisations", "organisation_key"),
        ),
        "One row per edition live that day per day: the daily metrics",
    )


def _monthly() -> EntitySet:
    props = (
        Prop("month_key", "Edm.Int32", False),
        Prop("page_id", "Edm.Int64", False),
        Prop("month", "Edm.String", False),
        Prop("year", "Edm.Int32", False),
        Prop("first_day", "Edm.Date", False),
        Prop("edition_key", "Edm.Int64", False),
        Prop("organisation_key", "Edm.Int64"),
        Prop("organisation", "Edm.String"),
        *_metric_props(),
        Prop("days", "Edm.Int32", False),
        *_derived_props(),
    )
    source = (
        select(
            AggPageMonthly.month_key,
            AggPageMonthly.page_id,
            DimMonth.slug.label("month"),
            DimMonth.year,
            DimMonth.first_day,
            DimEdition.edition_key,
            DimEdition.primary_organisation_key.label("organisation_key"),
            DimOrganisation.slug.label("organisation"),
            *[getattr(AggPageMonthly, m) for m in DAILY_METRICS],
            AggPageMonthly.days,
            *derived_columns({m: getattr(AggPageMonthly, m) for m in DAILY_METRICS}),
        )
        .select_from(AggPageMonthly)
        .join(DimMonth, DimMonth.month_key == AggPageMonthly.month_key)
        .join(DimEdition, and_(DimEdition.page_id == AggPageMonthly.page_id, DimEdition.is_latest))
        .outerjoin(
            DimOrganisation,
            DimOrganisation.organisation_key == DimEdition.primary_organisation_key,
        )
    )
    return EntitySet(
        "MonthlyMetrics",
        "MonthlyMetric",
        ("month_key", "page_id"),
        props,
        source,
        (
            Nav("Page", "Pages", "edition_key", nullable=False),
            Nav("Organisation", "Organisations", "organisation_key"),
        ),
        "Monthly sums per page item, with the organisation of its newest edition",
    )


@cache
def entity_sets() -> dict[str, EntitySet]:
    """Every entity set by name."""
    sets = (_pages(), _organisations(), _document_types(), _daily(), _monthly())
    return {s.name: s for s in sets}
