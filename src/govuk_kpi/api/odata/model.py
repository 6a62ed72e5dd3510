"""The OData entity model: entity types and sets, their properties, keys and navigation.

Each entity set's source is a select of labelled columns (its properties) from
`govuk_kpi.kpi.views`, which alone knows the star schema's tables; queries wrap it as a
subquery, so `$filter`, `$orderby` and `$apply` only ever see property names declared here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

from sqlalchemy import Select

from govuk_kpi.core.metrics import DAILY_METRICS, DERIVED_METRICS, EDITION_METRICS, RATIOS
from govuk_kpi.kpi import views

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


def _metric_props(*between: Prop) -> tuple[Prop, ...]:
    """The daily metrics, then `between`, then the registry's derived metrics (computed from
    the row's sums, null where it gives none): as `kpi.frames.metric_columns` lays them out."""
    return (
        *(Prop(m, "Edm.Int64", False) for m in DAILY_METRICS),
        *between,
        *(Prop(m, "Edm.Double") for m in DERIVED_METRICS),
    )


def _organisation_props() -> tuple[Prop, ...]:
    """The primary organisation of the row's edition: its key (to navigate by) and slug."""
    return (Prop("organisation_key", "Edm.Int64"), Prop("organisation", "Edm.String"))


def _fact_navs() -> tuple[Nav, ...]:
    """A metrics row's page (edition) and its primary organisation."""
    return (
        Nav("Page", "Pages", "edition_key", nullable=False),
        Nav("Organisation", "Organisations", "organisation_key"),
    )


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
        *_organisation_props(),
        Prop("first_published_at", "Edm.DateTimeOffset"),
        Prop("public_updated_at", "Edm.DateTimeOffset"),
        Prop("withdrawn", "Edm.Boolean", False),
        Prop("phase", "Edm.String"),
        Prop("valid_from", "Edm.DateTimeOffset", False),
        Prop("valid_to", "Edm.DateTimeOffset"),
        Prop("is_live", "Edm.Boolean", False),
        *(Prop(m, "Edm.Double" if m == "readability" else "Edm.Int64") for m in EDITION_METRICS),
    )
    return EntitySet(
        "Pages",
        "Page",
        ("edition_key",),
        props,
        views.pages(),
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
    return EntitySet(
        "Organisations", "Organisation", ("organisation_key",), props, views.organisations()
    )


def _document_types() -> EntitySet:
    props = (Prop("name", "Edm.String", False), Prop("label", "Edm.String", False))
    return EntitySet("DocumentTypes", "DocumentType", ("name",), props, views.document_types())


def _metrics_set(
    name: str,
    keys: dict[str, str],
    own: dict[str, str],
    source: Select,
    description: str,
    *extra_metrics: Prop,
) -> EntitySet:
    """A set of metric rows (its type named in the singular): its key columns and its own
    (never null, each name: Edm type), the primary organisation's, then the metrics; each row
    navigates to its page (edition) and its primary organisation."""
    columns = tuple(Prop(column, edm_type, False) for column, edm_type in {**keys, **own}.items())
    props = (*columns, *_organisation_props(), *_metric_props(*extra_metrics))
    return EntitySet(
        name, name.removesuffix("s"), tuple(keys), props, source, _fact_navs(), description
    )


def _daily() -> EntitySet:
    return _metrics_set(
        "DailyMetrics",
        {"date_key": "Edm.Int32", "edition_key": "Edm.Int64"},
        {"date": "Edm.Date", "page_id": "Edm.Int64"},
        views.daily_metrics(),
        "One row per edition live that day per day: the daily metrics",
    )


def _monthly() -> EntitySet:
    return _metrics_set(
        "MonthlyMetrics",
        {"month_key": "Edm.Int32", "page_id": "Edm.Int64"},
        {
            "month": "Edm.String",
            "year": "Edm.Int32",
            "first_day": "Edm.Date",
            "edition_key": "Edm.Int64",
        },
        views.monthly_metrics(),
        "Monthly sums per page item, with the organisation of its newest edition",
        Prop("days", "Edm.Int32", False),
    )


@cache
def entity_sets() -> dict[str, EntitySet]:
    """Every entity set by name."""
    sets = (_pages(), _organisations(), _document_types(), _daily(), _monthly())
    return {s.name: s for s in sets}
