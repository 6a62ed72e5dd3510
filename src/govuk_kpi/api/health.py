"""Health checks over HTTP, as GOV.UK apps answer them.

`/healthcheck/live`: the process answers (200), touching nothing else. `/healthcheck/ready`:
200 when the database answers at the newest schema, else 503 with the reasons; either way the
body says how fit the data is (`ok`, `warning`, `critical`). `/api/v1/health` gives the same
answer as `ready`, for clients of the REST API.
"""

from __future__ import annotations

from typing import Any

from anyio import to_thread
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from govuk_kpi.api import schemas
from govuk_kpi.warehouse.health import check_health

NO_STORE = {"Cache-Control": "no-store"}
PREFIX = "/healthcheck"
router = APIRouter(prefix=PREFIX, tags=["health"])


@router.get(
    "/live",
    summary="Is the process answering?",
    response_model=schemas.Liveness,
    response_class=JSONResponse,
)
def live() -> Response:
    """200 whenever the process answers; nothing else is checked."""
    return JSONResponse({"status": "ok"}, headers=NO_STORE)


READY_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": schemas.HealthCheck, "description": "Ready: the database answers"},
    503: {"model": schemas.HealthCheck, "description": "Not ready: `problems` say why"},
}


async def readiness(request: Request) -> Response:
    """The health verdict: 200 when ready, 503 when not, with every check in the body."""
    verdict = await to_thread.run_sync(check_health, request.app.state.warehouse.engine)
    return JSONResponse(
        verdict.as_dict(), status_code=200 if verdict.ready else 503, headers=NO_STORE
    )


router.add_api_route(
    "/ready",
    readiness,
    methods=["GET"],
    summary="Can the service answer? (database and schema), and how fresh is the data?",
    responses=READY_RESPONSES,
    response_class=JSONResponse,
)
