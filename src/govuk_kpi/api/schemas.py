"""Pydantic models of the REST responses: they document the OpenAPI contract.

Responses are built as plain dicts for speed; tests (schemathesis) check them against these.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field, create_model

from govuk_kpi.core.metrics import BY_NAME, DAILY_METRICS, DERIVED_METRICS, EDITION_METRICS


def _metric_fields(names: tuple[str, ...], *, nullable: bool) -> dict[str, Any]:
    """Pydantic fields for `names`, typed from the registry (whole numbers or fractions)."""
    fields: dict[str, Any] = {}
    for name in names:
        kind: Any = int if BY_NAME[name].integer else float
        fields[name] = (kind | None if nullable else kind, ...)
    return fields


class Period(BaseModel):
    name: str | None = None
    start: date
    end: date


# What a page's edition says of it: in a content row and in an edition alike, in this order.
_DESCRIBED: dict[str, Any] = {
    "content_id": (str, ...),
    "locale": (str, ...),
    "base_path": (str, ...),
    "title": (str, ...),
    "description": (str | None, ...),
    "document_type": (str, ...),
}


def _described(name: str, key: str, **fields: Any) -> type[BaseModel]:
    """A model of `name`: its integer `key`, what the edition says of the page, then `fields`."""
    keyed: dict[str, Any] = {key: (int, ...)}
    return create_model(name, __module__=__name__, **keyed, **_DESCRIBED, **fields)


# Built at run time from the registry (to the type checker, models): a content row is a
# page's metadata, then every metric in the registry's order; an edition, its own.
if TYPE_CHECKING:
    ContentItem = BaseModel
    Edition = BaseModel
else:
    ContentItem = _described(
        "ContentItem",
        "page_id",
        document_type_label=(str | None, ...),
        organisation=(str | None, ...),
        organisation_title=(str | None, ...),
        withdrawn=(bool, ...),
        first_published_at=(datetime | None, ...),
        public_updated_at=(datetime | None, ...),
        **_metric_fields(DAILY_METRICS, nullable=False),
        **_metric_fields(DERIVED_METRICS, nullable=True),
        **_metric_fields(EDITION_METRICS, nullable=True),
    )
    Edition = _described(
        "Edition",
        "edition_key",
        schema_name=(str, ...),
        withdrawn=(bool, ...),
        phase=(str | None, ...),
        first_published_at=(datetime | None, ...),
        public_updated_at=(datetime | None, ...),
        valid_from=(datetime, ...),
        valid_to=(datetime | None, ...),
        is_live=(bool, ...),
        **_metric_fields(EDITION_METRICS, nullable=True),
    )


class ContentList(BaseModel):
    results: list[ContentItem]
    page: int = Field(ge=1)
    page_size: int = Field(ge=1)
    total_pages: int = Field(ge=1)
    total_results: int = Field(ge=0)
    period: Period
    generated_data: bool = Field(
        description="true when the usage figures are generated sample data, not real GOV.UK usage"
    )


class DailyValue(BaseModel):
    date: date
    value: float | None


class TimeSeriesMetric(BaseModel):
    name: str
    total: float | None
    time_series: list[DailyValue]


class EditionMetric(BaseModel):
    name: str
    value: float | None


class SinglePage(BaseModel):
    base_path: str
    metadata: Edition
    period: Period
    time_series_metrics: list[TimeSeriesMetric]
    edition_metrics: list[EditionMetric]
    editions: list[Edition]
    generated_data: bool


class Organisation(BaseModel):
    content_id: str
    slug: str | None
    title: str
    acronym: str | None
    organisation_type: str | None
    status: str | None
    closed_at: date | None
    parent_slug: str | None


class OrganisationList(BaseModel):
    results: list[Organisation]
    total_results: int


class DocumentType(BaseModel):
    name: str
    label: str


class DocumentTypeList(BaseModel):
    results: list[DocumentType]
    total_results: int


class MetricDefinition(BaseModel):
    name: str
    meaning: str
    source: str
    formula: str
    grain: str
    unit: str


class MetricList(BaseModel):
    results: list[MetricDefinition]
    total_results: int


class Liveness(BaseModel):
    status: str = Field(description="ok: the process answers")


class Check(BaseModel):
    status: str = Field(description="ok, warning or critical")
    message: str | None = None


class HealthCheck(BaseModel):
    status: str = Field(
        description="ok; warning; or critical when the warehouse is not fit to report from "
        "(stale or missing data, stale rollups, or not ready)"
    )
    ready: bool = Field(description="the database answers and its schema is the newest")
    as_of: date = Field(description="the day the data should reach (yesterday)")
    checks: dict[str, Check] = Field(description="database, schema, data_freshness, rollups, loads")
    problems: list[str] = Field(description="the critical checks' messages")
    warnings: list[str] = Field(description="the warning checks' messages")
    facts: dict[str, str | int | float | None]


class InvalidParam(BaseModel):
    name: str
    reason: str


class Problem(BaseModel):
    """RFC 9457 problem details, with extension members that say what exists."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    invalid_params: list[InvalidParam] | None = None
    first_day: date | None = Field(None, description="the first day with data")
    last_day: date | None = Field(None, description="the last day with data")
    known_params: list[str] | None = Field(None, description="the parameters the endpoint takes")
    nearest: list[str] | None = Field(None, description="known values nearest the one given")
    list_at: str | None = Field(None, description="where the known values are listed")
