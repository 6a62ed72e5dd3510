"""Errors as RFC 9457 problem+json (REST) or the OData JSON error format (`/odata`).

Nothing here ever shows a stack trace: unexpected exceptions become a plain 500.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any, TypedDict, Unpack

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response

from govuk_kpi.core.errors import GovukKpiError, InvalidArgument, NoData, NotFound

PROBLEM_TYPE = "application/problem+json"
ODATA_PREFIX = "/odata"
log = logging.getLogger("govuk_kpi.api")


class Problem(TypedDict, total=False):
    """What a problem says beyond its status and detail."""

    invalid_params: list[dict[str, str]] | None  # the parameters at fault, with the reason
    code: str | None  # OData's error code (default: the status)
    headers: dict[str, str] | None
    extensions: dict[str, Any] | None  # RFC 9457 extension members (what exists, say)


class ApiError(Exception):
    """An error the API reports on purpose: status, title, detail and the parameters at fault."""

    def __init__(self, status: int, detail: str, **problem: Unpack[Problem]) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.problem = problem


# The project's error family, as HTTP: the one place an error's class picks its status. An
# error whose class (or a base of it) is not here is unexpected: a plain 500.
STATUS: dict[type[GovukKpiError], int] = {
    InvalidArgument: 400,  # names the parameter: `invalid_params`
    NotFound: 404,  # a page or organisation asked for by name
    NoData: 404,  # the warehouse holds nothing for the question (yet)
}


def status_of(exc: GovukKpiError) -> int | None:
    """The status `STATUS` gives the error's class or its nearest base; None when none does."""
    return next((STATUS[c] for c in type(exc).__mro__ if c in STATUS), None)


def as_api_error(exc: GovukKpiError) -> ApiError | None:
    """The problem an error of the family makes (None for one `STATUS` does not map)."""
    status = status_of(exc)
    if status is None:
        return None
    param: str | None = getattr(exc, "param", None)
    reason = str(getattr(exc, "reason", exc))
    facts: dict[str, Any] = dict(getattr(exc, "facts", {}))
    if status == 400 and param:
        return bad_param(param, reason, **facts)
    return ApiError(
        status,
        str(exc),
        invalid_params=[_param(param, reason)] if param else None,
        extensions=facts,
    )


def bad_param(name: str, reason: str, **extensions: Any) -> ApiError:
    """A 400 naming the one parameter at fault, with any extension members that help."""
    return ApiError(
        400,
        f"invalid parameter {name}: {reason}",
        invalid_params=[_param(name, reason)],
        extensions=extensions,
    )


def _param(name: str, reason: str) -> dict[str, str]:
    return {"name": name, "reason": reason}


def _title(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def problem_response(
    request: Request | None,
    status: int,
    detail: str,
    **problem: Unpack[Problem],
) -> Response:
    """The error response in the format the path calls for (`Problem` says what it holds)."""
    path = request.url.path if request is not None else ""
    headers = dict(problem.get("headers") or {})
    invalid_params = problem.get("invalid_params")
    code = problem.get("code")
    if path == ODATA_PREFIX or path.startswith(ODATA_PREFIX + "/"):
        error: dict[str, Any] = {"code": code or str(status), "message": detail}
        if invalid_params:
            error["target"] = invalid_params[0]["name"]
            error["details"] = [
                {"code": code or str(status), "target": p["name"], "message": p["reason"]}
                for p in invalid_params
            ]
        headers.setdefault("OData-Version", "4.0")
        return JSONResponse({"error": error}, status_code=status, headers=headers)
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": _title(status),
        "status": status,
        "detail": detail,
    }
    if request is not None:
        body["instance"] = path
    if invalid_params:
        body["invalid_params"] = invalid_params
    for name, value in (problem.get("extensions") or {}).items():
        body.setdefault(name, value)
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_TYPE)


def _location(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("query", "path", "header", "body")]
    return ".".join(parts) or "request"


def install_handlers(app: FastAPI) -> None:
    """Register the handlers that turn every exception into a problem response."""

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> Response:
        return problem_response(request, exc.status, exc.detail, **exc.problem)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        params = [
            _param(_location(tuple(e.get("loc", ()))), str(e.get("msg", "invalid")))
            for e in exc.errors()
        ]
        names = ", ".join(sorted({p["name"] for p in params}))
        return problem_response(request, 400, f"invalid parameters: {names}", invalid_params=params)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        detail = exc.detail if isinstance(exc.detail, str) else _title(exc.status_code)
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"nothing at {request.url.path}"
        return problem_response(request, exc.status_code, detail, headers=dict(exc.headers or {}))

    @app.exception_handler(Exception)
    async def _anything(request: Request, exc: Exception) -> Response:
        log.error("unexpected error on %s", request.url.path, exc_info=exc)
        return problem_response(request, 500, "the server could not answer this request")

    @app.exception_handler(GovukKpiError)
    async def _project_error(request: Request, exc: GovukKpiError) -> Response:
        error = as_api_error(exc)
        if error is None:
            return await _anything(request, exc)
        return problem_response(request, error.status, error.detail, **error.problem)
