"""Pure ASGI middleware: read-only methods, conditional GETs (ETag, Last-Modified), rate limits."""

from __future__ import annotations

import contextlib
import hashlib
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime

from anyio import to_thread
from sqlalchemy import Engine
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from govuk_kpi.api.problems import log, problem_response
from govuk_kpi.kpi.provenance import freshness

ALLOWED = ("GET", "HEAD", "OPTIONS")
ALLOW_HEADER = ", ".join(ALLOWED)
NOT_DATA = ("/health", "/openapi.json", "/docs", "/redoc")


class _HttpMiddleware:
    """A middleware that looks at HTTP requests only (`http`), passing anything else through."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.http(scope, receive, send)

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        raise NotImplementedError


class CatchAllMiddleware(_HttpMiddleware):
    """Any unexpected exception becomes a plain 500 problem (logged, never shown).

    Handled here rather than re-raised to the server, so the connection stays usable.
    """

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
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


class ReadOnlyMiddleware(_HttpMiddleware):
    """405 for any method but GET, HEAD and OPTIONS; a plain OPTIONS answers with `Allow`.

    CORS preflights (OPTIONS with an Origin) are answered by the CORS middleware outside this.
    """

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
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
            batch_id, newest = freshness(connection)
        return f"{batch_id or 0}:{newest.isoformat() if newest else ''}", newest


class ConditionalGetMiddleware:
    """ETag + Last-Modified on successful GETs under the given prefixes; 304 when unchanged.

    The validator is the newest load batch (the data changes only when a load finishes) mixed
    with everything else the representation depends on: the path and query, the request
    headers named in `Vary`, and the base of the links it holds (scheme, host). The ETag is
    weak, so it stays true of the same data gzip-compressed or not (RFC 9110 8.8.1).
    Only a 2xx answer may become a 304 (RFC 9110 13.1.2): the request runs first, so a
    request that would fail answers its error whatever validators it carries.
    """

    def __init__(
        self,
        app: ASGIApp,
        freshness: Freshness,
        prefixes: tuple[str, ...],
        vary: dict[str, tuple[str, ...]] | None = None,
    ) -> None:
        self.app = app
        self.freshness = freshness
        self.prefixes = prefixes
        self.vary = vary or {}

    def _applies(self, scope: Scope) -> bool:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            return False
        path: str = scope["path"]
        if path.endswith(NOT_DATA) or "/docs-assets/" in path:
            return False  # not warehouse data: fresh or validated on their own terms
        return any(path == p or path.startswith(p + "/") for p in self.prefixes)

    def _varies_on(self, path: str) -> tuple[str, ...]:
        for prefix, names in self.vary.items():
            if path == prefix or path.startswith(prefix + "/"):
                return names
        return ("Accept",)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self._applies(scope):
            await self.app(scope, receive, send)
            return
        token, newest = await to_thread.run_sync(self.freshness.current)
        headers = Headers(scope=scope)
        varies_on = self._varies_on(scope["path"])
        digest = hashlib.sha256(
            "\n".join(
                (
                    token,
                    _link_base(scope),
                    scope["path"],
                    scope.get("query_string", b"").decode("latin-1"),
                    *(headers.get(name, "") for name in varies_on),
                )
            ).encode("utf-8")
        ).hexdigest()[:32]
        etag = f'W/"{digest}"'
        extra = {
            "etag": etag,
            "cache-control": "public, max-age=60",
            "vary": ", ".join(varies_on),
        }
        if newest:
            extra["last-modified"] = format_datetime(
                newest.replace(tzinfo=UTC, microsecond=0), usegmt=True
            )
        not_modified = _not_modified(headers, etag, newest)
        answered = False

        async def send_with_validators(message: Message) -> None:
            nonlocal answered
            if message["type"] == "http.response.start":
                if not 200 <= message["status"] < 300:
                    await send(message)
                    return
                if not_modified:
                    answered = True
                    await _empty(send, 304, extra)
                    return
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
            elif answered:
                raise _NotModifiedSent  # stop the route making a body no one will read
            await send(message)

        with contextlib.suppress(_NotModifiedSent):
            await self.app(scope, receive, send_with_validators)


class _NotModifiedSent(BaseException):
    """Raised through the route once its 304 is sent (a stream, such as the bulk CSV, would
    otherwise be made whole). A BaseException, so no handler of errors takes it for one."""


def _link_base(scope: Scope) -> str:
    """Where absolute links in the answer point: scheme, host and root path."""
    host = Headers(scope=scope).get("host", "")
    return f"{scope.get('scheme', 'http')}://{host}{scope.get('root_path', '')}"


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


@dataclass(frozen=True)
class Allowance:
    """A client's standing after a request: what the RateLimit headers say."""

    wait: float  # seconds until a request is allowed (0: this one is)
    remaining: int  # requests it may make at once now
    reset: float  # seconds until its whole burst is back


class TokenBucket:
    """One bucket per client: `rate` tokens a second, at most `burst` saved up.

    Kept by hand, unlike the extractor's limiter: every answer's RateLimit headers need the
    client's tokens left and the exact time until its burst is back, which pyrate-limiter
    answers only as a rounded-up count per bucket, and a bucket object per client address
    would need its own factory and eviction. Twenty lines of arithmetic do it exactly.
    """

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic):
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, client: str) -> Allowance:
        """Take a token for `client`, or say how long until one is free."""
        now = self.clock()
        with self._lock:
            tokens, then = self._buckets.get(client, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - then) * self.rate)
            wait = 0.0
            if tokens >= 1:
                tokens -= 1
            else:
                wait = (1 - tokens) / self.rate
            self._buckets[client] = (tokens, now)
            if len(self._buckets) > 100_000:  # forget idle clients rather than grow forever
                self._buckets = {client: self._buckets[client]}
        return Allowance(wait, math.floor(tokens), (self.burst - tokens) / self.rate)


class RateLimitMiddleware:
    """A token bucket per client address (as the trusted proxy gave it, see `api.proxy`).

    Every answer carries `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` (IETF
    httpapi RateLimit header fields draft); over the limit, a 429 with `Retry-After`.
    """

    def __init__(self, app: ASGIApp, bucket: TokenBucket, exempt: tuple[str, ...] = ()) -> None:
        self.app = app
        self.bucket = bucket
        self.exempt = exempt  # path prefixes never limited (health checks from load balancers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(self.exempt):
            await self.app(scope, receive, send)
            return
        client = (scope.get("client") or ("unknown", 0))[0]
        allowance = self.bucket.take(client)
        fields = {
            "RateLimit-Limit": str(self.bucket.burst),
            "RateLimit-Remaining": str(allowance.remaining),
            "RateLimit-Reset": str(math.ceil(allowance.reset)),
        }
        if allowance.wait > 0:
            seconds = max(1, math.ceil(allowance.wait))
            response = problem_response(
                Request(scope),
                429,
                f"too many requests: at most {self.bucket.rate:g} a second "
                f"(bursts of {self.bucket.burst}); retry after {seconds} s",
                headers={**fields, "Retry-After": str(seconds)},
            )
            await response(scope, receive, send)
            return
        raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in fields.items()]

        async def send_with_fields(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = dict(message)
                message["headers"] = [*message.get("headers", []), *raw]
            await send(message)

        await self.app(scope, receive, send_with_fields)


__all__ = [
    "Allowance",
    "CatchAllMiddleware",
    "ConditionalGetMiddleware",
    "Freshness",
    "RateLimitMiddleware",
    "ReadOnlyMiddleware",
    "TokenBucket",
]
