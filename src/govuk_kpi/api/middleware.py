"""Pure ASGI middleware: read-only methods, conditional GETs (ETag, Last-Modified), rate limits."""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime

from anyio import to_thread
from sqlalchemy import Engine, func, select
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from govuk_kpi.api.problems import log, problem_response
from govuk_kpi.warehouse.models import LoadBatch

ALLOWED = ("GET", "HEAD", "OPTIONS")
ALLOW_HEADER = ", ".join(ALLOWED)


class CatchAllMiddleware:
    """Any unexpected exception becomes a plain 500 problem (logged, never shown).

    Handled here rather than re-raised to the server, so the connection stays usable.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            log.error("unexpected error on %s", scope.get("path"), exc_info=exc)
            if started:  # a response already begun cannot be replaced
                raise
            response = problem_response(
                Request(scope), 500, "the server could not answer this request"
            )
            await response(scope, receive, send)


class ReadOnlyMiddleware:
    """405 for any method but GET, HEAD and OPTIONS; a plain OPTIONS answers with `Allow`.

    CORS preflights (OPTIONS with an Origin) are answered by the CORS middleware outside this.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        if method == "OPTIONS":
            await _empty(send, 204, {"Allow": ALLOW_HEADER})
            return
        if method not in ALLOWED:
            response = problem_response(
                Request(scope),
                405,
                f"{method} is not allowed: this API is read-only (GET, HEAD, OPTIONS)",
                headers={"Allow": ALLOW_HEADER},
            )
            await response(scope, receive, send)
            return
        if "\x00" in scope["path"] or b"%00" in scope.get("query_string", b""):
            # No database text may hold NUL (PostgreSQL refuses it): refuse it at the door.
            response = problem_response(
                Request(scope), 400, "NUL characters are not allowed in the path or parameters"
            )
            await response(scope, receive, send)
            return
        if method == "HEAD":
            # Answer as GET would, without the body (headers, Content-Length included).
            async def send_headers_only(message: Message) -> None:
                if message["type"] == "http.response.body":
                    if message.get("more_body", False):
                        return
                    message = {"type": "http.response.body", "body": b""}
                await send(message)

            await self.app(dict(scope, method="GET"), receive, send_headers_only)
            return
        await self.app(scope, receive, send)


async def _empty(send: Send, status: int, headers: dict[str, str]) -> None:
    raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": b""})


class Freshness:
    """The newest load batch: what every ETag and Last-Modified is made from."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def current(self) -> tuple[str, datetime | None]:
        with self.engine.connect() as connection:
            batch_id, finished, started = connection.execute(
                select(
                    func.max(LoadBatch.batch_id),
                    func.max(LoadBatch.finished_at),
                    func.max(LoadBatch.started_at),
                )
            ).one()
        newest = finished or started
        if isinstance(newest, str):  # pragma: no cover - SQLite aggregates may return text
            newest = datetime.fromisoformat(newest)
        return f"{batch_id or 0}:{newest.isoformat() if newest else ''}", newest


class ConditionalGetMiddleware:
    """ETag + Last-Modified on successful GETs under the given prefixes; 304 when unchanged.

    The validator is the newest load batch (the data changes only when a load finishes) mixed
    with the request's path, query and Accept, so JSON and CSV of one URL differ.
    """

    def __init__(self, app: ASGIApp, freshness: Freshness, prefixes: tuple[str, ...]) -> None:
        self.app = app
        self.freshness = freshness
        self.prefixes = prefixes

    def _applies(self, scope: Scope) -> bool:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            return False
        path: str = scope["path"]
        if path.endswith(("/health", "/openapi.json", "/docs", "/redoc")):
            return False
        return any(path == p or path.startswith(p + "/") for p in self.prefixes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self._applies(scope):
            await self.app(scope, receive, send)
            return
        token, newest = await to_thread.run_sync(self.freshness.current)
        headers = Headers(scope=scope)
        digest = hashlib.sha256(
            "\n".join(
                (
                    token,
                    scope["path"],
                    scope.get("query_string", b"").decode("latin-1"),
                    headers.get("accept", ""),
                    headers.get("odata-maxversion", ""),
                )
            ).encode("utf-8")
        ).hexdigest()[:32]
        etag = f'W/"{digest}"'
        last_modified = (
            format_datetime(newest.replace(tzinfo=UTC, microsecond=0), usegmt=True)
            if newest
            else None
        )
        extra = {"etag": etag, "cache-control": "public, max-age=60", "vary": "Accept"}
        if last_modified:
            extra["last-modified"] = last_modified
        if _not_modified(headers, etag, newest):
            await _empty(send, 304, extra)
            return

        async def send_with_validators(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 200:
                names = {k.lower() for k, _ in message.get("headers", [])}
                message = dict(message)
                message["headers"] = [
                    *message.get("headers", []),
                    *[
                        (k.encode("latin-1"), v.encode("latin-1"))
                        for k, v in extra.items()
                        if k.encode("latin-1") not in names
                    ],
                ]
            await send(message)

        await self.app(scope, receive, send_with_validators)


def _not_modified(headers: Headers, etag: str, newest: datetime | None) -> bool:
    match = headers.get("if-none-match")
    if match is not None:
        tags = [t.strip() for t in match.split(",")]
        bare = etag.removeprefix("W/")
        return "*" in tags or any(t.removeprefix("W/") == bare for t in tags)
    since = headers.get("if-modified-since")
    if since and newest is not None:
        try:
            when = parsedate_to_datetime(since)
        except (TypeError, ValueError, IndexError):
            return False
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return newest.replace(tzinfo=UTC, microsecond=0) <= when
    return False


class TokenBucket:
    """One bucket per client: `rate` tokens a second, at most `burst` saved up."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic):
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, client: str) -> float:
        """Take a token for `client`: 0 when allowed, else the seconds until one is free."""
        now = self.clock()
        with self._lock:
            tokens, then = self._buckets.get(client, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - then) * self.rate)
            if tokens >= 1:
                self._buckets[client] = (tokens - 1, now)
                if len(self._buckets) > 100_000:  # forget idle clients rather than grow forever
                    self._buckets = {client: self._buckets[client]}
                return 0.0
            self._buckets[client] = (tokens, now)
            return (1 - tokens) / self.rate


class RateLimitMiddleware:
    """429 with Retry-After when a client (by address) empties its token bucket."""

    def __init__(self, app: ASGIApp, bucket: TokenBucket) -> None:
        self.app = app
        self.bucket = bucket

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        client = (scope.get("client") or ("unknown", 0))[0]
        wait = self.bucket.take(client)
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            response = problem_response(
                Request(scope),
                429,
                f"too many requests: at most {self.bucket.rate:g} a second "
                f"(bursts of {self.bucket.burst}); retry after {seconds} s",
                headers={"Retry-After": str(seconds)},
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


__all__ = [
    "CatchAllMiddleware",
    "ConditionalGetMiddleware",
    "Freshness",
    "RateLimitMiddleware",
    "ReadOnlyMiddleware",
    "TokenBucket",
]
