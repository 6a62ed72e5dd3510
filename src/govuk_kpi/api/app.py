"""The ASGI application: REST `/api/v1` and OData `/odata`, read-only, one middleware stack."""

from __future__ import annotations

import os

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware

from govuk_kpi.api import rest
from govuk_kpi.api.middleware import (
    CatchAllMiddleware,
    ConditionalGetMiddleware,
    Freshness,
    RateLimitMiddleware,
    ReadOnlyMiddleware,
    TokenBucket,
)
from govuk_kpi.api.problems import install_handlers
from govuk_kpi.core.errors import ConfigError
from govuk_kpi.kpi import Warehouse

RATE_VARIABLE = "GOVUK_KPI_API_RATE"
BURST_VARIABLE = "GOVUK_KPI_API_BURST"
DEFAULT_RATE = 20.0  # requests a second per client, sustained
DEFAULT_BURST = 200  # requests a client may make at once
EXPOSED = [
    "ETag",
    "Last-Modified",
    "Retry-After",
    "OData-Version",
    "Content-Disposition",
    "Preference-Applied",
]


def _setting(value: float | None, variable: str, default: float) -> float:
    if value is not None:
        return value
    raw = os.environ.get(variable)
    if raw is None:
        return default
    try:
        number = float(raw)
    except ValueError as exc:
        raise ConfigError(f"{variable}={raw!r} is not a number") from exc
    if number <= 0:
        raise ConfigError(f"{variable}={raw!r} must be positive")
    return number


def _openapi_without_422(app: FastAPI):
    """FastAPI documents 422 for invalid parameters; this API answers 400 (problem+json)."""
    original = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            schema = original()
            for operations in schema.get("paths", {}).values():
                for operation in operations.values():
                    operation.get("responses", {}).pop("422", None)
            for name in ("HTTPValidationError", "ValidationError"):
                schema.get("components", {}).get("schemas", {}).pop(name, None)
            app.openapi_schema = schema
        return app.openapi_schema

    return openapi


def create_app(
    url: str | None = None,
    *,
    rate: float | None = None,
    burst: int | None = None,
    odata_page_size: int | None = None,
) -> FastAPI:
    """The read-only API on the warehouse at `url` (default: `GOVUK_KPI_DATABASE_URL`).

    Args:
        url: SQLAlchemy URL of the warehouse.
        rate: requests a second each client may make, sustained (`GOVUK_KPI_API_RATE`, 20).
        burst: requests a client may make at once (`GOVUK_KPI_API_BURST`, 200).
        odata_page_size: most entities in one OData response before `@odata.nextLink`.
    """
    from govuk_kpi.api.odata.router import DEFAULT_PAGE_SIZE, build_router

    warehouse = Warehouse(url)
    app = FastAPI(
        title="GOV.UK KPI API",
        version="1",
        description=(
            "Read-only figures about GOV.UK pages over time: the content listing, single "
            "pages, organisations, document types and the metrics glossary. JSON or CSV. "
            "An OData v4 feed of the same warehouse is at `/odata` for Excel and Power BI. "
            "Usage figures of the sample warehouse are generated sample data "
            "(`generated_data: true`)."
        ),
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/v1/docs",
        redoc_url="/api/v1/redoc",
        debug=False,
    )
    app.openapi = _openapi_without_422(app)  # type: ignore[method-assign]
    app.state.warehouse = warehouse
    app.state.odata_page_size = odata_page_size or DEFAULT_PAGE_SIZE
    install_handlers(app)
    app.include_router(rest.router)
    app.include_router(build_router())
    app.add_middleware(
        ConditionalGetMiddleware,
        freshness=Freshness(warehouse.engine),
        prefixes=("/api/v1", "/odata"),
    )
    app.add_middleware(ReadOnlyMiddleware)
    app.add_middleware(
        RateLimitMiddleware,
        bucket=TokenBucket(
            _setting(rate, RATE_VARIABLE, DEFAULT_RATE),
            int(_setting(burst, BURST_VARIABLE, DEFAULT_BURST)),
        ),
    )
    app.add_middleware(CatchAllMiddleware)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=["*"],
        allow_methods=["GET", "HEAD", "OPTIONS"],
        allow_headers=["*"],
        expose_headers=EXPOSED,
        max_age=600,
    )
    return app
