"""REST `/api/v1`: the content listing, one page, organisations, document types, metrics, health.

Every listing answers JSON (a top-level object, snake_case, ISO 8601 dates) or CSV, by
`?format=csv` or `Accept: text/csv`. Figures come from `govuk_kpi.kpi.Warehouse`.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel

from govuk_kpi.api import schemas
from govuk_kpi.api.health import readiness
from govuk_kpi.api.problems import ApiError
from govuk_kpi.api.render import CSV_TYPE, csv_lines, csv_text, records, wants_csv
from govuk_kpi.core.errors import ConfigError, InvalidArgument, NoData, UnknownOrganisation
from govuk_kpi.core.metrics import (
    BY_NAME,
    DAILY_METRICS,
    DERIVED_METRICS,
    EDITION_METRICS,
    METRICS,
    derived_value,
)
from govuk_kpi.core.paths import MAX_PATH_LENGTH, normalise_path
from govuk_kpi.core.periods import NAMED, Period
from govuk_kpi.kpi import Warehouse
from govuk_kpi.kpi.listing import MAX_PAGE_SIZE, SORTABLE

MAX_SEARCH_LENGTH = 300
MAX_SPAN_DAYS = 3660
CONTENT_COLUMNS = list(schemas.ContentItem.model_fields)
EDITION_COLUMNS = list(schemas.Edition.model_fields)
SERIES_COLUMNS = ["date", *DAILY_METRICS, *DERIVED_METRICS]
Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])


def _problem(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "model": schemas.Problem,
        "content": {"application/problem+json": {"schema": {"$ref": PROBLEM_REF}}},
    }


PROBLEM_REF = "#/components/schemas/Problem"
ERRORS: dict[int | str, dict[str, Any]] = {
    304: {"description": "Not modified since the ETag or date the client sent"},
    400: _problem("A parameter is invalid: `invalid_params` names it"),
    404: _problem("Nothing here"),
    405: _problem("Only GET, HEAD and OPTIONS are allowed"),
    429: _problem("Too many requests: wait `Retry-After` seconds"),
    500: _problem("An unexpected error (never with a stack trace)"),
}


def _ok(model: type, csv: bool = True) -> dict[int | str, dict[str, Any]]:
    content: dict[str, Any] = {"application/json": {}}
    if csv:
        content["text/csv"] = {"schema": {"type": "string"}}
    return {200: {"model": model, "content": content}, **ERRORS}


def _known_params(request: Request) -> None:
    """Refuse parameters the endpoint does not take: a misspelt one would silently do nothing."""
    dependant = getattr(request.scope.get("route"), "dependant", None)
    if dependant is None:
        return
    known = sorted(p.alias for p in dependant.query_params)
    unknown = [n for n in dict.fromkeys(request.query_params) if n not in known]
    if unknown:
        takes = ", ".join(known) if known else "no parameters"
        raise ApiError(
            400,
            f"unknown parameter{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; "
            f"this endpoint takes {takes}",
            invalid_params=[
                {"name": n, "reason": "not a parameter of this endpoint"} for n in unknown
            ],
            extensions={"known_params": known},
        )


router = APIRouter(prefix="/api/v1", dependencies=[Depends(_known_params)])


def _json_get(path: str, summary: str, model: type) -> Callable[[Endpoint], Endpoint]:
    """A GET route answering `model` as JSON (or CSV), with the problems it may answer."""
    return router.get(path, summary=summary, responses=_ok(model), response_class=JSONResponse)


Format = Annotated[
    str | None,
    Query(
        description="json (default) or csv; `Accept: text/csv` works too",
        pattern="^(json|csv|JSON|CSV)$",
    ),
]


Bom = Annotated[
    bool,
    Query(
        description="CSV only: start with a UTF-8 byte-order mark (default true, so Excel "
        "reads the text right); false for none",
    ),
]


DateRange = Annotated[
    str,
    Query(description=f"{', '.join(NAMED)} or a month such as march-2026", max_length=40),
]
OrganisationId = Annotated[
    str | None, Query(description="primary organisation: slug or content_id", max_length=255)
]
DocumentTypeName = Annotated[
    str | None, Query(description="machine name, e.g. guide", max_length=64)
]


def _warehouse(request: Request) -> Warehouse:
    return request.app.state.warehouse


def _period(warehouse: Warehouse, name: str, param: str = "date_range") -> Period:
    """The period `name`, refused when it holds no day of the warehouse's data."""
    try:
        period = warehouse.period(name)  # NoData when the warehouse has no daily facts
    except InvalidArgument:
        raise
    except ConfigError as exc:  # an unknown period name
        raise InvalidArgument(param, str(exc)) from exc
    first, last = warehouse.daily_dates()
    if first is not None and last is not None and (period.end < first or period.start > last):
        span = (
            f"({period.start} to {period.end}) holds no data: the warehouse holds {first} to {last}"
        )
        raise NoData(
            f"no data for {span}",
            param=param,
            reason=f"{name} {span}",
            first_day=first.isoformat(),
            last_day=last.isoformat(),
        )
    return period


