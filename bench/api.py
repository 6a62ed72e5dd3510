"""Benchmark: the API's content listing and an OData `$apply`, over real HTTP, on a big warehouse.

A warehouse of `--pages` pages (default 50,000) × `--days` days (default 400, ending
2026-10-31) is generated straight into the tables: dimensions by the backend's bulk path
(`executemany` / `COPY`), the daily facts by one `INSERT ... SELECT` that makes every
(page, day) row in the database itself (deterministic, heavy-tailed page views), then the
project's own rollups (`refresh_rollups`) and ANALYZE. The API is then served by
`govuk-kpi serve` (uvicorn, one process) and measured from this process with httpx:

- `content`: `GET /api/v1/content?organisation_id=<one>&date_range=past-30-days&sort=pviews:desc`,
  `--requests` times (default 300) after 10 warm-up requests; p50 and p95 (target p95 < 100 ms);
- `odata_apply`: `GET /odata/MonthlyMetrics?$apply=groupby((organisation,month),
  aggregate(pviews with sum as pviews))` — every organisation's monthly total — 20 times.

    .venv/bin/python bench/api.py [--pages 50000] [--days 400] [--backend sqlite|postgresql|both]

The last line printed is one JSON object with the figures and whether each target is met.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
LAST_DAY = date(2026, 10, 31)
ORGANISATIONS = 60
DOCUMENT_TYPES = ("guide", "answer", "detailed_guide", "news_story", "publication", "statistics")
CONTENT_TARGET_MS = 100.0
APPLY_TARGET_MS = 2000.0  # the issue sets no target for $apply; two seconds for a BI refresh
METRICS = (
    "pviews",
    "upviews",
    "useful_yes",
    "useful_no",
    "searches",
    "feedex",
    "entrances",
    "exits",
    "bounces",
    "page_time",
)


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def build_warehouse(url: str, pages: int, days: int) -> dict[str, float]:
    """Generate the warehouse; returns the seconds each step took."""
    from sqlalchemy import text

    from govuk_kpi.warehouse.bulk import bulk_insert, move_key_sequences
    from govuk_kpi.warehouse.calendar import ensure_dates
    from govuk_kpi.warehouse.db import make_engine, upgrade
    from govuk_kpi.warehouse.rollups import refresh_rollups

    took: dict[str, float] = {}
    t0 = time.perf_counter()
    upgrade(url)
    engine = make_engine(url)
    first_day = LAST_DAY - timedelta(days=days - 1)
    then = datetime(2020, 1, 1)
    postgres = engine.dialect.name == "postgresql"
    with engine.begin() as conn:
        batch = (
            "INSERT INTO load_batch (source, uri, sha256, code_version, date_from, date_to,"
            " rows_read, rows_loaded, rows_rejected, rows_unmatched, started_at, finished_at,"
            " status, is_generated) VALUES (:source, 'bench:api', 'bench', 'bench', :first,"
            " :last, :rows, :rows, 0, 0, :at, :at, 'loaded', :generated) RETURNING batch_id"
        )
        content_batch = conn.execute(
            text(batch),
            {"source": "content", "first": None, "last": None, "rows": pages, "at": then,
             "generated": False},
        ).scalar_one()  # fmt: skip
        analytics_batch = conn.execute(
            text(batch),
            {"source": "analytics", "first": first_day, "last": LAST_DAY, "rows": pages * days,
             "at": datetime(2026, 11, 1, 6), "generated": True},
        ).scalar_one()  # fmt: skip
        bulk_insert(
            conn,
            "dim_document_type",
            ("document_type_key", "name", "label"),
            [(i + 1, t, t.replace("_", " ").capitalize()) for i, t in enumerate(DOCUMENT_TYPES)],
        )
        bulk_insert(
            conn,
            "dim_organisation",
            ("organisation_key", "content_id", "slug", "title", "status", "batch_id"),
            [
                (i, str(uuid.UUID(int=i)), f"org-{i}", f"Organisation {i}", "live", content_batch)
                for i in range(1, ORGANISATIONS + 1)
            ],
        )
        content_ids = [str(uuid.UUID(int=(7 << 64) + i)) for i in range(1, pages + 1)]
        bulk_insert(
            conn,
            "dim_page",
            ("page_id", "content_id", "locale"),
            ((i, content_ids[i - 1], "en") for i in range(1, pages + 1)),
        )
        columns = (
            "edition_key", "page_id", "content_id", "locale", "base_path", "title",
            "document_type_key", "schema_name", "publishing_app", "primary_organisation_key",
            "first_published_at", "public_updated_at", "withdrawn", "phase", "valid_from",
            "is_live", "is_latest", "reader_hash", "batch_id",
        )  # fmt: skip
        bulk_insert(
            conn,
            "dim_edition",
            columns,
            (
                (
                    i,
                    i,
                    content_ids[i - 1],
                    "en",
                    f"/guidance/page-{i}",
                    f"Guidance page {i}",
                    i % len(DOCUMENT_TYPES) + 1,
                    "generic",
                    "publisher",
                    (i * 7919) % ORGANISATIONS + 1,
                    then,
                    then,
                    False,
                    "live",
                    then,
                    True,
                    True,
                    f"h{i}",
                    content_batch,
                )
                for i in range(1, pages + 1)
            ),
        )
        bulk_insert(
            conn,
            "fact_edition_metrics",
            ("edition_key", "words", "chars", "sentences", "readability", "pdf_count",
             "doc_count", "reading_time", "batch_id"),
            ((i, 100 + i % 900, 600 + i % 5000, 5 + i % 40, 60.0, i % 3, i % 2,
              (100 + i % 900 + 199) // 200, content_batch) for i in range(1, pages + 1)),
        )  # fmt: skip
        ensure_dates(conn, [first_day + timedelta(days=n) for n in range(days)])
        move_key_sequences(
            conn,
            {
                "dim_document_type": "document_type_key",
                "dim_organisation": "organisation_key",
                "dim_page": "page_id",
                "dim_edition": "edition_key",
            },
        )
    took["dimensions"] = time.perf_counter() - t0

    # Daily facts: every page every day, made by the database. Page views are heavy-tailed
    # (a page's weight falls as 1/rank) and vary by day, deterministically.
    t0 = time.perf_counter()
    big = "BIGINT"
    pv = (
        f"(CAST(200000 AS {big}) / (e.page_id % 10000 + 1)) * "
        f"(50 + (CAST(e.page_id AS {big}) * 7919 + CAST(d.date_key AS {big}) * 104729) % 100)"
        " / 100"
    )
    derived = {
        "upviews": "pv * 3 / 4",
        "useful_yes": "pv / 100",
        "useful_no": "pv / 200",
        "searches": "pv / 20",
        "feedex": "pv / 1000",
        "entrances": "pv * 2 / 5",
        "exits": "pv / 2",
        "bounces": "pv / 5",
        "page_time": "pv * 45",
    }
    insert = (
        "INSERT INTO fact_page_daily (date_key, edition_key, page_id, "
        + ", ".join(METRICS)
        + ", batch_id) SELECT date_key, edition_key, page_id, pv, "
        + ", ".join(derived[m] for m in METRICS[1:])
        + f", {analytics_batch} FROM (SELECT d.date_key AS date_key, e.edition_key AS"
        f" edition_key, e.page_id AS page_id, {pv} AS pv FROM dim_date d CROSS JOIN"
        f" dim_edition e WHERE d.date_key BETWEEN {first_day:%Y%m%d} AND {LAST_DAY:%Y%m%d}"
        " ORDER BY d.date_key, e.edition_key) AS generated"
    )
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP INDEX ix_fact_page_daily_page_id")
        # psycopg reads % as a placeholder: double it there.
        conn.exec_driver_sql(insert.replace("%", "%%") if postgres else insert)
        conn.exec_driver_sql(
            "CREATE INDEX ix_fact_page_daily_page_id ON fact_page_daily (page_id, date_key)"
        )
    took["facts"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    refresh_rollups(engine, full=True)
    took["rollups"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    if postgres:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    else:
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
        with engine.connect() as conn:
            # Fold the generation's write-ahead log into the database file, as a quiet
            # warehouse between loads would have it.
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    took["analyze"] = time.perf_counter() - t0
    with engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT count(*) FROM fact_page_daily").scalar_one()
    engine.dispose()
    assert rows == pages * days, (rows, pages * days)
    return took


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def serve(url: str) -> tuple[subprocess.Popen, str]:
    """`govuk-kpi serve` in a child process, with a rate limit the benchmark never reaches."""
    port = _free_port()
    command = [
        str(Path(sys.executable).with_name("govuk-kpi")),
        "--database-url",
        url,
        "serve",
        "--port",
        str(port),
    ]
    env = {**os.environ, "GOVUK_KPI_API_RATE": "1000000", "GOVUK_KPI_API_BURST": "1000000"}
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/api/v1/metrics", timeout=2).status_code == 200:
                return process, base
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"the server did not start: {process.stderr.read().decode()[-2000:]}")


def _time(http: httpx.Client, path: str, params: dict, count: int) -> list[float]:
    timings = []
    for _ in range(count):
        t0 = time.perf_counter()
        response = http.get(path, params=params)
        timings.append((time.perf_counter() - t0) * 1000)
        assert response.status_code == 200, response.text[:500]
    return timings


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def measure(url: str, requests: int) -> dict:
    process, base = serve(url)
    try:
        with httpx.Client(base_url=base, timeout=120) as http:
            content = {
                "organisation_id": "org-7",
                "date_range": "past-30-days",
                "sort": "pviews:desc",
            }
            sample = http.get("/api/v1/content", params=content).json()
            _time(http, "/api/v1/content", content, 10)
            listing = _time(http, "/api/v1/content", content, requests)
            apply = {"$apply": "groupby((organisation,month),aggregate(pviews with sum as pviews))"}
            body = http.get("/odata/MonthlyMetrics", params=apply).json()
            _time(http, "/odata/MonthlyMetrics", apply, 2)
            applied = _time(http, "/odata/MonthlyMetrics", apply, 20)
    finally:
        process.terminate()
        process.wait(timeout=30)
    return {
        "content_p50": statistics.median(listing),
        "content_p95": _percentile(listing, 0.95),
        "content_requests": len(listing),
        "content_results": sample["total_results"],
        "apply_p50": statistics.median(applied),
        "apply_p95": _percentile(applied, 0.95),
        "apply_rows": len(body["value"]),
        "apply_requests": len(applied),
    }


def figures_for(name: str, result: dict) -> dict:
    return {
        f"{name}_content_p50_ms": {
            "value": round(result["content_p50"], 1),
            "unit": "ms",
            "target": None,
            "met": True,
        },
        f"{name}_content_p95_ms": {
            "value": round(result["content_p95"], 1),
            "unit": "ms",
            "target": CONTENT_TARGET_MS,
            "met": result["content_p95"] < CONTENT_TARGET_MS,
        },
        f"{name}_odata_apply_p50_ms": {
            "value": round(result["apply_p50"], 1),
            "unit": "ms",
            "target": None,
            "met": True,
        },
        f"{name}_odata_apply_p95_ms": {
            "value": round(result["apply_p95"], 1),
            "unit": "ms",
            "target": APPLY_TARGET_MS,
            "met": result["apply_p95"] < APPLY_TARGET_MS,
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=50_000)
    parser.add_argument("--days", type=int, default=400)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args(argv)
    if args.requests < 200:
        parser.error("--requests must be at least 200")
    sys.path.insert(0, str(ROOT / "tests"))
    work = Path(tempfile.mkdtemp(prefix="govuk-kpi-bench-api-"))
    figures: dict[str, dict] = {}
    lines = []
    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    try:
        for backend in backends:
            cluster = None
            if backend == "sqlite":
                url = f"sqlite:///{work}/warehouse.db"
            else:
                from support.postgres import PostgresCluster

                cluster = PostgresCluster().start()
                url = cluster.create_database("bench_api")
            try:
                _log(f"{backend}: generating {args.pages:,} pages × {args.days} days ...")
                took = build_warehouse(url, args.pages, args.days)
                _log(f"{backend}: built in " + ", ".join(f"{k} {v:.0f} s" for k, v in took.items()))
                result = measure(url, args.requests)
            finally:
                if cluster is not None:
                    cluster.stop()
            figures.update(figures_for(backend, result))
            lines.append(
                f"{backend}: content listing (org-7, past-30-days, pviews:desc, "
                f"{result['content_results']} pages) p50 {result['content_p50']:.1f} ms, "
                f"p95 {result['content_p95']:.1f} ms over {result['content_requests']} requests; "
                f"$apply monthly total per organisation ({result['apply_rows']} rows) "
                f"p50 {result['apply_p50']:.0f} ms, p95 {result['apply_p95']:.0f} ms over "
                f"{result['apply_requests']}; build {sum(took.values()):.0f} s"
            )
    finally:
        if args.keep:
            _log(f"work directory kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(
        f"machine: {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    )
    print(f"warehouse: {args.pages:,} pages × {args.days} days = {args.pages * args.days:,} facts")
    for line in lines:
        print(line)
    print(json.dumps({"benchmark": "api", "figures": figures}))
    return 0 if all(f["met"] for f in figures.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
