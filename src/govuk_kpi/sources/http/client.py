"""A polite HTTP GET for GOV.UK's public APIs: rate limit, retries, conditional requests.

One `Fetcher` is shared by every worker thread of an extract run. Each attempt (retries and
redirect hops included) first takes a token from one `RateLimiter`, so the run never sends
more than `rate` requests in any second however many requests are in flight. 429 and 5xx
answers, timeouts, dropped connections, truncated and non-JSON bodies are retried with
exponential backoff, honouring `Retry-After`. A 200 answer's `ETag` and `Last-Modified` are
kept in an on-disk cache with its body; the next request for the URL is conditional, and a
304 answer reuses the cached body without downloading it again.
"""

from __future__ import annotations

import email.utils
import hashlib
import json
import os
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

DEFAULT_BASE_URL = "https://www.gov.uk"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
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
        cache_dir: Where ETags, Last-Modified dates and bodies are kept; None: no cache.
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


class RateLimiter:
    """A token bucket shared by threads: at most `rate` acquisitions in any second.

    Implemented as the generic cell rate algorithm (virtual scheduling): each acquisition is
    given the next slot `1 / rate` seconds after the previous one and waits for it. With
    `burst` 1 (the default) the slots are evenly spaced, so no sliding one-second window ever
    holds more than `rate` of them; a larger burst lets that many go at once after a lull.

    The slots are `margin` (5%) wider than `1 / rate`: evenly spaced requests put the first
    and the (rate + 1)th exactly one second apart, and the few milliseconds by which the
    network and the server's scheduling delay one request more than another would otherwise
    let the server see rate + 1 of them in one second. With 5%, that takes a difference of
    more than 50 ms (at 10 requests/s) within the second.
    """

    def __init__(
        self,
        rate: float,
        *,
        burst: int = 1,
        margin: float = 0.05,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.interval = (1.0 + max(0.0, margin)) / rate
        self.burst = max(1, burst)
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next = -float("inf")  # theoretical arrival time of the next acquisition

    def acquire(self) -> float:
        """Wait for a token; return the seconds waited.

        The lock is held while waiting, and the next slot is reckoned from the moment this
        one was actually released: a sleep that overshoots (a busy machine) delays the
        following requests rather than letting them catch up closer together.
        """
        with self._lock:
            now = self._clock()
            allowed = self._next - (self.burst - 1) * self.interval
            wait = max(0.0, allowed - now)
            if wait > 0:
                self._sleep(wait)
                now = self._clock()
            self._next = max(self._next, now) + self.interval
        return wait


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


class HttpCache:
    """ETag, Last-Modified and body per URL, in files named by the URL's SHA-256."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def _paths(self, url: str) -> tuple[Path, Path]:
        key = hashlib.sha256(url.encode()).hexdigest()
        base = self.folder / key[:2] / key
        return base.with_suffix(".json"), base.with_suffix(".body")

    def validators(self, url: str) -> dict[str, str]:
        """The conditional headers for a URL seen before with a kept body, else {}."""
        meta_path, body_path = self._paths(url)
        if not (meta_path.exists() and body_path.exists()):
            return {}
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        headers = {}
        if meta.get("etag"):
            headers["If-None-Match"] = meta["etag"]
        if meta.get("last_modified"):
            headers["If-Modified-Since"] = meta["last_modified"]
        return headers

    def body(self, url: str) -> bytes | None:
        try:
            return self._paths(url)[1].read_bytes()
        except OSError:
            return None

    def store(self, url: str, headers: Mapping[str, str], body: bytes) -> None:
        etag = headers.get("etag")
        last_modified = headers.get("last-modified")
        if not etag and not last_modified:
            return
        meta_path, body_path = self._paths(url)
        meta_path.parent.mkdir(parents=True, exist_ok=True)
        meta = {"url": url, "etag": etag, "last_modified": last_modified}
        for path, data in ((body_path, body), (meta_path, json.dumps(meta).encode())):
            temporary = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}")
            temporary.write_bytes(data)
            os.replace(temporary, path)


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
        limiter: RateLimiter | None = None,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.settings = settings or HttpSettings()
        self.limiter = limiter or RateLimiter(self.settings.rate)
        self.cache = HttpCache(self.settings.cache_dir) if self.settings.cache_dir else None
        self._sleep = sleep
        self._client = httpx.Client(
            timeout=httpx.Timeout(self.settings.timeout),
            follow_redirects=False,  # followed here, so every hop takes a rate-limit token
            headers={"User-Agent": self.settings.user_agent, "Accept": "application/json"},
            limits=httpx.Limits(max_connections=max(1, self.settings.concurrency) + 2),
            transport=transport,
        )
        self.requests_sent = 0
        self._count_lock = threading.Lock()

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
        `settings.retries` times; what still fails comes back as outcome "failed".
        """
        url = self.url(path, params)
        result = Fetched(url=url, outcome="failed")
        current = url
        attempt = 0
        while True:
            try:
                return self._attempt(result, current, expect_json)
            except _Redirect as hop:
                if len(result.redirects) >= self.settings.max_redirects:
                    result.status, result.error = hop.status, "too many redirects"
                    return result
                result.redirects.append(hop.location)
                current = hop.location
            except _Retry as problem:
                result.status, result.error = problem.status, problem.reason
                if attempt >= self.settings.retries:
                    result.error = f"{problem.reason} (gave up after {attempt + 1} attempts)"
                    return result
                self._sleep(self._delay(attempt, problem.wait))
                attempt += 1

    def _delay(self, attempt: int, asked: float | None) -> float:
        s = self.settings
        if asked is not None:
            return min(asked, s.max_backoff)
        exponential = min(s.max_backoff, s.backoff * (2**attempt))
        return exponential * random.uniform(0.8, 1.0)  # a little jitter, never more than asked

    def _attempt(self, result: Fetched, url: str, expect_json: bool) -> Fetched:
        headers = self.cache.validators(url) if self.cache else {}
        self.limiter.acquire()
        with self._count_lock:
            self.requests_sent += 1
        result.attempts += 1
        try:
            response = self._client.get(url, headers=headers)
        except httpx.TimeoutException as exc:
            raise _Retry(
                f"timed out after {self.settings.timeout:g} s ({type(exc).__name__})"
            ) from None
        except httpx.TransportError as exc:
            raise _Retry(f"connection problem: {type(exc).__name__}: {exc}") from None
        status = response.status_code
        result.status = status
        result.final_url = url
        if status in REDIRECT_STATUSES and response.headers.get("location"):
            location = urljoin(url, response.headers["location"])
            if urlsplit(location).netloc != urlsplit(url).netloc:
                result.error = f"redirected off the site to {location}"
                result.outcome = "failed"
                return result
            raise _Redirect(status, location)
        if status in RETRY_STATUSES:
            raise _Retry(
                f"HTTP {status}",
                status,
                retry_after_seconds(response.headers.get("retry-after")),
            )
        if status == 304:
            body = self.cache.body(url) if self.cache else None
            if body is None:
                raise _Retry("HTTP 304 but nothing cached for the URL", status)
            result.outcome, result.body, result.error = "not_modified", body, None
            return result
        if status == 410:
            result.outcome, result.body, result.error = "gone", response.content, None
            return result
        if status == 404:
            result.outcome, result.error = "missing", "HTTP 404 Not Found"
            return result
        if status != 200:
            result.outcome, result.error = "failed", f"HTTP {status}"
            return result
        body = response.content
        if expect_json:
            try:
                json.loads(body)
            except ValueError as exc:
                raise _Retry(f"the body is not JSON ({len(body)} bytes: {exc})", status) from None
        if self.cache:
            self.cache.store(url, response.headers, body)
        result.outcome, result.body, result.error = "ok", body, None
        return result


class _Redirect(Exception):
    def __init__(self, status: int, location: str) -> None:
        super().__init__(location)
        self.status = status
        self.location = location