def _check_organisation(warehouse: Warehouse, value: str) -> None:
    """Refuse an organisation the warehouse does not know, naming the nearest it does."""
    frame = warehouse.organisations()
    slugs = sorted(frame["slug"].dropna())
    if value in slugs or value in set(frame["content_id"]):
        return
    if value.lower() in ("all", "none", "*"):
        reason = "leave organisation_id out for every organisation"
    else:
        reason = f"no organisation has the slug or content_id {value!r}"
    nearest = difflib.get_close_matches(value.lower(), slugs, n=3, cutoff=0.6)
    reason += "; /api/v1/organisations lists them"
    if nearest:
        reason += f"; did you mean {', '.join(nearest)}?"
    raise InvalidArgument(
        "organisation_id", reason, nearest=nearest, list_at="/api/v1/organisations"
    )


def _check_document_type(warehouse: Warehouse, value: str) -> None:
    """Refuse a document type the warehouse does not know, naming the nearest it does."""
    names = sorted(warehouse.document_types()["name"])
    if value in names:
        return
    nearest = difflib.get_close_matches(value.lower(), names, n=3, cutoff=0.6)
    reason = f"no document type {value!r}; /api/v1/document_types lists them"
    if nearest:
        reason += f"; did you mean {', '.join(nearest)}?"
    raise InvalidArgument(
        "document_type", reason, nearest=nearest, list_at="/api/v1/document_types"
    )


def _check_filters(warehouse: Warehouse, organisation: str | None, kind: str | None) -> None:
    if organisation:
        _check_organisation(warehouse, organisation)
    if kind:
        _check_document_type(warehouse, kind)


def _period_json(period: Any) -> dict[str, Any]:
    if isinstance(period, dict):
        return dict(period)
    return {"name": period.name, "start": period.start.isoformat(), "end": period.end.isoformat()}


def _csv_response(columns: list[str], rows: list[dict[str, Any]], name: str, bom: bool) -> Response:
    return _csv_file(csv_text(columns, rows, bom=bom), f"{name}.csv")


def _csv_file(
    body: Any, filename: str, kind: type[Response] = Response, disposition: str = "inline"
) -> Response:
    """CSV text (or its chunks, for a streaming `kind`), named for a browser to keep."""
    return kind(
        body,
        media_type=CSV_TYPE,
        headers={"Content-Disposition": f'{disposition}; filename="{filename}"'},
    )


