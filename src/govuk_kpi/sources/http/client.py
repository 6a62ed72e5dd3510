"""A polite HTTP GET for GOV.UK's public APIs: rate limit, retries, conditional requests.

One `Fetcher` is shared by every worker thread of an extract run, and each part of its
politeness is a library's:

- the rate: every request that leaves (retries and redirect hops included) first takes a slot
  from one pyrate-limiter GCRA bucket, so the run never sends more than `rate` a second however
  many requests are in flight;
- retries: tenacity tries again, with exponential backoff or what `Retry-After` asks, after a
  429 or 5xx, a timeout, a dropped connection, or a truncated or non-JSON body;
- the cache: hishel keeps answers in an RFC 9111 cache (SQLite, in `cache_dir`) and revalidates
  each one with `If-None-Match` / `If-Modified-Since`; a 304 reuses the kept body.
"""

from __future__ import annotations

import email.utils
import json
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit

import httpx
from hishel import CacheOptions, SqliteStorage
from hishel.httpx import CacheTransport
from pyrate_limiter import GCRA, Limiter, Rate, StateBucket
from pyrate_limiter.extras.httpx_limiter import RateLimiterTransport
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

DEFAULT_BASE_URL = "https://www.gov.uk"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
CACHE_FILE = "http-cache.db"  # in `cache_dir`
USER_AGENT = "govuk-kpi/0.1 (GOV.UK page facts warehouse; +https://github.com/)"


@dataclass(frozen=True)
class HttpSettings:
    """How an extract run talks to GOV.UK.

    Attributes:
        base_url: The site root; every API path is resolved against it.
        rate: Requests per second, at most, across all workers (retries and redirects count).
        concurrency: Requests in flight at once.
        timeout: Seconds to wait for a connection, or for the next bytes of an answer.
        retries: Further attempts after a retryable failure (so `retries + 1` in all).
        backoff: Seconds before the first retry; doubled for each further one.
        max_backoff: The longest wait between attempts, `Retry-After` included.
        max_redirects: Redirect hops followed before giving up.
        cache_dir: Where the HTTP cache (`http-cache.db`) is kept; None: no cache.
    """

    base_url: str = DEFAULT_BASE_URL
    rate: float = 10.0
    concurrency: int = 4
    timeout: float = 10.0
    retries: int = 4
    backoff: float = 0.5
    max_backoff: float = 60.0
    max_redirects: int = 5
    cache_dir: Path | None = None
    user_agent: str = USER_AGENT


