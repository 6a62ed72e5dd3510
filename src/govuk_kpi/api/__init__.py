"""The read-only HTTP API: REST at `/api/v1` (GDS API standards) and an OData v4 feed at `/odata`.

`create_app()` builds the ASGI application; `govuk-kpi serve` runs it with uvicorn. Every
figure comes from `govuk_kpi.kpi`, so the API says what the reports say.
"""

from govuk_kpi.api.app import create_app

__all__ = ["create_app"]
