"""A local stand-in for GOV.UK's public APIs: a real HTTP server on 127.0.0.1, in a thread.

It serves the real recorded data the project ships:

- `/api/content<base_path>`: the content item files, byte for byte, keyed by their base_path;
- `/api/organisations?page=N`: organisations.json in pages of 20, with `pages`, `total`,
  `next_page_url` / `previous_page_url` and `_response_info.links` like the real API;
- `/api/search.json`: `filter_organisations`, `filter_content_store_document_type`, `fields`
  (repeated, `fields[]` or comma-separated), `count` and `start` over the content items, in the
  shape of the recorded responses (`results`, `total`, `start`, `facets`, `suggested_queries`).

Every answer carries an `ETag` and a `Last-Modified`, and a conditional request that matches
gets a bodiless 304. Faults are injected per path (`standin.inject(path, Fault...)`), each for
a number of requests or forever, and every request is logged with its arrival time, so tests
can count 304s and benchmarks can check the rate limit at the server.
"""

from __future__ import annotations

import email.utils
import hashlib
import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

FIXED_LAST_MODIFIED = datetime(2026, 10, 31, 6, 0, tzinfo=UTC)
CONTROL = "/_standin/"  # not logged: the log, clearing it, injecting faults from elsewhere


@dataclass
class Fault:
    """Something to go wrong on the next `times` requests of a path (None: on every one)."""

    kind: str  # status | delay | truncated | not_json | redirect | gone | not_found
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    location: str | None = None
    times: int | None = 1

    @classmethod
    def http(cls, status: int, *, retry_after: str | None = None, times: int | None = 1) -> Fault:
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        return cls("status", status=status, headers=headers, times=times)

    @classmethod
    def delay(cls, seconds: float, *, times: int | None = 1) -> Fault:
        return cls("delay", seconds=seconds, times=times)

    @classmethod
    def truncated(cls, *, times: int | None = 1) -> Fault:
        return cls("truncated", times=times)

    @classmethod
    def not_json(cls, *, times: int | None = 1) -> Fault:
        return cls("not_json", times=times)

    @classmethod
    def redirect(cls, location: str, *, status: int = 301, times: int | None = None) -> Fault:
        return cls("redirect", status=status, location=location, times=times)

    @classmethod
    def gone(cls, *, times: int | None = None) -> Fault:
        return cls("gone", status=410, times=times)

    @classmethod
    def not_found(cls, *, times: int | None = None) -> Fault:
        return cls("not_found", status=404, times=times)


@dataclass(frozen=True)
class Logged:
    """One request as the server saw it."""

    at: float  # time.monotonic() on arrival
    path: str
    query: str
    status: int
    conditional: bool


def _etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def _http_date(when: datetime) -> str:
    return email.utils.format_datetime(when.astimezone(UTC), usegmt=True)


def _last_modified(doc: Mapping[str, Any]) -> datetime:
    for key in ("updated_at", "public_updated_at", "first_published_at"):
        value = doc.get(key)
        if isinstance(value, str):
            try:
                parsed = datetime.fromisoformat(value)
            except ValueError:
                continue
            return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).replace(microsecond=0)
    return FIXED_LAST_MODIFIED


def _slug(link: Any) -> str | None:
    if isinstance(link, Mapping) and isinstance(link.get("base_path"), str):
        return link["base_path"].rstrip("/").rsplit("/", 1)[-1] or None
    return None


def _search_value(doc: Mapping[str, Any], name: str) -> Any:
    links = doc.get("links") if isinstance(doc.get("links"), Mapping) else {}
    if name == "link":
        return doc.get("base_path")
    if name == "content_store_document_type":
        return doc.get("document_type")
    if name == "public_timestamp":
        return doc.get("public_updated_at")
    if name == "organisations":
        return [{"slug": s} for s in map(_slug, links.get("organisations") or []) if s]
    return doc.get(name)