def polite_limiter(rate: float, *, margin: float = 0.05) -> Limiter:
    """A limiter shared by threads: at most `rate` acquisitions in any second, evenly spaced.

    GCRA with a burst of 1 gives each acquisition the next slot after the previous one, and a
    slot is reckoned from when the previous one was actually taken, so a sleep that overshoots
    (a busy machine) delays the following requests rather than letting them catch up.

    The slots are `margin` (5%) wider than `1 / rate`: evenly spaced requests put the first
    and the (rate + 1)th exactly one second apart, and the few milliseconds by which the
    network and the server's scheduling delay one request more than another would otherwise
    let the server see rate + 1 of them in one second.
    """
    if rate <= 0:
        raise ValueError("rate must be positive")
    # pyrate-limiter counts in whole milliseconds: 1000 slots per interval keeps microseconds.
    interval_ms = -(-1_000_000 * (1.0 + max(0.0, margin)) // rate)
    bucket = StateBucket([Rate(1000, int(interval_ms), burst=1)], GCRA())
    return Limiter(bucket, buffer_ms=0)  # no padding: the margin is the padding


@dataclass
class Fetched:
    """What became of one GET.

    `outcome` is one of: "ok" (200, body downloaded), "not_modified" (304, body from the
    cache), "gone" (410), "missing" (404), "failed" (anything else, with `error`).
    """

    url: str
    outcome: str
    status: int | None = None
    final_url: str | None = None
    body: bytes | None = None
    error: str | None = None
    attempts: int = 0
    redirects: list[str] = field(default_factory=list)

    @property
    def fetched(self) -> bool:
        """True when there is a body to keep (downloaded or from the cache)."""
        return self.body is not None and self.outcome in {"ok", "not_modified"}

    def json(self) -> Any:
        return json.loads(self.body or b"null")


def retry_after_seconds(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds a `Retry-After` header asks for: delta-seconds or an HTTP date; None if neither."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class _Retry(Exception):
    """An attempt failed in a way worth trying again."""

    def __init__(self, reason: str, status: int | None = None, wait: float | None = None):
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.wait = wait


class Fetcher:
    """GETs against one site, shared by threads. Close it (or use `with`) when done."""

    def __init__(
        self,
        settings: HttpSettings | None = None,
        *,
        limiter: Limiter | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings or HttpSettings()
        self.limiter = limiter or polite_limiter(self.settings.rate)
        self._sleep = sleep
        transport: httpx.BaseTransport = RateLimiterTransport(
            self.limiter, limits=httpx.Limits(max_connections=max(1, self.settings.concurrency) + 2)
        )
        if self.settings.cache_dir:
            folder = Path(self.settings.cache_dir)
            folder.mkdir(parents=True, exist_ok=True)
            storage = SqliteStorage(database_path=folder / CACHE_FILE)
            # A private cache: it belongs to this extractor, not to users behind a proxy.
            transport = CacheTransport(transport, storage, rfc=CacheOptions(shared=False))
        # The cache sits above the limiter, so only what goes to the network takes a slot.
        self._client = httpx.Client(
            timeout=httpx.Timeout(self.settings.timeout),
            follow_redirects=False,  # followed here: each hop is checked, counted and limited
            headers=self._headers(),
            transport=transport,
        )
        self.requests_sent = 0
        self._count_lock = threading.Lock()

    def _headers(self) -> dict[str, str]:
        headers = {"User-Agent": self.settings.user_agent, "Accept": "application/json"}
        if self.settings.cache_dir:
            # Revalidate every kept answer (RFC 9111 5.2.1.4): a snapshot says what GOV.UK
            # serves now, so a stored answer is never reused without asking.
            headers["Cache-Control"] = "no-cache"
        return headers

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def url(self, path: str, params: Mapping[str, Any] | None = None) -> str:
        """The absolute URL of an API path (or an absolute URL) with its query parameters."""
        url = urljoin(self.settings.base_url.rstrip("/") + "/", path.lstrip("/"))
        if path.startswith(("http://", "https://")):
            url = path
        if params:
            url += ("&" if "?" in url else "?") + urlencode(params, doseq=True)
        return url

    def get(
        self, path: str, params: Mapping[str, Any] | None = None, *, expect_json: bool = True
    ) -> Fetched:
        """GET a path of the site; never raises for HTTP or network trouble.

        Redirects are followed (each hop a request of its own). A 200 body that should be JSON
        and is not, a body cut short, a timeout, a 429 or a 5xx is retried up to
        `settings.retries` times in all, carrying on from the last hop reached; what still
        fails comes back as outcome "failed".
        """
        result = Fetched(url=self.url(path, params), outcome="failed")

        def gave_up(state: RetryCallState) -> Fetched:
            problem = state.outcome.exception() if state.outcome else None
            assert isinstance(problem, _Retry)
            result.outcome, result.status = "failed", problem.status
            result.error = f"{problem.reason} (gave up after {state.attempt_number} attempts)"
            return result

        retrying = Retrying(
            retry=retry_if_exception_type(_Retry),
            stop=stop_after_attempt(self.settings.retries + 1),
            wait=self._wait,
            sleep=self._sleep,
            retry_error_callback=gave_up,
        )
        return retrying(self._follow, result, expect_json)

    def _wait(self, state: RetryCallState) -> float:
        """What `Retry-After` asks, else exponential backoff; never more than `max_backoff`."""
        s = self.settings
        problem = state.outcome.exception() if state.outcome else None
        if isinstance(problem, _Retry) and problem.wait is not None:
            return min(problem.wait, s.max_backoff)
        exponential = min(s.max_backoff, s.backoff * 2 ** (state.attempt_number - 1))
        return exponential * random.uniform(0.8, 1.0)  # a little jitter, never more than asked

    def _follow(self, result: Fetched, expect_json: bool) -> Fetched:
        """One attempt: GET the last URL reached and follow its redirects on the site."""
        while True:
            url = result.redirects[-1] if result.redirects else result.url
            try:
                return self._attempt(result, url, expect_json)
            except _Redirect as hop:
                if len(result.redirects) >= self.settings.max_redirects:
                    result.status, result.error = hop.status, "too many redirects"
                    return result
                result.redirects.append(hop.location)

    def _attempt(self, result: Fetched, url: str, expect_json: bool) -> Fetched:
        with self._count_lock:
            self.requests_sent += 1
        result.attempts += 1
        response = self._send(url)
        status = response.status_code
        result.status = status
        result.final_url = url
        if status in REDIRECT_STATUSES and response.headers.get("location"):
            return _off_site(result, url, response)
        if status in RETRY_STATUSES:
            raise _Retry(
                f"HTTP {status}",
                status,
                retry_after_seconds(response.headers.get("retry-after")),
            )
        if status == 410:
            result.outcome, result.body, result.error = "gone", response.content, None
            return result
        if status == 404:
            result.outcome, result.error = "missing", "HTTP 404 Not Found"
            return result
        if status != 200:
            result.outcome, result.error = "failed", f"HTTP {status}"
            return result
        return _ok(result, response, expect_json)

    def _send(self, url: str) -> httpx.Response:
        """The answer to one GET; a timeout or a network problem is worth another attempt."""
        try:
            return self._client.get(url)
        except httpx.TimeoutException as exc:
            raise _Retry(
                f"timed out after {self.settings.timeout:g} s ({type(exc).__name__})"
            ) from None
        except httpx.TransportError as exc:
            raise _Retry(f"connection problem: {type(exc).__name__}: {exc}") from None


def _off_site(result: Fetched, url: str, response: httpx.Response) -> Fetched:
    """A redirect: followed (`_Redirect`) on the site, a failure off it."""
    location = urljoin(url, response.headers["location"])
    if urlsplit(location).netloc != urlsplit(url).netloc:
        result.error = f"redirected off the site to {location}"
        result.outcome = "failed"
        return result
    raise _Redirect(response.status_code, location)


def _ok(result: Fetched, response: httpx.Response, expect_json: bool) -> Fetched:
    """A 200: its body kept (a body that should be JSON and is not is worth another attempt)."""
    status = response.status_code
    body = response.content
    if expect_json:
        try:
            json.loads(body)
        except ValueError as exc:
            raise _Retry(f"the body is not JSON ({len(body)} bytes: {exc})", status) from None
    if _revalidated(response):
        # The server said 304: the snapshot records that, with the kept body.
        result.outcome, result.status, result.body, result.error = (
            "not_modified",
            304,
            body,
            None,
        )
        return result
    result.outcome, result.body, result.error = "ok", body, None
    return result


def _revalidated(response: httpx.Response) -> bool:
    """True when the cache answered with a kept body after the server's 304."""
    caching = response.extensions.get("caching") or {}
    return bool(caching.get("from_cache") and caching.get("revalidated"))


class _Redirect(Exception):
    def __init__(self, status: int, location: str) -> None:
        super().__init__(location)
        self.status = status
        self.location = location
