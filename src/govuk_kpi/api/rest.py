"""REST `/api/v1`: the content listing, one page, organisations, document types, metrics, health.

Every listing answers JSON (a top-level object, snake_case, ISO 8601 dates) or CSV, by
`?format=csv` or `Accept: text/csv`. Figures come from `govuk_kpi.kpi.Warehouse`.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from govuk_kpi.api import schemas
from govuk_kpi.api.problems import ApiError, bad_param
from govuk_kpi.api.render import CSV_TYPE, csv_lines, csv_text, plain, records, wants_csv
from govuk_kpi.core.errors import ConfigError
from govuk_kpi.core.metrics import BY_NAME, DAILY_METRICS, DERIVED_METRICS, EDITION_METRICS, METRICS
from govuk_kpi.core.metrics import pviews_per_visit as _ppv
from govuk_kpi.core.metrics import satisfaction as _satisfaction
from govuk_kpi.core.metrics import searches_per_user as _spu
from govuk_kpi.core.paths import MAX_PATH_LENGTH, normalise_path
from govuk_kpi.core.periods import NAMED, Period
from govuk_kpi.kpi import Warehouse
from govuk_kpi.kpi.warehouse import MAX_PAGE_SIZE, SORTABLE

MAX_SEARCH_LENGTH = 300
MAX_SPAN_DAYS = 3660
CONTENT_COLUMNS = list(schemas.ContentItem.model_fields)
EDITION_COLUMNS = list(schemas.Edition.model_fields)
SERIES_COLUMNS = ["date", *DAILY_METRICS, *DERIVED_METRICS]


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


router = APIRouter(prefix="/api/v1")

Format = Annotated[
    str | None,
    Query(
        description="json (default) or csv; `Accept: text/csv` works too",
        pattern="^(json|csv|JSON|CSV)$",
    ),
]


def _warehouse(request: Request) -> Warehouse:
    return request.app.state.warehouse


def _period(warehouse: Warehouse, name: str, param: str = "date_range") -> Period:
    try:
        return warehouse.period(name)
    except ConfigError as exc:
        if "no daily facts" in str(exc):
            raise ApiError(404, str(exc)) from exc
        raise bad_param(param, str(exc)) from exc


def _period_json(period: Any) -> dict[str, Any]:
    if isinstance(period, dict):
        return dict(period)
    return {"name": period.name, "start": period.start.isoformat(), "end": period.end.isoformat()}


def _csv_response(columns: list[str], rows: list[dict[str, Any]], name: str) -> Response:
    return Response(
        csv_text(columns, rows),
        media_type=CSV_TYPE,
        headers={"Content-Disposition": f'inline; filename="{name}.csv"'},
    )


@router.get(
    "/content",
    summary="Content listing: one row per page with its figures over a period",
    responses=_ok(schemas.ContentList),
    response_class=JSONResponse,
)
def content(
    request: Request,
    date_range: Annotated[
        str,
        Query(
            description=f"{', '.join(NAMED)} or a month such as march-2026",
            max_length=40,
        ),
    ] = "past-30-days",
    organisation_id: Annotated[
        str | None,
        Query(description="primary organisation: slug or content_id", max_length=255),
    ] = None,
    document_type: Annotated[
        str | None, Query(description="machine name, e.g. guide", max_length=64)
    ] = None,
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
) -> Response:
    """Pages with their sums and derived metrics over `date_range`, filtered, sorted and paged."""
    csv = wants_csv(request, format)
    warehouse = _warehouse(request)
    field, _, direction = sort.partition(":")
    if field not in SORTABLE or (direction or "desc") not in ("asc", "desc"):
        raise bad_param("sort", f"use one of {', '.join(SORTABLE)} with :asc or :desc")
    _period(warehouse, date_range)
    page_size = min(page_size, MAX_PAGE_SIZE)
    frame = warehouse.content(
        period=date_range,
        organisation=organisation_id or None,
        document_type=document_type or None,
        search=search_term or None,
        sort=sort,
        page=page,
        page_size=page_size,
    )
    rows = records(frame, CONTENT_COLUMNS)
    if csv:
        return _csv_response(CONTENT_COLUMNS, rows, f"content-{date_range}-page-{page}")
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
    date_range: Annotated[str, Query(max_length=40)] = "past-30-days",
    organisation_id: Annotated[str | None, Query(max_length=255)] = None,
    document_type: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    """All pages of the listing as one CSV file (streamed), most viewed first."""
    warehouse = _warehouse(request)
    period = _period(warehouse, date_range)

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
    return StreamingResponse(
        csv_lines(CONTENT_COLUMNS, rows()),
        media_type=CSV_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _derived_total(name: str, sums: dict[str, float]) -> float | None:
    if name == "satisfaction":
        return _satisfaction(sums["useful_yes"], sums["useful_no"])
    if name == "pviews_per_visit":
        return _ppv(sums["pviews"], sums["upviews"])
    return _spu(sums["searches"], sums["upviews"])


@router.get(
    "/single_page/{base_path:path}",
    summary="One page: its metadata, daily figures over a period and its editions",
    responses=_ok(schemas.SinglePage),
    response_class=JSONResponse,
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
) -> Response:
    """A page's daily series per metric (with totals), edition metrics and every edition."""
    csv = wants_csv(request, format)
    warehouse = _warehouse(request)
    path = "/" + base_path.lstrip("/")
    if len(path) > MAX_PATH_LENGTH:
        raise bad_param("base_path", f"at most {MAX_PATH_LENGTH} characters")
    try:
        path = normalise_path(path)
    except ValueError as exc:
        raise bad_param("base_path", str(exc)) from exc
    if to is None:
        to = warehouse.as_of()
        if to is None:
            raise ApiError(404, "the warehouse has no daily facts yet")
    first = from_ or to - timedelta(days=29)
    if first > to:
        raise ApiError(
            400,
            f"from {first} is after to {to}",
            invalid_params=[{"name": "from", "reason": f"after to ({to})"}],
        )
    if (to - first).days + 1 > MAX_SPAN_DAYS:
        raise bad_param("from", f"at most {MAX_SPAN_DAYS} days between from and to")
    try:
        editions = warehouse.page_editions(path)
        daily = warehouse.page_daily(path, first, to)
    except LookupError as exc:
        raise ApiError(404, str(exc.args[0]) if exc.args else "no such page") from exc
    series = records(daily, SERIES_COLUMNS)
    if csv:
        return _csv_response(SERIES_COLUMNS, series, "single-page" + path.replace("/", "-"))
    history = records(editions, EDITION_COLUMNS)
    latest = history[-1]
    sums = {m: sum(row[m] or 0 for row in series) for m in DAILY_METRICS}
    metrics = [
        {
            "name": name,
            "total": sums[name] if name in sums else _derived_total(name, sums),
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


def _listing(request: Request, rows: list[dict[str, Any]], columns: list[str], name: str, fmt):
    if wants_csv(request, fmt):
        return _csv_response(columns, rows, name)
    return JSONResponse({"results": rows, "total_results": len(rows)})


@router.get(
    "/organisations",
    summary="Every organisation",
    responses=_ok(schemas.OrganisationList),
    response_class=JSONResponse,
)
def organisations(request: Request, format: Format = None) -> Response:
    """Every organisation known to the warehouse, with its status and parent."""
    wants_csv(request, format)
    columns = list(schemas.Organisation.model_fields)
    rows = records(_warehouse(request).organisations(), columns)
    return _listing(request, rows, columns, "organisations", format)


@router.get(
    "/document_types",
    summary="Every document type",
    responses=_ok(schemas.DocumentTypeList),
    response_class=JSONResponse,
)
def document_types(request: Request, format: Format = None) -> Response:
    """Every document type: machine name and display label."""
    wants_csv(request, format)
    columns = list(schemas.DocumentType.model_fields)
    rows = records(_warehouse(request).document_types(), columns)
    return _listing(request, rows, columns, "document-types", format)


@router.get(
    "/metrics",
    summary="The metrics glossary",
    responses=_ok(schemas.MetricList),
    response_class=JSONResponse,
)
def metrics(request: Request, format: Format = None) -> Response:
    """Every metric: name, meaning, source, formula, grain and unit."""
    wants_csv(request, format)
    columns = list(schemas.MetricDefinition.model_fields)
    rows = [{c: getattr(m, c) for c in columns} for m in METRICS]
    assert set(BY_NAME) == {r["name"] for r in rows}
    return _listing(request, rows, columns, "metrics", format)


@router.get(
    "/health",
    summary="Is the warehouse fit to report from? (yesterday's data, fresh rollups)",
    responses={200: {"model": schemas.HealthCheck}, **ERRORS},
    response_class=JSONResponse,
)
def health(request: Request) -> Response:
    """`status` ok or critical, with the problems and the facts they rest on."""
    from govuk_kpi.warehouse.health import check_health

    verdict = check_health(_warehouse(request).engine)
    return JSONResponse(
        {
            "status": "ok" if verdict.ok else "critical",
            "as_of": verdict.as_of.isoformat(),
            "problems": verdict.problems,
            "facts": {k: plain(v) for k, v in verdict.facts.items()},
        },
        headers={"Cache-Control": "no-store"},
    )