@_json_get(
    "/content",
    "Content listing: one row per page with its figures over a period",
    schemas.ContentList,
)
def content(
    request: Request,
    date_range: DateRange = "past-30-days",
    organisation_id: OrganisationId = None,
    document_type: DocumentTypeName = None,
    search_term: Annotated[
        str | None,
        Query(description="text in the title or base path", max_length=MAX_SEARCH_LENGTH),
    ] = None,
    sort: Annotated[
        str,
        Query(
            description=f"metric:asc or metric:desc; metric one of {', '.join(SORTABLE)}",
            max_length=64,
        ),
    ] = "upviews:desc",
    page: Annotated[int, Query(ge=1, le=1_000_000, description="1-based page number")] = 1,
    page_size: Annotated[
        int,
        Query(ge=1, le=2**31 - 1, description=f"rows per page; capped at {MAX_PAGE_SIZE}"),
    ] = 100,
    format: Format = None,
    bom: Bom = True,
) -> Response:
    """Pages with their sums and derived metrics over `date_range`, filtered, sorted and paged."""
    csv = wants_csv(request, format)
    warehouse = _warehouse(request)
    field, _, direction = sort.partition(":")
    if field not in SORTABLE or (direction or "desc") not in ("asc", "desc"):
        raise InvalidArgument("sort", f"use one of {', '.join(SORTABLE)} with :asc or :desc")
    _period(warehouse, date_range)
    page_size = min(page_size, MAX_PAGE_SIZE)
    try:
        frame = warehouse.content(
            period=date_range,
            organisation=organisation_id or None,
            document_type=document_type or None,
            search=search_term or None,
            sort=sort,
            page=page,
            page_size=page_size,
        )
    except UnknownOrganisation:  # said in the API's words: its parameter, the nearest ids
        _check_organisation(warehouse, organisation_id or "")
        raise
    if not frame.attrs["total_results"]:
        # Nothing matched: say so when a filter names something that does not exist (checked
        # only now, so the common answer costs no extra query).
        _check_filters(warehouse, organisation_id, document_type)
    rows = records(frame, CONTENT_COLUMNS)
    if csv:
        return _csv_response(CONTENT_COLUMNS, rows, f"content-{date_range}-page-{page}", bom)
    attrs = frame.attrs
    return JSONResponse(
        {
            "results": rows,
            "page": page,
            "page_size": page_size,
            "total_pages": attrs["total_pages"],
            "total_results": attrs["total_results"],
            "period": _period_json(attrs["period"]),
            "generated_data": bool(attrs.get("generated", False)),
        }
    )


@router.get(
    "/content/download",
    summary="Bulk CSV: every page with its figures over a whole period",
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}, **ERRORS},
    response_class=StreamingResponse,
)
def content_download(
    request: Request,
    date_range: DateRange = "past-30-days",
    organisation_id: OrganisationId = None,
    document_type: DocumentTypeName = None,
    bom: Bom = True,
) -> Response:
    """All pages of the listing as one CSV file (streamed), most viewed first."""
    warehouse = _warehouse(request)
    period = _period(warehouse, date_range)
    _check_filters(warehouse, organisation_id, document_type)

    def rows() -> Iterator[dict[str, Any]]:
        page = 1
        while True:
            frame = warehouse.content(
                period=date_range,
                organisation=organisation_id or None,
                document_type=document_type or None,
                sort="pviews:desc",
                page=page,
                page_size=MAX_PAGE_SIZE,
            )
            yield from records(frame, CONTENT_COLUMNS)
            if page >= frame.attrs["total_pages"]:
                return
            page += 1

    name = f"govuk-content-{period.start.isoformat()}-to-{period.end.isoformat()}.csv"
    return _csv_file(
        csv_lines(CONTENT_COLUMNS, rows(), bom=bom), name, StreamingResponse, "attachment"
    )


