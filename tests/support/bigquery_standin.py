"""A local stand-in for BigQuery's REST API: a real HTTP server on 127.0.0.1, in a thread.

It answers what `google-cloud-bigquery` asks when it runs a query: jobs.insert (a query job,
or a dry run), jobs.get, jobs.query, and getQueryResults page by page (`maxResults`,
`pageToken`). A query is really answered: the BigQuery SQL received is transpiled by sqlglot
to DuckDB's dialect and run over tables the test gives (Parquet files in the GA4 export's
shape, or any DuckDB relation), named as in BigQuery (`project.dataset.table`).

Every request is logged (method, path, query parameters, body), so tests can see the exact
query text sent, the pages asked for and that no Storage API call was made. Bytes processed
are the size of the files of the tables a query names (BigQuery bills what it reads; this is
a stand-in's fixed, checkable figure); bytes billed are at least 10 MiB, as BigQuery's are.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import duckdb
import sqlglot
from sqlglot import exp

MIN_BILLED = 10 * 1024 * 1024
LOCATION = "europe-west2"
_TYPES = {
    "VARCHAR": "STRING",
    "BIGINT": "INTEGER",
    "INTEGER": "INTEGER",
    "HUGEINT": "INTEGER",
    "SMALLINT": "INTEGER",
    "DOUBLE": "FLOAT",
    "FLOAT": "FLOAT",
    "BOOLEAN": "BOOLEAN",
    "DATE": "DATE",
}


@dataclass
class Job:
    project: str
    job_id: str
    location: str
    query: str
    dry_run: bool
    bytes_processed: int
    created: float
    schema: list[dict[str, str]] = field(default_factory=list)
    rows: list[tuple[Any, ...]] = field(default_factory=list)

    def resource(self) -> dict[str, Any]:
        stamp = str(int(self.created * 1000))
        statistics: dict[str, Any] = {
            "creationTime": stamp,
            "startTime": stamp,
            "totalBytesProcessed": str(self.bytes_processed),
            "query": {
                "totalBytesProcessed": str(self.bytes_processed),
                "statementType": "SELECT",
                "cacheHit": False,
            },
        }
        if not self.dry_run:
            statistics["endTime"] = str(int(self.created * 1000) + 5)
            billed = str(max(self.bytes_processed, MIN_BILLED))
            statistics["query"]["totalBytesBilled"] = billed
        return {
            "kind": "bigquery#job",
            "id": f"{self.project}:{self.location}.{self.job_id}",
            "jobReference": {
                "projectId": self.project,
                "jobId": self.job_id,
                "location": self.location,
            },
            "configuration": {
                "query": {"query": self.query, "useLegacySql": False},
                "dryRun": self.dry_run,
                "jobType": "QUERY",
            },
            "status": {"state": "DONE"},
            "statistics": statistics,
        }


class BigQueryError(Exception):
    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.status, self.reason, self.message = status, reason, message


class BigQueryStandin:
    """`with BigQueryStandin({"p.d.events_20261030": path}) as bq:` then `bq.url`."""

    def __init__(self, tables: dict[str, Path], *, max_page_rows: int | None = None) -> None:
        self.files = {name: Path(path) for name, path in tables.items()}
        self.max_page_rows = max_page_rows  # a server-side cap on a page, as BigQuery has
        self.log: list[dict[str, Any]] = []
        self.jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._db = duckdb.connect(":memory:")
        catalogs: set[str] = set()
        schemas: set[tuple[str, str]] = set()
        for name, path in self.files.items():
            project, dataset, table = name.split(".")
            if project not in catalogs:
                self._db.execute(f"ATTACH ':memory:' AS \"{project}\"")
                catalogs.add(project)
            if (project, dataset) not in schemas:
                self._db.execute(f'CREATE SCHEMA "{project}"."{dataset}"')
                schemas.add((project, dataset))
            source = str(path).replace("'", "''")
            self._db.execute(
                f'CREATE TABLE "{project}"."{dataset}"."{table}" AS '
                f"SELECT * FROM read_parquet('{source}')"
            )
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> BigQueryStandin:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._db.close()

    # -- what the tests look at ---------------------------------------------------------

    def queries(self, *, dry_run: bool | None = None) -> list[str]:
        """The query texts received by jobs.insert / jobs.query, in order."""
        return [
            entry["body"]["configuration"]["query"]["query"]
            if "configuration" in entry["body"]
            else entry["body"]["query"]
            for entry in self.log
            if entry["method"] == "POST"
            and (
                dry_run is None
                or bool(entry["body"].get("configuration", {}).get("dryRun")) == dry_run
            )
        ]

    def result_pages(self, job_id: str) -> list[dict[str, Any]]:
        """The getQueryResults requests of a job that asked for rows."""
        return [
            entry
            for entry in self.log
            if entry["method"] == "GET"
            and entry["path"].endswith(f"/queries/{job_id}")
            and entry["params"].get("maxResults") != ["0"]
        ]

    def bytes_for(self, query: str) -> int:
        """What the stand-in says a query processes: the files of the tables it names."""
        names = {
            ".".join(part for part in (t.catalog, t.db, t.name) if part)
            for t in sqlglot.parse_one(query, read="bigquery").find_all(exp.Table)
        }
        return sum(self.files[name].stat().st_size for name in names if name in self.files)

    # -- the API ----------------------------------------------------------------------------

    def insert(self, project: str, body: dict[str, Any]) -> dict[str, Any]:
        reference = body.get("jobReference", {})
        configuration = body.get("configuration", {})
        query = configuration.get("query", {}).get("query")
        if not query:
            raise BigQueryError(400, "invalid", "only query jobs are supported")
        job = self._job(
            project,
            reference.get("jobId") or f"job_{uuid.uuid4().hex}",
            reference.get("location") or LOCATION,
            query,
            bool(configuration.get("dryRun")),
        )
        return job.resource()

    def query(self, project: str, body: dict[str, Any]) -> dict[str, Any]:
        job = self._job(
            project,
            body.get("requestId") or f"job_{uuid.uuid4().hex}",
            body.get("location") or LOCATION,
            body["query"],
            bool(body.get("dryRun")),
        )
        answer = self.results(
            project, job.job_id, {"maxResults": [str(body.get("maxResults", ""))]}
        )
        answer["kind"] = "bigquery#queryResponse"
        return answer

    def _job(self, project: str, job_id: str, location: str, query: str, dry: bool) -> Job:
        try:
            expression = sqlglot.parse_one(query, read="bigquery")
            tables = {
                ".".join(part for part in (t.catalog, t.db, t.name) if part)
                for t in expression.find_all(exp.Table)
            }
        except sqlglot.errors.ParseError as exc:
            raise BigQueryError(400, "invalidQuery", f"Syntax error: {exc}") from None
        for name in tables - {"events_raw", "checked", "grouped", "events", "sessions"}:
            if name.count(".") == 2 and name not in self.files:
                raise BigQueryError(404, "notFound", f"Not found: Table {name} was not found")
        text = sqlglot.transpile(query, read="bigquery", write="duckdb")[0]
        job = Job(project, job_id, location, query, dry, self.bytes_for(query), time.time())
        with self._lock:
            try:
                if dry:
                    self._db.execute(f"EXPLAIN {text}")
                else:
                    relation = self._db.execute(text)
                    job.schema = [
                        {"name": d[0], "type": _TYPES.get(str(d[1]).upper(), "STRING"),
                         "mode": "NULLABLE"}
                        for d in relation.description or []
                    ]  # fmt: skip
                    job.rows = relation.fetchall()
            except duckdb.Error as exc:
                raise BigQueryError(400, "invalidQuery", str(exc).splitlines()[0]) from None
            if not dry:
                self.jobs[job_id] = job
        return job

    def get(self, project: str, job_id: str) -> dict[str, Any]:
        return self._known(job_id).resource()

    def results(self, project: str, job_id: str, params: dict[str, list[str]]) -> dict[str, Any]:
        job = self._known(job_id)
        start = int(params.get("pageToken", params.get("startIndex", ["0"]))[0] or 0)
        wanted = params.get("maxResults", [""])[0]
        size = int(wanted) if wanted else len(job.rows)
        if self.max_page_rows is not None:
            size = min(size, self.max_page_rows)
        page = job.rows[start : start + size]
        answer: dict[str, Any] = {
            "kind": "bigquery#getQueryResultsResponse",
            "jobReference": job.resource()["jobReference"],
            "jobComplete": True,
            "schema": {"fields": job.schema},
            "totalRows": str(len(job.rows)),
            "totalBytesProcessed": str(job.bytes_processed),
            "cacheHit": False,
        }
        if size:
            answer["rows"] = [{"f": [{"v": _value(v)} for v in row]} for row in page]
            if start + size < len(job.rows):
                answer["pageToken"] = str(start + size)
        return answer

    def _known(self, job_id: str) -> Job:
        try:
            return self.jobs[job_id]
        except KeyError:
            raise BigQueryError(404, "notFound", f"Not found: Job {job_id}") from None


def _value(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _handler(standin: BigQueryStandin) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_args: Any) -> None:  # quiet
            pass

        def _answer(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=UTF-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _route(self, method: str) -> None:
            url = urlsplit(self.path)
            params = parse_qs(url.query)
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}") if length else {}
            standin.log.append({"method": method, "path": url.path, "params": params, "body": body})
            parts = url.path.strip("/").split("/")
            try:
                # bigquery/v2/projects/{project}/jobs[/{id}] | queries[/{id}]
                if parts[:3] != ["bigquery", "v2", "projects"] or len(parts) < 5:
                    raise BigQueryError(404, "notFound", f"no such API: {url.path}")
                project, collection, rest = parts[3], parts[4], parts[5:]
                if method == "POST" and collection == "jobs" and not rest:
                    answer = standin.insert(project, body)
                elif method == "POST" and collection == "queries" and not rest:
                    answer = standin.query(project, body)
                elif method == "GET" and collection == "jobs" and len(rest) == 1:
                    answer = standin.get(project, rest[0])
                elif method == "GET" and collection == "queries" and len(rest) == 1:
                    answer = standin.results(project, rest[0], params)
                else:
                    raise BigQueryError(404, "notFound", f"no such API: {method} {url.path}")
            except BigQueryError as exc:
                self._answer(
                    exc.status,
                    {
                        "error": {
                            "code": exc.status,
                            "message": exc.message,
                            "errors": [{"reason": exc.reason, "message": exc.message}],
                            "status": "INVALID_ARGUMENT" if exc.status == 400 else "NOT_FOUND",
                        }
                    },
                )
                return
            self._answer(200, answer)

        def do_GET(self) -> None:
            self._route("GET")

        def do_POST(self) -> None:
            self._route("POST")

    return Handler
