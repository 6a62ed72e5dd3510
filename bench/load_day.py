"""Benchmark: load one GOV.UK-size day of analytics end to end, against two baselines.

One day of the documented analytics CSV (one row per page, ten metrics) is loaded by the
project's loader (`load_daily_path`: read, normalise, match, insert, one transaction) and
compared, in the same run and on the same table, with:

- the floor: the very rows the loader inserted into `fact_page_daily`, inserted by the
  driver's bulk path and nothing else (`sqlite3` `executemany`, one row per step, in one
  transaction on SQLite, where the loader binds many rows to a statement; psycopg 3
  `COPY ... FROM STDIN` with `write_row` on PostgreSQL);
- `pandas.DataFrame.to_sql(if_exists="append", index=False)` of those rows through SQLAlchemy.

Every timed run starts from an empty `fact_page_daily` with the schema's indexes. Each is
repeated (3 times by default) and the median is reported. The loader runs in a fresh
(spawned) child process per repetition so its whole-process peak RSS can be measured.

    .venv/bin/python bench/load_day.py [--pages 550000] [--backend sqlite|postgresql|both]

The last line printed is one JSON object with the figures and whether each target is met.
"""

from __future__ import annotations

import argparse
import csv
import multiprocessing
import os
import platform
import resource
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from datetime import date, datetime
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DAY = date(2026, 10, 30)
TODAY = date(2026, 10, 31)
SEED = 20261030
UNMATCHED_SHARE = 0.01
VARIANT_SHARE = 0.02

_WORD_TEXT = (
    "tax vehicle passport visa benefit pension school driving licence business rates "
    "guidance form apply check renew report register claim allowance payment income "
    "self assessment universal credit council housing child care employer employee "
    "import export customs duty vat return company director charity grant funding "
    "planning permission energy water flood environment health nhs covid vaccine travel "
    "abroad embassy consular service court tribunal appeal legal aid prison probation "
    "immigration settlement citizenship student loan apprenticeship skills training"
)
_WORDS = tuple(_WORD_TEXT.split())
_SECTIONS = (
    ("guidance", 30),
    ("government/publications", 20),
    ("government/news", 8),
    ("government/statistics", 5),
    ("government/consultations", 3),
    ("hmrc-internal-manuals/vat-guidance", 6),
    ("hmrc-internal-manuals/employment-income-manual", 6),
    ("government/organisations", 1),
    ("foreign-travel-advice", 1),
    ("", 10),  # mainstream: /apply-for-a-passport-123
    ("guidance/tax-credits/how-to", 5),
    ("drug-safety-update", 2),
    ("employment-tribunal-decisions", 3),
)


# -- data ---------------------------------------------------------------------------------


def make_paths(count: int, rng: np.random.Generator, prefix: str = "") -> list[str]:
    """Distinct realistic GOV.UK base paths of mixed depth, seeded."""
    names = [s for s, _ in _SECTIONS]
    weights = np.array([w for _, w in _SECTIONS], dtype=float)
    sections = rng.choice(len(names), size=count, p=weights / weights.sum())
    lengths = rng.integers(2, 7, size=count)
    words = rng.integers(0, len(_WORDS), size=(count, 6))
    out = []
    for i in range(count):
        slug = "-".join(_WORDS[w] for w in words[i, : lengths[i]])
        section = names[sections[i]]
        base = f"/{section}/" if section else "/"
        out.append(f"{prefix}{base}{slug}-{i}")
    return out


