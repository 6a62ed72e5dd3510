"""The ASGI application: REST `/api/v1` and OData `/odata`, read-only, one middleware stack."""

from __future__ import annotations

import os

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import GZipMiddleware

from govuk_kpi.api import health, rest
from govuk_kpi.api.middleware import (
    CatchAllMiddleware,
    ConditionalGetMiddleware,
    Freshness,
    RateLimitMiddleware,
    ReadOnlyMiddleware,
    TokenBucket,
)
from govuk_kpi.api.problems import install_handlers
from govuk_kpi.api.proxy import (
    FORWARDED_ALLOW_IPS_VARIABLE,
    FORWARDED_HEADERS,
    PUBLIC_URL_VARIABLE,
    ProxyMiddleware,
    TrustedProxies,
    public_origin,
)
from govuk_kpi.core.errors import ConfigError
from govuk_kpi.kpi import Warehouse

RATE_VARIABLE = "GOVUK_KPI_API_RATE"
BURST_VARIABLE = "GOVUK_KPI_API_BURST"
DEFAULT_RATE = 20.0  # requests a second per client, sustained
DEFAULT_BURST = 200  # requests a client may make at once
GZIP_MINIMUM = 1024  # bytes: smaller answers gain little from compression
DOCS_ASSETS = "/api/v1/docs-assets"  # Swagger UI and ReDoc, from the fastapi-offline package
EXPOSED = [
    "ETag",
    "Last-Modified",
    "Retry-After",
    "RateLimit-Limit",
    "RateLimit-Remaining",
    "RateLimit-Reset",
    "OData-Version",
    "Content-Disposition",
    "Preference-Applied",
]
CONTACT = {"name": "GOV.UK KPI API maintainers"}
# GOV.UK content is published under the Open Government Licence v3.0.
LICENCE = {"name": "Open Government Licence v3.0", "identifier": "OGL-UK-3.0"}


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
    public_url: str | None = None,
    forwarded_allow_ips: str | list[str] | None = None,
) -> FastAPI:
    """The read-only API on the warehouse at `url` (default: `GOVUK_KPI_DATABASE_URL`).

    Args:
        url: SQLAlchemy URL of the warehouse.
        rate: requests a second each client may make, sustained (`GOVUK_KPI_API_RATE`, 20).
        burst: requests a client may make at once (`GOVUK_KPI_API_BURST`, 200).
        odata_page_size: most entities in one OData response before `@odata.nextLink`.
        public_url: scheme and host users reach the service at, which every absolute link
            starts with (`GOVUK_KPI_PUBLIC_URL`; default: as the request says).
        forwarded_allow_ips: proxies whose `Forwarded` / `X-Forwarded-*` headers are believed,
            as uvicorn's `--forwarded-allow-ips` (`GOVUK_KPI_FORWARDED_ALLOW_IPS`; default:
            none).
    """
    from govuk_kpi.api.odata.router import DEFAULT_PAGE_SIZE

    public_url = public_url or os.environ.get(PUBLIC_URL_VARIABLE) or None
    if public_url:
        scheme, host = public_origin(public_url)
        public_url = f"{scheme}://{host}"
    trusted = TrustedProxies(
        forwarded_allow_ips
        if forwarded_allow_ips is not None
        else os.environ.get(FORWARDED_ALLOW_IPS_VARIABLE)
    )
    warehouse = Warehouse(url)
    app = _application(public_url)
    app.state.warehouse = warehouse
    app.state.odata_page_size = odata_page_size or DEFAULT_PAGE_SIZE
    app.state.public_url = public_url
    install_handlers(app)
    _include_routes(app)
    _add_middleware(
        app,
        warehouse,
        TokenBucket(
            _setting(rate, RATE_VARIABLE, DEFAULT_RATE),
            int(_setting(burst, BURST_VARIABLE, DEFAULT_BURST)),
        ),
        public_url=public_url,
        trusted=trusted,
    )
    return app


def _application(public_url: str | None) -> FastAPI:
    """The bare application: its OpenAPI description and the offline docs pages."""
    app = FastAPIOffline(
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
        static_url=DOCS_ASSETS,
        # Swagger UI's validator badge would load from an outside host.
        swagger_ui_parameters={"validatorUrl": None},
        servers=[{"url": public_url or "/", "description": "this service"}],
        contact=CONTACT,
        license_info=LICENCE,
        debug=False,
    )
    app.openapi = _openapi_without_422(app)  # type: ignore[method-assign]
    return app


def _include_routes(app: FastAPI) -> None:
    """The health checks, REST `/api/v1` and OData `/odata`."""
    from govuk_kpi.api.odata.router import build_router

    app.include_router(health.router)
    app.include_router(rest.router)
    app.include_router(build_router())


def _add_middleware(
    app: FastAPI,
    warehouse: Warehouse,
    bucket: TokenBucket,
    *,
    public_url: str | None,
    trusted: TrustedProxies,
) -> None:
    """The middleware stack, innermost first."""
    # Without a public URL, links follow the trusted proxy's headers: caches must tell apart.
    forwarded = FORWARDED_HEADERS if trusted and not public_url else ()
    app.add_middleware(
        ConditionalGetMiddleware,
        freshness=Freshness(warehouse.engine),
        prefixes=("/api/v1", "/odata"),
        vary={
            "/odata": ("Accept", "Prefer", "OData-MaxVersion", *forwarded),
            "/api/v1": ("Accept", *forwarded),
        },
    )
    # Weak ETags hold for the gzip-coded answer too (RFC 9110 8.8.1), so it sits outside them.
    app.add_middleware(GZipMiddleware, minimum_size=GZIP_MINIMUM)
    app.add_middleware(ReadOnlyMiddleware)
    app.add_middleware(RateLimitMiddleware, bucket=bucket, exempt=(health.PREFIX,))
    app.add_middleware(CatchAllMiddleware)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=["*"],
        allow_methods=["GET", "HEAD", "OPTIONS"],
        allow_headers=["*"],
        expose_headers=EXPOSED,
        max_age=600,
    )
    # Outermost: everything inside sees the scheme, host and client the users see.
    app.add_middleware(ProxyMiddleware, public_url=public_url, trusted=trusted)