@_json_get(
    "/single_page/{base_path:path}",
    "One page: its metadata, daily figures over a period and its editions",
    schemas.SinglePage,
)
def single_page(
    request: Request,
    base_path: Annotated[
        str,
        Path(
            description="the page's path without its leading slash, e.g. contact-hmrc",
            examples=["contact-hmrc"],
        ),
    ],
    from_: Annotated[
        date | None, Query(alias="from", description="first day (default: 29 days before to)")
    ] = None,
    to: Annotated[
        date | None, Query(description="last day (default: newest day with data)")
    ] = None,
    format: Format = None,
    bom: Bom = True,
) -> Response:
    """A page's daily series per metric (with totals), edition metrics and every edition."""
    csv = wants_csv(request, format)
    warehouse = _warehouse(request)
    path = "/" + base_path.lstrip("/")
    if len(path) > MAX_PATH_LENGTH:
        raise InvalidArgument("base_path", f"at most {MAX_PATH_LENGTH} characters")
    try:
        path = normalise_path(path)
    except ValueError as exc:
        raise InvalidArgument("base_path", str(exc)) from exc
    if to is None:
        to = warehouse.as_of()
        if to is None:
            raise NoData("the warehouse has no daily facts yet")
    first = from_ or to - timedelta(days=29)
    if first > to:
        raise InvalidArgument("from", f"{first} is after to ({to})")
    if (to - first).days + 1 > MAX_SPAN_DAYS:
        raise InvalidArgument("from", f"at most {MAX_SPAN_DAYS} days between from and to")
    editions = warehouse.page_editions(path)  # NotFound: no page has ever been at the path
    daily = warehouse.page_daily(path, first, to)
    daily["date"] = daily["date"].dt.date  # a day, not an instant at midnight
    series = records(daily, SERIES_COLUMNS)
    if csv:
        return _csv_response(SERIES_COLUMNS, series, "single-page" + path.replace("/", "-"), bom)
    history = records(editions, EDITION_COLUMNS)
    latest = history[-1]
    sums = {m: sum(row[m] or 0 for row in series) for m in DAILY_METRICS}
    metrics = [
        {
            "name": name,
            "total": sums[name] if name in sums else derived_value(name, sums),
            "time_series": [{"date": row["date"], "value": row[name]} for row in series],
        }
        for name in (*DAILY_METRICS, *DERIVED_METRICS)
    ]
    return JSONResponse(
        {
            "base_path": path,
            "metadata": latest,
            "period": {"name": None, "start": first.isoformat(), "end": to.isoformat()},
            "time_series_metrics": metrics,
            "edition_metrics": [{"name": m, "value": latest[m]} for m in EDITION_METRICS],
            "editions": history,
            "generated_data": bool(daily.attrs.get("generated", False)),
        }
    )


def _add_listing(
    path: str,
    name: str,
    summary: str,
    model: type,
    row: type[BaseModel],
    rows: Callable[[Request, list[str]], list[dict[str, Any]]],
    description: str,
) -> None:
    """A GET route answering every row of a small listing, as JSON or CSV (`name`.csv)."""
    columns = list(row.model_fields)

    def listing(request: Request, format: Format = None, bom: Bom = True) -> Response:
        csv = wants_csv(request, format)
        found = rows(request, columns)
        if csv:
            return _csv_response(columns, found, name.replace("_", "-"), bom)
        return JSONResponse({"results": found, "total_results": len(found)})

    router.add_api_route(
        path,
        listing,
        methods=["GET"],
        name=name,
        summary=summary,
        description=description,
        responses=_ok(model),
        response_class=JSONResponse,
    )


def _metric_rows(_request: Request, columns: list[str]) -> list[dict[str, Any]]:
    rows = [{c: getattr(m, c) for c in columns} for m in METRICS]
    assert set(BY_NAME) == {r["name"] for r in rows}
    return rows


_add_listing(
    "/organisations",
    "organisations",
    "Every organisation",
    schemas.OrganisationList,
    schemas.Organisation,
    lambda request, columns: records(_warehouse(request).organisations(), columns),
    "Every organisation known to the warehouse, with its status and parent.",
)
_add_listing(
    "/document_types",
    "document_types",
    "Every document type",
    schemas.DocumentTypeList,
    schemas.DocumentType,
    lambda request, columns: records(_warehouse(request).document_types(), columns),
    "Every document type: machine name and display label.",
)
_add_listing(
    "/metrics",
    "metrics",
    "The metrics glossary",
    schemas.MetricList,
    schemas.MetricDefinition,
    _metric_rows,
    "Every metric: name, meaning, source, formula, grain and unit.",
)


@router.get(
    "/health",
    summary="The service's health: the same answer as /healthcheck/ready",
    responses={
        200: {"model": schemas.HealthCheck, "description": "Ready: the database answers"},
        503: {"model": schemas.HealthCheck, "description": "Not ready: `problems` say why"},
        **{k: v for k, v in ERRORS.items() if k not in (304, 404)},
    },
    response_class=JSONResponse,
)
async def health(request: Request) -> Response:
    """`status` ok, warning or critical; 503 when the database cannot answer."""
    return await readiness(request)