class GovukStandin:
    """The server. Use as a context manager, or `start()` and `stop()`."""

    def __init__(
        self,
        content: Mapping[str, bytes] | None = None,
        organisations: list[Any] | None = None,
        *,
        page_size: int = 20,
    ) -> None:
        self.content: dict[str, bytes] = dict(content or {})
        self.docs: dict[str, dict[str, Any]] = {
            path: json.loads(body) for path, body in self.content.items()
        }
        self.organisations = list(organisations or [])
        self.page_size = page_size
        self.faults: dict[str, list[Fault]] = {}
        self.log: list[Logged] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- set-up ----------------------------------------------------------------------------

    @classmethod
    def from_files(
        cls,
        content_files: Iterable[Path] = (),
        organisations_file: Path | None = None,
        **kwargs: Any,
    ) -> GovukStandin:
        """Serve content item files (the first file wins for a base path) and organisations."""
        content: dict[str, bytes] = {}
        for file in content_files:
            body = Path(file).read_bytes()
            base_path = json.loads(body).get("base_path")
            if isinstance(base_path, str):
                content.setdefault(base_path, body)
        organisations = None
        if organisations_file is not None:
            doc = json.loads(Path(organisations_file).read_bytes())
            organisations = doc["results"] if isinstance(doc, dict) else doc
        return cls(content, organisations, **kwargs)

    def inject(self, path: str, *faults: Fault) -> None:
        """Queue faults for a path (its URL path, without the query string)."""
        with self._lock:
            self.faults.setdefault(path, []).extend(faults)

    def content_path(self, base_path: str) -> str:
        return "/api/content" + base_path

    @property
    def url(self) -> str:
        assert self._server is not None, "not started"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> GovukStandin:
        standin = self

        class Handler(_Handler):
            server_standin = standin

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> GovukStandin:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what happened ---------------------------------------------------------------------

    def requests(self, path: str | None = None) -> list[Logged]:
        with self._lock:
            return [r for r in self.log if path is None or r.path == path]

    def status_counts(self) -> dict[int, int]:
        counts: dict[int, int] = {}
        for r in self.requests():
            counts[r.status] = counts.get(r.status, 0) + 1
        return counts

    def max_in_window(self, seconds: float = 1.0) -> int:
        """The most requests that arrived within any half-open window [t, t + seconds)."""
        return max_in_window([r.at for r in self.requests()], seconds)

    # -- answers ---------------------------------------------------------------------------

    def _next_fault(self, path: str) -> Fault | None:
        with self._lock:
            queue = self.faults.get(path)
            if not queue:
                return None
            fault = queue[0]
            if fault.times is not None:
                fault.times -= 1
                if fault.times <= 0:
                    queue.pop(0)
            return fault

    def _record(self, logged: Logged) -> None:
        with self._lock:
            self.log.append(logged)

    def answer(
        self, path: str, query: dict[str, list[str]], base: str
    ) -> tuple[int, bytes, datetime]:
        """(status, body, last modified) of a GET, without faults."""
        if path.startswith("/api/content/") or path == "/api/content":
            base_path = path[len("/api/content") :] or "/"
            body = self.content.get(base_path)
            if body is None:
                return 404, b'{"error":"not found"}', FIXED_LAST_MODIFIED
            return 200, body, _last_modified(self.docs[base_path])
        if path == "/api/organisations":
            return 200, self._organisations_page(query, base), FIXED_LAST_MODIFIED
        if path == "/api/search.json":
            return 200, self._search(query), FIXED_LAST_MODIFIED
        return 404, b'{"error":"not found"}', FIXED_LAST_MODIFIED

    def _organisations_page(self, query: dict[str, list[str]], base: str) -> bytes:
        try:
            page = max(1, int(query.get("page", ["1"])[0]))
        except ValueError:
            page = 1
        size = self.page_size
        total = len(self.organisations)
        pages = max(1, -(-total // size))
        results = self.organisations[(page - 1) * size : page * size]
        link = f"{base}/api/organisations?page="
        links = []
        doc: dict[str, Any] = {}
        if page < pages:
            links.append({"href": f"{link}{page + 1}", "rel": "next"})
            doc["next_page_url"] = f"{link}{page + 1}"
        if page > 1:
            links.append({"href": f"{link}{page - 1}", "rel": "previous"})
            doc["previous_page_url"] = f"{link}{page - 1}"
        links.append({"href": f"{link}{page}", "rel": "self"})
        doc = {
            "_response_info": {"status": "ok", "links": links},
            "description": "All organisations",
            "total": total,
            "start_index": (page - 1) * size + 1,
            "page_size": size,
            "current_page": page,
            "pages": pages,
            "results": results,
            **doc,
        }
        return json.dumps(doc).encode()

    def _search(self, query: dict[str, list[str]]) -> bytes:
        fields: list[str] = []
        for name in ("fields", "fields[]"):
            for value in query.get(name, []):
                fields += [f for f in value.split(",") if f]
        fields = fields or ["link", "title", "description"]
        organisations = set(query.get("filter_organisations", []))
        types = set(query.get("filter_content_store_document_type", []))
        count = int(query.get("count", ["10"])[0])
        start = int(query.get("start", ["0"])[0])
        matched = []
        for base_path in sorted(self.docs):
            doc = self.docs[base_path]
            links = doc.get("links") if isinstance(doc.get("links"), Mapping) else {}
            slugs = {_slug(x) for x in links.get("organisations") or []}
            slugs |= {_slug(x) for x in links.get("primary_publishing_organisation") or []}
            if organisations and not organisations & slugs:
                continue
            if types and doc.get("document_type") not in types:
                continue
            matched.append(doc)
        page = matched[start : start + count]
        results = []
        for doc in page:
            result = {name: _search_value(doc, name) for name in fields}
            result = {k: v for k, v in result.items() if v is not None}
            result |= {
                "index": "govuk",
                "es_score": None,
                "_id": doc.get("base_path"),
                "elasticsearch_type": "edition",
                "document_type": "edition",
            }
            results.append(result)
        doc = {
            "results": results,
            "total": len(matched),
            "start": start,
            "facets": {},
            "suggested_queries": [],
        }
        return json.dumps(doc).encode()


class _Handler(BaseHTTPRequestHandler):
    server_standin: GovukStandin
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        arrived = time.monotonic()
        standin = self.server_standin
        parts = urlsplit(self.path)
        path = unquote(parts.path)
        query = parse_qs(parts.query)
        if path.startswith(CONTROL):
            self._control(standin, path, query)
            return
        conditional = bool(
            self.headers.get("If-None-Match") or self.headers.get("If-Modified-Since")
        )
        status = self._serve(standin, path, query)
        standin._record(Logged(arrived, path, parts.query, status, conditional))

    def _control(self, standin: GovukStandin, path: str, query: dict[str, list[str]]) -> None:
        """The stand-in's own endpoints, for a test or benchmark in another process."""
        if path == CONTROL + "log":
            body = json.dumps([vars(r) for r in standin.requests()]).encode()
        elif path == CONTROL + "clear":
            with standin._lock:
                standin.log.clear()
            body = b"{}"
        elif path == CONTROL + "inject":
            spec = json.loads(query["fault"][0])
            target = spec.pop("path")
            standin.inject(target, Fault(**spec))
            body = b"{}"
        else:
            self._send(404, b"{}")
            return
        self._send(200, body)

    def _serve(self, standin: GovukStandin, path: str, query: dict[str, list[str]]) -> int:
        fault = standin._next_fault(path)
        if fault is not None and fault.kind == "delay":
            time.sleep(fault.seconds)
            fault = None
        if fault is not None and fault.kind == "status":
            return self._send(fault.status, b'{"error":"injected"}', fault.headers)
        if fault is not None and fault.kind == "redirect":
            return self._send(fault.status, b"", {"Location": fault.location or "/"})
        if fault is not None and fault.kind == "not_found":
            return self._send(404, b'{"error":"not found"}')
        if fault is not None and fault.kind == "gone":
            base_path = path[len("/api/content") :]
            body = json.dumps(
                {
                    "base_path": base_path,
                    "document_type": "gone",
                    "schema_name": "gone",
                    "details": {"explanation": None, "alternative_path": None},
                    "links": {},
                }
            ).encode()
            return self._send(410, body)
        if fault is not None and fault.kind == "not_json":
            return self._send(200, b"<html><body>Bad gateway</body></html>", {}, "text/html")
        status, body, modified = standin.answer(path, query, standin.url)
        headers = {"ETag": _etag(body), "Last-Modified": _http_date(modified)}
        if status == 200 and self._not_modified(headers["ETag"], modified):
            return self._send(304, b"", headers)
        if fault is not None and fault.kind == "truncated":
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return status
        return self._send(status, body, headers)

    def _not_modified(self, etag: str, modified: datetime) -> bool:
        if_none_match = self.headers.get("If-None-Match")
        if if_none_match is not None:
            return etag in [t.strip() for t in if_none_match.split(",")] or if_none_match == "*"
        since = self.headers.get("If-Modified-Since")
        if since:
            try:
                return modified <= email.utils.parsedate_to_datetime(since)
            except (TypeError, ValueError):
                return False
        return False

    def _send(
        self,
        status: int,
        body: bytes,
        headers: Mapping[str, str] | None = None,
        content_type: str = "application/json",
    ) -> int:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if body:
                self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (a timeout): nothing to do
        return status


class StandinProcess:
    """The stand-in in a child process, so client and server share no interpreter.

    Request arrival times are then taken by a server that is never kept waiting by the
    client's threads (one process would share one GIL), as a real server would be. Serves the
    project's real content items (first file per base path) and organisations.
    """

    def __init__(self) -> None:
        self._process: subprocess.Popen[str] | None = None
        self.url = ""

    def __enter__(self) -> StandinProcess:
        self._process = subprocess.Popen(
            [sys.executable, __file__],
            stdout=subprocess.PIPE,
            text=True,
            cwd=Path(__file__).parent,
        )
        assert self._process.stdout is not None
        self.url = self._process.stdout.readline().strip()
        if not self.url.startswith("http://"):
            self.__exit__()
            raise RuntimeError("the stand-in process did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=10)
            self._process = None

    def _get(self, endpoint: str, **query: str) -> Any:
        from urllib.parse import urlencode
        from urllib.request import urlopen

        suffix = f"?{urlencode(query)}" if query else ""
        with urlopen(f"{self.url}{CONTROL}{endpoint}{suffix}", timeout=10) as answer:
            return json.loads(answer.read())

    def content_path(self, base_path: str) -> str:
        return "/api/content" + base_path

    def inject(self, path: str, fault: Fault) -> None:
        self._get("inject", fault=json.dumps({"path": path, **vars(fault)}))

    def clear(self) -> None:
        self._get("clear")

    def requests(self) -> list[Logged]:
        return [Logged(**r) for r in self._get("log")]

    def status_counts(self) -> dict[int, int]:
        counts: dict[int, int] = {}
        for r in self.requests():
            counts[r.status] = counts.get(r.status, 0) + 1
        return counts

    def max_in_window(self, seconds: float = 1.0) -> int:
        return max_in_window([r.at for r in self.requests()], seconds)


def max_in_window(stamps: Iterable[float], seconds: float = 1.0) -> int:
    """The most stamps within any half-open window [t, t + seconds)."""
    times = sorted(stamps)
    best, first = 0, 0
    for last, t in enumerate(times):
        while t - times[first] >= seconds:
            first += 1
        best = max(best, last - first + 1)
    return best


def _serve_forever() -> None:
    """Entry point of `StandinProcess`: print the URL, serve until terminated."""
    sys.path.insert(0, str(Path(__file__).parent))
    from extract_helpers import ORGANISATIONS_FILE, served_items

    organisations = json.loads(ORGANISATIONS_FILE.read_bytes())["results"]
    standin = GovukStandin(served_items(), organisations).start()
    print(standin.url, flush=True)
    signal.sigwait({signal.SIGTERM, signal.SIGINT})
    standin.stop()


if __name__ == "__main__":
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
    _serve_forever()
