"""Benchmark: GOV.UK scale — build, one day's load, incremental rollups and the API.

At N pages × D days (GOV.UK: 550,000 pages; 13 months), per backend, in one run:

1. `govuk-kpi sample --pages N --days D` builds a generated warehouse (time, peak RSS);
2. one further day's analytics CSV (a row per page, the documented format) is loaded —
   against the backend's floor: the same matched rows bulk-inserted into the same table in
   one transaction (`COPY` on PostgreSQL, `executemany` on SQLite);
3. `govuk-kpi rollup` refreshes the monthly, window and organisation-monthly rollups for that
   day, incrementally — against `govuk-kpi rollup --full` on the same warehouse;
4. `govuk-kpi serve` answers, over HTTP: the content listing of the largest organisation
   (past 30 days, by page views, 100 rows), a heavy page's year of daily figures, and the
   OData `$apply` monthly total per organisation — p95 against the target, with a baseline
   each: the same listing and page series from the kpi layer in-process (no HTTP), and the
   same `$apply` answered from the page-level monthly rows instead of the rollup; and the
   whole `$apply` answer as a BI client reads it, every next link followed (no target: it
   is as many answers as it has pages), which must equal the page-level rows' whole answer;
5. every command's peak RSS (from the kernel's accounting of each child process).

    .venv/bin/python bench/scale.py [--pages 55000] [--days 400] [--backend postgresql]
                                    [--requests 100] [--keep]

PostgreSQL runs as a throwaway cluster with a server's settings (durable writes, larger
memory). The last line is JSON: {"benchmark": "scale", "figures": {...}}.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

from api import serve  # noqa: E402  `govuk-kpi serve` with a rate limit never reached

BIN = Path(sys.executable).with_name("govuk-kpi")
LOAD_RATIO_TARGET = 2.0
ROLLUP_TARGET_S = 60.0
P95_TARGET_MS = 100.0
RSS_TARGET_MIB = 2048.0
LOAD_REPEATS = 3
# A server's settings rather than the tests' (which drop durability for speed).
SERVER_SETTINGS = {
    "fsync": "on",
    "synchronous_commit": "on",
    "full_page_writes": "on",
    "shared_buffers": "'4GB'",
    "effective_cache_size": "'16GB'",
    "work_mem": "'128MB'",
    "maintenance_work_mem": "'1GB'",
    # No replicas: COPY into a table made in the same transaction skips the WAL.
    "wal_level": "minimal",
    "max_wal_senders": "0",
    "max_wal_size": "'4GB'",
    "checkpoint_timeout": "'30min'",
    "random_page_cost": "1.1",
    "max_parallel_workers_per_gather": "2",
}


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# -- commands and their memory --------------------------------------------------------------


def run_command(args: list[str], url: str) -> dict:
    """Run a `govuk-kpi` command; its wall time and peak RSS (the kernel's, at its exit)."""
    env = {**os.environ, "GOVUK_KPI_DATABASE_URL": url}
    started = time.perf_counter()
    process = subprocess.Popen([str(BIN), *args], env=env, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"govuk-kpi {' '.join(args)} failed ({process.returncode})")
    return {"seconds": seconds, "peak_rss_mib": usage.ru_maxrss / 1024}


def _vm_hwm_mib() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _timed_child(kind: str, url: str, argument: str, pipe) -> None:
    """In a fresh process: only the load or the rollup timed; the process's peak RSS."""
    from govuk_kpi.warehouse.db import make_engine
    from govuk_kpi.warehouse.load_files import load_daily_path
    from govuk_kpi.warehouse.rollups import refresh_rollups

    engine = make_engine(url)
    with engine.connect():
        pass  # the connection opens outside the timing, as the floor's does
    started = time.perf_counter()
    if kind == "load":
        result = load_daily_path(engine, Path(argument), "analytics")
        detail = {"rows_loaded": result.rows_loaded, "rows_unmatched": result.rows_unmatched}
    else:
        detail = {"summary": refresh_rollups(engine, full=argument == "full").summary()}
    seconds = time.perf_counter() - started
    engine.dispose()
    pipe.send({"seconds": seconds, "peak_rss_mib": _vm_hwm_mib(), **detail})
    pipe.close()


def timed(kind: str, url: str, argument: str) -> dict:
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe(duplex=False)
    process = context.Process(target=_timed_child, args=(kind, url, argument, child))
    process.start()
    child.close()
    report = parent.recv()
    process.join()
    if process.exitcode != 0:
        raise RuntimeError(f"the {kind} child failed with exit code {process.exitcode}")
    return report


# -- the floor of a day's load ----------------------------------------------------------------


def read_day(url: str, day_key: int) -> tuple[tuple[str, ...], list[tuple]]:
    """The fact rows the load wrote for the day, as the floor inserts them."""
    from govuk_kpi.warehouse.db import make_engine
    from govuk_kpi.warehouse.load_daily import FACT_COLUMNS

    engine = make_engine(url)
    with engine.connect() as conn:
        rows = [
            tuple(r)
            for r in conn.exec_driver_sql(
                f"SELECT {', '.join(FACT_COLUMNS)} FROM fact_page_daily"
                f" WHERE date_key = {int(day_key)} ORDER BY date_key, edition_key"
            )
        ]
    engine.dispose()
    return FACT_COLUMNS, rows


def floor(url: str, columns: tuple[str, ...], rows: list[tuple], day_key: int) -> float:
    """Delete the day (untimed), then time the raw bulk insert of its rows and the commit."""
    insert_columns = ", ".join(columns)
    if url.startswith("sqlite"):
        import sqlite3

        conn = sqlite3.connect(url.split("///", 1)[1], isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA cache_size=-65536")
        try:
            conn.execute("BEGIN")
            conn.execute(f"DELETE FROM fact_page_daily WHERE date_key = {int(day_key)}")
            marks = ", ".join("?" for _ in columns)
            started = time.perf_counter()
            conn.executemany(
                f"INSERT INTO fact_page_daily ({insert_columns}) VALUES ({marks})", rows
            )
            conn.execute("COMMIT")
            return time.perf_counter() - started
        finally:
            conn.close()
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        with conn.cursor() as cursor:
            cursor.execute(f"DELETE FROM fact_page_daily WHERE date_key = {int(day_key)}")
            started = time.perf_counter()
            with cursor.copy(f"COPY fact_page_daily ({insert_columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        conn.commit()
        return time.perf_counter() - started


def forget_day(url: str, day_key: int) -> None:
    """Empty the day and retire its analytics batches, so the same file loads again."""
    from govuk_kpi.warehouse.db import make_engine

    engine = make_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"DELETE FROM fact_page_daily WHERE date_key = {int(day_key)}")
        conn.exec_driver_sql(
            "UPDATE load_batch SET status = 'bench-reset'"
            " WHERE source = 'analytics' AND status = 'loaded'"
            f" AND date_from = '{key_to_iso(day_key)}'"
        )
    engine.dispose()


def key_to_iso(day_key: int) -> str:
    return f"{day_key // 10000:04d}-{day_key // 100 % 100:02d}-{day_key % 100:02d}"


# -- the API ----------------------------------------------------------------------------------


def _server_peak_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def _time_requests(http, path: str, params: dict, count: int, warm: int = 3) -> list[float]:
    for _ in range(warm):
        http.get(path, params=params).raise_for_status()
    out = []
    for _ in range(count):
        started = time.perf_counter()
        http.get(path, params=params).raise_for_status()
        out.append((time.perf_counter() - started) * 1000)
    return out


def _whole_answer(http, params: dict) -> tuple[list[dict], int]:
    """Every row of an OData answer, following `@odata.nextLink`; and how many pages."""
    body = http.get("/odata/MonthlyMetrics", params=params).raise_for_status().json()
    rows, pages = list(body["value"]), 1
    while "@odata.nextLink" in body:
        body = http.get(body["@odata.nextLink"]).raise_for_status().json()
        rows += body["value"]
        pages += 1
    return rows, pages


def subjects(url: str) -> dict:
    """The largest organisation (by pages) and its most-viewed page: the hardest cases."""
    from govuk_kpi.warehouse.db import make_engine

    engine = make_engine(url)
    with engine.connect() as conn:
        organisation = conn.exec_driver_sql(
            "SELECT o.slug, count(*) FROM dim_edition e JOIN dim_organisation o"
            " ON o.organisation_key = e.primary_organisation_key WHERE e.is_latest"
            " GROUP BY o.slug ORDER BY count(*) DESC LIMIT 1"
        ).one()
        page = conn.exec_driver_sql(
            "SELECT e.base_path FROM agg_page_window w JOIN dim_edition e"
            " ON e.page_id = w.page_id AND e.is_latest"
            " WHERE w.window = 'past-30-days' ORDER BY w.pviews DESC LIMIT 1"
        ).scalar_one()
        as_of = conn.exec_driver_sql("SELECT max(date_key) FROM fact_page_daily").scalar_one()
    engine.dispose()
    day = date(as_of // 10000, as_of // 100 % 100, as_of % 100)
    return {"organisation": organisation[0], "organisation_pages": organisation[1],
            "page": page, "as_of": day}  # fmt: skip


def measure_api(url: str, requests: int) -> dict:
    """p95 of the three questions over HTTP; baselines in the same run."""
    import httpx

    from govuk_kpi.kpi import Warehouse

    subject = subjects(url)
    as_of = subject["as_of"]
    year_ago = as_of - timedelta(days=364)
    listing = {
        "organisation_id": subject["organisation"],
        "date_range": "past-30-days",
        "sort": "pviews:desc",
        "page_size": 100,
    }
    page_path = f"/api/v1/single_page/{subject['page'].lstrip('/')}"
    page_params = {"from": year_ago.isoformat(), "to": as_of.isoformat()}
    apply = "groupby((organisation,month),aggregate(pviews with sum as pviews))"
    # The same answer, from the page-level rows: `days` is not kept by the rollup.
    apply_pages = f"filter(days ge 0)/{apply}"
    process, base = serve(url)
    try:
        with httpx.Client(base_url=base, timeout=600) as http:
            content_ms = _time_requests(http, "/api/v1/content", listing, requests)
            page_ms = _time_requests(http, page_path, page_params, requests)
            apply_ms = _time_requests(http, "/odata/MonthlyMetrics", {"$apply": apply}, requests)
            routed = http.get("/odata/MonthlyMetrics", params={"$apply": apply}).json()["value"]
            pages_ms = _time_requests(
                http, "/odata/MonthlyMetrics", {"$apply": apply_pages}, 5, warm=1
            )
            unrouted = http.get("/odata/MonthlyMetrics", params={"$apply": apply_pages}).json()
            # A BI client reads the whole answer, following the server's next links.
            whole_ms = []
            for _ in range(min(requests, 20)):
                started = time.perf_counter()
                whole, pages = _whole_answer(http, {"$apply": apply})
                whole_ms.append((time.perf_counter() - started) * 1000)
            whole_pages, _ = _whole_answer(http, {"$apply": apply_pages})
        server_mib = _server_peak_mib(process.pid)
    finally:
        process.terminate()
        process.wait(timeout=60)

    def key(row: dict) -> tuple:
        return (row["organisation"] or "", row["month"])

    same = sorted(routed, key=key) == sorted(unrouted["value"], key=key)
    same = same and sorted(whole, key=key) == sorted(whole_pages, key=key)
    warehouse = Warehouse(url)
    in_process = {"content": [], "page": []}
    for _ in range(min(requests, 30)):
        started = time.perf_counter()
        warehouse.content(
            period="past-30-days", organisation=subject["organisation"], sort="pviews:desc"
        )
        in_process["content"].append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        warehouse.page_daily(subject["page"], year_ago, as_of)
        in_process["page"].append((time.perf_counter() - started) * 1000)
    return {
        **{k: v for k, v in subject.items() if k != "as_of"},
        "content_p95_ms": _p95(content_ms),
        "content_p50_ms": statistics.median(content_ms),
        "content_in_process_p95_ms": _p95(in_process["content"]),
        "page_year_p95_ms": _p95(page_ms),
        "page_year_in_process_p95_ms": _p95(in_process["page"]),
        "apply_p95_ms": _p95(apply_ms),
        "apply_rows": len(routed),
        "apply_page_level_p95_ms": _p95(pages_ms),
        "apply_whole_p95_ms": _p95(whole_ms),
        "apply_whole_rows": len(whole),
        "apply_whole_pages": pages,
        "apply_same_answer": same,
        "server_peak_rss_mib": server_mib,
    }


# -- the sequence -----------------------------------------------------------------------------


def bench_backend(url: str, pages: int, days: int, work: Path, requests: int) -> dict:
    from govuk_kpi.sample.generate import DEFAULT_AS_OF, DEFAULT_SEED
    from govuk_kpi.sample.scale import write_next_day_csv
    from govuk_kpi.warehouse.calendar import date_key

    result: dict = {}
    _log(f"building {pages:,} pages × {days} days …")
    build = run_command(["sample", "--pages", str(pages), "--days", str(days)], url)
    result["build_s"] = build["seconds"]
    result["build_peak_rss_mib"] = build["peak_rss_mib"]
    _log(f"  built in {build['seconds']:.0f} s, peak {build['peak_rss_mib']:.0f} MiB")

    csv_path = write_next_day_csv(work, pages, days, DEFAULT_SEED, DEFAULT_AS_OF)
    key = date_key(DEFAULT_AS_OF + timedelta(days=1))
    # The first load gives the rows the floor inserts; then they take turns on the same
    # emptied day, so a warm or a busy machine favours neither.
    first = timed("load", url, str(csv_path))
    columns, rows = read_day(url, key)
    loads, floors = [], []
    for _ in range(LOAD_REPEATS):
        floors.append(floor(url, columns, rows, key))
        forget_day(url, key)
        loads.append(timed("load", url, str(csv_path)))
    load_s = statistics.median(r["seconds"] for r in loads)
    floor_s = statistics.median(floors)
    result |= {
        "load_first_s": first["seconds"],
        "load_s": load_s,
        "load_runs_s": [r["seconds"] for r in loads],
        "load_floor_s": floor_s,
        "load_floor_runs_s": floors,
        "load_rows": first["rows_loaded"],
        "load_unmatched": first["rows_unmatched"],
        "load_peak_rss_mib": max(r["peak_rss_mib"] for r in [first, *loads]),
    }
    _log(f"  day load {load_s:.2f} s vs floor {floor_s:.2f} s ({len(rows):,} rows; medians)")

    rollup = timed("rollup", url, "incremental")
    full = timed("rollup", url, "full")
    result |= {
        "rollup_s": rollup["seconds"],
        "rollup_full_s": full["seconds"],
        "rollup_peak_rss_mib": max(rollup["peak_rss_mib"], full["peak_rss_mib"]),
        "rollup_summary": rollup["summary"],
    }
    _log(f"  rollups {rollup['seconds']:.1f} s incremental vs {full['seconds']:.1f} s full")

    today = DEFAULT_AS_OF + timedelta(days=2)  # the day after the loaded day
    health = run_command(["health", "--today", today.isoformat()], url)
    result["health_peak_rss_mib"] = health["peak_rss_mib"]
    result |= measure_api(url, requests)
    _log(
        f"  API p95: listing {result['content_p95_ms']:.0f} ms, page year "
        f"{result['page_year_p95_ms']:.0f} ms, $apply {result['apply_p95_ms']:.0f} ms"
    )
    result["database_mib"] = database_mib(url)
    return result


def database_mib(url: str) -> float:
    if url.startswith("sqlite"):
        path = Path(url.split("///", 1)[1])
        return sum(p.stat().st_size for p in path.parent.glob(path.name + "*")) / 2**20
    from govuk_kpi.warehouse.db import make_engine

    engine = make_engine(url)
    with engine.connect() as conn:
        size = conn.exec_driver_sql("SELECT pg_database_size(current_database())").scalar_one()
    engine.dispose()
    return size / 2**20


def figures_for(backend: str, pages: int, r: dict) -> dict:
    tag = f"{backend}_{pages // 1000}k"

    def figure(name, value, unit, target, met, baseline=None):
        out = {"value": round(value, 3), "unit": unit, "target": target, "met": bool(met)}
        if baseline is not None:
            out["baseline"] = baseline
        return {f"{tag}_{name}": out}

    load_ratio = r["load_s"] / r["load_floor_s"]
    peak = max(r[k] for k in r if k.endswith("_peak_rss_mib"))
    return {
        **figure("load_vs_floor", load_ratio, "×", f"≤ {LOAD_RATIO_TARGET}",
                 load_ratio <= LOAD_RATIO_TARGET,
                 f"{'COPY' if backend == 'postgresql' else 'executemany'} "
                 f"{r['load_floor_s']:.2f} s; ours {r['load_s']:.2f} s"),
        **figure("rollup_incremental_s", r["rollup_s"], "s", f"< {ROLLUP_TARGET_S}",
                 r["rollup_s"] < ROLLUP_TARGET_S, f"full recompute {r['rollup_full_s']:.1f} s"),
        **figure("content_listing_p95_ms", r["content_p95_ms"], "ms", f"< {P95_TARGET_MS}",
                 r["content_p95_ms"] < P95_TARGET_MS,
                 f"in-process {r['content_in_process_p95_ms']:.1f} ms"),
        **figure("page_year_p95_ms", r["page_year_p95_ms"], "ms", f"< {P95_TARGET_MS}",
                 r["page_year_p95_ms"] < P95_TARGET_MS,
                 f"in-process {r['page_year_in_process_p95_ms']:.1f} ms"),
        **figure("odata_apply_p95_ms", r["apply_p95_ms"], "ms", f"< {P95_TARGET_MS}",
                 r["apply_p95_ms"] < P95_TARGET_MS and r["apply_same_answer"],
                 f"page-level rows {r['apply_page_level_p95_ms']:.0f} ms"),
        **figure("odata_apply_whole_answer_p95_ms", r["apply_whole_p95_ms"], "ms", None,
                 r["apply_same_answer"],
                 f"{r['apply_whole_rows']:,} rows in {r['apply_whole_pages']} pages"),
        **figure("peak_rss_mib", peak, "MiB", f"< {RSS_TARGET_MIB:.0f}", peak < RSS_TARGET_MIB),
        **figure("build_s", r["build_s"], "s", None, True),
    }  # fmt: skip


def machine() -> str:
    cpu = ""
    with open("/proc/cpuinfo", encoding="ascii", errors="replace") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo", encoding="ascii") as meminfo:
        memory = int(meminfo.readline().split()[1]) / 2**20
    return f"{os.cpu_count()} × {cpu}, {memory:.0f} GiB, {platform.platform()}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=55_000)
    parser.add_argument("--days", type=int, default=400)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args(argv)
    backends = ("postgresql", "sqlite") if args.backend == "both" else (args.backend,)
    work = Path(tempfile.mkdtemp(prefix="govuk-kpi-scale-"))
    results: dict[str, dict] = {}
    figures: dict = {}
    try:
        for backend in backends:
            if backend == "sqlite":
                url = f"sqlite:///{work / 'scale.db'}"
                results[backend] = bench_backend(url, args.pages, args.days, work, args.requests)
            else:
                from support.postgres import PostgresCluster

                with PostgresCluster(settings=SERVER_SETTINGS) as cluster:
                    url = cluster.create_database("bench_scale")
                    results[backend] = bench_backend(
                        url, args.pages, args.days, work, args.requests
                    )
            figures |= figures_for(backend, args.pages, results[backend])
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    _log(json.dumps({"machine": machine(), "pages": args.pages, "days": args.days,
                     "results": results}, indent=1, default=str))  # fmt: skip
    for name, figure in figures.items():
        verdict = "met" if figure["met"] else "NOT met"
        _log(
            f"{name:45} {figure['value']:>12} {figure['unit']:4} target {figure['target']}"
            f"  baseline {figure.get('baseline', '-')}  {verdict}"
        )
    print(json.dumps({"benchmark": "scale", "figures": figures}))
    return 0 if all(f["met"] for f in figures.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