def make_counts(count: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Heavy-tailed daily counts, consistent with each other (upviews <= pviews, ...)."""
    pviews = np.floor(rng.pareto(1.1, size=count) * 3).astype(np.int64)
    pviews = np.minimum(pviews, 5_000_000)
    upviews = np.floor(pviews * rng.uniform(0.6, 1.0, size=count)).astype(np.int64)
    useful_yes = rng.binomial(upviews, 0.01)
    useful_no = rng.binomial(upviews, 0.005)
    searches = rng.binomial(upviews, 0.05)
    entrances = rng.binomial(upviews, 0.4)
    exits = rng.binomial(upviews, 0.5)
    bounces = rng.binomial(entrances, 0.5)
    page_time = np.floor(pviews * rng.gamma(2.0, 30.0, size=count)).astype(np.int64)
    return {
        "pviews": pviews,
        "upviews": upviews,
        "useful_yes": useful_yes.astype(np.int64),
        "useful_no": useful_no.astype(np.int64),
        "searches": searches.astype(np.int64),
        "entrances": entrances.astype(np.int64),
        "exits": exits.astype(np.int64),
        "bounces": bounces.astype(np.int64),
        "page_time": page_time,
    }


def _variant(path: str, kind: int) -> str:
    if kind == 0:
        return path.upper()
    if kind == 1:
        return f"{path}?utm_source=x"
    if kind == 2:
        return f"{path}/"
    return f"https://www.gov.uk{path}"


def setup_warehouse(url: str, paths: list[str]) -> None:
    """A fresh schema, then the pages and their live editions written directly in bulk."""
    from govuk_kpi.warehouse.db import make_engine, upgrade
    from govuk_kpi.warehouse.fast_write import (
        analyze,
        close_generated_batch,
        open_generated_batch,
        write_content,
        write_organisations,
    )

    upgrade(url)
    engine = make_engine(url)
    types = [
        "guide",
        "answer",
        "detailed_guide",
        "news_story",
        "press_release",
        "publication",
        "statistics",
        "consultation",
        "manual_section",
        "hmrc_manual_section",
        "transaction",
        "travel_advice",
        "organisation",
        "employment_tribunal_decision",
        "medical_safety_alert",
    ]
    organisations = 60
    now = datetime(2020, 1, 1)
    rng = np.random.default_rng(SEED + 1)
    with engine.begin() as conn:
        batch_id = open_generated_batch(conn, "content", "bench:setup")
        write_organisations(
            conn,
            batch_id,
            [
                (i + 1, str(uuid.UUID(int=i + 1)), f"org-{i + 1}", f"Organisation {i + 1}", "live")
                for i in range(organisations)
            ],
        )
        content_ids = [str(uuid.UUID(int=(SEED << 32) + i)) for i in range(len(paths))]
        doc_types = rng.integers(1, len(types) + 1, size=len(paths)).tolist()
        orgs = rng.integers(1, organisations + 1, size=len(paths)).tolist()
        editions = (
            (
                i + 1, i + 1, content_ids[i], "en", path,
                path.rsplit("/", 1)[-1].replace("-", " ").capitalize(), None, doc_types[i],
                "generic", "publisher", orgs[i], now, now, False, "live", now, None, True, True,
                f"h{i}",
            )
            for i, path in enumerate(paths)
        )  # fmt: skip
        write_content(
            conn,
            batch_id,
            document_types=[
                (i + 1, t, t.replace("_", " ").capitalize()) for i, t in enumerate(types)
            ],
            pages=((i + 1, cid, "en") for i, cid in enumerate(content_ids)),
            editions=editions,
            links=(),
            metrics=(),
        )
        close_generated_batch(conn, batch_id, len(paths))
    if engine.dialect.name == "postgresql":
        analyze(engine)
    engine.dispose()


def write_csv(csv_path: Path, paths: list[str], rows: int) -> dict[str, int]:
    """One day's analytics CSV in the documented format; returns what the load must show."""
    from govuk_kpi.sources.daily_csv import FORMATS

    rng = np.random.default_rng(SEED + 2)
    unmatched = round(rows * UNMATCHED_SHARE)
    matched = rows - unmatched
    chosen = np.sort(rng.choice(len(paths), size=matched, replace=False))
    raw = [paths[i] for i in chosen.tolist()]
    variants = rng.random(matched) < VARIANT_SHARE
    kinds = rng.integers(0, 4, size=matched)
    for i in np.flatnonzero(variants).tolist():
        raw[i] = _variant(raw[i], int(kinds[i]))
    raw += make_paths(unmatched, rng, prefix="/gone")
    counts = make_counts(rows, rng)
    order = rng.permutation(rows)  # analytics exports are not in path order
    header = FORMATS["analytics"]
    metrics = header[2:]
    day = DAY.isoformat()
    with csv_path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(header)
        columns = [counts[m].tolist() for m in metrics]
        for i in order.tolist():
            writer.writerow((day, raw[i], *(c[i] for c in columns)))
    return {
        "rows": rows,
        "matched": matched,
        "unmatched": unmatched,
        "variants": int(variants.sum()),
        "pviews_matched": int(counts["pviews"][:matched].sum()),
        "pviews_unmatched": int(counts["pviews"][matched:].sum()),
    }


# -- timed runs ---------------------------------------------------------------------------


def _peak_rss_kib() -> int:
    """This process's peak resident set size in KiB: the whole process, imports included.

    VmHWM from /proc, because on Linux `getrusage(RUSAGE_SELF).ru_maxrss` carries over the
    peak of the forked parent image that a spawned child replaced by exec, which here is the
    benchmark's own (large) process, not the load's.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _ours_child(url: str, csv_path: str, pipe) -> None:
    """Run only the load, in a fresh process; report its time and the process's peak RSS."""
    from govuk_kpi.warehouse.db import make_engine
    from govuk_kpi.warehouse.load_files import load_daily_path

    engine = make_engine(url)
    with engine.connect():
        pass  # open the pool's connection outside the timing, as the floor's is
    started = time.perf_counter()
    result = load_daily_path(engine, Path(csv_path), "analytics", today=TODAY)
    seconds = time.perf_counter() - started
    engine.dispose()
    pipe.send(
        {
            "seconds": seconds,
            "peak_rss_mib": _peak_rss_kib() / 1024,
            "rows_read": result.rows_read,
            "rows_loaded": result.rows_loaded,
            "rows_unmatched": result.rows_unmatched,
            "rows_rejected": result.rows_rejected,
            "batch_id": result.batch_id,
        }
    )
    pipe.close()


def run_ours(url: str, csv_path: Path) -> dict:
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe(duplex=False)
    process = context.Process(target=_ours_child, args=(url, str(csv_path), child))
    process.start()
    child.close()
    report = parent.recv()
    process.join()
    if process.exitcode != 0:
        raise RuntimeError(f"the load child failed with exit code {process.exitcode}")
    return report


# Earlier analytics batches stop counting as loaded, so the same file loads again (the loader
# skips an input its newest batch already holds); their rows stay, as the floor's facts and
# to_sql's refer to one of them.
SUPERSEDE_BATCHES = (
    "UPDATE load_batch SET status = 'bench-reset' WHERE source = 'analytics' AND status = 'loaded'"
)


class Backend:
    """What differs between the backends: resetting the table and the floor."""

    name = ""

    def __init__(self, url: str) -> None:
        from govuk_kpi.warehouse.db import make_engine

        self.url = url
        self.engine = make_engine(url)

    def reset(self, *, batches: bool) -> None:
        """Empty the fact tables (and the analytics batches, so the load is not skipped)."""
        raise NotImplementedError

    def floor(self, columns: tuple[str, ...], rows: list[tuple]) -> float:
        raise NotImplementedError

    def to_sql(self, frame) -> float:
        started = time.perf_counter()
        with self.engine.begin() as conn:
            frame.to_sql("fact_page_daily", conn, if_exists="append", index=False)
        return time.perf_counter() - started

    def read_facts(self, columns: tuple[str, ...]) -> list[tuple]:
        with self.engine.connect() as conn:
            return [
                tuple(r)
                for r in conn.exec_driver_sql(
                    f"SELECT {', '.join(columns)} FROM fact_page_daily"
                    " ORDER BY date_key, edition_key"
                )
            ]

    def scalar(self, sql: str):
        with self.engine.connect() as conn:
            return conn.exec_driver_sql(sql).scalar()

    def version(self) -> str:
        raise NotImplementedError


class SQLiteBackend(Backend):
    name = "sqlite"

    def __init__(self, url: str, db_path: Path) -> None:
        super().__init__(url)
        self.db_path = db_path

    def reset(self, *, batches: bool) -> None:
        self.engine.dispose()
        conn = sqlite3.connect(self.db_path, isolation_level=None)
        try:
            conn.execute("BEGIN")
            conn.execute("DELETE FROM fact_page_daily")
            if batches:
                conn.execute("DELETE FROM fact_unmatched_daily")
                conn.execute("DELETE FROM load_reject")
                conn.execute(SUPERSEDE_BATCHES)
            conn.execute("COMMIT")
            conn.execute("VACUUM")
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            conn.close()

    def floor(self, columns: tuple[str, ...], rows: list[tuple]) -> float:
        conn = sqlite3.connect(self.db_path, isolation_level=None)
        # The same connection settings the warehouse's engine uses (db._tune_sqlite).
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA cache_size=-65536")
        sql = (
            f"INSERT INTO fact_page_daily ({', '.join(columns)})"
            f" VALUES ({', '.join('?' for _ in columns)})"
        )
        try:
            started = time.perf_counter()
            conn.execute("BEGIN")
            conn.executemany(sql, rows)
            conn.execute("COMMIT")
            return time.perf_counter() - started
        finally:
            conn.close()

    def version(self) -> str:
        return f"SQLite {sqlite3.sqlite_version}"


class PostgresBackend(Backend):
    name = "postgresql"

    def __init__(self, url: str, cluster, dbname: str) -> None:
        super().__init__(url)
        self.cluster = cluster
        self.dbname = dbname

    def reset(self, *, batches: bool) -> None:
        self.engine.dispose()
        with self.cluster.connect(self.dbname) as conn:  # autocommit
            tables = ["fact_page_daily"]
            if batches:
                tables.append("fact_unmatched_daily")
            conn.execute(f"TRUNCATE {', '.join(tables)}")
            if batches:
                conn.execute("DELETE FROM load_reject")
                conn.execute(SUPERSEDE_BATCHES)
            conn.execute("VACUUM ANALYZE")
            conn.execute("CHECKPOINT")

    def floor(self, columns: tuple[str, ...], rows: list[tuple]) -> float:
        import psycopg

        conn = psycopg.connect(
            host=str(self.cluster.socket_dir),
            port=self.cluster.port,
            user=self.cluster.superuser,
            dbname=self.dbname,
        )
        try:
            started = time.perf_counter()
            with (
                conn.transaction(),
                conn.cursor() as cursor,
                cursor.copy(f"COPY fact_page_daily ({', '.join(columns)}) FROM STDIN") as copy,
            ):
                for row in rows:
                    copy.write_row(row)
            return time.perf_counter() - started
        finally:
            conn.close()

    def version(self) -> str:
        return "PostgreSQL " + str(self.scalar("SHOW server_version"))


def _progress(backend: str, run: str, seconds: float) -> None:
    print(f"  {backend} {run}: {seconds:.2f} s", file=sys.stderr, flush=True)


def bench_backend(backend: Backend, csv_path: Path, expect: dict, repeats: int) -> dict:
    """Time ours, the floor and to_sql on `backend`; check the load is right."""
    import pandas as pd

    from govuk_kpi.warehouse.load_daily import FACT_COLUMNS

    # The first load gives the rows the baselines insert; then the three take turns, so
    # drift in the machine's load (other processes) falls on all of them alike.
    backend.reset(batches=True)
    ours = [run_ours(backend.url, csv_path)]
    _progress(backend.name, "ours", ours[-1]["seconds"])

    # Correctness, from that load (the table holds exactly its rows now).
    first = ours[0]
    facts = backend.read_facts(FACT_COLUMNS)
    pviews_at = FACT_COLUMNS.index("pviews")
    checks = {
        "rows_read": (first["rows_read"], expect["rows"]),
        "fact rows": (len(facts), expect["matched"]),
        "rows_unmatched": (first["rows_unmatched"], expect["unmatched"]),
        "unmatched rows": (
            backend.scalar("SELECT count(*) FROM fact_unmatched_daily"),
            expect["unmatched"],
        ),
        "rows_rejected": (first["rows_rejected"], 0),
        "sum(pviews) matched": (sum(r[pviews_at] for r in facts), expect["pviews_matched"]),
        "sum(pviews) unmatched": (
            int(backend.scalar("SELECT coalesce(sum(pviews), 0) FROM fact_unmatched_daily")),
            expect["pviews_unmatched"],
        ),
    }
    frame = pd.DataFrame.from_records(facts, columns=list(FACT_COLUMNS))
    for name in ("batch_id", "feedex_batch_id"):
        frame[name] = frame[name].astype("Int64")

    floor: list[float] = []
    to_sql: list[float] = []
    for turn in range(repeats):
        backend.reset(batches=False)
        floor.append(backend.floor(FACT_COLUMNS, facts))
        _progress(backend.name, "floor", floor[-1])
        backend.reset(batches=False)
        to_sql.append(backend.to_sql(frame))
        _progress(backend.name, "to_sql", to_sql[-1])
        if turn == 0:
            checks["to_sql rows"] = (
                backend.scalar("SELECT count(*) FROM fact_page_daily"),
                expect["matched"],
            )
        if len(ours) < repeats:
            backend.reset(batches=True)
            ours.append(run_ours(backend.url, csv_path))
            _progress(backend.name, "ours", ours[-1]["seconds"])
            checks[f"fact rows, load {len(ours)}"] = (
                backend.scalar("SELECT count(*) FROM fact_page_daily"),
                expect["matched"],
            )
    correct = all(got == want for got, want in checks.values())

    return {
        "version": backend.version(),
        "ours": statistics.median(r["seconds"] for r in ours),
        "ours_all": [r["seconds"] for r in ours],
        "floor": statistics.median(floor),
        "floor_all": floor,
        "to_sql": statistics.median(to_sql),
        "to_sql_all": to_sql,
        "peak_rss_mib": max(r["peak_rss_mib"] for r in ours),
        "checks": checks,
        "correct": correct,
        "fact_rows": len(facts),
    }


# -- reporting ----------------------------------------------------------------------------


def machine() -> dict[str, str]:
    memory = ""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            kib = int(meminfo.readline().split()[1])
        memory = f"{kib / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    cpu = ""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    import pandas as pd

    return {
        "nproc": str(os.cpu_count()),
        "cpu": cpu,
        "memory": memory,
        "python": platform.python_version(),
        "pandas": pd.__version__,
        "platform": platform.platform(),
    }


def figures_for(name: str, result: dict, floor_name: str) -> dict:
    ratio_floor = result["ours"] / result["floor"]
    ratio_to_sql = result["ours"] / result["to_sql"]
    return {
        f"{name}_ratio_to_floor": {
            "value": round(ratio_floor, 3),
            "unit": f"x {floor_name}",
            "target": "<= 2.0",
            "met": ratio_floor <= 2.0,
        },
        f"{name}_ratio_to_to_sql": {
            "value": round(ratio_to_sql, 3),
            "unit": "x to_sql",
            "target": "< 1.0",
            "met": ratio_to_sql < 1.0,
        },
        f"{name}_peak_rss_mib": {
            "value": round(result["peak_rss_mib"], 1),
            "unit": "MiB",
            "target": "< 1024",
            "met": result["peak_rss_mib"] < 1024,
        },
        f"{name}_load_correct": {
            "value": result["correct"],
            "unit": "bool",
            "target": "true",
            "met": bool(result["correct"]),
        },
        f"{name}_ours_seconds": {
            "value": round(result["ours"], 3),
            "unit": "s",
            "target": None,
            "met": True,
        },
        f"{name}_floor_seconds": {
            "value": round(result["floor"], 3),
            "unit": "s",
            "target": None,
            "met": True,
        },
        f"{name}_to_sql_seconds": {
            "value": round(result["to_sql"], 3),
            "unit": "s",
            "target": None,
            "met": True,
        },
    }


def print_table(name: str, floor_name: str, result: dict) -> None:
    print(f"\n{name} ({result['version']}): {result['fact_rows']:,} fact rows")
    print(f"  {'run':<28} {'median s':>9}   runs")
    for label, key in (
        ("ours (load_daily_path)", "ours"),
        (f"floor ({floor_name})", "floor"),
        ("pandas to_sql", "to_sql"),
    ):
        runs = ", ".join(f"{s:.2f}" for s in result[f"{key}_all"])
        print(f"  {label:<28} {result[key]:>9.2f}   {runs}")
    print(f"  ours / floor   = {result['ours'] / result['floor']:.2f}  (target <= 2.0)")
    print(f"  ours / to_sql  = {result['ours'] / result['to_sql']:.2f}  (target < 1.0)")
    print(f"  ours peak RSS  = {result['peak_rss_mib']:.0f} MiB  (target < 1024)")
    for label, (got, want) in result["checks"].items():
        mark = "ok" if got == want else "WRONG"
        print(f"  check {label:<24} {got!s:>14} expected {want!s:>14}  {mark}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=550_000)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT / "tests"))

    work = Path(tempfile.mkdtemp(prefix="govuk-kpi-bench-"))
    figures: dict[str, dict] = {}
    results: dict[str, dict] = {}
    info = machine()
    try:
        rng = np.random.default_rng(SEED)
        paths = make_paths(args.pages, rng)
        csv_path = work / f"analytics-{DAY.isoformat()}.csv"
        t0 = time.perf_counter()
        expect = write_csv(csv_path, paths, args.pages)
        print(
            f"CSV: {csv_path.stat().st_size / 2**20:.1f} MiB, {expect['rows']:,} rows "
            f"({expect['variants']:,} raw variants, {expect['unmatched']:,} unmatched), "
            f"written in {time.perf_counter() - t0:.1f} s",
            file=sys.stderr,
        )
        backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
        if "sqlite" in backends:
            db_path = work / "warehouse.db"
            url = f"sqlite:///{db_path}"
            t0 = time.perf_counter()
            setup_warehouse(url, paths)
            print(f"sqlite set-up: {time.perf_counter() - t0:.1f} s", file=sys.stderr)
            backend = SQLiteBackend(url, db_path)
            results["sqlite"] = bench_backend(backend, csv_path, expect, args.repeats)
            backend.engine.dispose()
            info["sqlite"] = results["sqlite"]["version"]
            figures.update(figures_for("sqlite", results["sqlite"], "executemany"))
        if "postgresql" in backends:
            from support.postgres import PostgresCluster

            cluster = PostgresCluster().start()
            try:
                url = cluster.create_database("bench_load_day")
                t0 = time.perf_counter()
                setup_warehouse(url, paths)
                print(f"postgresql set-up: {time.perf_counter() - t0:.1f} s", file=sys.stderr)
                backend = PostgresBackend(url, cluster, "bench_load_day")
                results["postgresql"] = bench_backend(backend, csv_path, expect, args.repeats)
                backend.engine.dispose()
                info["postgresql"] = results["postgresql"]["version"]
                figures.update(figures_for("postgresql", results["postgresql"], "COPY"))
            finally:
                cluster.stop()
    finally:
        if args.keep:
            print(f"work directory kept: {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)

    print("machine: " + ", ".join(f"{k} {v}" for k, v in info.items() if v))
    print(
        f"input: {expect['rows']:,} CSV rows for {DAY} ({expect['variants']:,} raw variants, "
        f"{expect['unmatched']:,} unmatched), {args.pages:,} live editions; "
        f"median of {args.repeats}"
    )
    for name, result in results.items():
        print_table(name, "executemany" if name == "sqlite" else "COPY", result)
    import json

    print(json.dumps({"benchmark": "load_day", "figures": figures}))
    return 0 if all(f["met"] for f in figures.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
